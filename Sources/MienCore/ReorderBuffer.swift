/// Restores order: items arrive tagged with a sequence number in any order and leave in
/// ascending sequence order with no gaps, each exactly once.
///
/// Bounded: at most `capacity` items may wait for a missing predecessor; `insert` refuses
/// beyond that (the caller stops handing out work ahead — backpressure — rather than
/// growing memory). Duplicates (already released or already waiting) are ignored and counted.
public struct ReorderBuffer<Item: Sendable>: Sendable {
    public enum Outcome: Equatable, Sendable {
        case accepted
        case duplicate
        case full
    }

    public let capacity: Int
    /// The sequence number released next.
    public private(set) var next: UInt64
    private var waiting: [UInt64: Item] = [:]
    public private(set) var duplicates = 0

    public init(first: UInt64 = 0, capacity: Int) {
        precondition(capacity >= 1, "capacity must be at least 1")
        self.next = first
        self.capacity = capacity
    }

    public var waitingCount: Int { waiting.count }

    /// Offers an item. `.full` when it would be the (capacity+1)-th waiting item and is not `next`.
    public mutating func insert(_ item: Item, sequence: UInt64) -> Outcome {
        if sequence < next || waiting[sequence] != nil {
            duplicates += 1
            return .duplicate
        }
        if sequence != next && waiting.count >= capacity { return .full }
        waiting[sequence] = item
        return .accepted
    }

    /// Removes and returns the items now in order (possibly none).
    public mutating func drain() -> [Item] {
        var out: [Item] = []
        while let item = waiting.removeValue(forKey: next) {
            out.append(item)
            next += 1
        }
        return out
    }
}
