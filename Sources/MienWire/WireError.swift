/// Why a received message could not be turned into an `Envelope`.
///
/// A struct with a private code rather than a public enum, so new kinds can be added
/// without breaking callers (swift-service-lifecycle's `ServiceGroupError` habit).
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case wrongFrameCount, emptyFrame, tooLarge, malformedProtobuf, unsupportedVersion, missingBody
    }

    private let code: Code
    /// A sentence naming what was wrong and what to do.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The multipart message had a different number of frames than the socket pattern implies.
    public static let wrongFrameCount = WireError(.wrongFrameCount, "")
    /// A frame that must carry data was empty.
    public static let emptyFrame = WireError(.emptyFrame, "")
    /// The envelope exceeded the size limit.
    public static let tooLarge = WireError(.tooLarge, "")
    /// The bytes are not a valid protobuf `mien.v1.Envelope`.
    public static let malformedProtobuf = WireError(.malformedProtobuf, "")
    /// The envelope's `protocol_version` is not one this build speaks.
    public static let unsupportedVersion = WireError(.unsupportedVersion, "")
    /// The envelope parsed but carries no body.
    public static let missingBody = WireError(.missingBody, "")

    /// True when `self` is of the same kind as `other` (messages are ignored).
    /// Use as `XCTAssertTrue(error.isKind(.malformedProtobuf))` or in `switch` via `~=`.
    public func isKind(_ other: WireError) -> Bool { code == other.code }

    public static func ~= (pattern: WireError, value: WireError) -> Bool { pattern.isKind(value) }

    static func wrongFrameCount(expected: String, got: Int) -> WireError {
        WireError(.wrongFrameCount, "expected \(expected) ZeroMQ frame(s), got \(got): the peer does not speak Mien's framing (check its socket type and version)")
    }
    static func emptyFrame(_ which: String) -> WireError {
        WireError(.emptyFrame, "the \(which) frame is empty: the peer sent no Mien envelope")
    }
    static func tooLarge(bytes: Int, limit: Int) -> WireError {
        WireError(.tooLarge, "envelope of \(bytes) bytes exceeds the limit of \(limit) bytes: send smaller batches or frames by reference")
    }
    static func malformed(bytes: Int, reason: String) -> WireError {
        WireError(.malformedProtobuf, "\(bytes) bytes are not a valid mien.v1.Envelope (\(reason)): the peer sent garbage or a different protocol")
    }
    static func unsupportedVersion(_ v: UInt32) -> WireError {
        WireError(.unsupportedVersion, "protocol version \(v) is not supported (this build speaks version \(ProtocolConstants.version)): run the same Mien version on every peer")
    }
    static let missingBodyError = WireError(.missingBody, "the envelope has no body: the peer sent an empty message or one of a newer protocol")
}
