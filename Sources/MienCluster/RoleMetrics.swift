import CoreMetrics
import Foundation

/// The roles' instruments, made through a swift-metrics `MetricsFactory` given to each role
/// (the Prometheus factory in the command line; `TestMetrics` in tests, which reads values
/// back; a no-op factory by default). Names follow Prometheus conventions: counters end in
/// `_total`, durations are `_seconds` histograms, every series carries `role`, and `kind`
/// tells feature from sequence work or one error from another. The catalogue is in
/// README.md ("Monitoring").
///
/// Instruments are thread-safe; each role touches its own from its own threads. Two roles of
/// one kind in one process (`mien run` with several workers) share series: the factory
/// returns the same counter for the same name and labels.
public enum MetricName {
    public static let framesProcessed = "mien_frames_processed_total"
    public static let facesTracked = "mien_faces_tracked_total"
    public static let framesExpected = "mien_frames_expected"
    public static let videos = "mien_videos"
    public static let videosDone = "mien_videos_done_total"
    public static let videosFailed = "mien_videos_failed_total"
    public static let batchesDispatched = "mien_batches_dispatched_total"
    public static let batchesCompleted = "mien_batches_completed_total"
    public static let batchesRequeued = "mien_batches_requeued_total"
    public static let batchesRetried = "mien_batches_retried_total"
    public static let batchesInFlight = "mien_batches_in_flight"
    public static let queueDepth = "mien_queue_depth"
    public static let workersLive = "mien_workers_live"
    public static let windowsCut = "mien_windows_cut_total"
    public static let batchRoundTrip = "mien_batch_roundtrip_seconds"
    public static let handOffToResult = "mien_handoff_to_result_seconds"
    public static let errors = "mien_errors_total"
    public static let batchesProcessed = "mien_batches_processed_total"
    public static let windowsProcessed = "mien_windows_processed_total"
    public static let featureBatchSeconds = "mien_feature_batch_seconds"
    public static let windowBatchSeconds = "mien_window_batch_seconds"
    public static let itemsHeld = "mien_worker_items_held"
    public static let reconnects = "mien_worker_reconnects_total"
    public static let resultsPublished = "mien_results_published_total"
    public static let windowsMerged = "mien_windows_merged_total"
    public static let videosFinalised = "mien_videos_finalised_total"
    public static let videosPending = "mien_videos_pending"
    public static let subscribers = "mien_result_subscribers"
}

/// Kinds of work the coordinator hands out.
public enum WorkKind: String, Sendable, CaseIterable {
    case feature, sequence
}

/// Counters of errors by kind, created on first use (the set of kinds is open).
public final class ErrorCounters: @unchecked Sendable {
    private let factory: MetricsFactory
    private let role: String
    private let lock = NSLock()
    private var counters: [String: Counter] = [:]

    init(factory: MetricsFactory, role: String) {
        self.factory = factory
        self.role = role
    }

    /// Counts one error of `kind` (snake_case: `malformed_message`, `work_failed`, …).
    public func count(_ kind: String) {
        let c = lock.withLock { () -> Counter in
            if let c = counters[kind] { return c }
            let c = Counter(label: MetricName.errors, dimensions: [("role", role), ("kind", kind)], factory: factory)
            counters[kind] = c
            return c
        }
        c.increment()
    }
}

/// The coordinator's instruments.
public struct CoordinatorMetrics: Sendable {
    public let framesProcessed: Counter
    public let facesTracked: Counter
    public let framesExpected: Meter
    public let videos: Meter
    public let videosDone: Counter
    public let videosFailed: Counter
    public let windowsCut: Counter
    public let handOffToResult: CoreMetrics.Timer
    public let errors: ErrorCounters
    let dispatched: [WorkKind: Counter]
    let completed: [WorkKind: Counter]
    let requeued: [WorkKind: Counter]
    let retried: [WorkKind: Counter]
    let inFlight: [WorkKind: Meter]
    let queued: [WorkKind: Meter]
    let workers: [WorkKind: Meter]
    let roundTrip: [WorkKind: CoreMetrics.Timer]

    public init(factory: MetricsFactory = NOOPMetricsHandler.instance) {
        let role = [("role", "coordinator")]
        func perKind<T>(_ make: ([(String, String)]) -> T) -> [WorkKind: T] {
            Dictionary(uniqueKeysWithValues: WorkKind.allCases.map { ($0, make(role + [("kind", $0.rawValue)])) })
        }
        framesProcessed = Counter(label: MetricName.framesProcessed, dimensions: role, factory: factory)
        facesTracked = Counter(label: MetricName.facesTracked, dimensions: role, factory: factory)
        framesExpected = Meter(label: MetricName.framesExpected, dimensions: role, factory: factory)
        videos = Meter(label: MetricName.videos, dimensions: role, factory: factory)
        videosDone = Counter(label: MetricName.videosDone, dimensions: role, factory: factory)
        videosFailed = Counter(label: MetricName.videosFailed, dimensions: role, factory: factory)
        windowsCut = Counter(label: MetricName.windowsCut, dimensions: role, factory: factory)
        handOffToResult = CoreMetrics.Timer(label: MetricName.handOffToResult, dimensions: role, factory: factory)
        errors = ErrorCounters(factory: factory, role: "coordinator")
        dispatched = perKind { Counter(label: MetricName.batchesDispatched, dimensions: $0, factory: factory) }
        completed = perKind { Counter(label: MetricName.batchesCompleted, dimensions: $0, factory: factory) }
        requeued = perKind { Counter(label: MetricName.batchesRequeued, dimensions: $0, factory: factory) }
        retried = perKind { Counter(label: MetricName.batchesRetried, dimensions: $0, factory: factory) }
        inFlight = perKind { Meter(label: MetricName.batchesInFlight, dimensions: $0, factory: factory) }
        queued = perKind { Meter(label: MetricName.queueDepth, dimensions: $0, factory: factory) }
        workers = perKind { Meter(label: MetricName.workersLive, dimensions: $0, factory: factory) }
        roundTrip = perKind { CoreMetrics.Timer(label: MetricName.batchRoundTrip, dimensions: $0, factory: factory) }
    }
}

/// A worker's instruments (`role` is `feature-worker` or `sequence-worker`).
public struct WorkerMetrics: Sendable {
    public let role: String
    /// Work items answered with a result (not an error).
    public let batchesProcessed: Counter
    /// Frames decoded (feature workers) or windows classified (sequence workers).
    public let unitsProcessed: Counter
    /// Compute time per item: decode + detect + CNN per feature batch, BiLSTM per window batch.
    public let computeSeconds: CoreMetrics.Timer
    public let itemsHeld: Meter
    public let reconnects: Counter
    public let errors: ErrorCounters

    public init(feature: Bool, factory: MetricsFactory = NOOPMetricsHandler.instance) {
        role = feature ? "feature-worker" : "sequence-worker"
        let dims = [("role", role)]
        let kind = dims + [("kind", feature ? WorkKind.feature.rawValue : WorkKind.sequence.rawValue)]
        batchesProcessed = Counter(label: MetricName.batchesProcessed, dimensions: kind, factory: factory)
        unitsProcessed = Counter(label: feature ? MetricName.framesProcessed : MetricName.windowsProcessed, dimensions: dims, factory: factory)
        computeSeconds = CoreMetrics.Timer(label: feature ? MetricName.featureBatchSeconds : MetricName.windowBatchSeconds, dimensions: dims, factory: factory)
        itemsHeld = Meter(label: MetricName.itemsHeld, dimensions: dims, factory: factory)
        reconnects = Counter(label: MetricName.reconnects, dimensions: dims, factory: factory)
        errors = ErrorCounters(factory: factory, role: role)
    }
}

/// The aggregator's instruments.
public struct AggregatorMetrics: Sendable {
    public let windowsMerged: Counter
    public let videosPending: Meter
    public let subscribers: Meter
    public let errors: ErrorCounters
    let published: [String: Counter]
    let finalised: [String: Counter]

    public init(factory: MetricsFactory = NOOPMetricsHandler.instance) {
        let role = [("role", "aggregator")]
        windowsMerged = Counter(label: MetricName.windowsMerged, dimensions: role, factory: factory)
        videosPending = Meter(label: MetricName.videosPending, dimensions: role, factory: factory)
        subscribers = Meter(label: MetricName.subscribers, dimensions: role, factory: factory)
        errors = ErrorCounters(factory: factory, role: "aggregator")
        published = Dictionary(uniqueKeysWithValues: ["frame", "segment", "video", "job_metrics"].map {
            ($0, Counter(label: MetricName.resultsPublished, dimensions: role + [("kind", $0)], factory: factory))
        })
        finalised = Dictionary(uniqueKeysWithValues: ["ok", "error"].map {
            ($0, Counter(label: MetricName.videosFinalised, dimensions: role + [("status", $0)], factory: factory))
        })
    }

    /// Counts one published result envelope of `kind` (`frame`, `segment`, `video`, `job_metrics`).
    func countPublished(_ kind: String) { published[kind]?.increment() }
}

extension CoreMetrics.Timer {
    /// Records the time since `startNs` (a `DispatchTime.now().uptimeNanoseconds` reading).
    func recordSince(_ startNs: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        recordNanoseconds(Int64(now >= startNs ? now - startNs : 0))
    }
}
