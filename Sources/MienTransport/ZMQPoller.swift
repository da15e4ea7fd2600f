import CZeroMQ

/// Waits on several sockets (and plain file descriptors) at once, with a timeout.
///
/// Like the sockets it polls, a poller belongs to one thread.
public struct ZMQPoller {
    /// Readiness a poll item asks for / reports.
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: Int16(ZMQ_POLLIN))
        public static let writable = Events(rawValue: Int16(ZMQ_POLLOUT))
    }

    private var items: [zmq_pollitem_t] = []

    public init() {}

    /// Adds a socket; returns its index in `poll`'s result.
    @discardableResult
    public mutating func add(_ socket: ZMQSocket, _ events: Events = .readable) -> Int {
        items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Adds a file descriptor (e.g. an eventfd used to wake the owning thread).
    @discardableResult
    public mutating func add(fileDescriptor fd: Int32, _ events: Events = .readable) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fd, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Changes what item `index` waits for (e.g. add `.writable` while messages are queued).
    public mutating func setEvents(_ index: Int, _ events: Events) {
        items[index].events = events.rawValue
    }

    /// Waits until an item is ready or `timeoutMs` passes (-1 = no timeout).
    /// - Returns: the events of each item, in the order added (empty sets when timed out).
    public mutating func poll(timeoutMs: Int) throws -> [Events] {
        let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), timeoutMs) }
        if rc < 0 {
            let err = ZMQError.last("poll")
            if err.code == EINTR { return items.map { _ in [] } }
            throw err
        }
        return items.map { Events(rawValue: $0.revents) }
    }
}
