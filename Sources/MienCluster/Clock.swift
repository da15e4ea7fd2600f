import Foundation

/// Monotonic milliseconds, for deadlines and heartbeats (never the wall clock).
enum Clock {
    static func nowMs() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }
    static func unixMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}
