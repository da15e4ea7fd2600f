import CZeroMQ
import Foundation

/// Reports how a socket's security handshakes end (`zmq_socket_monitor`), so a client can say
/// *why* it gets nothing — e.g. "the server refused this key" — instead of just timing out.
///
/// The monitor's PAIR socket belongs to the thread that owns the monitored socket (poll
/// `socket` beside it). Close the monitor before or with the socket it watches.
public final class HandshakeMonitor {
    public enum Event: Sendable, Equatable {
        /// The handshake (CURVE included) completed.
        case succeeded
        /// The server's ZAP handler refused this client (`status`: ZAP status code, e.g. 400).
        case refused(status: Int)
        /// The peer broke the handshake protocol (e.g. mismatched mechanisms or keys); libzmq's code.
        case protocolError(code: Int)
        /// The handshake failed without detail (errno).
        case failed(errno: Int)
    }

    /// The PAIR socket to poll for events.
    public let socket: ZMQSocket
    private weak var watched: ZMQSocket?
    private static let counter = Counter()

    public init(context: ZMQContext, watching target: ZMQSocket) throws {
        let endpoint = "inproc://mien-handshake-monitor-\(getpid())-\(Self.counter.next())"
        let events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
        guard let h = target.handle else { throw ZMQError(code: ENOTSOCK, operation: "monitor a closed socket") }
        if zmq_socket_monitor(h, endpoint, Int32(events)) != 0 { throw ZMQError.last("monitor \(target.kind) socket handshakes") }
        socket = try ZMQSocket(context, .pair)
        try socket.connect(endpoint)
        watched = target
    }

    /// The next event waiting, without blocking; nil when none is.
    public func next() throws -> Event? {
        guard let frames = try socket.receive(timeoutMs: 0) else { return nil }
        guard let first = frames.first, first.count >= 6 else { return nil }
        let event = UInt16(first[0]) | UInt16(first[1]) << 8  // native (little-endian) order, as libzmq writes it
        let value = Int(UInt32(first[2]) | UInt32(first[3]) << 8 | UInt32(first[4]) << 16 | UInt32(first[5]) << 24)
        switch Int32(event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return .succeeded
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return .refused(status: value)
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: return .protocolError(code: value)
        default: return .failed(errno: value)
        }
    }

    /// Stops monitoring (if the watched socket is still open) and closes the PAIR socket.
    public func close() {
        if let h = watched?.handle { zmq_socket_monitor(h, nil, 0) }
        socket.close()
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = Lock()
    private var n = 0
    func next() -> Int { lock.withLock { n += 1; return n } }
}
