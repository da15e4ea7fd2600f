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
}
