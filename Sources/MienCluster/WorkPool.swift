import MienCore
import MienProto

/// One kind of worker at the coordinator (feature or sequence): who is connected (name →
/// routing id), the model they must all have, and the work handed to them by credit
/// (`WorkDispatcher`). Part of `CoordinatorCore`; no I/O.
struct WorkPool<Item: Sendable> {
    let kind: WorkKind
    var work: WorkDispatcher<Item>
    /// Worker name → routing id, for the workers that said hello.
    private(set) var ids: [String: [UInt8]] = [:]
    /// The model every worker of the pool must have (empty: the first hello decides).
    private(set) var modelHash: String
    /// The workers that have been handed work at least once (for the one "first work" log line).
    private var busied: Set<String> = []

    init(kind: WorkKind, modelHash: String, config: WorkDispatcher<Item>.Config) {
        self.kind = kind
        self.modelHash = modelHash
        work = WorkDispatcher(config: config)
    }

    var role: Mien_V1_Role { kind == .feature ? .featureWorker : .sequenceWorker }
    /// The model's name in log lines.
    var modelKind: String { kind == .feature ? "CNN" : "BiLSTM" }
    /// Queued or in flight.
    var outstanding: Int { work.queuedCount + work.inFlightCount }

    func isKnown(_ name: String) -> Bool { ids[name] != nil }

    /// Why a hello is refused (nil: accepted). The first hello of a pool without a model hash
    /// sets it (`adopted` true).
    mutating func checkModel(_ hello: Mien_V1_WorkerHello) -> (refusal: String?, adopted: Bool) {
        if modelHash.isEmpty {
            modelHash = hello.modelHash
            return (nil, true)
        }
        return hello.modelHash == modelHash ? (nil, false)
            : ("\(hello.workerID) has \(modelKind) model \(hello.modelHash.prefix(12)) but this job uses \(modelHash.prefix(12)): start it with the job's model bundle", false)
    }

    /// True the first time `name` is handed an item: the pool's log says when a worker began work.
    mutating func firstHandout(to name: String) -> Bool { busied.insert(name).inserted }

    mutating func join(_ name: String, id: [UInt8], nowMs: UInt64) {
        ids[name] = id
        work.join(worker: name, nowMs: nowMs)
    }

    /// Drops workers not heard from in time (their items are re-queued); returns their names.
    mutating func expire(nowMs: UInt64) -> [String] {
        let dead = work.expire(nowMs: nowMs)
        for name in dead { ids.removeValue(forKey: name) }
        return dead
    }
}
