import MienCore
import MienProto

/// A feature batch at the coordinator: batch `index` of a video, what was sent (or will be),
/// and how often workers failed it.
struct FeatureItem: Sendable, Equatable {
    var videoID: String
    var index: Int
    var batch: Mien_V1_FrameBatch
    var attempts = 0
}

/// A window batch at the coordinator, and how often workers failed it.
struct SequenceItem: Sendable, Equatable {
    var batch: Mien_V1_WindowBatch
    var attempts = 0
}

/// Batch `index` of `video`, not made yet.
typealias BatchRef = AffinityPlanner<String>.Batch

/// Where the coordinator's feature batches come from — the one place the two frame transports
/// differ (`Config.frames`):
///
/// - `ReferenceBatches`: workers decode the videos themselves, so which batch a worker gets
///   matters (the one after its last continues decoding; any other costs a seek). A batch is
///   made when a worker has credit for it, as `AffinityPlanner` picks (`next(for:frontier:)`).
/// - `InlineBatches`: the coordinator decodes each batch once, ahead of any worker, on its
///   decoder thread; batches are readied in frame order, round-robin over the active videos
///   (`nextToReady`), and queued for any worker once decoded (`ready(batchID:)`).
///
/// Pure: the core (`CoordinatorCore`) makes the batches and owns their ids.
protocol FeatureBatchSource {
    /// Videos in progress at once, given the configured limit and the live feature workers.
    func activeVideoLimit(configured: Int, liveWorkers: Int) -> Int
    /// A video's batches become available / are withdrawn (the video finished or failed).
    mutating func add(video: String, batchCount: Int)
    mutating func remove(video: String)
    /// A worker is gone: what it held goes back.
    mutating func release(worker: String)
    /// The batch to make for `worker` (which has credit), nil when there is none it may have now.
    /// `frontier(video)`: the first batch of the video whose answer is not consumed yet.
    mutating func next(for worker: String, frontier: (String) -> Int) -> BatchRef?
    /// Batches being readied (decoded); they count toward `maxOutstandingBatches`.
    var readying: Int { get }
    /// The next batch to ready ahead of any worker, nil when there is none.
    mutating func nextToReady() -> BatchRef?
    /// Records a batch sent to be readied.
    mutating func readying(_ item: FeatureItem)
    /// A readied batch is back: the item it belongs to (nil when unknown).
    mutating func ready(batchID: UInt64) -> FeatureItem?
    /// Batches not made yet that the next credits would get, at most `room` (for the gauges).
    func unmade(room: Int) -> Int
}

/// By reference: batches made on demand for the worker whose turn it is (`AffinityPlanner`).
struct ReferenceBatches: FeatureBatchSource {
    private var planner: AffinityPlanner<String>

    init(chunkBatches: Int, maxAhead: Int) {
        planner = AffinityPlanner(chunkBatches: chunkBatches, maxAhead: maxAhead)
    }

    /// One more than the live workers when that is more: a worker done with its part of a video
    /// starts a whole unstarted one instead of splitting another worker's run (a seek).
    func activeVideoLimit(configured: Int, liveWorkers: Int) -> Int { max(configured, liveWorkers + 1) }
    mutating func add(video: String, batchCount: Int) { planner.add(video: video, batchCount: batchCount) }
    mutating func remove(video: String) { planner.remove(video: video) }
    mutating func release(worker: String) { planner.release(worker: worker) }
    mutating func next(for worker: String, frontier: (String) -> Int) -> BatchRef? { planner.next(for: worker, frontier: frontier) }
    var readying: Int { 0 }
    mutating func nextToReady() -> BatchRef? { nil }
    mutating func readying(_ item: FeatureItem) { preconditionFailure("by-reference batches are not readied") }
    mutating func ready(batchID: UInt64) -> FeatureItem? { nil }
    func unmade(room: Int) -> Int { min(planner.unplannedCount, max(0, room)) }
}

/// Inline: batches readied (decoded by the coordinator) in frame order, round-robin over the
/// active videos by id. A decoded batch keeps its frames in the dispatcher until answered, so
/// one re-queued after a worker died is sent again without decoding it again.
struct InlineBatches: FeatureBatchSource {
    /// Video → (next batch to ready, batch count).
    private var cursors: [String: (next: Int, count: Int)] = [:]
    private var roundRobin = 0
    /// Batches being decoded, by batch id.
    private var decoding: [UInt64: FeatureItem] = [:]

    /// The decoder goes through the videos in order: more at once would not help it.
    func activeVideoLimit(configured: Int, liveWorkers: Int) -> Int { configured }
    mutating func add(video: String, batchCount: Int) { cursors[video] = (0, batchCount) }
    mutating func remove(video: String) { cursors.removeValue(forKey: video) }
    mutating func release(worker: String) {}
    mutating func next(for worker: String, frontier: (String) -> Int) -> BatchRef? { nil }
    var readying: Int { decoding.count }

    mutating func nextToReady() -> BatchRef? {
        let candidates = cursors.filter { $0.value.next < $0.value.count }.keys.sorted()
        guard !candidates.isEmpty else { return nil }
        let video = candidates[roundRobin % candidates.count]
        roundRobin += 1
        defer { cursors[video]!.next += 1 }
        return BatchRef(video: video, index: cursors[video]!.next)
    }

    mutating func readying(_ item: FeatureItem) { decoding[item.batch.batchID] = item }
    mutating func ready(batchID: UInt64) -> FeatureItem? { decoding.removeValue(forKey: batchID) }
    func unmade(room: Int) -> Int { 0 }
}
