import Foundation

/// The two clocks of the roles.
enum Clock {
    /// Monotonic milliseconds, for deadlines, heartbeats and expiry (never the wall clock).
    static func nowMs() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }
    /// Wall-clock milliseconds since 1970: only for time stamps in messages and for ids
    /// (job ids, batch ids unique across restarts), never for measuring time.
    static func unixMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}
