import MienWire

/// Where the roles meet. The embedded mode uses `inproc://` names in one context; cluster
/// mode uses `tcp://` addresses, one role per process.
public struct ClusterEndpoints: Sendable, Hashable {
    /// Coordinator's ROUTER for feature workers.
    public var features: String
    /// Coordinator's ROUTER for sequence workers.
    public var sequences: String
    /// Aggregator's ROUTER the coordinator connects to (manifests, tracks, predictions; acks back).
    public var aggregator: String
    /// Aggregator's XPUB result stream for downstream consumers.
    public var results: String

    public init(features: String, sequences: String, aggregator: String, results: String) {
        self.features = features
        self.sequences = sequences
        self.aggregator = aggregator
        self.results = results
    }

    /// All roles in one process.
    public static func embedded(results: String = "inproc://mien-results") -> ClusterEndpoints {
        ClusterEndpoints(features: "inproc://mien-features", sequences: "inproc://mien-sequences",
                         aggregator: "inproc://mien-aggregator", results: results)
    }
}

/// Timing of the control plane (zguide's Paranoid Pirate constants live in ProtocolConstants).
public struct Liveness: Sendable, Hashable {
    /// Heartbeat period, ms.
    public var heartbeatMs: UInt64
    /// A peer silent for this long is dead, ms.
    public var expiryMs: UInt64

    public init(heartbeatMs: UInt64 = UInt64(ProtocolConstants.heartbeatIntervalMs),
                expiryMs: UInt64 = UInt64(ProtocolConstants.heartbeatIntervalMs * ProtocolConstants.heartbeatLiveness)) {
        self.heartbeatMs = heartbeatMs
        self.expiryMs = expiryMs
    }
}

/// How feature batches carry their frames.
public enum FrameTransport: String, Sendable, CaseIterable {
    /// A frame range and the video's path: each feature worker opens and decodes the video
    /// itself (workers share the coordinator's storage; the coordinator decodes nothing).
    case reference
    /// Decoded GRAY8 pixels: the coordinator decodes each video once and ships the frames
    /// (workers need no access to the videos; costs width × height bytes per frame on the wire).
    case inline

    /// Frames per feature batch when not told. Every batch starts with a full face scan (so its
    /// result does not depend on the worker that ran it), and `DetectionSchedule` scans at least
    /// every 100 frames anyway: by reference a batch of 100 makes that scan the one the schedule
    /// needed (measured 5–10 % faster end to end than 32). Inline batches carry their pixels
    /// (up to the outstanding bound are held): they stay at 32.
    public var defaultBatchFrames: Int {
        switch self {
        case .reference: return 100
        case .inline: return 32
        }
    }

    /// The help text of `--batch-frames`.
    public static let batchFramesHelp = "Frames per feature batch (default: 100 by reference — each batch starts with a full face scan, which the detection schedule makes every 100 frames anyway — and 32 with --frames inline, whose batches carry their pixels)."
}
