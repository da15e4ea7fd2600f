import Foundation

/// An error of a cluster role that a user sees: names the thing and what to do.
public struct ClusterError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable { case system, input, model, protocolViolation, job }
    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func system(_ what: String, errno e: Int32) -> ClusterError {
        ClusterError(.system, "\(what) failed: \(String(cString: strerror(e)))")
    }
    public static func input(_ message: String) -> ClusterError { ClusterError(.input, message) }
    public static func model(_ message: String) -> ClusterError { ClusterError(.model, message) }
    public static func protocolViolation(_ message: String) -> ClusterError { ClusterError(.protocolViolation, message) }
    public static func job(_ message: String) -> ClusterError { ClusterError(.job, message) }
}
