/// Progress of a job, for the progress line and `mien status`.
public struct JobProgress: Sendable, Equatable {
    public var videosTotal = 0
    /// Videos taken up so far (`framesTotal` counts the frames of those that probed well).
    public var videosStarted = 0
    /// Videos a resumed job found finished already.
    public var videosSkipped = 0
    public var videosDone = 0
    public var videosFailed = 0
    public var framesTotal = 0
    public var framesDone = 0
    public var featureWorkers = 0
    public var sequenceWorkers = 0
    public var requeuedBatches = 0
    /// Feature / sequence batches waiting for a worker and handed out but not answered. (By
    /// reference, feature batches are made when a worker has credit: those waiting are the ones
    /// the next credits would get, up to `Config.maxOutstandingBatches`.)
    public var featureBatchesQueued = 0
    public var featureBatchesInFlight = 0
    public var sequenceBatchesQueued = 0
    public var sequenceBatchesInFlight = 0
    /// Worker-socket messages dropped because their peer exceeded `Config.peerRateLimit`.
    public var messagesRateLimited = 0
    /// Worker-socket messages that did not decode (garbled, truncated, wrong framing or version): dropped.
    public var messagesMalformed = 0
    /// The most videos handed to the aggregator and not yet acknowledged at one time
    /// (≤ `Config.maxUnacknowledgedVideos` + the active-video limit − 1; that limit is
    /// `Config.maxActiveVideos`, by reference at least the live feature workers + 1).
    public var peakVideosAwaitingResults = 0
    /// The most feature results of one video held at one time because an earlier batch's result
    /// was still missing (by reference ≤ `Config.maxBatchesAhead` − 1; inline ≤ `maxOutstandingBatches` − 1).
    public var peakResultsAwaitingOrder = 0
    public var finished = false

    public init() {}
}
