import CoreMetrics
import Foundation
import Logging
import MienCore
import MienProto
import MienTransport
import MienWire

/// The coordinator: probes inputs, cuts videos into frame batches (by reference, or decoded
/// inline on a decoder thread of its own: `Config.frames`), hands them
/// to feature workers by credit, restores frame order, links faces into tracks, cuts ordered
/// windows per track, hands them to sequence workers, and forwards tracks, predictions and
/// manifests to the aggregator; journals videos the aggregator acknowledged as finished.
///
/// Every decision is made by `CoordinatorCore`, a state machine with no I/O (tested without
/// sockets or a clock); this class is its shell: all sockets are owned by one thread
/// (`Shell`), which polls them with a timeout, rate-limits and decodes, hands the core events
/// and carries out its commands. Probes and inline decoding run on helper threads.
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

    private func run(_ sockets: Sockets) throws {
        try Shell(self, sockets).run()
    }

    private var isStopRequested: Bool { lock.withLock { stopRequested } }
    private func publish(_ p: JobProgress) { lock.withLock { _progress = p } }

    /// The socket shell around `CoordinatorCore`, on the coordinator's thread: polls the
    /// sockets, the probe thread and the decoder thread; rate-limits and decodes what arrives;
    /// hands it to the core as events and carries out the commands the core returns (sends,
    /// probes, decodes, journal writes), in order.
    private final class Shell {
        let owner: Coordinator
        let s: Sockets
        let config: Config
        let logger: Logger
        var core: CoordinatorCore
        let journal: Journal?
        let prober: VideoProber
        /// Inline mode: the coordinator's decoder, on a thread of its own (`InlineBatches`).
        let decoder: InlineDecoder?
        /// Protection from misbehaving peers before anything is decoded: a token bucket per
        /// ROUTER identity, and one log line per peer and kind of trouble per interval.
        var limiter: PeerRateLimiter<[UInt8]>?
        var peerLog: PeerEventLog
        var dropped = (rateLimited: 0, malformed: 0)
        var sequence: UInt64 = 0

        init(_ owner: Coordinator, _ s: Sockets) throws {
            self.owner = owner
            self.s = s
            config = owner.config
            logger = owner.logger
            journal = try config.journalPath.map { try Journal(path: $0) }
            core = CoordinatorCore(config: config, inputs: owner.inputs, finished: journal?.finished ?? [],
                                   firstBatchID: Clock.unixMs() << 12, logger: logger)
            // Probing (libavformat) runs on a thread of its own: slow storage never stalls the loop.
            prober = try VideoProber(capacity: owner.inputs.count, probe: owner.probe)
            let maxActive = config.maxActiveVideos
            do {
                decoder = try config.frames == .inline
                    ? InlineDecoder(capacity: config.maxOutstandingBatches, maxBatchBytes: config.maxInlineBatchBytes,
                                    decoder: config.inlineDecoder ?? { VideoRangeDecoder(keepOpen: maxActive) })
                    : nil
            } catch {
                prober.stop()
                throw error
            }
            limiter = config.peerRateLimit.map { PeerRateLimiter<[UInt8]>(config: .init(ratePerSecond: $0)) }
            peerLog = PeerEventLog(intervalMs: config.peerLogIntervalMs, logger: logger)
        }

        func run() throws {
            defer { decoder?.stop(); prober.stop() }
            if let journal, core.progress.videosSkipped > 0 {
                logger.info("resuming: \(core.progress.videosSkipped) video(s) already finished", metadata: ["journal": .string(journal.path)])
            }
            logger.info("job started", metadata: ["videos": "\(owner.inputs.count)", "pending": "\(core.unfinishedVideos)", "frames": .string(config.frames.rawValue)])
            _ = try handle(.start)
            var poller = ZMQPoller()
            poller.add(s.features)
            poller.add(s.sequences)
            poller.add(s.aggregator)
            poller.add(fileDescriptor: prober.wake.readFD)  // events[3]
            if let decoder { poller.add(fileDescriptor: decoder.wake.readFD) }  // events[4]
            while true {
                if owner.isStopRequested && !core.shutdownSent {
                    logger.notice("stopping on request; \(core.unfinishedVideos) video(s) unfinished (resume with --resume)")
                    break
                }
                _ = try handle(.tick)
                publishProgress()
                let events = try poller.poll(timeoutMs: 50)
                if events[0].contains(.readable) { try readWorkers(.feature) }
                if events[1].contains(.readable) { try readWorkers(.sequence) }
                if events[3].contains(.readable) {
                    for p in prober.collect() { _ = try handle(.probed(p.input, p.result.mapError { .init(message: "\($0)") })) }
                }
                if let decoder, events[4].contains(.readable) {
                    for d in decoder.collect() { _ = try handle(.decoded(d)) }
                }
                if events[2].contains(.readable), try readAggregator() { break }
            }
            peerLog.flush(nowMs: UInt64.max / 2)
            _ = try carryOut(core.finish())  // tells the workers the job is over
            publishProgress()
            if dropped.rateLimited + dropped.malformed > 0 {
                logger.warning("protection: \(dropped.rateLimited) message(s) dropped over the per-peer rate limit, \(dropped.malformed) undecodable message(s) dropped")
            }
        }

        /// Hands an event to the core and carries out its commands; true when the job is over.
        func handle(_ event: CoordinatorCore.Event) throws -> Bool { try carryOut(core.handle(event, now: .now)) }

        func carryOut(_ commands: [CoordinatorCore.Command]) throws -> Bool {
            var over = false
            for command in commands {
                switch command {
                case .toWorker(let kind, let id, let body, let item):
                    let delivery = send(kind, to: id, body)
                    if let item { _ = core.handle(.delivery(kind, itemID: item, delivery), now: .now) }
                case .toAggregator(let body):
                    _ = try s.aggregator.send(try Framing.direct(envelope(body)))
                case .probe(let input):
                    prober.submit(input)
                case .decode(let batch):
                    decoder?.submit(batch)
                case .journal(let videoID):
                    try journal?.markFinished(videoID)
                case .jobOver:
                    over = true
                }
            }
            return over
        }

        func envelope(_ body: Envelope.Payload) -> Envelope {
            sequence += 1
            return Envelope(body, senderID: "coordinator", sequence: sequence, sentUnixMs: Clock.unixMs())
        }

        /// Sends to a worker without waiting; a full queue or a peer that is gone is logged.
        func send(_ kind: WorkKind, to id: [UInt8], _ body: Envelope.Payload) -> Delivery {
            do {
                if try socket(kind).send(try Framing.routed(to: id, envelope(body)), timeoutMs: 0) { return .sent }
                config.metrics.errors.count("send_queue_full")
                peerLog.record("full|\(id)", "the queue to \(describePeer(id, nil)) is full: \(body.kind) kept to send again")
                return .full
            } catch {
                config.metrics.errors.count("send_failed")
                peerLog.record("send|\(id)", "could not send \(body.kind) to \(describePeer(id, nil)): \(error)")
                return .failed
            }
        }

        func socket(_ kind: WorkKind) -> ZMQSocket { kind == .feature ? s.features : s.sequences }

        /// Reads up to `maxMessagesPerTurn` messages of a worker socket: a flooding peer cannot
        /// keep the loop from dispatching work, heartbeating or serving the other socket.
        func readWorkers(_ kind: WorkKind) throws {
            for _ in 0..<Coordinator.maxMessagesPerTurn {
                guard let (frames, peer) = try socket(kind).receiveWithPeer(timeoutMs: 0) else { break }
                // A ROUTER always puts the sender's identity first; rate-limit before any decoding.
                let sender = frames.first ?? []
                if limiter != nil, !limiter!.admit(sender, nowMs: Clock.nowMs()) {
                    dropped.rateLimited += 1
                    peerLog.record("rate|\(kind)|\(sender)", "dropped messages of \(describePeer(sender, peer)) on the \(kind) socket: over the limit of \(String(format: "%g", config.peerRateLimit ?? 0)) messages/s")
                    continue
                }
                let (id, message): ([UInt8], Envelope)
                do { (id, message) = try Framing.decodeRouted(frames) } catch {
                    // A typed WireError (wrong frame count, garbled protobuf, unknown version, no
                    // body): this message is dropped; the peer and the job go on.
                    config.metrics.errors.count("malformed_message")
                    dropped.malformed += 1
                    peerLog.record("malformed|\(kind)|\(sender)", "dropped an undecodable message from \(describePeer(sender, peer)) on the \(kind) socket: \(error)")
                    continue
                }
                _ = try handle(.fromWorker(kind, id: id, peer: peer, message))
            }
        }

        /// Reads what the aggregator sent; true when it confirmed the shutdown (the job is over).
        func readAggregator() throws -> Bool {
            var over = false
            while let frames = try s.aggregator.receive(timeoutMs: 0) {
                let message: Envelope
                do { message = try Framing.decodeDirect(frames) } catch {
                    config.metrics.errors.count("malformed_message")
                    logger.warning("ignored a malformed message from the aggregator: \(error)")
                    continue
                }
                over = try handle(.fromAggregator(message)) || over
            }
            return over
        }

        func publishProgress() {
            var p = core.progress
            p.messagesRateLimited = dropped.rateLimited
            p.messagesMalformed = dropped.malformed
            owner.publish(p)
        }
    }
}

extension CoordinatorCore.Instant {
    /// Now, on the monotonic and the wall clock (the shell's; the core is given its time).
    static var now: Self { Self(monotonicNs: DispatchTime.now().uptimeNanoseconds, unixMs: Clock.unixMs()) }
}
