import Foundation
import Logging
import MienCore
import MienProto
import MienTransport
import MienWire

/// The aggregator: collects tracks and window predictions per video, finalises a video when
/// its manifest is complete (idempotent on (video, track, window): a re-sent window counts
/// once), merges overlapping windows into per-frame labels, segments and a per-video label,
/// writes the sinks, publishes every result on its XPUB stream, acknowledges finished videos
/// to the coordinator, and at the end of the job computes metrics against ground truth.
public final class Aggregator: @unchecked Sendable {
    public struct Config: Sendable {
        public var endpoints: ClusterEndpoints
        public var outputDirectory: String
        public var labels: [String] = ExpressionClass.labels
        /// Keep the results of videos an interrupted run completed.
        public var resume = false
        /// Frame-level ground truth (video → frame → label) from a `frames.csv`, when given.
        public var frameTruth: [String: [UInt64: [FaceTruth]]] = [:]
        /// CURVE server side of the intake: its allow-list holds the coordinator's key, never a
        /// consumer's (a consumer on it could say hello as coordinator).
        public var security = ClusterSecurity.none
        /// CURVE server side of the result stream: a ZAP domain of its own whose allow-list holds
        /// the consumers' keys. Required when the intake uses CURVE (`start` throws without it).
        public var streamSecurity: CurveServer?
        /// While the coordinator was heard from (any message, heartbeats included) within this
        /// time, a hello from another peer as coordinator is refused and logged; after it, the
        /// new one takes over (a coordinator restarted with `--resume`), ms.
        public var coordinatorExpiryMs = Liveness().expiryMs
        /// Largest message a peer may send to the intake, bytes (ZMQ_MAXMSGSIZE; also caps
        /// subscription messages on the stream).
        public var maxMessageBytes = ProtocolConstants.maxMessageBytes
        /// Applied to the intake and the stream before they bind. A test seam: internal.
        var configureServerSocket: @Sendable (ZMQSocket) throws -> Void = { _ in }
        /// Feature extraction only (`mien extract`): write each track's frames, embeddings and
        /// ground truth to `embeddings.jsonl` instead of labelling frames.
        public var extractOnly = false
        /// Also write every window's BiLSTM prediction to `windows.jsonl` (`mien evaluate`'s
        /// per-window metrics): video, track, window, start_frame, end_frame, frames, label, probs.
        public var writeWindows = false
        /// Instruments (Prometheus in the command line; no-op by default).
        public var metrics = AggregatorMetrics()

        public init(endpoints: ClusterEndpoints, outputDirectory: String) {
            self.endpoints = endpoints
            self.outputDirectory = outputDirectory
        }
    }

    public let config: Config
    private let context: ZMQContext
    fileprivate let logger: Logger
    fileprivate let lock = NSLock()
    private var stopRequested = false
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)
    private var _subscribers = 0
    fileprivate var _published = 0

    /// Downstream subscribers connected to the result stream now.
    public var subscribers: Int { lock.withLock { _subscribers } }
    /// Result envelopes published so far.
    public var published: Int { lock.withLock { _published } }

    public init(context: ZMQContext, config: Config, logger: Logger = .quiet("mien.aggregator")) {
        self.context = context
        self.config = config
        var logger = logger
        logger[metadataKey: "role"] = "aggregator"
        self.logger = logger
    }

    /// Binds its sockets and opens the sinks (errors thrown here), then runs on its own thread.
    public func start() throws {
        if config.security.server != nil && config.streamSecurity == nil {
            throw ClusterError.job("the aggregator's intake uses CURVE but its result stream has no allow-list of its own: give the consumers' keys (--curve-allow-consumers)")
        }
        let intake = try ZMQSocket(context, .router)
        try intake.setMaxMessageSize(Int64(config.maxMessageBytes))
        try config.security.server?.apply(to: intake)
        try config.configureServerSocket(intake)
        try intake.bind(config.endpoints.aggregator)
        let stream = try ZMQSocket(context, .xpub)
        try stream.setXPubVerbose(true)
        try stream.setSendHighWaterMark(100_000)
        try stream.setMaxMessageSize(Int64(config.maxMessageBytes))
        try config.streamSecurity?.apply(to: stream)
        try config.configureServerSocket(stream)
        try stream.bind(config.endpoints.results)
        let restored = RestoredScores(labels: config.labels, frameTruth: config.frameTruth)
        let sinks = try Sinks(directory: config.outputDirectory, resume: config.resume,
                              framesFile: config.extractOnly ? "embeddings.jsonl" : "frames.jsonl",
                              windowsFile: config.writeWindows && !config.extractOnly ? "windows.jsonl" : nil,
                              keptFrameLine: config.extractOnly ? nil : { restored.addFrame(line: $0, completed: $1) })
        restored.addVideos(sinks.completed)
        let owned = HandOff((intake, stream, sinks, restored))
        let thread = Thread { [self] in
            let (intake, stream, sinks, restored) = owned.value
            do { try run(intake: intake, stream: stream, sinks: sinks, restored: restored) } catch let e as ZMQError where e.isTerminated {
            } catch {
                lock.withLock { failure = error }
                config.metrics.errors.count("fatal")
                logger.critical("aggregator stopped on a fatal error: \(error)")
            }
            sinks.close()
            intake.close()
            stream.close()
            finished.signal()
        }
        thread.name = "mien.aggregator"
        thread.start()
    }

    public func wait() throws {
        finished.wait()
        finished.signal()
        if let failure = lock.withLock({ failure }) { throw failure }
    }

    public func stop() { lock.withLock { stopRequested = true } }

    // MARK: the loop

    /// Polls the intake and the stream; hands the coordinator's messages to the job.
    private func run(intake: ZMQSocket, stream: ZMQSocket, sinks: Sinks, restored: RestoredScores) throws {
        let link = Link(aggregator: self, intake: intake, stream: stream)
        let job = AggregatorJob(config: config, sinks: sinks, restored: restored,
                                output: .init(publish: link.publish, reply: link.reply), logger: logger)
        var poller = ZMQPoller()
        poller.add(intake)
        poller.add(stream)
        while !lock.withLock({ stopRequested }) {
            let events = try poller.poll(timeoutMs: 100)
            if events[1].contains(.readable) { try countSubscriptions(stream) }
            guard events[0].contains(.readable) else { continue }
            while let (frames, peer) = try intake.receiveWithPeer(timeoutMs: 0) {
                guard let payload = try link.admit(frames, peer) else { continue }
                if try job.handle(payload) { return }
            }
        }
    }

    /// Subscriptions and unsubscriptions on the result stream (XPUB verbose: one message each).
    private func countSubscriptions(_ stream: ZMQSocket) throws {
        while let frames = try stream.receive(timeoutMs: 0) {
            guard let first = frames.first?.first else { continue }
            let now = lock.withLock { () -> Int in _subscribers += first == 1 ? 1 : -1; return _subscribers }
            config.metrics.subscribers.set(now)
        }
    }

    /// The aggregator's side of its sockets: envelopes, publishing, replies to the coordinator,
    /// and which peer holds the coordinator's seat.
    private final class Link {
        unowned let aggregator: Aggregator
        let intake: ZMQSocket
        let stream: ZMQSocket
        private var sequence: UInt64 = 0
        private var seat: CoordinatorSeat<[UInt8]>
        // One log line per misbehaving peer and kind per 10 s (a flood must not flood the log).
        private var peerLog: PeerEventLog

        init(aggregator: Aggregator, intake: ZMQSocket, stream: ZMQSocket) {
            self.aggregator = aggregator
            self.intake = intake
            self.stream = stream
            seat = CoordinatorSeat(expiryMs: aggregator.config.coordinatorExpiryMs)
            peerLog = PeerEventLog(intervalMs: 10_000, logger: aggregator.logger)
        }

        private var metrics: AggregatorMetrics { aggregator.config.metrics }

        func envelope(_ body: Envelope.Payload) -> Envelope {
            sequence += 1
            return Envelope(body, senderID: "aggregator", sequence: sequence, sentUnixMs: Clock.unixMs())
        }

        func publish(_ body: Published.OneOf_Body) throws {
            sequence += 1  // one sequence over replies and results, as the peer "aggregator"
            let message = Published(body, senderID: "aggregator", sequence: sequence, sentUnixMs: Clock.unixMs())
            _ = try stream.send(try Framing.published(message), timeoutMs: 0)
            aggregator.lock.withLock { aggregator._published += 1 }
            switch body {
            case .frameResult: metrics.countPublished("frame")
            case .segmentResult: metrics.countPublished("segment")
            case .videoResult: metrics.countPublished("video")
            case .jobMetrics: metrics.countPublished("job_metrics")
            }
        }

        /// To the coordinator holding the seat (none: dropped).
        func reply(_ body: Envelope.Payload) throws {
            guard let id = seat.holder else { return }
            _ = try intake.send(try Framing.routed(to: id, envelope(body)), timeoutMs: 1_000)
        }

        /// The payload of a message from the intake the job should handle: decoded, from the
        /// coordinator in the seat, not a hello or heartbeat (answered here). Anything else is
        /// answered, counted and logged here, and nil.
        func admit(_ frames: [[UInt8]], _ peer: PeerInfo) throws -> Envelope.Payload? {
            let (id, message): ([UInt8], Envelope)
            do { (id, message) = try Framing.decodeRouted(frames) } catch {
                metrics.errors.count("malformed_message")
                peerLog.record("malformed|\(frames.first ?? [])", "ignored a malformed message from \(describePeer(frames.first ?? [], peer)): \(error)")
                return nil
            }
            let now = Clock.nowMs()
            let payload = message.payload
            if case .hello(let h) = payload, h.role == .coordinator {
                try hello(from: id, peer, message, nowMs: now)
                return nil
            }
            guard seat.heard(from: id, nowMs: now) else {
                metrics.errors.count("unknown_peer")
                peerLog.record("unknown|\(id)", "ignored \(message.kind) from unknown peer \(describePeer(id, peer))")
                _ = try? intake.send(try Framing.routed(to: id, envelope(.error(.with {
                    $0.code = .unknownPeer; $0.message = "the aggregator takes messages from its coordinator only: say hello as coordinator first"
                }))), timeoutMs: 0)
                return nil
            }
            if case .heartbeat = payload { return nil }  // the coordinator is alive (`seat.heard` above)
            return payload
        }

        /// A coordinator's hello: accepted, replacing a silent one, or refused while the one in
        /// the seat is alive.
        private func hello(from id: [UInt8], _ peer: PeerInfo, _ message: Envelope, nowMs now: UInt64) throws {
            let logger = aggregator.logger
            switch seat.hello(from: id, nowMs: now) {
            case .accepted:
                logger.info("coordinator connected", metadata: ["peer": .string(describePeer(id, peer))])
            case .replaced(let silentMs):
                logger.notice("coordinator replaced: the previous one was silent for \(silentMs) ms", metadata: ["peer": .string(describePeer(id, peer))])
            case .refused(let heardMsAgo):
                metrics.errors.count("second_coordinator")
                peerLog.record("coordinator|\(id)", "refused a coordinator hello from \(describePeer(id, peer)): this aggregator's coordinator was heard from \(heardMsAgo) ms ago")
                let expiry = aggregator.config.coordinatorExpiryMs
                _ = try? intake.send(try Framing.routed(to: id, envelope(.error(.with {
                    $0.code = .unknownPeer; $0.message = "refused: this aggregator serves another coordinator, alive (heard from \(heardMsAgo) ms ago); asking again is refused until it has been silent for \(expiry) ms"
                }))), timeoutMs: 0)
                return
            }
            try reply(.ack(.with { $0.sequence = message.sequence; $0.detail = "hello accepted" }))
        }
    }

    /// The index range of the values in `[lo, hi]` of an ascending array.
    static func span(of sorted: [UInt64], from lo: UInt64, through hi: UInt64) -> Range<Int> {
        func firstIndex(notBelow v: UInt64) -> Int {
            var a = 0, b = sorted.count
            while a < b {
                let m = (a + b) / 2
                if sorted[m] < v { a = m + 1 } else { b = m }
            }
            return a
        }
        let start = firstIndex(notBelow: lo)
        let end = hi == .max ? sorted.count : firstIndex(notBelow: hi + 1)
        return start..<max(start, end)
    }

    static func box(_ b: Mien_V1_Box) -> Box {
        Box(x: Double(b.x), y: Double(b.y), width: Double(b.width), height: Double(b.height))
    }

    /// The metrics as `metrics.json` writes them (the encoder `mien evaluate` shares).
    static func json(_ m: ClassificationMetrics, labels: [String]) -> String { m.json(labels: labels) }

    static func proto(_ m: ClassificationMetrics, labels: [String]) -> Mien_V1_ClassifierMetrics {
        .with {
            $0.accuracy = m.accuracy
            $0.macroF1 = m.macroF1
            $0.weightedF1 = m.weightedF1
            $0.perClass = zip(labels, m.perClass).map { l, s in
                .with { $0.label = l; $0.precision = s.precision; $0.recall = s.recall; $0.f1 = s.f1; $0.support = UInt64(s.support) }
            }
            $0.confusion = m.confusion.flatMap { $0.map(UInt64.init) }
        }
    }
}
