import CoreMetrics
import Logging
import MienCore
import MienProto
import MienTransport
import MienWire

/// The coordinator's decisions as a state machine with no sockets, threads, files or clocks:
/// the socket loop (`Coordinator`) hands it events — decoded worker and aggregator messages,
/// ticks, finished probes and decodes, what became of a work send — with the time, and carries
/// out the commands it returns, in order. Logs and metrics go through the handles it is given.
///
/// Its parts, each in a file of its own:
/// - **video intake** (here): pending inputs → probes → videos in progress, under the bounds
///   on active videos and on videos waiting for the aggregator; the journal of finished ones;
/// - **feature scheduling** (`CoordinatorCore-features.swift`): batches from a
///   `FeatureBatchSource` (by reference or inline) handed out by credit through a `WorkPool`;
/// - **per-video tracking** (`VideoTracking`): reorder → tracker → windower → window batches;
/// - **sequence scheduling** and the **workers** (`CoordinatorCore-workers.swift`): hello,
///   credit, heartbeats, expiry, results, errors and retries, for both pools.
struct CoordinatorCore {
    /// A moment as the shell read it: monotonic time for deadlines, expiry and latencies; wall
    /// time only for the stamps messages carry.
    struct Instant: Sendable, Equatable {
        var monotonicNs: UInt64
        var unixMs: UInt64
        var ms: UInt64 { monotonicNs / 1_000_000 }

        init(monotonicNs: UInt64, unixMs: UInt64) {
            self.monotonicNs = monotonicNs
            self.unixMs = unixMs
        }

        /// A moment `ms` milliseconds into a test's fake clock.
        init(ms: UInt64) { self.init(monotonicNs: ms * 1_000_000, unixMs: 1_000_000 + ms) }
    }

    enum Event {
        /// The job starts: introduce this coordinator to the aggregator.
        case start
        /// A turn of the loop: take up videos, hand out work, heartbeat, expire, check the end.
        case tick
        /// A decoded message from a worker socket (`id`: the sender's routing id).
        case fromWorker(WorkKind, id: [UInt8], peer: PeerInfo?, Envelope)
        case fromAggregator(Envelope)
        /// A probe finished (the error's text when it failed).
        case probed(VideoInput, Result<VideoProbe, ProbeError>)
        /// An inline batch came back from the decoder.
        case decoded(InlineDecoder.Decoded)
        /// What became of a `.toWorker` send of a work item.
        case delivery(WorkKind, itemID: UInt64, Delivery)
    }

    struct ProbeError: Error, Equatable {
        var message: String
    }

    enum Command: Equatable {
        /// Send without waiting; when `item` is set, report the outcome (`.delivery`).
        case toWorker(WorkKind, id: [UInt8], Envelope.Payload, item: UInt64?)
        case toAggregator(Envelope.Payload)
        case probe(VideoInput)
        /// Inline mode: decode this by-reference batch (`.decoded` comes back).
        case decode(Mien_V1_FrameBatch)
        /// Record the video as finished (durably) before anything else happens.
        case journal(videoID: String)
        /// The aggregator confirmed the shutdown: the job is over.
        case jobOver
    }

    let config: Coordinator.Config
    var progress = JobProgress()
    let logger: Logger
    var metrics: CoordinatorMetrics { config.metrics }
    var peerLog: PeerEventLog

    // video intake
    private(set) var pending: ArraySlice<VideoInput>
    private(set) var probing = 0
    var active: [String: VideoTracking] = [:]
    var awaitingAck: Set<String> = []
    // work
    var features: WorkPool<FeatureItem>
    var source: any FeatureBatchSource
    var sequences: WorkPool<SequenceItem>
    /// Batch ids are unique across coordinator restarts (the caller starts them from the wall
    /// clock): a worker may still answer work of a crashed predecessor, and that answer must
    /// not be taken for new work with the same id.
    var nextBatchID: UInt64
    // the aggregator
    private(set) var aggregatorAccepted = false
    private(set) var shutdownSent = false
    private var lastHeartbeatMs: UInt64 = 0
    // latencies: batch id → when it went to a worker; video → when its manifest left (ns)
    var handedOut: [UInt64: UInt64] = [:]
    private var manifestSentAt: [String: UInt64] = [:]

    /// - Parameters:
    ///   - finished: videos the journal says are done (skipped: `--resume`).
    ///   - firstBatchID: e.g. the wall clock in ms × 4096 (4096 ids per ms of each incarnation).
    init(config: Coordinator.Config, inputs: [VideoInput], finished: Set<String>, firstBatchID: UInt64, logger: Logger) {
        self.config = config
        self.logger = logger
        peerLog = PeerEventLog(intervalMs: config.peerLogIntervalMs, logger: logger)
        pending = inputs.filter { !finished.contains($0.id) }[...]
        progress.videosTotal = inputs.count
        let skipped = inputs.count - pending.count
        progress.videosDone = skipped
        progress.videosSkipped = skipped
        if skipped > 0 { config.metrics.videosDone.increment(by: skipped) }
        let dispatch = WorkDispatcher<FeatureItem>.Config(workerExpiryMs: config.liveness.expiryMs, itemDeadlineMs: config.itemDeadlineMs)
        features = WorkPool(kind: .feature, modelHash: config.featureModelHash, config: dispatch)
        sequences = WorkPool(kind: .sequence, modelHash: config.sequenceModelHash,
                             config: .init(workerExpiryMs: dispatch.workerExpiryMs, itemDeadlineMs: dispatch.itemDeadlineMs))
        source = config.frames == .inline ? InlineBatches()
            : ReferenceBatches(chunkBatches: config.chunkBatches, maxAhead: config.maxBatchesAhead ?? 4 * config.chunkBatches)
        nextBatchID = firstBatchID
    }

    /// Videos not finished: pending, being probed, in progress.
    var unfinishedVideos: Int { pending.count + probing + active.count }

    mutating func handle(_ event: Event, now: Instant) -> [Command] {
        var out: [Command] = []
        switch event {
        case .start:
            out.append(.toAggregator(Self.hello))
        case .tick:
            tick(now: now, into: &out)
        case .fromWorker(let kind, let id, let peer, let message):
            fromWorker(kind, id: id, peer: peer, message, now: now, into: &out)
        case .fromAggregator(let message):
            fromAggregator(message, now: now, into: &out)
        case .probed(let input, let result):
            probed(input, result, now: now, into: &out)
        case .decoded(let decoded):
            self.decoded(decoded, now: now, into: &out)
        case .delivery(let kind, let itemID, let outcome):
            delivered(kind, itemID: itemID, outcome, now: now)
        }
        return out
    }

    /// The job ends (finished or stopped): reports every last burst of peer trouble and tells
    /// the workers.
    mutating func finish() -> [Command] {
        peerLog.flush(nowMs: UInt64.max / 2)
        let shutdown = Envelope.Payload.shutdown(.with { $0.reason = "job complete" })
        return features.ids.keys.sorted().map { .toWorker(.feature, id: features.ids[$0]!, shutdown, item: nil) }
            + sequences.ids.keys.sorted().map { .toWorker(.sequence, id: sequences.ids[$0]!, shutdown, item: nil) }
    }

    static let hello = Envelope.Payload.hello(.with {
        $0.role = .coordinator
        $0.workerID = "coordinator"
        $0.softwareVersion = ProtocolConstants.softwareVersion
    })

    // MARK: a turn

    private mutating func tick(now: Instant, into out: inout [Command]) {
        startVideos(into: &out)
        dispatchFeatureWork(now: now, into: &out)
        dispatchSequenceWork(now: now, into: &out)
        if now.ms - lastHeartbeatMs >= config.liveness.heartbeatMs {
            lastHeartbeatMs = now.ms
            heartbeat(now: now, into: &out)
        }
        updateGauges()
        // Everything handed out, finished and acknowledged: the job is done.
        if pending.isEmpty && probing == 0 && active.isEmpty && awaitingAck.isEmpty && !shutdownSent && aggregatorAccepted
            && sequences.outstanding == 0 {
            out.append(.toAggregator(.shutdown(.with { $0.reason = "job complete"; $0.graceMs = 10_000 })))
            shutdownSent = true
        }
    }

    /// Heartbeats both ways, then drops the workers that went silent (their work is re-queued).
    private mutating func heartbeat(now: Instant, into out: inout [Command]) {
        // The aggregator refuses another coordinator's hello while this one is heard from. After
        // the shutdown nothing more goes to it: it answers with its ack and closes, and a send
        // to a closed peer would wait for good.
        if !shutdownSent {
            out.append(.toAggregator(aggregatorAccepted ? .heartbeat(.with { $0.sentUnixMs = now.unixMs }) : Self.hello))
        }
        let beat = Envelope.Payload.heartbeat(.with { $0.sentUnixMs = now.unixMs })
        for name in features.ids.keys.sorted() { out.append(.toWorker(.feature, id: features.ids[name]!, beat, item: nil)) }
        for name in sequences.ids.keys.sorted() { out.append(.toWorker(.sequence, id: sequences.ids[name]!, beat, item: nil)) }
        peerLog.flush(nowMs: now.ms)
        expireWorkers(now: now)
        progress.featureWorkers = features.work.liveWorkers
        progress.sequenceWorkers = sequences.work.liveWorkers
        progress.requeuedBatches = features.work.requeued + sequences.work.requeued
    }

    /// Gauges and the in-flight figures of `progress`. Feature batches waiting for a worker:
    /// those queued and those the next credits would get (made on demand by reference).
    private mutating func updateGauges() {
        let featureWaiting = features.work.queuedCount + (sequenceWorkBehind ? 0
            : source.unmade(room: config.maxOutstandingBatches - features.outstanding))
        progress.featureBatchesQueued = featureWaiting
        progress.featureBatchesInFlight = features.work.inFlightCount
        progress.sequenceBatchesQueued = sequences.work.queuedCount
        progress.sequenceBatchesInFlight = sequences.work.inFlightCount
        metrics.queued[.feature]!.set(featureWaiting)
        metrics.inFlight[.feature]!.set(features.work.inFlightCount)
        metrics.queued[.sequence]!.set(sequences.work.queuedCount)
        metrics.inFlight[.sequence]!.set(sequences.work.inFlightCount)
        metrics.workers[.feature]!.set(features.work.liveWorkers)
        metrics.workers[.sequence]!.set(sequences.work.liveWorkers)
    }

    // MARK: video intake

    /// Takes up videos, in input order, while under the active-video and unacknowledged-video
    /// bounds: each is probed first (`probed` starts it). None before the aggregator accepted
    /// this coordinator: nothing is sent that it would drop.
    private mutating func startVideos(into out: inout [Command]) {
        guard aggregatorAccepted else { return }
        let limit = source.activeVideoLimit(configured: config.maxActiveVideos, liveWorkers: features.ids.count)
        while active.count + probing < limit, awaitingAck.count < config.maxUnacknowledgedVideos, let input = pending.popFirst() {
            progress.videosStarted += 1
            probing += 1
            out.append(.probe(input))
        }
    }

    /// Starts a probed video (a probe error, or a video without frames, fails it).
    private mutating func probed(_ input: VideoInput, _ result: Result<VideoProbe, ProbeError>, now: Instant, into out: inout [Command]) {
        probing -= 1
        let settings = VideoTracking.Settings(batchFrames: config.batchFrames, windowLength: config.windowLength, windowStride: config.windowStride,
                                              windowsPerBatch: config.windowsPerBatch, extractOnly: config.extractOnly, tracker: config.tracker)
        let info: VideoProbe
        switch result {
        case .success(let p):
            info = p
        case .failure(let error):
            var v = VideoTracking(input: input, info: VideoProbe(fps: 0, frameCount: 0, width: 0, height: 0), settings: settings)
            sendManifest(&v, error: error.message, now: now, into: &out)
            logger.warning("video failed: \(error.message)", metadata: ["video": .string(input.id)])
            return
        }
        var v = VideoTracking(input: input, info: info, settings: settings)
        progress.framesTotal += info.frameCount / config.sampleEvery
        metrics.framesExpected.increment(by: Double(info.frameCount / config.sampleEvery))
        if v.batchCount == 0 {
            sendManifest(&v, error: "\(input.path) has no frames: it is empty or not a video; check the file", now: now, into: &out)
            return
        }
        active[input.id] = v
        source.add(video: input.id, batchCount: v.batchCount)
    }

    /// The manifest that closes a video goes to the aggregator; the video then waits for its ack.
    mutating func sendManifest(_ v: inout VideoTracking, error: String?, now: Instant, into out: inout [Command]) {
        v.manifestSent = true
        out.append(.toAggregator(.manifest(v.manifest(windowLength: config.windowLength, error: error))))
        awaitingAck.insert(v.input.id)
        progress.peakVideosAwaitingResults = max(progress.peakVideosAwaitingResults, awaitingAck.count)
        manifestSentAt[v.input.id] = now.monotonicNs
    }

    mutating func failVideo(_ id: String, _ message: String, now: Instant, into out: inout [Command]) {
        logger.warning("video failed: \(message)", metadata: ["video": .string(id)])
        if var v = active.removeValue(forKey: id), !v.manifestSent {
            sendManifest(&v, error: message, now: now, into: &out)
        }
        source.remove(video: id)
    }

    // MARK: the aggregator

    private mutating func fromAggregator(_ message: Envelope, now: Instant, into out: inout [Command]) {
        switch message.payload {
        case .ack(let a) where !a.videoID.isEmpty:
            guard awaitingAck.remove(a.videoID) != nil else { return }
            out.append(.journal(videoID: a.videoID))
            let failed = a.detail.hasPrefix("error")
            progress.videosDone += 1
            if failed { progress.videosFailed += 1 }
            metrics.videosDone.increment()
            if failed { metrics.videosFailed.increment() }
            if let t = manifestSentAt.removeValue(forKey: a.videoID) { metrics.handOffToResult.recordNanoseconds(Self.elapsed(since: t, now)) }
            logger.debug("video results written and published", metadata: ["video": .string(a.videoID), "status": .string(failed ? "error" : "ok")])
        case .ack(let a) where a.detail == "shutdown":
            out.append(.jobOver)
        case .ack(let a) where a.detail == "hello accepted":
            if !aggregatorAccepted { logger.debug("the aggregator accepted this coordinator") }
            aggregatorAccepted = true
        case .error(let e) where !aggregatorAccepted:
            metrics.errors.count("aggregator_refused")
            peerLog.record("aggregator-refused", "the aggregator refused this coordinator (asking again every heartbeat): \(e.message)", nowMs: now.ms)
        case .error(let e):
            metrics.errors.count("aggregator_error")
            logger.warning("aggregator reported: \(e.message)", metadata: ["video": .string(e.videoID)])
        default:
            break
        }
    }

    static func elapsed(since startNs: UInt64, _ now: Instant) -> Int64 {
        Int64(now.monotonicNs >= startNs ? now.monotonicNs - startNs : 0)
    }
}
