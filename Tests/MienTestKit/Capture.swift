import Foundation
import Logging

/// Thread-safe collections the tests fill from role threads.
public final class Collected<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    public init() {}
    public func append(_ x: T) { lock.withLock { items.append(x) } }
    public var all: [T] { lock.withLock { items } }
}

/// A log line a role wrote, as `CapturingLogHandler` saw it.
public struct CapturedEvent: Sendable {
    public var level: Logger.Level
    public var message: String
    public var metadata: [String: String]
}

/// The log lines of a test's roles, thread-safe.
public final class LogSink: @unchecked Sendable {
    private let lines = Collected<CapturedEvent>()
    public init() {}
    public func append(_ e: CapturedEvent) { lines.append(e) }
    public var events: [CapturedEvent] { lines.all }
}

/// A swift-log handler that keeps every line (all levels, with metadata) in a `LogSink`.
public struct CapturingLogHandler: LogHandler {
    public let sink: LogSink
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    public init(sink: LogSink) { self.sink = sink }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        sink.append(CapturedEvent(level: event.level, message: event.message.description, metadata: all.mapValues { $0.description }))
    }
}
