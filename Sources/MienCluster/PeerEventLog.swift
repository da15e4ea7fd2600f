import Logging
import MienCore

/// The log lines a role writes about misbehaving peers (undecodable messages, unknown peers,
/// full queues, refusals): the first event of a key (peer and kind) at once, then at most one
/// line per key per interval carrying the count of events not logged since (`LogThrottle`), so
/// a flood cannot flood the log; `flush` writes the summaries of repeats not yet reported.
/// One per role thread (not thread-safe).
package struct PeerEventLog {
    private var throttle: LogThrottle<String>
    /// Key → the line last logged for it, for the summaries (bounded).
    private var lines: [String: String] = [:]
    private let logger: Logger

    package init(intervalMs: UInt64, logger: Logger) {
        throttle = LogThrottle(intervalMs: intervalMs)
        self.logger = logger
    }

    /// One event of `key`, described by `line`: logged now, or counted for the next line.
    package mutating func record(_ key: String, _ line: @autoclosure () -> String, nowMs: UInt64 = Clock.nowMs()) {
        guard let skipped = throttle.record(key, nowMs: nowMs) else { return }
        let text = line()
        if lines.count >= 4_096 { lines.removeAll() }  // bounded; summaries then fall back to the key
        lines[key] = text
        logger.warning("\(skipped > 0 ? "\(text) (and \(skipped) more like it since the last report)" : text)")
    }

    /// Logs a summary for each key with events not logged whose interval has passed (call it
    /// periodically, and with `.max / 2` at the end to report every last burst).
    package mutating func flush(nowMs: UInt64 = Clock.nowMs()) {
        for (key, skipped) in throttle.due(nowMs: nowMs) {
            logger.warning("\(lines[key] ?? key) (\(skipped) more like it since the last report)")
        }
    }
}
