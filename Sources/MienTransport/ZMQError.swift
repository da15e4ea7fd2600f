import CZeroMQ

/// A failure reported by libzmq, with its errno and libzmq's text for it.
public struct ZMQError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The errno value libzmq reported (`zmq_errno()`).
    public let code: Int32
    /// What Mien was doing, e.g. "bind tcp://127.0.0.1:5555".
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// Captures `zmq_errno()` for the operation that just failed.
    static func last(_ operation: String) -> ZMQError { ZMQError(code: zmq_errno(), operation: operation) }

    /// libzmq's description of `code` (`zmq_strerror`).
    public var text: String { String(cString: zmq_strerror(code)) }

    public var description: String { "ZeroMQ: \(operation) failed: \(text) (errno \(code))" }

    /// The call timed out or would block (EAGAIN).
    public var isTimeout: Bool { code == EAGAIN }
    /// The context was terminated while the call waited (ETERM): the owner is shutting down.
    public var isTerminated: Bool { code == ETERM }
}
