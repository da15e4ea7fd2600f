import CZeroMQ

/// A ZeroMQ context: owns I/O threads and every socket made from it.
///
/// A context is thread-safe (unlike sockets). `inproc://` endpoints only connect sockets of the
/// same context, which is how `mien run` wires all roles in one process.
public final class ZMQContext: @unchecked Sendable {
    /// The libzmq handle; valid until `terminate()`.
    let handle: UnsafeMutableRawPointer
    private let lock = Lock()
    private var terminated = false

    /// - Parameters:
    ///   - ioThreads: libzmq background I/O threads (1 is enough below ~1 GB/s).
    ///   - threadNamePrefix: libzmq names this context's threads "<prefix>/ZMQbg/IO/0" instead of
    ///     "ZMQbg/IO/0", so a crash report tells contexts of one process apart (libzmq 4.3 takes
    ///     a number).
    public init(ioThreads: Int = 1, threadNamePrefix: Int32? = nil) throws {
        guard let h = zmq_ctx_new() else { throw ZMQError.last("create context") }
        handle = h
        if zmq_ctx_set(h, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            zmq_ctx_term(h)
            throw ZMQError.last("set context I/O threads to \(ioThreads)")
        }
        if let threadNamePrefix, zmq_ctx_set(h, ZMQ_THREAD_NAME_PREFIX, threadNamePrefix) != 0 {
            zmq_ctx_term(h)
            throw ZMQError.last("set context thread-name prefix to \(threadNamePrefix)")
        }
    }

    /// Shuts the context down: blocking calls in any socket of it return `ETERM`
    /// (`ZMQError.isTerminated`). Sockets must still be closed by their owners.
    public func shutdown() {
        lock.withLock { if !terminated { zmq_ctx_shutdown(handle) } }
    }

    /// Terminates the context. Blocks until every socket made from it is closed; Mien's sockets
    /// close with linger 0 by default so this does not hang on unsent messages.
    public func terminate() {
        let done = lock.withLock { () -> Bool in
            defer { terminated = true }
            return terminated
        }
        if done { return }
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    deinit { terminate() }

    /// libzmq's version as (major, minor, patch).
    public static var libraryVersion: (Int, Int, Int) {
        var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0
        zmq_version(&a, &b, &c)
        return (Int(a), Int(b), Int(c))
    }
}
