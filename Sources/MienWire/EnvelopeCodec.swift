import MienProto
import SwiftProtobuf

public typealias Envelope = Mien_V1_Envelope

/// Pure encoding and decoding of Mien envelopes, independent of any transport.
///
/// Every Mien message is one serialized `mien.v1.Envelope`. Decoding never traps: whatever
/// the bytes, it returns an envelope whose version this build speaks and whose body is set,
/// or throws a `WireError`.
public enum EnvelopeCodec {
    /// Serializes `envelope`, stamping the protocol version if it is unset.
    public static func encode(_ envelope: Envelope) throws -> [UInt8] {
        var e = envelope
        if e.protocolVersion == 0 { e.protocolVersion = ProtocolConstants.version }
        return try e.serializedBytes()
    }

    /// Parses and validates one envelope.
    /// - Parameter limit: the largest accepted size, bytes.
    public static func decode(_ bytes: [UInt8], limit: Int = ProtocolConstants.maxMessageBytes) throws(WireError) -> Envelope {
        let count = bytes.count
        if count == 0 { throw .emptyFrame("envelope") }
        if count > limit { throw .tooLarge(bytes: count, limit: limit) }
        let envelope: Envelope
        do {
            envelope = try Envelope(serializedBytes: bytes, extensions: nil, partial: false, options: decodingOptions)
        } catch {
            throw .malformed(bytes: count, reason: String(describing: error))
        }
        guard envelope.protocolVersion == ProtocolConstants.version else {
            throw .unsupportedVersion(envelope.protocolVersion)
        }
        guard envelope.body != nil else { throw .missingBodyError }
        return envelope
    }

    /// Bounded recursion, unknown fields kept (forward compatible within a version).
    private static let decodingOptions: BinaryDecodingOptions = {
        var o = BinaryDecodingOptions()
        o.messageDepthLimit = 32
        return o
    }()
}

extension Envelope {
    /// An envelope of the current protocol version around `body`.
    public init(_ body: Envelope.OneOf_Body, jobID: String = "", senderID: String = "", sequence: UInt64 = 0,
                sentUnixMs: UInt64 = 0) {
        self.init()
        protocolVersion = ProtocolConstants.version
        self.jobID = jobID
        self.senderID = senderID
        self.sequence = sequence
        self.sentUnixMs = sentUnixMs
        self.body = body
    }

    /// The body's kind as a short name (`"frame_batch"`), the proto field name. Used as the
    /// PUB topic, so subscribers can filter by prefix.
    public var kind: String { body?.kind ?? "none" }
}

extension Envelope.OneOf_Body {
    /// The proto field name of this body case, e.g. `"window_prediction"`.
    public var kind: String {
        switch self {
        case .hello: "hello"
        case .ready: "ready"
        case .heartbeat: "heartbeat"
        case .ack: "ack"
        case .error: "error"
        case .shutdown: "shutdown"
        case .frameBatch: "frame_batch"
        case .embeddingBatch: "embedding_batch"
        case .window: "window"
        case .windowPrediction: "window_prediction"
        case .windowBatch: "window_batch"
        case .windowPredictionBatch: "window_prediction_batch"
        case .manifest: "manifest"
        case .frameResult: "frame_result"
        case .segmentResult: "segment_result"
        case .videoResult: "video_result"
        case .jobMetrics: "job_metrics"
        case .trackFrames: "track_frames"
        case .trialWorkerHello: "trial_worker_hello"
        case .trialSetup: "trial_setup"
        case .trialDataChunk: "trial_data_chunk"
        case .trialRequest: "trial_request"
        case .trialResult: "trial_result"
        }
    }
}
