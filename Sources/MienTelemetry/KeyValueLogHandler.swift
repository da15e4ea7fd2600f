import Foundation
import MienCore
import Logging

/// A swift-log handler that writes one plain-text line per event, as `key=value` pairs
/// (logfmt): `ts=2026-11-27T07:40:00.123Z level=info label=mien.coordinator msg="worker joined" worker=fw-1`.
/// Metadata keys are sorted so lines are stable; values with spaces, quotes, `=` or control
/// characters are quoted and escaped. Lines go to a `TextSink` (stderr by default), whole
/// lines under a lock so lines of different threads never interleave.
public struct KeyValueLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let label: String
    private let sink: TextSink

    public init(label: String, level: Logger.Level = .info, sink: TextSink = .standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let own = event.metadata { all.merge(own) { _, new in new } }
        sink.write(KeyValueLogHandler.format(time: Date(), level: event.level, label: label,
                                             message: event.message.description, metadata: all) + "\n")
    }

    /// One log line (without the newline).
    public static func format(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var parts = ["ts=\(timestamp(time))", "level=\(level.rawValue)", "label=\(quote(label))", "msg=\(quote(message))"]
        for key in metadata.keys.sorted() {
            parts.append("\(key)=\(quote(metadata[key]!.description))")
        }
        return parts.joined(separator: " ")
    }

    /// RFC 3339 UTC time with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(ms % 1000))
    }

    /// The value as is when it is a bare word, else in double quotes with `"`, `\` and control
    /// characters escaped.
    public static func quote(_ value: String) -> String {
        let bare = !value.isEmpty && value.unicodeScalars.allSatisfy { s in
            s.value > 0x20 && s != "\"" && s != "=" && s != "\\" && s.value != 0x7F
        }
        return bare ? value : JSONText.quote(value)
    }
}

/// Where log lines go: a file descriptor (stderr by default) or, for tests, memory.
public final class TextSink: @unchecked Sendable {
    private let lock = NSLock()
    private let fd: Int32?
    private var captured: [String] = []

    public static let standardError = TextSink(fd: STDERR_FILENO)

    init(fd: Int32?) { self.fd = fd }

    /// A sink that keeps what is written (tests).
    public static func memory() -> TextSink { TextSink(fd: nil) }

    /// What a memory sink received, line by line.
    public var lines: [String] { lock.withLock { captured.joined().split(separator: "\n").map(String.init) } }

    func write(_ text: String) {
        lock.withLock {
            guard let fd else { captured.append(text); return }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }  // stderr closed: nothing else to tell
                bytes = bytes.dropFirst(n)
            }
        }
    }
}
