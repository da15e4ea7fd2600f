import Foundation

/// The two clocks of the roles.
package enum Clock {
    /// Monotonic milliseconds, for deadlines, heartbeats and expiry (never the wall clock).
    package static func nowMs() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }
    /// Wall-clock milliseconds since 1970: only for time stamps in messages and for ids
    /// (job ids, batch ids unique across restarts), never for measuring time.
    package static func unixMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}
