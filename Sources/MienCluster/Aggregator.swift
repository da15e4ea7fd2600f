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
    private let logger: Logger
    private let lock = NSLock()
    private var stopRequested = false
    private var failure: Error?
    private let finished = DispatchSemaphore(value: 0)
    private var _subscribers = 0
    private var _published = 0

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

    // MARK: state

    private final class VideoState {
        var manifest: Mien_V1_VideoManifest?
        var tracks: [UInt32: Mien_V1_TrackFrames] = [:]
        /// track → window index → prediction (idempotent)
        var predictions: [UInt32: [UInt32: Mien_V1_WindowPrediction]] = [:]
    }

    private func run(intake: ZMQSocket, stream: ZMQSocket, sinks: Sinks, restored: RestoredScores) throws {
        let labels = config.labels
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var videos: [String: VideoState] = [:]
        var done = Set(sinks.completed.keys)
        var seat = CoordinatorSeat<[UInt8]>(expiryMs: config.coordinatorExpiryMs)
        var sequence: UInt64 = 0
        var scores = restored.scores
        var videosOK = restored.videosOK, videosFailed = restored.videosFailed, framesDone = restored.frames
        let started = Date()
        let metrics = config.metrics

        func envelope(_ body: Envelope.OneOf_Body) -> Envelope {
            sequence += 1
            return Envelope(body, senderID: "aggregator", sequence: sequence, sentUnixMs: Clock.unixMs())
        }
        func publish(_ body: Envelope.OneOf_Body) throws {
            _ = try stream.send(try Framing.published(envelope(body)), timeoutMs: 0)
            lock.withLock { _published += 1 }
            switch body {
            case .frameResult: metrics.countPublished("frame")
            case .segmentResult: metrics.countPublished("segment")
            case .videoResult: metrics.countPublished("video")
            case .jobMetrics: metrics.countPublished("job_metrics")
            default: break
            }
        }
        func reply(_ body: Envelope.OneOf_Body) throws {
            guard let id = seat.holder else { return }
            _ = try intake.send(try Framing.routed(to: id, envelope(body)), timeoutMs: 1_000)
        }

        func isComplete(_ v: VideoState) -> Bool {
            guard let m = v.manifest else { return false }
            if !m.error.isEmpty { return true }
            for (track, frames) in m.framesPerTrack where v.tracks[track]?.frames.count != Int(frames) { return false }
            for (track, windows) in m.windowsPerTrack where (v.predictions[track]?.count ?? 0) < Int(windows) { return false }
            return true
        }

        /// Writes, publishes and acknowledges a video as failed with `error` (the manifest's, or
        /// what made its results unusable here).
        func finaliseFailed(_ id: String, _ m: Mien_V1_VideoManifest, error: String) throws {
            let record = VideoRecord(video: id, status: "error", error: error, frames: m.frameCount, faces: 0,
                                     groundTruth: m.groundTruthLabel.isEmpty ? nil : m.groundTruthLabel)
            try sinks.write(frames: [], segments: [], video: record.jsonLine(labels: labels))
            try publish(.videoResult(.with {
                $0.videoID = id; $0.uri = m.uri; $0.status = .error; $0.error = error; $0.frames = m.frameCount
            }))
            videosFailed += 1
            metrics.finalised["error"]!.increment()
            logger.info("video finalised with its error", metadata: ["video": .string(id)])
            try reply(.ack(.with { $0.videoID = id; $0.detail = "error: \(error)" }))
        }

        func finalise(_ id: String, _ v: VideoState) throws {
            let m = v.manifest!
            if !m.error.isEmpty { return try finaliseFailed(id, m, error: m.error) }
            if config.extractOnly {
                var lines: [String] = []
                var faces = 0
                for track in v.tracks.keys.sorted() {
                    let tf = v.tracks[track]!
                    faces += tf.frames.count
                    var line = JSONLine()
                    line.add("video", id)
                    line.add("track", track)
                    line.add("frames", numbers: tf.frames.map { Double($0.frame) })
                    let truth = tf.frames.map { f in
                        config.frameTruth[id]?[f.frame].flatMap { FaceTruth.label(for: Aggregator.box(f.box), among: $0) } ?? m.groundTruthLabel
                    }
                    line.add("labels", raw: "[" + truth.map(JSONLine.quote).joined(separator: ",") + "]")
                    line.add("cnn_probs", raw: "[" + tf.frames.map { "[" + $0.cnnProbs.probs.map { JSONLine.number(Double($0)) }.joined(separator: ",") + "]" }.joined(separator: ",") + "]")
                    line.add("embeddings", raw: "[" + tf.frames.map { "[" + $0.embedding.map { JSONLine.number(Double($0)) }.joined(separator: ",") + "]" }.joined(separator: ",") + "]")
                    lines.append(line.string)
                }
                let record = VideoRecord(video: id, status: "ok", frames: m.frameCount, faces: faces, tracks: v.tracks.count,
                                         groundTruth: m.groundTruthLabel.isEmpty ? nil : m.groundTruthLabel)
                try sinks.write(frames: lines, segments: [], video: record.jsonLine(labels: labels))
                videosOK += 1
                framesDone += m.frameCount
                metrics.finalised["ok"]!.increment()
                logger.info("video finalised", metadata: ["video": .string(id), "tracks": "\(v.tracks.count)", "faces": "\(faces)"])
                try reply(.ack(.with { $0.videoID = id; $0.detail = "ok" }))
                return
            }
            var frameLines: [(UInt64, UInt32, String)] = []
            var segmentLines: [String] = []
            var windowLines: [String] = []
            // The video's label, by the BiLSTM and by the CNN: running state, not the frames.
            var bilstmVideo = VideoLabelling(labels: labels), cnnVideo = VideoLabelling(labels: labels)
            var faces = 0
            let truthIndex = index[m.groundTruthLabel]
            // Every track is labelled before anything is written or published: a video whose
            // windows do not cover a track (a bad manifest) fails alone, with that error, and
            // the aggregator goes on with the other videos.
            var labelledTracks: [UInt32: LabelledTrack] = [:]
            for track in v.tracks.keys.sorted() {
                let tf = v.tracks[track]!
                let frameIndices = tf.frames.map(\.frame)
                var merger = TrackMerger(classes: labels.count)
                for p in (v.predictions[track] ?? [:]).values.sorted(by: { $0.windowIndex < $1.windowIndex }) {
                    merger.add(window: p.windowIndex, frames: Array(frameIndices[Aggregator.span(of: frameIndices, from: p.startFrame, through: p.endFrame)]), probs: p.probs.probs)
                }
                do {
                    labelledTracks[track] = try TrackLabelling.label(frames: frameIndices, cnnProbs: tf.frames.map { $0.cnnProbs.probs.map(Double.init) },
                                                                     windows: merger, windowLength: Int(m.windowLength))
                } catch {
                    metrics.errors.count("bad_manifest")
                    logger.warning("video failed: its results do not fit its manifest: track \(track): \(error)", metadata: ["video": .string(id)])
                    return try finaliseFailed(id, m, error: "track \(track): \(error)")
                }
            }
            for track in v.tracks.keys.sorted() {
                let tf = v.tracks[track]!
                let preds = (v.predictions[track] ?? [:]).values.sorted { $0.windowIndex < $1.windowIndex }
                let frameIndices = tf.frames.map(\.frame)
                for p in preds {
                    // Frames are ascending: find the window's span by binary search, not a scan
                    // (a long track has thousands of windows and frames).
                    if config.writeWindows {
                        let covered = frameIndices[Aggregator.span(of: frameIndices, from: p.startFrame, through: p.endFrame)]
                        let probs = p.probs.probs.map(Double.init)
                        windowLines.append(WindowRecord.line(video: id, track: track, window: p.windowIndex, startFrame: p.startFrame,
                                                             endFrame: p.endFrame, frames: covered.count, label: labels[argmax(probs) ?? 0],
                                                             probs: probs, labels: labels))
                    }
                }
                metrics.windowsMerged.increment(by: preds.count)
                // A track shorter than a window is labelled by the CNN (TrackLabelling).
                let trackLabels = labelledTracks[track]!
                var labelled: [(frame: UInt64, label: Int)] = []
                for (f, probs) in zip(tf.frames, trackLabels.probs) {
                    let label = argmax(probs)!
                    let cnnProbs = f.cnnProbs.probs.map(Double.init)
                    let cnnLabel = argmax(cnnProbs) ?? 0
                    labelled.append((f.frame, label))
                    bilstmVideo.add(label: label, probabilities: probs)
                    cnnVideo.add(label: cnnLabel, probabilities: cnnProbs)
                    faces += 1
                    // Per-frame truth matched by box when frames.csv is given (a detection that
                    // matches no true face is left out of the metrics), else the video's label.
                    let truth = config.frameTruth[id].map { byFrame in
                        byFrame[f.frame].flatMap { FaceTruth.label(for: Aggregator.box(f.box), among: $0) }.flatMap { index[$0] }
                    } ?? truthIndex
                    if let truth {
                        scores.addFrame(truth: truth, bilstm: label, cnn: cnnLabel)
                    }
                    let line = FrameRecord.line(video: id, frame: f.frame, timeS: f.timeS, track: track,
                                                box: [Double(f.box.x), Double(f.box.y), Double(f.box.width), Double(f.box.height)],
                                                label: labels[label], probs: probs, source: trackLabels.source.rawValue,
                                                cnnLabel: cnnProbs.isEmpty ? "" : labels[cnnLabel], cnnProbs: cnnProbs, labels: labels)
                    frameLines.append((f.frame, track, line))
                    try publish(.frameResult(.with {
                        $0.videoID = id; $0.frame = f.frame; $0.timeS = f.timeS; $0.trackID = track; $0.box = f.box
                        $0.label = labels[label]; $0.probs = .with { $0.probs = probs.map(Float.init) }; $0.source = trackLabels.source.rawValue
                        $0.cnnLabel = cnnProbs.isEmpty ? "" : labels[cnnLabel]; $0.cnnProbs = f.cnnProbs
                    }))
                }
                let step = zip(frameIndices.dropFirst(), frameIndices).map { $0 - $1 }.min() ?? 1
                let timeOf = Dictionary(uniqueKeysWithValues: tf.frames.map { ($0.frame, $0.timeS) })
                for seg in Segmenter.segments(labelled, maxGap: step) {
                    segmentLines.append(SegmentRecord(video: id, track: track, startFrame: seg.startFrame, endFrame: seg.endFrame,
                                                      startS: timeOf[seg.startFrame] ?? 0, endS: timeOf[seg.endFrame] ?? 0,
                                                      label: labels[seg.label]).jsonLine)
                    try publish(.segmentResult(.with {
                        $0.videoID = id; $0.trackID = track; $0.startFrame = seg.startFrame; $0.endFrame = seg.endFrame
                        $0.startS = timeOf[seg.startFrame] ?? 0; $0.endS = timeOf[seg.endFrame] ?? 0; $0.label = labels[seg.label]
                    }))
                }
            }
            let videoProbs = bilstmVideo.meanProbabilities
            let videoLabel = bilstmVideo.label(probabilities: videoProbs)
            let cnnVideoLabel = cnnVideo.label(probabilities: cnnVideo.probabilitySums)
            if let truthIndex {
                scores.addVideo(truth: truthIndex, bilstm: videoLabel, cnn: cnnVideoLabel)
            }
            let videoRecord = VideoRecord(video: id, status: "ok", label: labels[videoLabel], cnnLabel: labels[cnnVideoLabel],
                                          frames: m.frameCount, faces: faces, tracks: v.tracks.count,
                                          groundTruth: m.groundTruthLabel.isEmpty ? nil : m.groundTruthLabel)
            frameLines.sort { ($0.0, $0.1) < ($1.0, $1.1) }
            try sinks.write(frames: frameLines.map(\.2), segments: segmentLines, windows: windowLines,
                            video: videoRecord.jsonLine(probs: videoProbs, labels: labels))
            try publish(.videoResult(.with {
                $0.videoID = id; $0.uri = m.uri; $0.status = .ok; $0.label = labels[videoLabel]
                $0.probs = .with { $0.probs = videoProbs.map(Float.init) }; $0.frames = m.frameCount; $0.faces = UInt64(faces)
            }))
            videosOK += 1
            framesDone += m.frameCount
            metrics.finalised["ok"]!.increment()
            logger.info("video finalised", metadata: ["video": .string(id), "label": .string(labels[videoLabel]), "faces": "\(faces)", "segments": "\(segmentLines.count)"])
            try reply(.ack(.with { $0.videoID = id; $0.detail = "ok" }))
        }

        func metricsJSON() -> (String, Mien_V1_JobMetrics) {
            var job = Mien_V1_JobMetrics.with {
                $0.videosDone = UInt64(videosOK + videosFailed)
                $0.videosFailed = UInt64(videosFailed)
                $0.framesDone = framesDone
                $0.elapsedS = Date().timeIntervalSince(started)
                $0.labels = labels
            }
            var root = JSONLine()
            root.add("labels", raw: "[" + labels.map(JSONLine.quote).joined(separator: ",") + "]")
            root.add("data", "Metrics over the videos with ground truth given by --labels (and frames.csv when given).")
            if scores.frames > 0 {
                let b = ClassificationMetrics(confusion: scores.frameBiLSTM)
                let c = ClassificationMetrics(confusion: scores.frameCNN)
                root.add("bilstm", raw: Aggregator.json(b, labels: labels))
                root.add("cnn", raw: Aggregator.json(c, labels: labels))
                let vb = ClassificationMetrics(confusion: scores.videoBiLSTM)
                let vc = ClassificationMetrics(confusion: scores.videoCNN)
                root.add("video_level", raw: "{\"bilstm\":\(Aggregator.json(vb, labels: labels)),\"cnn\":\(Aggregator.json(vc, labels: labels))}")
                job.bilstm = Aggregator.proto(b, labels: labels)
                job.cnn = Aggregator.proto(c, labels: labels)
            }
            return (root.string + "\n", job)
        }

        // One log line per misbehaving peer and kind per 10 s (a flood must not flood the log).
        var peerLog = PeerEventLog(intervalMs: 10_000, logger: logger)
        func peerEvent(_ key: String, _ line: @autoclosure () -> String) { peerLog.record(key, line()) }

        var poller = ZMQPoller()
        poller.add(intake)
        poller.add(stream)
        loop: while !lock.withLock({ stopRequested }) {
            let events = try poller.poll(timeoutMs: 100)
            if events[1].contains(.readable) {
                while let frames = try stream.receive(timeoutMs: 0) {
                    guard let first = frames.first?.first else { continue }
                    let now = lock.withLock { () -> Int in _subscribers += first == 1 ? 1 : -1; return _subscribers }
                    metrics.subscribers.set(now)
                }
            }
            guard events[0].contains(.readable) else { continue }
            while let (frames, peer) = try intake.receiveWithPeer(timeoutMs: 0) {
                let (id, message): ([UInt8], Envelope)
                do { (id, message) = try Framing.decodeRouted(frames) } catch {
                    metrics.errors.count("malformed_message")
                    peerEvent("malformed|\(frames.first ?? [])", "ignored a malformed message from \(describePeer(frames.first ?? [], peer)): \(error)")
                    continue
                }
                let now = Clock.nowMs()
                if case .hello(let h) = message.body, h.role == .coordinator {
                    switch seat.hello(from: id, nowMs: now) {
                    case .accepted:
                        logger.info("coordinator connected", metadata: ["peer": .string(describePeer(id, peer))])
                    case .replaced(let silentMs):
                        logger.notice("coordinator replaced: the previous one was silent for \(silentMs) ms", metadata: ["peer": .string(describePeer(id, peer))])
                    case .refused(let heardMsAgo):
                        metrics.errors.count("second_coordinator")
                        peerEvent("coordinator|\(id)", "refused a coordinator hello from \(describePeer(id, peer)): this aggregator's coordinator was heard from \(heardMsAgo) ms ago")
                        _ = try? intake.send(try Framing.routed(to: id, envelope(.error(.with {
                            $0.code = .unknownPeer; $0.message = "refused: this aggregator serves another coordinator, alive (heard from \(heardMsAgo) ms ago); asking again is refused until it has been silent for \(config.coordinatorExpiryMs) ms"
                        }))), timeoutMs: 0)
                        continue
                    }
                    try reply(.ack(.with { $0.sequence = message.sequence; $0.detail = "hello accepted" }))
                    continue
                }
                guard seat.heard(from: id, nowMs: now) else {
                    metrics.errors.count("unknown_peer")
                    peerEvent("unknown|\(id)", "ignored \(message.kind) from unknown peer \(describePeer(id, peer))")
                    _ = try? intake.send(try Framing.routed(to: id, envelope(.error(.with {
                        $0.code = .unknownPeer; $0.message = "the aggregator takes messages from its coordinator only: say hello as coordinator first"
                    }))), timeoutMs: 0)
                    continue
                }
                var touched: [String] = []
                switch message.body {
                case .trackFrames(let t):
                    guard !done.contains(t.videoID) else { continue }
                    let v = videos[t.videoID] ?? VideoState()
                    videos[t.videoID] = v
                    v.tracks[t.trackID] = t
                    touched.append(t.videoID)
                case .windowPredictionBatch(let b):
                    for p in b.predictions where !done.contains(p.videoID) {
                        let v = videos[p.videoID] ?? VideoState()
                        videos[p.videoID] = v
                        v.predictions[p.trackID, default: [:]][p.windowIndex] = p
                        touched.append(p.videoID)
                    }
                case .manifest(let m):
                    if done.contains(m.videoID) {
                        // Finished by an earlier run (resume) or already: acknowledge again, write nothing.
                        try reply(.ack(.with { $0.videoID = m.videoID; $0.detail = "ok (already complete)" }))
                        continue
                    }
                    let v = videos[m.videoID] ?? VideoState()
                    videos[m.videoID] = v
                    v.manifest = m
                    touched.append(m.videoID)
                case .heartbeat:
                    continue  // the coordinator is alive (`seat.heard` above)
                case .shutdown:
                    let (json, job) = metricsJSON()
                    try sinks.writeMetrics(json)
                    try publish(.jobMetrics(job))
                    try reply(.ack(.with { $0.detail = "shutdown" }))
                    logger.notice("job complete: \(videosOK) video(s) ok, \(videosFailed) failed")
                    break loop
                default:
                    metrics.errors.count("unexpected_message")
                    logger.warning("ignored unexpected \(message.kind)")
                }
                for vid in Set(touched) {
                    if let v = videos[vid], isComplete(v) {
                        try finalise(vid, v)
                        videos.removeValue(forKey: vid)
                        done.insert(vid)
                    }
                }
                metrics.videosPending.set(videos.count)
            }
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
