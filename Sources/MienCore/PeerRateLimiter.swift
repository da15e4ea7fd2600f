/// A token bucket per peer: each peer may send `ratePerSecond` messages a second on average
/// and `burst` at once; messages beyond that are refused (the caller drops and counts them).
///
/// Pure: time is passed in (ms, monotonic). The table of peers is bounded by `maxPeers`: when
/// full, buckets that have refilled completely are forgotten first (losslessly — a new bucket
/// starts full too), then the least recently seen half.
public struct PeerRateLimiter<Peer: Hashable>: Sendable where Peer: Sendable {
    public struct Config: Sendable, Hashable {
        /// Sustained messages per second per peer (> 0).
        public var ratePerSecond: Double
        /// Messages a peer may send at once after being quiet (≥ 1).
        public var burst: Double
        /// Peers remembered at once.
        public var maxPeers: Int

        public init(ratePerSecond: Double, burst: Double? = nil, maxPeers: Int = 4_096) {
            precondition(ratePerSecond > 0, "a rate limit is positive")
            self.ratePerSecond = ratePerSecond
            self.burst = max(1, burst ?? ratePerSecond)
            self.maxPeers = max(1, maxPeers)
        }
    }

    private struct Bucket: Sendable {
        var tokens: Double
        var lastMs: UInt64
    }

    public let config: Config
    private var buckets: [Peer: Bucket] = [:]
    /// Messages refused so far, all peers.
    public private(set) var dropped = 0

    public init(config: Config) {
        self.config = config
    }

    /// Peers currently remembered.
    public var trackedPeers: Int { buckets.count }

    /// Whether `peer` may send one more message at `nowMs`; takes a token when it may.
    public mutating func admit(_ peer: Peer, nowMs: UInt64) -> Bool {
        var bucket: Bucket
        if let b = buckets[peer] {
            bucket = b
            let elapsed = nowMs >= b.lastMs ? Double(nowMs - b.lastMs) : 0
            bucket.tokens = min(config.burst, b.tokens + elapsed * config.ratePerSecond / 1_000)
        } else {
            if buckets.count >= config.maxPeers { prune(nowMs: nowMs) }
            bucket = Bucket(tokens: config.burst, lastMs: nowMs)
        }
        bucket.lastMs = nowMs
        let ok = bucket.tokens >= 1
        if ok { bucket.tokens -= 1 } else { dropped += 1 }
        buckets[peer] = bucket
        return ok
    }

    private mutating func prune(nowMs: UInt64) {
        buckets = buckets.filter { _, b in
            let elapsed = nowMs >= b.lastMs ? Double(nowMs - b.lastMs) : 0
            return b.tokens + elapsed * config.ratePerSecond / 1_000 < config.burst
        }
        if buckets.count >= config.maxPeers {
            let keep = buckets.sorted { $0.value.lastMs > $1.value.lastMs }.prefix(config.maxPeers / 2)
            buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}

/// Decides which of many similar log lines to write: the first event of a key at once, then at
/// most one line per key per `intervalMs`, carrying the count of events not logged since. So a
/// peer sending a thousand bad messages a second costs one log line per interval, and every
/// event is still accounted for. Pure: time is passed in (ms, monotonic). At most `maxKeys` are
/// remembered; when full, keys with nothing pending are forgotten first, then the oldest.
public struct LogThrottle<Key: Hashable>: Sendable where Key: Sendable {
    private struct Entry: Sendable {
        var lastLoggedMs: UInt64
        var suppressed: Int
    }

    public let intervalMs: UInt64
    public let maxKeys: Int
    private var entries: [Key: Entry] = [:]
    /// Events not logged (still to be summarised or summarised since), all keys.
    public private(set) var suppressedTotal = 0

    public init(intervalMs: UInt64 = 10_000, maxKeys: Int = 1_024) {
        self.intervalMs = intervalMs
        self.maxKeys = max(1, maxKeys)
    }

    /// Records one event of `key`.
    /// - Returns: nil when it should not be logged now; otherwise the number of events of this
    ///   key that were not logged since its previous line (0 for a first event).
    public mutating func record(_ key: Key, nowMs: UInt64) -> Int? {
        if var e = entries[key] {
            if nowMs >= e.lastLoggedMs + intervalMs {
                let n = e.suppressed
                e.lastLoggedMs = nowMs
                e.suppressed = 0
                entries[key] = e
                return n
            }
            e.suppressed += 1
            suppressedTotal += 1
            entries[key] = e
            return nil
        }
        if entries.count >= maxKeys { prune() }
        entries[key] = Entry(lastLoggedMs: nowMs, suppressed: 0)
        return 0
    }

    /// Keys with events not yet logged whose interval has passed, with their counts; those
    /// counts are reset (call it periodically so the last burst of a quiet peer is reported).
    public mutating func due(nowMs: UInt64) -> [(key: Key, suppressed: Int)] {
        var out: [(key: Key, suppressed: Int)] = []
        for (k, e) in entries where e.suppressed > 0 && nowMs >= e.lastLoggedMs + intervalMs {
            out.append((k, e.suppressed))
            entries[k] = Entry(lastLoggedMs: nowMs, suppressed: 0)
        }
        return out
    }

    private mutating func prune() {
        entries = entries.filter { $0.value.suppressed > 0 }
        if entries.count >= maxKeys {
            let keep = entries.sorted { $0.value.lastLoggedMs > $1.value.lastLoggedMs }.prefix(maxKeys / 2)
            entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
