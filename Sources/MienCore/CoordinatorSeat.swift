/// Which peer is the aggregator's coordinator, as a pure state machine (time is given, not
/// read): the first peer to say hello as coordinator takes the seat and keeps it while it is
/// heard from within `expiryMs`; a hello from another peer meanwhile is refused. Once the
/// holder has been silent for longer, the next hello takes the seat over (a coordinator that
/// crashed and was restarted with `--resume` reconnects under a new routing id).
public struct CoordinatorSeat<Peer: Hashable & Sendable>: Sendable {
    public enum Decision: Sendable, Equatable {
        /// The seat was free, or the holder said hello again.
        case accepted
        /// The holder had been silent for this long, ms: the new peer holds the seat now.
        case replaced(silentMs: UInt64)
        /// The holder was heard from this long ago, ms: the hello is refused.
        case refused(holderHeardMsAgo: UInt64)
    }

    public let expiryMs: UInt64
    public private(set) var holder: Peer?
    private var heardMs: UInt64 = 0

    public init(expiryMs: UInt64) {
        self.expiryMs = expiryMs
    }

    /// A hello as coordinator from `peer`.
    public mutating func hello(from peer: Peer, nowMs: UInt64) -> Decision {
        let silent = nowMs >= heardMs ? nowMs - heardMs : 0
        let decision: Decision
        if holder == nil || holder == peer {
            decision = .accepted
        } else if silent > expiryMs {
            decision = .replaced(silentMs: silent)
        } else {
            return .refused(holderHeardMsAgo: silent)
        }
        holder = peer
        heardMs = nowMs
        return decision
    }

    /// Any other message from `peer`: true when it holds the seat (and is now heard from).
    public mutating func heard(from peer: Peer, nowMs: UInt64) -> Bool {
        guard holder == peer else { return false }
        heardMs = max(heardMs, nowMs)
        return true
    }
}
