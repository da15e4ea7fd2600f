/// The coordinator's load-balancing broker as a pure state machine (time is given, not read).
///
/// Workers grant credit (how many more items they accept); the dispatcher hands each queued
/// item to a worker with credit, least recently served first, so a fast worker (which grants
/// credit again sooner) gets more and nobody is sent more than it asked for. Once the queue is
/// empty, items may also be made on demand for the worker whose turn it is
/// (`assign(nowMs:produce:)`). Every item in flight has a deadline; a worker silent for longer
/// than `workerExpiryMs` is dropped and its items go back to the *front* of the queue, as do
/// items past their deadline. An item completes once: a late or repeated result for it is
/// reported as a duplicate.
public struct WorkDispatcher<Item: Sendable>: Sendable {
    public struct Config: Sendable {
        /// A worker not heard from for this long is considered dead, ms.
        public var workerExpiryMs: UInt64
        /// An item not finished this long after it was handed out is re-queued, ms.
        public var itemDeadlineMs: UInt64

        public init(workerExpiryMs: UInt64 = 3_000, itemDeadlineMs: UInt64 = 60_000) {
            self.workerExpiryMs = workerExpiryMs
            self.itemDeadlineMs = itemDeadlineMs
        }
    }

    /// An item handed to a worker.
    public struct Assignment: Sendable {
        public var worker: String
        public var itemID: UInt64
        public var item: Item
    }

    public enum Completion: Sendable {
        /// First result for the item: it is done.
        case completed(Item)
        /// The item was already completed (or never existed): ignore the result.
        case duplicate
    }

    private struct Worker: Sendable {
        var credit: Int
        var lastSeenMs: UInt64
        var lastServedTick: UInt64
        var inFlight: Set<UInt64>
    }

    private struct InFlight: Sendable {
        var item: Item
        var worker: String
        var deadlineMs: UInt64
    }

    public let config: Config
    private var workers: [String: Worker] = [:]
    private var queue: [(id: UInt64, item: Item)] = []
    private var queueHead = 0
    private var inFlight: [UInt64: InFlight] = [:]
    private var tick: UInt64 = 0
    /// Items re-queued because their worker died or their deadline passed.
    public private(set) var requeued = 0

    public init(config: Config = Config()) {
        self.config = config
    }

    public var queuedCount: Int { queue.count - queueHead }
    public var inFlightCount: Int { inFlight.count }
    public var liveWorkers: Int { workers.count }
    public func isKnown(worker: String) -> Bool { workers[worker] != nil }
    public func credit(of worker: String) -> Int { workers[worker]?.credit ?? 0 }

    /// Registers a worker (idempotent: a known worker is only marked alive).
    public mutating func join(worker: String, nowMs: UInt64) {
        if workers[worker] == nil {
            workers[worker] = Worker(credit: 0, lastSeenMs: nowMs, lastServedTick: 0, inFlight: [])
        } else {
            workers[worker]!.lastSeenMs = nowMs
        }
    }

    /// Adds credit from a worker's `Ready`. Unknown workers are refused (false): they must say hello first.
    @discardableResult
    public mutating func grant(worker: String, credit: Int, nowMs: UInt64) -> Bool {
        guard workers[worker] != nil, credit > 0 else { return false }
        workers[worker]!.credit += credit
        workers[worker]!.lastSeenMs = nowMs
        return true
    }

    /// Any message from a worker proves it alive.
    public mutating func heard(from worker: String, nowMs: UInt64) {
        workers[worker]?.lastSeenMs = nowMs
    }

    /// Queues an item at the back.
    public mutating func enqueue(id: UInt64, item: Item) {
        queue.append((id, item))
    }

    /// Hands queued items to workers with credit, least recently served first.
    public mutating func assign(nowMs: UInt64) -> [Assignment] {
        assign(nowMs: nowMs) { _ in nil }
    }

    /// Hands queued items to workers with credit, least recently served first; once the queue is
    /// empty, asks `produce` for an item made for the worker whose turn it is (work whose best
    /// taker depends on the worker, e.g. the batch that follows its last one). An item produced
    /// is handed out, in flight and re-queued like a queued one; a worker `produce` has nothing
    /// for (nil) is not asked again in this call.
    public mutating func assign(nowMs: UInt64, produce: (_ worker: String) -> (id: UInt64, item: Item)?) -> [Assignment] {
        var out: [Assignment] = []
        var nothingFor: Set<String> = []
        while true {
            guard let name = workers.filter({ $0.value.credit > 0 && !nothingFor.contains($0.key) })
                .min(by: { ($0.value.lastServedTick, $0.key) < ($1.value.lastServedTick, $1.key) })?.key else { break }
            let id: UInt64, item: Item
            if queueHead < queue.count {
                (id, item) = queue[queueHead]
                queueHead += 1
            } else if let made = produce(name) {
                (id, item) = made
            } else {
                nothingFor.insert(name)
                continue
            }
            tick += 1
            workers[name]!.credit -= 1
            workers[name]!.lastServedTick = tick
            workers[name]!.inFlight.insert(id)
            inFlight[id] = InFlight(item: item, worker: name, deadlineMs: nowMs + config.itemDeadlineMs)
            out.append(Assignment(worker: name, itemID: id, item: item))
        }
        compactQueue()
        return out
    }

    /// The item with this id, if it is in flight or queued.
    public func item(_ id: UInt64) -> Item? {
        inFlight[id]?.item ?? queue[queueHead...].first(where: { $0.id == id })?.item
    }

    /// The worker an item is in flight to (nil when it is queued, done or unknown): a result
    /// from anyone else answers work it was not given.
    public func holder(of id: UInt64) -> String? { inFlight[id]?.worker }

    /// Records a worker's result for an item.
    public mutating func complete(itemID: UInt64, from worker: String, nowMs: UInt64) -> Completion {
        workers[worker]?.lastSeenMs = nowMs
        guard let f = inFlight.removeValue(forKey: itemID) else {
            // Re-queued after a deadline but the first worker finished after all: take this
            // result and withdraw the queued copy, so the item is done exactly once.
            if let k = queue[queueHead...].firstIndex(where: { $0.id == itemID }) {
                let item = queue.remove(at: k).item
                return .completed(item)
            }
            return .duplicate
        }
        workers[f.worker]?.inFlight.remove(itemID)
        return .completed(f.item)
    }

    /// Takes back an item handed out by `assign` that never reached its worker (the send to it
    /// failed: its queue was full, or it is gone): the item goes back to the *front* of the
    /// queue, so the next `assign` hands it out first, and with `restoreCredit` the worker gets
    /// back the credit it spent (it asked for an item and did not get one). False when the item
    /// is not in flight (already answered or re-queued).
    @discardableResult
    public mutating func withdraw(itemID: UInt64, restoreCredit: Bool) -> Bool {
        guard let f = inFlight.removeValue(forKey: itemID) else { return false }
        if workers[f.worker] != nil {
            workers[f.worker]!.inFlight.remove(itemID)
            if restoreCredit { workers[f.worker]!.credit += 1 }
        }
        compactQueue()
        queue.insert((itemID, f.item), at: queueHead)
        return true
    }

    /// Drops workers not heard from in time and re-queues their items and any item past its
    /// deadline (front of the queue, original order). Returns the workers dropped.
    public mutating func expire(nowMs: UInt64) -> [String] {
        let dead = workers.filter { nowMs > $0.value.lastSeenMs + config.workerExpiryMs }.map(\.key).sorted()
        var back: [UInt64] = []
        for name in dead {
            back.append(contentsOf: workers[name]!.inFlight)
            workers.removeValue(forKey: name)
        }
        for (id, f) in inFlight where nowMs > f.deadlineMs && !back.contains(id) {
            back.append(id)
            workers[f.worker]?.inFlight.remove(id)
        }
        back.sort()
        let items = back.compactMap { id in inFlight.removeValue(forKey: id).map { (id: id, item: $0.item) } }
        requeued += items.count
        compactQueue()
        queue.insert(contentsOf: items, at: queueHead)
        return dead
    }

    /// Removes a worker that said goodbye; its items are re-queued at once.
    public mutating func leave(worker: String) {
        guard let w = workers.removeValue(forKey: worker) else { return }
        let items = w.inFlight.sorted().compactMap { id in inFlight.removeValue(forKey: id).map { (id: id, item: $0.item) } }
        requeued += items.count
        compactQueue()
        queue.insert(contentsOf: items, at: queueHead)
    }

    /// Drops handed-out items from the front of the queue once they are at least as many as
    /// the items still queued: the queue keeps no more handed-out items than queued ones (items
    /// can be large: inline frame batches), and each element is moved O(1) times on average.
    private mutating func compactQueue() {
        if queueHead > 0 && queueHead >= queue.count - queueHead {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }
}
