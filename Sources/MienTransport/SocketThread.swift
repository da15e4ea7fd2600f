import Foundation
import CZeroMQ

/// A ZeroMQ socket on a thread of its own, with bounded queues bridging it to async code.
///
/// The socket is created, configured (`setup`), used and closed on one dedicated OS thread, so
/// it never runs on Swift's cooperative pool and never has two owners. Async callers `send`
/// and `receive` through two bounded queues:
/// - outbound: `send` suspends while `outboundCapacity` messages wait, and returns once libzmq
///   has accepted the message (or throws libzmq's error for it, e.g. an unroutable peer);
/// - inbound: when `inboundCapacity` messages wait unread, the thread stops reading the socket,
///   so ZeroMQ's own high-water marks push back on the peers. Nothing is dropped here.
/// A pipe wakes the thread when the async side adds work; it polls with a short timeout too.
public final class SocketThread: @unchecked Sendable {
    public let name: String
    public let kind: SocketKind

    private let lock = Lock()
    private var inbound: [[[UInt8]]] = []
    private var inboundHead = 0
    private var outbound: [(frames: [[UInt8]], done: CheckedContinuation<Void, Error>)] = []
    private var receivers: [CheckedContinuation<[[UInt8]]?, Error>] = []
    private var senderWaiters: [CheckedContinuation<Void, Never>] = []
    private var state: State = .running
    private let inboundCapacity: Int
    private let outboundCapacity: Int
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let finished = DispatchSemaphore(value: 0)

    /// Lifecycle of the socket's thread.
    private enum State {
        case running
        case closing
        case closed(Error?)
    }

    /// Starts the thread, creates the socket and runs `setup` on it (options, bind, connect).
    /// Throws `setup`'s error (the thread is then already gone).
    public init(context: ZMQContext, kind: SocketKind, name: String,
                inboundCapacity: Int = 1_000, outboundCapacity: Int = 1_000,
                setup: @escaping @Sendable (ZMQSocket) throws -> Void) throws {
        precondition(inboundCapacity > 0 && outboundCapacity > 0, "queue capacities must be positive")
        self.name = name
        self.kind = kind
        self.inboundCapacity = inboundCapacity
        self.outboundCapacity = outboundCapacity
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ZMQError(code: errno, operation: "create wake-up pipe for \(name)") }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }

        let started = DispatchSemaphore(value: 0)
        let setupError = ErrorBox()
        let thread = Thread { [self] in
            let socket: ZMQSocket
            do {
                socket = try ZMQSocket(context, kind)
                try setup(socket)
            } catch {
                setupError.error = error
                started.signal()
                finished.signal()
                return
            }
            started.signal()
            run(socket)
        }
        thread.name = "mien.socket.\(name)"
        thread.start()
        started.wait()
        if let error = setupError.error {
            throw error
        }
    }

    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    // MARK: async side

    /// Queues a message and returns when libzmq has accepted it.
    /// - Throws: libzmq's error for this message, or `ZMQError` ENOTSOCK once closed.
    public func send(_ frames: [[UInt8]]) async throws {
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        while true {
            let full = lock.withLock { () -> Bool? in
                if case .running = state {} else { return nil }
                return outbound.count >= outboundCapacity
            }
            guard let isFull = full else { throw closedError("send") }
            if !isFull { break }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let stillFull = lock.withLock { () -> Bool in
                    guard case .running = state, outbound.count >= outboundCapacity else { return false }
                    senderWaiters.append(c)
                    return true
                }
                if !stillFull { c.resume() }
            }
        }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            let accepted = lock.withLock { () -> Bool in
                guard case .running = state else { return false }
                outbound.append((frames, c))
                return true
            }
            if accepted { wake() } else { c.resume(throwing: closedError("send")) }
        }
    }

    /// The next inbound message, in arrival order; nil once the socket is closed and drained.
    /// - Throws: the socket's fatal error, if its thread stopped on one.
    public func receive() async throws -> [[UInt8]]? {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<[[UInt8]]?, Error>) in
            enum Outcome { case message([[UInt8]], wasFull: Bool), end(Error?), wait }
            let outcome = lock.withLock { () -> Outcome in
                if inboundHead < inbound.count {
                    let wasFull = inbound.count - inboundHead >= inboundCapacity
                    let m = inbound[inboundHead]
                    inboundHead += 1
                    if inboundHead > 256 && inboundHead * 2 > inbound.count {
                        inbound.removeFirst(inboundHead)
                        inboundHead = 0
                    }
                    return .message(m, wasFull: wasFull)
                }
                if case .closed(let error) = state { return .end(error) }
                receivers.append(c)
                return .wait
            }
            switch outcome {
            case .message(let m, let wasFull):
                if wasFull { wake() }
                c.resume(returning: m)
            case .end(let error?): c.resume(throwing: error)
            case .end(nil): c.resume(returning: nil)
            case .wait: break
            }
        }
    }

    /// Stops the thread: queued outbound messages are still handed to libzmq (not waited for
    /// on the network: linger 0), the socket is closed, and waiting receivers get nil.
    /// Blocks the caller until the thread has finished (bounded by one poll interval).
    public func close() {
        let first = lock.withLock { () -> Bool in
            guard case .running = state else { return false }
            state = .closing
            return true
        }
        if first { wake() }
        finished.wait()
        finished.signal()  // let later close() calls return too
    }

    // MARK: socket thread

    private static let pollIntervalMs = 100
    private static let blockedRetryMs = 5

    private func run(_ socket: ZMQSocket) {
        var poller = ZMQPoller()
        let socketItem = poller.add(socket, .readable)
        poller.add(fileDescriptor: wakeRead, .readable)
        var fatal: Error?
        var blocked = false

        loop: while true {
            let (closing, hasRoom, hasOutbound) = lock.withLock { () -> (Bool, Bool, Bool) in
                if case .closing = state { return (true, false, !outbound.isEmpty) }
                return (false, inbound.count - inboundHead < inboundCapacity, !outbound.isEmpty)
            }
            if closing {
                flushOutbound(socket)
                break loop
            }
            var want: ZMQPoller.Events = []
            if hasRoom { want.insert(.readable) }
            if hasOutbound && !blocked { want.insert(.writable) }
            poller.setEvents(socketItem, want)
            do {
                let events = try poller.poll(timeoutMs: blocked ? Self.blockedRetryMs : Self.pollIntervalMs)
                if events[1].contains(.readable) { drainWakePipe() }
                blocked = false
                if hasRoom && events[socketItem].contains(.readable) { try readAvailable(socket) }
                if hasOutbound { blocked = try writeQueued(socket) }
            } catch let error as ZMQError where error.isTerminated {
                break loop
            } catch {
                fatal = error
                break loop
            }
        }
        socket.close()
        finish(error: fatal)
    }

    /// Reads messages while they are waiting and the inbound queue has room.
    private func readAvailable(_ socket: ZMQSocket) throws {
        while true {
            let room = lock.withLock { inbound.count - inboundHead < inboundCapacity }
            guard room, let frames = try socket.receive(timeoutMs: 0) else { return }
            let receiver = lock.withLock { () -> CheckedContinuation<[[UInt8]]?, Error>? in
                if !receivers.isEmpty { return receivers.removeFirst() }
                inbound.append(frames)
                return nil
            }
            receiver?.resume(returning: frames)
        }
    }

    /// Hands queued messages to libzmq until it pushes back.
    /// - Returns: true when libzmq pushed back (high-water mark): retry after a short wait.
    private func writeQueued(_ socket: ZMQSocket) throws -> Bool {
        while true {
            guard let next = lock.withLock({ outbound.first }) else { return false }
            let sent: Bool
            do {
                sent = try socket.send(next.frames, timeoutMs: 0)
            } catch let error as ZMQError where !error.isTerminated {
                // This message is refused (e.g. EHOSTUNREACH): its sender learns why; the socket goes on.
                popOutbound()
                next.done.resume(throwing: error)
                continue
            }
            if !sent { return true }
            popOutbound()
            next.done.resume()
        }
    }

    private func popOutbound() {
        let waiter = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            outbound.removeFirst()
            return senderWaiters.isEmpty ? nil : senderWaiters.removeFirst()
        }
        waiter?.resume()
    }

    /// On close: hands what is queued to libzmq without waiting; what it cannot take fails.
    private func flushOutbound(_ socket: ZMQSocket) {
        while let next = lock.withLock({ outbound.first }) {
            popOutbound()
            do {
                if try socket.send(next.frames, timeoutMs: 0) { next.done.resume() } else { next.done.resume(throwing: closedError("send (queue full at close)")) }
            } catch {
                next.done.resume(throwing: error)
            }
        }
    }

    private func finish(error: Error?) {
        let (rs, ss, os) = lock.withLock { () -> ([CheckedContinuation<[[UInt8]]?, Error>], [CheckedContinuation<Void, Never>], [CheckedContinuation<Void, Error>]) in
            state = .closed(error)
            defer { receivers = []; senderWaiters = []; outbound = [] }
            return (receivers, senderWaiters, outbound.map(\.done))
        }
        for r in rs { if let error { r.resume(throwing: error) } else { r.resume(returning: nil) } }
        for s in ss { s.resume() }
        for o in os { o.resume(throwing: error ?? closedError("send")) }
        finished.signal()
    }

    private func wake() {
        var one: UInt8 = 1
        _ = Glibc.write(wakeWrite, &one, 1)  // EAGAIN when the pipe is full: a wake-up is pending anyway
    }

    private func drainWakePipe() {
        var buf = [UInt8](repeating: 0, count: 256)
        while Glibc.read(wakeRead, &buf, buf.count) > 0 {}
    }

    private func closedError(_ op: String) -> ZMQError {
        ZMQError(code: ENOTSOCK, operation: "\(op) on closed socket \(name)")
    }
}

/// Carries an error out of the thread's start-up closure.
private final class ErrorBox: @unchecked Sendable {
    var error: Error?
}
