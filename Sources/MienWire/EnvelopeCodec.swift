import MienProto
import SwiftProtobuf

public typealias Envelope = Mien_V1_Envelope
/// One message of the aggregator's result stream (proto/mien/v1/envelope.proto).
public typealias Published = Mien_V1_Published

/// What travels as one ZeroMQ frame: an `Envelope` between the cluster's peers, a
/// `Published` on the result stream. Both carry the protocol version and one body.
public protocol WireMessage: SwiftProtobuf.Message {
    var protocolVersion: UInt32 { get set }
    var jobID: String { get set }
    var senderID: String { get set }
    var sequence: UInt64 { get set }
    var sentUnixMs: UInt64 { get set }
    /// True when the body is one this build knows.
    var hasKnownBody: Bool { get }
}

extension WireMessage {
    /// Sets the header: the current protocol version and these.
    mutating func setHeader(jobID: String, senderID: String, sequence: UInt64, sentUnixMs: UInt64) {
        protocolVersion = ProtocolConstants.version
        self.jobID = jobID
        self.senderID = senderID
        self.sequence = sequence
        self.sentUnixMs = sentUnixMs
    }
}

extension Envelope: WireMessage {
    /// `payload != nil`, without building the payload.
    public var hasKnownBody: Bool {
        switch body {
        case .session(let s)?: s.body != nil
        case .tuning(let t)?: t.body != nil
        case nil: false
        default: true
        }
    }
}

extension Published: WireMessage {
    public var hasKnownBody: Bool { body != nil }
}

/// Pure encoding and decoding of Mien's wire messages, independent of any transport.
///
/// Decoding never traps: whatever the bytes, it returns a message whose version this build
/// speaks and whose body is set, or throws a `WireError`.
public enum EnvelopeCodec {
    /// Serializes `message`, stamping the protocol version if it is unset.
    public static func encode<M: WireMessage>(_ message: M) throws -> [UInt8] {
        var m = message
        if m.protocolVersion == 0 { m.protocolVersion = ProtocolConstants.version }
        return try m.serializedBytes()
    }

    /// Parses and validates one envelope.
    /// - Parameter limit: the largest accepted size, bytes.
    public static func decode(_ bytes: [UInt8], limit: Int = ProtocolConstants.maxMessageBytes) throws(WireError) -> Envelope {
        try decode(bytes, as: Envelope.self, limit: limit)
    }

    /// Parses and validates one message of the result stream.
    public static func decodePublished(_ bytes: [UInt8], limit: Int = ProtocolConstants.maxMessageBytes) throws(WireError) -> Published {
        try decode(bytes, as: Published.self, limit: limit)
    }

    private static func decode<M: WireMessage>(_ bytes: [UInt8], as: M.Type, limit: Int) throws(WireError) -> M {
        let count = bytes.count
        if count == 0 { throw .emptyFrame("envelope") }
        if count > limit { throw .tooLarge(bytes: count, limit: limit) }
        let message: M
        do {
            message = try M(serializedBytes: bytes, extensions: nil, partial: false, options: decodingOptions)
        } catch {
            throw .malformed(bytes: count, reason: String(describing: error))
        }
        guard message.protocolVersion == ProtocolConstants.version else {
            throw .unsupportedVersion(message.protocolVersion)
        }
        guard message.hasKnownBody else { throw .missingBodyError }
        return message
    }

    /// Bounded recursion, unknown fields kept (forward compatible within a version).
    private static let decodingOptions: BinaryDecodingOptions = {
        var o = BinaryDecodingOptions()
        o.messageDepthLimit = 32
        return o
    }()
}

extension Envelope {
    /// An envelope of the current protocol version around `payload`.
    public init(_ payload: Payload, jobID: String = "", senderID: String = "", sequence: UInt64 = 0,
                sentUnixMs: UInt64 = 0) {
        self.init()
        setHeader(jobID: jobID, senderID: senderID, sequence: sequence, sentUnixMs: sentUnixMs)
        self.payload = payload
    }

    /// The body's kind as a short name (`"frame_batch"`), the proto field name.
    public var kind: String { payload?.kind ?? "none" }
}

extension Published {
    /// A result-stream message of the current protocol version around `body`.
    public init(_ body: OneOf_Body, jobID: String = "", senderID: String = "", sequence: UInt64 = 0,
                sentUnixMs: UInt64 = 0) {
        self.init()
        setHeader(jobID: jobID, senderID: senderID, sequence: sequence, sentUnixMs: sentUnixMs)
        self.body = body
    }

    /// The body's kind, the proto field name: the PUB topic, so subscribers filter by prefix.
    public var kind: String {
        switch body {
        case .frameResult?: "frame_result"
        case .segmentResult?: "segment_result"
        case .videoResult?: "video_result"
        case .jobMetrics?: "job_metrics"
        case nil: "none"
        }
    }
}
