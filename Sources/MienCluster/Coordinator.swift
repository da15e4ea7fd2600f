import CoreMetrics
import Foundation
import Logging
import MienCore
import MienProto
import MienTransport
import MienWire

/// One input video of a job.
public struct VideoInput: Sendable, Hashable {
    /// Job-unique id (the path relative to the input root, or the path as given).
    public var id: String
    /// Where workers read it (by-reference batches): a path every worker can open; inline
    /// batches: a path the coordinator can open.
    public var path: String
    /// Video-level ground truth label, when given (`--labels`).
    public var groundTruth: String?

    public init(id: String, path: String, groundTruth: String? = nil) {
        self.id = id
        self.path = path
        self.groundTruth = groundTruth
    }
}

/// What a probe tells the coordinator about a video.
public struct VideoProbe: Sendable {
    public var fps: Double
    public var frameCount: Int
    public var width: Int
    public var height: Int

    public init(fps: Double, frameCount: Int, width: Int, height: Int) {
        self.fps = fps
        self.frameCount = frameCount
        self.width = width
        self.height = height
    }
}

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

/// The coordinator: probes inputs, cuts videos into frame batches (by reference, or decoded
/// inline on a decoder thread of its own: `Config.frames`), hands them
/// to feature workers by credit, restores frame order, links faces into tracks, cuts ordered
/// windows per track, hands them to sequence workers, and forwards tracks, predictions and
/// manifests to the aggregator; journals videos the aggregator acknowledged as finished.
///
/// All sockets are owned by one thread (`run`), polled with a timeout.
public final class Coordinator: @unchecked Sendable {
    public struct Config: Sendable {
        public var endpoints: ClusterEndpoints
        public var liveness = Liveness()
        /// Frames per feature batch: by default the by-reference default (100); give the
        /// transport's `FrameTransport.defaultBatchFrames` when changing `frames`, as the command
        /// line does (32 inline).
        public var batchFrames = FrameTransport.reference.defaultBatchFrames
        /// By reference (workers open the videos) or inline (the coordinator decodes each video
        /// once and ships GRAY8 frames; workers need no access to the videos).
        public var frames = FrameTransport.reference
        /// Inline mode: pixel bytes one batch may carry. A worker's socket refuses messages over
        /// `ProtocolConstants.maxMessageBytes` (ZMQ_MAXMSGSIZE) by dropping the connection, so a
        /// larger batch fails its video with a clear error instead; 1 MiB is left for the rest
        /// of the message.
        public var maxInlineBatchBytes = ProtocolConstants.maxMessageBytes - (1 << 20)
        /// Inline mode: makes the decoder used on the decoder thread (nil: video files, frame
        /// folders and images through MienVision). A test seam (synthetic frames): internal.
        var inlineDecoder: (@Sendable () -> InlineFrameDecoding)?
        /// Process every k-th frame.
        public var sampleEvery = 1
        /// BiLSTM window length T and stride (steps of a track). A track shorter than T gets
        /// no window: the aggregator labels it by the CNN (`TrackLabelling`).
        public var windowLength = 16
        public var windowStride = 8
        /// Windows per sequence work item.
        public var windowsPerBatch = 32
        /// Videos in progress at once (memory bound). By reference, one more than the live feature
        /// workers when that is more: a worker done with its part of a video then starts a whole
        /// unstarted one instead of taking half of another worker's part, which costs a seek
        /// (decoding from the keyframe before the split only to skip those frames: with 2
        /// workers on 8 short clips, 685 such frames for 5 022 — the limit of 2 made every
        /// video's end a split).
        public var maxActiveVideos = 2
        /// A new video is started only while fewer finished videos than this wait for the
        /// aggregator's acknowledgement (results written), so at most this + `maxActiveVideos` − 1
        /// wait at once: backpressure from a slower aggregator. Without it the
        /// coordinator ran ahead and the track and window messages of every video it finished
        /// piled up in the queue to the aggregator — peak memory grew with the archive
        /// (`mien bench-routing`, docs/BENCHMARKS.md).
        public var maxUnacknowledgedVideos = 4
        /// Feature batches queued or in flight at once (memory bound, backpressure).
        public var maxOutstandingBatches = 16
        /// By-reference batches: each video's batches are cut into chunks of this many
        /// consecutive batches, and a chunk preferably goes to one worker, in order
        /// (`AffinityPlanner`), so a worker goes on decoding where its last batch ended instead
        /// of seeking or decoding frames only to skip them. 1: no chunks (a worker still gets the
        /// batch after its last one when that is next in line). Inline batches go out in order.
        public var chunkBatches = Config.defaultChunkBatches
        public static let defaultChunkBatches = 16
        /// By-reference batches: a batch is handed out only while it is fewer than this many
        /// batches past the first batch of its video whose result is not consumed yet, so at most
        /// this − 1 results per active video wait for an earlier one (nil: 4 × `chunkBatches`).
        public var maxBatchesAhead: Int?
        /// Window batches queued or in flight at once before feature work is held back.
        public var maxOutstandingWindowBatches = 16
        /// An item not answered within this time is handed out again, ms.
        public var itemDeadlineMs: UInt64 = 120_000
        /// Times an item is retried after worker errors before its video fails.
        public var maxAttempts = 3
        public var tracker = FaceTracker.Config()
        /// Model hashes workers must have (empty = accept the first one seen and require it of the rest).
        public var featureModelHash = ""
        public var sequenceModelHash = ""
        /// Class labels of the models, in output order.
        public var labels: [String] = ExpressionClass.labels
        /// Feature extraction only (`mien extract`): no windows, no sequence work; each track's
        /// frames carry their embeddings to the aggregator.
        public var extractOnly = false
        /// Journal of finished videos (nil = none, no resume).
        public var journalPath: String?
        /// CURVE: server side of the worker sockets, client side toward the aggregator.
        public var security = ClusterSecurity.none
        /// Largest message a worker-socket peer may send, bytes (ZMQ_MAXMSGSIZE): libzmq
        /// disconnects a peer that sends more, before the coordinator sees any of it.
        public var maxMessageBytes = ProtocolConstants.maxMessageBytes
        /// Messages per second each worker-socket peer (ROUTER identity) may send on average,
        /// with a burst of one second's worth; the excess is dropped, counted
        /// (`JobProgress.messagesRateLimited`) and logged once per peer per `peerLogIntervalMs`.
        /// nil = no limit. Honest workers send a few messages per work item plus one heartbeat a second.
        public var peerRateLimit: Double?
        /// At most one log line per misbehaving peer and kind of misbehaviour per interval, ms.
        public var peerLogIntervalMs: UInt64 = 10_000
        /// Applied to the bound worker sockets before they bind. A test seam (extra endpoints,
        /// small high-water marks): internal.
        var configureServerSocket: @Sendable (ZMQSocket) throws -> Void = { _ in }
        /// Applied to the socket connecting to the aggregator. A test seam: internal.
        var configureClientSocket: @Sendable (ZMQSocket) throws -> Void = { _ in }
        /// Instruments (Prometheus in the command line; no-op by default).
        public var metrics = CoordinatorMetrics()
        /// Names the job in logs and `/status` (a fresh one per coordinator start).
        public var jobID = Coordinator.newJobID()

        public init(endpoints: ClusterEndpoints) {
            self.endpoints = endpoints
        }
    }

    public let config: Config
    private let context: ZMQContext
    private let inputs: [VideoInput]
    private let probe: @Sendable (VideoInput) throws -> VideoProbe
    private let logger: Logger
    private let lock = NSLock()
    private var _progress = JobProgress()
    private var stopRequested = false
    private let finished = DispatchSemaphore(value: 0)
    private var failure: Error?

    public var progress: JobProgress { lock.withLock { _progress } }

    public init(context: ZMQContext, config: Config, inputs: [VideoInput],
                probe: @escaping @Sendable (VideoInput) throws -> VideoProbe,
                logger: Logger = .quiet("mien.coordinator")) {
        precondition(config.windowStride >= 1 && config.windowStride <= config.windowLength)
        precondition(config.batchFrames >= 1 && config.sampleEvery >= 1)
        precondition(config.chunkBatches >= 1 && (config.maxBatchesAhead ?? 1) >= 1)
        self.context = context
        self.config = config
        self.inputs = inputs
        self.probe = probe
        var logger = logger
        logger[metadataKey: "role"] = "coordinator"
        logger[metadataKey: "job"] = .string(config.jobID)
        self.logger = logger
        _progress.videosTotal = inputs.count
        config.metrics.videos.set(inputs.count)
    }

    /// A job id: `job-` and the start time in base 36 (unique enough to tell runs apart in logs).
    public static func newJobID() -> String { "job-" + String(Clock.unixMs(), radix: 36) }

    /// Binds the worker sockets and connects to the aggregator (errors thrown here, on the
    /// caller's thread), then runs the job on a thread of its own.
    public func start() throws {
        let owned = HandOff(try Sockets(context: context, config: config))
        let thread = Thread { [self] in
            let sockets = owned.value
            do {
                try run(sockets)
            } catch let e as ZMQError where e.isTerminated {
                // context shut down: stopping
            } catch {
                lock.withLock { failure = error }
                config.metrics.errors.count("fatal")
                logger.critical("coordinator stopped on a fatal error: \(error)")
            }
            sockets.close()
            lock.withLock { _progress.finished = true }
            finished.signal()
        }
        thread.name = "mien.coordinator"
        thread.start()
    }

    /// Blocks until the job is finished or stopped; throws the coordinator's fatal error.
    public func wait() throws {
        finished.wait()
        finished.signal()
        if let failure = lock.withLock({ failure }) { throw failure }
    }

    /// Blocks until the job is finished or stopped, or `seconds` passed; true when finished.
    /// (For a progress loop that must notice the end at once rather than at its next tick.)
    public func waitFinished(seconds: TimeInterval) -> Bool {
        guard finished.wait(timeout: .now() + seconds) == .success else { return false }
        finished.signal()
        return true
    }

    /// Asks the coordinator to stop (SIGINT / SIGTERM): workers are told to shut down.
    public func stop() {
        lock.withLock { stopRequested = true }
    }

    /// Messages read from one worker socket per turn of the loop, at most.
    static let maxMessagesPerTurn = 256

    // MARK: sockets

    final class Sockets {
        let features: ZMQSocket
        let sequences: ZMQSocket
        let aggregator: ZMQSocket

        init(context: ZMQContext, config: Config) throws {
            features = try ZMQSocket(context, .router)
            sequences = try ZMQSocket(context, .router)
            aggregator = try ZMQSocket(context, .dealer)
            for s in [features, sequences] {
                try s.setRouterMandatory(true)
                try s.setMaxMessageSize(Int64(config.maxMessageBytes))
                try config.security.server?.apply(to: s)
                try config.configureServerSocket(s)
            }
            try config.security.client?.apply(to: aggregator)
            try config.configureClientSocket(aggregator)
            try aggregator.setSendHighWaterMark(0)  // never drop or block results toward the aggregator
            try features.bind(config.endpoints.features)
            try sequences.bind(config.endpoints.sequences)
            try aggregator.connect(config.endpoints.aggregator)
        }

        func close() {
            features.close()
            sequences.close()
            aggregator.close()
        }
    }

    // MARK: per-video state

    private final class VideoState {
        let input: VideoInput
        let info: VideoProbe
        let batchCount: Int
        var nextBatch = 0
        var batchesProcessed = 0
        var reorder: ReorderBuffer<Mien_V1_EmbeddingBatch>
        var tracker: FaceTracker
        var windowers: [UInt32: TrackWindower] = [:]
        /// Each open track's frames not sent to the aggregator yet (sent in parts, every batch),
        /// and its frames so far.
        var trackFrames: [UInt32: [Mien_V1_TrackFrame]] = [:]
        var trackFrameCounts: [UInt32: Int] = [:]
        var windowsPerTrack: [UInt32: UInt32] = [:]
        var framesPerTrack: [UInt32: UInt32] = [:]
        var framesDone = 0
        var manifestSent = false
        /// Windows cut and not sent yet. A window batch holds windows of one video only, cut
        /// into batches in the video's window order: the same batches whatever the workers'
        /// count and timing, so the BiLSTM (whose float32 sums depend on the GEMM's batch size)
        /// gives the same probabilities — the outputs do not depend on how the job was run.
        var pendingWindows: [Mien_V1_Window] = []

        init(input: VideoInput, info: VideoProbe, batchFrames: Int, tracker: FaceTracker.Config) {
            self.input = input
            self.info = info
            batchCount = (info.frameCount + batchFrames - 1) / batchFrames
            reorder = ReorderBuffer(first: 0, capacity: max(batchCount, 1))
            self.tracker = FaceTracker(config: tracker)
        }
    }

    private struct FeatureItem: Sendable {
        var videoID: String
        var index: Int  // batch index within the video
        var batch: Mien_V1_FrameBatch
        var attempts = 0
    }

    private struct SequenceItem: Sendable {
        var batch: Mien_V1_WindowBatch
        var attempts = 0
    }

    /// Whether `result` is a well-formed answer to `batch`: same video, frames in ascending
    /// order inside the batch's range (peer data is checked before it reaches the tracker).
    static func answers(_ result: Mien_V1_EmbeddingBatch, _ batch: Mien_V1_FrameBatch) -> Bool {
        guard result.videoID == batch.videoID else { return false }
        let indices = result.frames.map(\.index)
        guard zip(indices, indices.dropFirst()).allSatisfy({ $0 < $1 }) else { return false }
        if case .reference(let r) = batch.frames, let first = indices.first, let last = indices.last {
            return first >= r.startFrame && last < r.endFrame
        }
        if case .inline(let inline) = batch.frames {
            return Set(indices).isSubset(of: Set(inline.frames.map(\.index)))
        }
        return true
    }

    // MARK: the loop

    private func run(_ s: Sockets) throws {
        var pending = inputs[...]
        var active: [String: VideoState] = [:]
        var awaitingAck: Set<String> = []
        var featureWork = WorkDispatcher<FeatureItem>(config: .init(workerExpiryMs: config.liveness.expiryMs, itemDeadlineMs: config.itemDeadlineMs))
        var sequenceWork = WorkDispatcher<SequenceItem>(config: .init(workerExpiryMs: config.liveness.expiryMs, itemDeadlineMs: config.itemDeadlineMs))
        var featureWorkers: [String: [UInt8]] = [:]  // name → routing id
        var sequenceWorkers: [String: [UInt8]] = [:]
        var featureHash = config.featureModelHash
        var sequenceHash = config.sequenceModelHash
        // Inline mode: batches submitted to the decoder thread, by batch id. They count toward
        // `maxOutstandingBatches` with the queued and in-flight ones, so decoded frames held are
        // bounded by it. A decoded batch keeps its frames in `featureWork` until answered: a batch
        // re-queued after a worker died is sent again as it is, without decoding it again.
        let maxActive = config.maxActiveVideos
        let decoder = try config.frames == .inline
            ? InlineDecoder(capacity: config.maxOutstandingBatches, maxBatchBytes: config.maxInlineBatchBytes,
                            decoder: config.inlineDecoder ?? { VideoRangeDecoder(keepOpen: maxActive) })
            : nil
        defer { decoder?.stop() }
        // Probing (libavformat) runs on a thread of its own: slow storage never stalls this loop.
        let prober = try VideoProber(capacity: inputs.count, probe: probe)
        defer { prober.stop() }
        var decoding: [UInt64: FeatureItem] = [:]
        // By-reference mode: which batch each worker gets next (contiguous runs per worker).
        // Batches are made when a worker has credit for them, not queued ahead.
        var planner = AffinityPlanner<String>(chunkBatches: config.chunkBatches,
                                              maxAhead: config.maxBatchesAhead ?? 4 * config.chunkBatches)
        // Batch ids are unique across coordinator restarts: a worker may still answer work of a
        // crashed predecessor, and that answer must not be taken for new work with the same id.
        // 4096 ids per millisecond of wall time since the epoch leaves each incarnation room.
        var nextBatchID: UInt64 = Clock.unixMs() << 12
        var sequence: UInt64 = 0
        var lastHeartbeat: UInt64 = 0
        // No video starts before the aggregator accepted this coordinator's hello: while another
        // live coordinator holds it (a crashed predecessor not yet expired), the hello is asked
        // again every heartbeat and nothing is sent that it would drop.
        var aggregatorAccepted = false
        var shutdownSent = false
        var roundRobin = 0
        let metrics = config.metrics
        // Hand-off times for the latency histograms: batch id → when it went to a worker;
        // video → when its manifest went to the aggregator (monotonic ns).
        var handedOut: [UInt64: UInt64] = [:]
        var manifestSentAt: [String: UInt64] = [:]
        func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        // Protection from misbehaving peers: a token bucket per ROUTER identity, and one log
        // line per peer and kind of trouble per interval (counts carried in the next line).
        var limiter = config.peerRateLimit.map { PeerRateLimiter<[UInt8]>(config: .init(ratePerSecond: $0)) }
        var peerLog = PeerEventLog(intervalMs: config.peerLogIntervalMs, logger: logger)

        let journal = try config.journalPath.map { try Journal(path: $0) }
        if let journal {
            let before = pending.count
            pending = pending.filter { !journal.finished.contains($0.id) }[...]
            let skipped = before - pending.count
            if skipped > 0 {
                logger.info("resuming: \(skipped) video(s) already finished", metadata: ["journal": .string(journal.path)])
                lock.withLock { _progress.videosDone += skipped; _progress.videosSkipped = skipped }
                metrics.videosDone.increment(by: skipped)
            }
        }

        func envelope(_ body: Envelope.OneOf_Body) -> Envelope {
            sequence += 1
            return Envelope(body, senderID: "coordinator", sequence: sequence, sentUnixMs: Clock.unixMs())
        }
        func toAggregator(_ body: Envelope.OneOf_Body) throws {
            _ = try s.aggregator.send(try Framing.direct(envelope(body)))
        }
        /// Logs a peer's misbehaviour, at most once per peer and kind per interval.
        func peerEvent(_ key: String, _ line: @autoclosure () -> String) { peerLog.record(key, line()) }
        /// Sends to a worker without waiting. A message its queue had no room for (`.full`) or
        /// that could not go at all (`.failed`: the peer is gone) is logged; work is then taken
        /// back by the caller (`WorkDispatcher.withdraw`), never left to its deadline.
        @discardableResult
        func send(_ socket: ZMQSocket, to id: [UInt8], _ body: Envelope.OneOf_Body) -> Delivery {
            do {
                if try socket.send(try Framing.routed(to: id, envelope(body)), timeoutMs: 0) { return .sent }
                metrics.errors.count("send_queue_full")
                peerEvent("full|\(id)", "the queue to \(describePeer(id, nil)) is full: \(body.kind) kept to send again")
                return .full
            } catch {
                metrics.errors.count("send_failed")
                peerEvent("send|\(id)", "could not send \(body.kind) to \(describePeer(id, nil)): \(error)")
                return .failed
            }
        }

        /// Sends the video's full window batches, and with `force` (the video's end) the rest.
        func flushWindows(_ v: VideoState, force: Bool) {
            while v.pendingWindows.count >= config.windowsPerBatch || (force && !v.pendingWindows.isEmpty) {
                let n = min(config.windowsPerBatch, v.pendingWindows.count)
                let batch = Mien_V1_WindowBatch.with {
                    $0.batchID = nextBatchID
                    $0.windows = Array(v.pendingWindows.prefix(n))
                }
                v.pendingWindows.removeFirst(n)
                sequenceWork.enqueue(id: nextBatchID, item: SequenceItem(batch: batch))
                nextBatchID += 1
            }
        }

        func emit(_ v: VideoState, track: UInt32, _ w: TrackWindow) {
            v.windowsPerTrack[track, default: 0] += 1
            metrics.windowsCut.increment()
            v.pendingWindows.append(.with {
                $0.videoID = v.input.id
                $0.trackID = track
                $0.windowIndex = w.index
                $0.steps = w.steps.map { st in .with { $0.frame = st.frame; $0.embedding = st.embedding; $0.cnnProbs = st.cnnProbs } }
                $0.paddedFrom = w.paddedFrom
                $0.modelHash = sequenceHash
            })
        }

        func endTrack(_ v: VideoState, _ track: UInt32) throws {
            let count = v.trackFrameCounts.removeValue(forKey: track) ?? 0
            // A track shorter than a window (its one window would be padded) is labelled by the
            // CNN, not the BiLSTM: it gets no window (TrackLabelling, the aggregator's rule).
            if var w = v.windowers.removeValue(forKey: track), let last = w.finish(),
               TrackLabelling.source(trackFrames: count, windowLength: config.windowLength) == .bilstm {
                emit(v, track: track, last)
            }
            v.framesPerTrack[track] = UInt32(count)
            try sendTrackPart(v, track, last: true)
        }

        /// Sends the track's frames not sent yet (the aggregator labels them as their windows
        /// come: nothing here grows with a track's length); `last` ends the track.
        func sendTrackPart(_ v: VideoState, _ track: UInt32, last: Bool) throws {
            let frames = v.trackFrames.removeValue(forKey: track) ?? []
            guard last || !frames.isEmpty else { return }
            try toAggregator(.trackFrames(.with {
                $0.videoID = v.input.id
                $0.trackID = track
                $0.frames = frames
                $0.last = last
                if last { $0.windows = v.windowsPerTrack[track] ?? 0 }
            }))
        }

        func sendManifest(_ v: VideoState, error: String?) throws {
            v.manifestSent = true
            try toAggregator(.manifest(.with {
                $0.videoID = v.input.id
                $0.uri = v.input.path
                $0.fps = v.info.fps
                $0.frameCount = UInt64(v.framesDone)
                $0.width = UInt32(v.info.width)
                $0.height = UInt32(v.info.height)
                $0.windowsPerTrack = error == nil ? v.windowsPerTrack : [:]
                $0.framesPerTrack = error == nil ? v.framesPerTrack : [:]
                $0.windowLength = UInt32(config.windowLength)
                $0.groundTruthLabel = v.input.groundTruth ?? ""
                $0.error = error ?? ""
            }))
            awaitingAck.insert(v.input.id)
            let waiting = awaitingAck.count
            lock.withLock { _progress.peakVideosAwaitingResults = max(_progress.peakVideosAwaitingResults, waiting) }
            manifestSentAt[v.input.id] = nowNs()
        }

        func failVideo(_ id: String, _ message: String) throws {
            logger.warning("video failed: \(message)", metadata: ["video": .string(id)])
            if let v = active.removeValue(forKey: id) {
                if !v.manifestSent { try sendManifest(v, error: message) }
            }
            planner.remove(video: id)
        }

        /// Takes up videos, in input order, while under the active-video and unacknowledged-video
        /// bounds: each goes to the probe thread first (`startProbed` starts it).
        func startVideos() {
            guard aggregatorAccepted else { return }
            // Inline, the coordinator's decoder goes through the videos in order: more at once
            // would not help it.
            let limit = decoder == nil ? max(config.maxActiveVideos, featureWorkers.count + 1) : config.maxActiveVideos
            while active.count + prober.pending < limit, awaitingAck.count < config.maxUnacknowledgedVideos,
                  let input = pending.popFirst() {
                lock.withLock { _progress.videosStarted += 1 }
                prober.submit(input)
            }
        }

        /// Starts the videos the probe thread finished (a probe error fails its video).
        func startProbed() throws {
            for probed in prober.collect() {
                let input = probed.input
                let info: VideoProbe
                switch probed.result {
                case .success(let p):
                    info = p
                case .failure(let error):
                    let v = VideoState(input: input, info: VideoProbe(fps: 0, frameCount: 0, width: 0, height: 0),
                                       batchFrames: config.batchFrames, tracker: config.tracker)
                    try sendManifest(v, error: "\(error)")
                    logger.warning("video failed: \(error)", metadata: ["video": .string(input.id)])
                    continue
                }
                let v = VideoState(input: input, info: info, batchFrames: config.batchFrames, tracker: config.tracker)
                lock.withLock { _progress.framesTotal += info.frameCount / config.sampleEvery }
                metrics.framesExpected.increment(by: Double(info.frameCount / config.sampleEvery))
                if v.batchCount == 0 {
                    try sendManifest(v, error: "\(input.path) has no frames: it is empty or not a video; check the file")
                    continue
                }
                active[input.id] = v
                if decoder == nil { planner.add(video: input.id, batchCount: v.batchCount) }
            }
        }

        /// Feature batch `index` of `v` (by reference), under a new batch id.
        func makeBatch(_ v: VideoState, _ index: Int) -> FeatureItem {
            let start = index * config.batchFrames
            // The last batch runs to the end of the file: container frame counts can be low.
            let end = index == v.batchCount - 1 ? Int.max : start + config.batchFrames
            let batch = Mien_V1_FrameBatch.with {
                $0.videoID = v.input.id
                $0.batchID = nextBatchID
                $0.fps = v.info.fps
                $0.reference = .with {
                    $0.uri = v.input.path
                    $0.startFrame = UInt64(start)
                    $0.endFrame = UInt64(end)
                    $0.sampleEvery = UInt32(config.sampleEvery)
                }
                $0.modelHash = featureHash
            }
            nextBatchID += 1
            return FeatureItem(videoID: v.input.id, index: index, batch: batch)
        }

        /// Whether sequence work is so far behind that feature work waits.
        func sequenceWorkBehind() -> Bool {
            sequenceWork.queuedCount + sequenceWork.inFlightCount >= config.maxOutstandingWindowBatches
        }

        /// Inline mode: submits feature batches to the decoder, in order, round-robin over
        /// active videos, while under the bounds (the decoded ones are queued as they come).
        func topUpFeatureWork() {
            guard let decoder else { return }
            while featureWork.queuedCount + featureWork.inFlightCount + decoding.count < config.maxOutstandingBatches,
                  !sequenceWorkBehind() {
                let candidates = active.values.filter { $0.nextBatch < $0.batchCount }.sorted { $0.input.id < $1.input.id }
                guard !candidates.isEmpty else { return }
                let v = candidates[roundRobin % candidates.count]
                roundRobin += 1
                let item = makeBatch(v, v.nextBatch)
                v.nextBatch += 1
                decoding[item.batch.batchID] = item
                decoder.submit(item.batch)
            }
        }

        /// By-reference mode: the batch the planner picks for `worker`, made when it has credit
        /// for it, while `budget` (batches that may still be queued or in flight) lasts.
        func referenceBatch(for worker: String, budget: inout Int) -> (id: UInt64, item: FeatureItem)? {
            guard decoder == nil, budget > 0, !sequenceWorkBehind(),
                  let b = planner.next(for: worker, frontier: { Int(active[$0]?.reorder.next ?? 0) }),
                  let v = active[b.video] else { return nil }
            budget -= 1
            let item = makeBatch(v, b.index)
            return (item.batch.batchID, item)
        }

        /// Inline mode: queues the batches the decoder thread finished; a decode error fails its video.
        func collectDecoded() throws {
            guard let decoder else { return }
            for decoded in decoder.collect() {
                guard var item = decoding.removeValue(forKey: decoded.batch.batchID) else { continue }
                guard active[item.videoID] != nil else { continue }  // the video failed meanwhile
                if let error = decoded.error {
                    metrics.errors.count("decode_failed")
                    try failVideo(item.videoID, error)
                } else {
                    item.batch = decoded.batch
                    featureWork.enqueue(id: decoded.batch.batchID, item: item)
                }
            }
        }

        /// Consumes embedding batches of a video in frame order.
        func advance(_ v: VideoState) throws {
            for batch in v.reorder.drain() {
                v.batchesProcessed += 1
                for frame in batch.frames {
                    v.framesDone += 1
                    let boxes = frame.faces.map { Box(x: Double($0.box.x), y: Double($0.box.y), width: Double($0.box.width), height: Double($0.box.height)) }
                    let update = v.tracker.update(frame: frame.index, boxes: boxes)
                    for t in update.ended { try endTrack(v, t) }
                    for (face, track) in zip(frame.faces, update.trackIDs) {
                        v.trackFrameCounts[track, default: 0] += 1
                        v.trackFrames[track, default: []].append(.with {
                            $0.frame = frame.index
                            $0.timeS = frame.timeS
                            $0.box = face.box
                            $0.cnnProbs = face.cnnProbs
                            if config.extractOnly { $0.embedding = face.embedding }
                        })
                        if config.extractOnly { continue }
                        if v.windowers[track] == nil {
                            v.windowers[track] = TrackWindower(length: config.windowLength, stride: config.windowStride)
                        }
                        if let w = v.windowers[track]!.append(TrackStep(frame: frame.index, embedding: face.embedding, cnnProbs: face.cnnProbs.probs)) {
                            emit(v, track: track, w)
                        }
                    }
                }
                // The batch's track frames go to the aggregator before its windows go to workers
                // (their predictions find the frames there). Full window batches go out as they
                // fill, so sequence workers run alongside the feature workers and the windows of a
                // long video are never all held here.
                for track in v.trackFrames.keys.sorted() { try sendTrackPart(v, track, last: false) }
                flushWindows(v, force: false)
                lock.withLock { _progress.framesDone += batch.frames.count }
                metrics.framesProcessed.increment(by: batch.frames.count)
                metrics.facesTracked.increment(by: batch.frames.reduce(0) { $0 + $1.faces.count })
            }
            if v.batchesProcessed == v.batchCount {
                for t in v.tracker.finish() { try endTrack(v, t) }
                flushWindows(v, force: true)
                active.removeValue(forKey: v.input.id)
                planner.remove(video: v.input.id)
                if v.framesPerTrack.isEmpty {
                    try sendManifest(v, error: "no faces found in \(v.framesDone) frames of \(v.input.path)")
                } else {
                    try sendManifest(v, error: nil)
                }
            }
        }

        func checkHash(_ hello: Mien_V1_WorkerHello, expected: inout String, kind: String) -> String? {
            if expected.isEmpty {
                expected = hello.modelHash
                logger.info("\(kind) model \(hello.modelHash.prefix(12)) (from the first \(kind) worker)", metadata: ["worker": .string(hello.workerID)])
                return nil
            }
            return hello.modelHash == expected ? nil
                : "\(hello.workerID) has \(kind) model \(hello.modelHash.prefix(12)) but this job uses \(expected.prefix(12)): start it with the job's model bundle"
        }

        func handleWorkerMessage(_ socket: ZMQSocket, frames: [[UInt8]], peer: PeerInfo, feature: Bool) throws {
            let socketName = feature ? "feature" : "sequence"
            // A ROUTER always puts the sender's identity first; rate-limit before any decoding.
            let sender = frames.first ?? []
            if limiter != nil {
                if !limiter!.admit(sender, nowMs: Clock.nowMs()) {
                    lock.withLock { _progress.messagesRateLimited += 1 }
                    peerEvent("rate|\(socketName)|\(sender)", "dropped messages of \(describePeer(sender, peer)) on the \(socketName) socket: over the limit of \(String(format: "%g", config.peerRateLimit ?? 0)) messages/s")
                    return
                }
            }
            let (id, message): ([UInt8], Envelope)
            do { (id, message) = try Framing.decodeRouted(frames) } catch {
                metrics.errors.count("malformed_message")
                // A typed WireError (wrong frame count, garbled protobuf, unknown version, no body):
                // this message is dropped; the peer and the job go on.
                lock.withLock { _progress.messagesMalformed += 1 }
                peerEvent("malformed|\(socketName)|\(sender)", "dropped an undecodable message from \(describePeer(sender, peer)) on the \(socketName) socket: \(error)")
                return
            }
            let name = String(decoding: id, as: UTF8.self)
            let now = Clock.nowMs()
            let known = feature ? featureWorkers[name] != nil : sequenceWorkers[name] != nil
            switch message.body {
            case .hello(let hello):
                let expectedRole: Mien_V1_Role = feature ? .featureWorker : .sequenceWorker
                if hello.role != expectedRole {
                    metrics.errors.count("wrong_role")
                    logger.warning("refused a \(hello.role) hello on the \(expectedRole) endpoint", metadata: ["worker": .string(name)])
                    send(socket, to: id, .error(.with { $0.code = .badMessage; $0.message = "this endpoint serves \(expectedRole) peers, not \(hello.role)" }))
                    return
                }
                if let mismatch = feature ? checkHash(hello, expected: &featureHash, kind: "CNN") : checkHash(hello, expected: &sequenceHash, kind: "BiLSTM") {
                    metrics.errors.count("model_mismatch")
                    logger.warning("refused worker: \(mismatch)", metadata: ["worker": .string(name)])
                    send(socket, to: id, .error(.with { $0.code = .modelMismatch; $0.message = mismatch }))
                    return
                }
                if feature { featureWorkers[name] = id; featureWork.join(worker: name, nowMs: now) } else { sequenceWorkers[name] = id; sequenceWork.join(worker: name, nowMs: now) }
                logger.debug("\(feature ? "feature" : "sequence") worker joined", metadata: ["worker": .string(name)])
                send(socket, to: id, .ack(.with { $0.sequence = message.sequence; $0.detail = "hello accepted" }))
                return
            default:
                break
            }
            guard known else {
                send(socket, to: id, .error(.with { $0.code = .unknownPeer; $0.message = "no hello from \(name): say hello first"; $0.sequence = message.sequence }))
                metrics.errors.count("unknown_peer")
                peerEvent("unknown|\(socketName)|\(id)", "ignored \(message.kind) from unknown peer \(describePeer(id, peer)) on the \(socketName) socket")
                return
            }
            switch message.body {
            case .ready(let r):
                if feature { featureWork.grant(worker: name, credit: Int(r.credit), nowMs: now) } else { sequenceWork.grant(worker: name, credit: Int(r.credit), nowMs: now) }
            case .heartbeat:
                if feature { featureWork.heard(from: name, nowMs: now) } else { sequenceWork.heard(from: name, nowMs: now) }
            case .embeddingBatch(let b) where feature:
                guard let expected = featureWork.item(b.batchID), Coordinator.answers(b, expected.batch) else {
                    metrics.errors.count("stale_answer")
                    peerEvent("stale|\(id)", "ignored an embedding batch \(b.batchID) from \(describePeer(id, peer)) that answers no batch in flight (stale or malformed)")
                    return
                }
                if case .completed(let item) = featureWork.complete(itemID: b.batchID, from: name, nowMs: now) {
                    metrics.completed[.feature]!.increment()
                    if let t = handedOut.removeValue(forKey: b.batchID) { metrics.roundTrip[.feature]!.recordSince(t) }
                    if let v = active[item.videoID] {
                        _ = v.reorder.insert(b, sequence: UInt64(item.index))
                        try advance(v)
                        let held = v.reorder.waitingCount
                        lock.withLock { _progress.peakResultsAwaitingOrder = max(_progress.peakResultsAwaitingOrder, held) }
                    }
                }
            case .windowPredictionBatch(let b) where !feature:
                if case .completed = sequenceWork.complete(itemID: b.batchID, from: name, nowMs: now) {
                    metrics.completed[.sequence]!.increment()
                    if let t = handedOut.removeValue(forKey: b.batchID) { metrics.roundTrip[.sequence]!.recordSince(t) }
                    try toAggregator(.windowPredictionBatch(b))
                } else {
                    metrics.errors.count("stale_answer")
                    logger.debug("ignored a repeated window prediction batch", metadata: ["worker": .string(name), "batch": "\(b.batchID)"])
                }
            case .error(let e):
                try handleWorkError(e, from: name, feature: feature, now: now)
            default:
                metrics.errors.count("unexpected_message")
                peerEvent("unexpected|\(socketName)|\(id)", "ignored unexpected \(message.kind) from \(describePeer(id, peer)) on the \(socketName) socket")
            }
        }

        func handleWorkError(_ e: Mien_V1_Error, from name: String, feature: Bool, now: UInt64) throws {
            metrics.errors.count("worker_error")
            logger.warning("worker reported: \(e.message)", metadata: ["worker": .string(name), "batch": "\(e.batchID)", "video": .string(e.videoID)])
            guard e.batchID != 0 else { return }
            handedOut.removeValue(forKey: e.batchID)
            if feature {
                guard case .completed(var item) = featureWork.complete(itemID: e.batchID, from: name, nowMs: now) else { return }
                item.attempts += 1
                let inputFault: Set<Mien_V1_ErrorCode> = [.decodeFailed, .inputNotFound]
                if inputFault.contains(e.code) || item.attempts >= config.maxAttempts {
                    try failVideo(item.videoID, e.message)
                } else {
                    metrics.retried[.feature]!.increment()
                    featureWork.enqueue(id: e.batchID, item: item)
                }
            } else {
                guard case .completed(var item) = sequenceWork.complete(itemID: e.batchID, from: name, nowMs: now) else { return }
                item.attempts += 1
                if item.attempts >= config.maxAttempts {
                    for id in Set(item.batch.windows.map(\.videoID)) { try failVideo(id, "sequence work failed \(item.attempts) times: \(e.message)") }
                } else {
                    metrics.retried[.sequence]!.increment()
                    sequenceWork.enqueue(id: e.batchID, item: item)
                }
            }
        }

        func handleAggregatorMessage(_ frames: [[UInt8]]) throws -> Bool {
            let message: Envelope
            do { message = try Framing.decodeDirect(frames) } catch {
                metrics.errors.count("malformed_message")
                logger.warning("ignored a malformed message from the aggregator: \(error)")
                return false
            }
            switch message.body {
            case .ack(let a) where !a.videoID.isEmpty:
                guard awaitingAck.remove(a.videoID) != nil else { return false }
                try journal?.markFinished(a.videoID)
                let failed = a.detail.hasPrefix("error")
                lock.withLock {
                    _progress.videosDone += 1
                    if failed { _progress.videosFailed += 1 }
                }
                metrics.videosDone.increment()
                if failed { metrics.videosFailed.increment() }
                if let t = manifestSentAt.removeValue(forKey: a.videoID) { metrics.handOffToResult.recordSince(t) }
                logger.debug("video results written and published", metadata: ["video": .string(a.videoID), "status": .string(failed ? "error" : "ok")])
            case .ack(let a) where a.detail == "shutdown":
                return true
            case .ack(let a) where a.detail == "hello accepted":
                if !aggregatorAccepted { logger.debug("the aggregator accepted this coordinator") }
                aggregatorAccepted = true
            case .error(let e) where !aggregatorAccepted:
                metrics.errors.count("aggregator_refused")
                peerEvent("aggregator-refused", "the aggregator refused this coordinator (asking again every heartbeat): \(e.message)")
            case .error(let e):
                metrics.errors.count("aggregator_error")
                logger.warning("aggregator reported: \(e.message)", metadata: ["video": .string(e.videoID)])
            default:
                break
            }
            return false
        }

        logger.info("job started", metadata: ["videos": "\(inputs.count)", "pending": "\(pending.count)", "frames": .string(config.frames.rawValue)])
        // Introduce ourselves to the aggregator (it answers acks on this connection).
        func helloToAggregator() throws {
            try toAggregator(.hello(.with {
                $0.role = .coordinator
                $0.workerID = "coordinator"
                $0.softwareVersion = ProtocolConstants.softwareVersion
            }))
        }
        try helloToAggregator()

        var poller = ZMQPoller()
        poller.add(s.features)
        poller.add(s.sequences)
        poller.add(s.aggregator)
        poller.add(fileDescriptor: prober.wake.readFD)  // events[3]
        if let decoder { poller.add(fileDescriptor: decoder.wake.readFD) }  // events[4]
        while true {
            if lock.withLock({ stopRequested }) && !shutdownSent {
                logger.notice("stopping on request; \(active.count + prober.pending + pending.count) video(s) unfinished (resume with --resume)")
                break
            }
            startVideos()
            topUpFeatureWork()
            var budget = config.maxOutstandingBatches - featureWork.queuedCount - featureWork.inFlightCount - decoding.count
            // Work a worker's queue had no room for goes back to the front of the queue with the
            // worker's credit (sent again next turn); work for a peer that is gone goes to others.
            for a in featureWork.assign(nowMs: Clock.nowMs(), produce: { referenceBatch(for: $0, budget: &budget) }) {
                let delivery = featureWorkers[a.worker].map { send(s.features, to: $0, .frameBatch(a.item.batch)) } ?? .failed
                guard delivery == .sent else { featureWork.withdraw(itemID: a.itemID, restoreCredit: delivery == .full); continue }
                metrics.dispatched[.feature]!.increment()
                handedOut[a.itemID] = nowNs()
            }
            for a in sequenceWork.assign(nowMs: Clock.nowMs()) {
                let delivery = sequenceWorkers[a.worker].map { send(s.sequences, to: $0, .windowBatch(a.item.batch)) } ?? .failed
                guard delivery == .sent else { sequenceWork.withdraw(itemID: a.itemID, restoreCredit: delivery == .full); continue }
                metrics.dispatched[.sequence]!.increment()
                handedOut[a.itemID] = nowNs()
            }
            let now = Clock.nowMs()
            if now - lastHeartbeat >= config.liveness.heartbeatMs {
                lastHeartbeat = now
                // The aggregator refuses another coordinator's hello while this one is heard from.
                if aggregatorAccepted { try toAggregator(.heartbeat(.with { $0.sentUnixMs = Clock.unixMs() })) } else { try helloToAggregator() }
                for id in featureWorkers.values { send(s.features, to: id, .heartbeat(.with { $0.sentUnixMs = Clock.unixMs() })) }
                for id in sequenceWorkers.values { send(s.sequences, to: id, .heartbeat(.with { $0.sentUnixMs = Clock.unixMs() })) }
                let requeuedBefore = (featureWork.requeued, sequenceWork.requeued)
                peerLog.flush(nowMs: now)
                for dead in featureWork.expire(nowMs: now) {
                    featureWorkers.removeValue(forKey: dead)
                    planner.release(worker: dead)
                    metrics.errors.count("worker_lost")
                    logger.warning("feature worker stopped heartbeating; its batches are re-queued", metadata: ["worker": .string(dead)])
                }
                for dead in sequenceWork.expire(nowMs: now) {
                    sequenceWorkers.removeValue(forKey: dead)
                    metrics.errors.count("worker_lost")
                    logger.warning("sequence worker stopped heartbeating; its windows are re-queued", metadata: ["worker": .string(dead)])
                }
                metrics.requeued[.feature]!.increment(by: featureWork.requeued - requeuedBefore.0)
                metrics.requeued[.sequence]!.increment(by: sequenceWork.requeued - requeuedBefore.1)
                lock.withLock {
                    _progress.featureWorkers = featureWork.liveWorkers
                    _progress.sequenceWorkers = sequenceWork.liveWorkers
                    _progress.requeuedBatches = featureWork.requeued + sequenceWork.requeued
                }
            }
            // Gauges and the in-flight figures of `progress` (cheap: a lock and a few atomics per turn).
            // Feature batches waiting for a worker: those queued and, by reference, those that would
            // be made for the next credit (up to the bound): batches are made on demand there.
            let featureWaiting = featureWork.queuedCount + (decoder != nil || sequenceWorkBehind() ? 0
                : min(planner.unplannedCount, max(0, config.maxOutstandingBatches - featureWork.queuedCount - featureWork.inFlightCount)))
            lock.withLock {
                _progress.featureBatchesQueued = featureWaiting
                _progress.featureBatchesInFlight = featureWork.inFlightCount
                _progress.sequenceBatchesQueued = sequenceWork.queuedCount
                _progress.sequenceBatchesInFlight = sequenceWork.inFlightCount
            }
            metrics.queued[.feature]!.set(featureWaiting)
            metrics.inFlight[.feature]!.set(featureWork.inFlightCount)
            metrics.queued[.sequence]!.set(sequenceWork.queuedCount)
            metrics.inFlight[.sequence]!.set(sequenceWork.inFlightCount)
            metrics.workers[.feature]!.set(featureWork.liveWorkers)
            metrics.workers[.sequence]!.set(sequenceWork.liveWorkers)
            // Everything handed out, finished and acknowledged: the job is done.
            if pending.isEmpty && prober.pending == 0 && active.isEmpty && awaitingAck.isEmpty && !shutdownSent && aggregatorAccepted {
                if sequenceWork.queuedCount + sequenceWork.inFlightCount == 0 {
                    try toAggregator(.shutdown(.with { $0.reason = "job complete"; $0.graceMs = 10_000 }))
                    shutdownSent = true
                }
            }
            let events = try poller.poll(timeoutMs: 50)
            // At most `maxMessagesPerTurn` per socket per turn: a flooding peer cannot keep the
            // loop from dispatching work, heartbeating or serving the other socket.
            if events[0].contains(.readable) {
                for _ in 0..<Self.maxMessagesPerTurn {
                    guard let (frames, peer) = try s.features.receiveWithPeer(timeoutMs: 0) else { break }
                    try handleWorkerMessage(s.features, frames: frames, peer: peer, feature: true)
                }
            }
            if events[1].contains(.readable) {
                for _ in 0..<Self.maxMessagesPerTurn {
                    guard let (frames, peer) = try s.sequences.receiveWithPeer(timeoutMs: 0) else { break }
                    try handleWorkerMessage(s.sequences, frames: frames, peer: peer, feature: false)
                }
            }
            if events[3].contains(.readable) { try startProbed() }
            if events.count > 4, events[4].contains(.readable) { try collectDecoded() }
            if events[2].contains(.readable) {
                var done = false
                while let frames = try s.aggregator.receive(timeoutMs: 0) { done = try handleAggregatorMessage(frames) || done }
                if done { break }
            }
        }
        peerLog.flush(nowMs: UInt64.max / 2)
        let p = progress
        if p.messagesRateLimited + p.messagesMalformed > 0 {
            logger.warning("protection: \(p.messagesRateLimited) message(s) dropped over the per-peer rate limit, \(p.messagesMalformed) undecodable message(s) dropped")
        }
        // Tell workers the job is over.
        for id in featureWorkers.values { send(s.features, to: id, .shutdown(.with { $0.reason = "job complete" })) }
        for id in sequenceWorkers.values { send(s.sequences, to: id, .shutdown(.with { $0.reason = "job complete" })) }
    }
}
