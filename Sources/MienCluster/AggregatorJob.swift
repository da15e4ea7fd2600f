import Foundation
import Logging
import MienCore
import MienProto
import MienWire

/// The aggregator's job, on its thread: the videos in progress and the job's scores. Each
/// coordinator message goes to its video's `VideoLabeller`; what became final leaves at once for
/// the sinks and the result stream (frames, segments, windows), so a video costs the window
/// pipeline's lag in memory, not its length. A video is finalised — its videos.jsonl line
/// written last, the files flushed, the coordinator acknowledged — when its manifest and
/// everything the manifest promises are in. A video whose results do not fit its manifest fails
/// alone with that error; the job goes on.
final class AggregatorJob {
    typealias Labeller = VideoLabeller<Mien_V1_TrackFrame>

    /// A video in progress.
    final class Video {
        var manifest: Mien_V1_VideoManifest?
        var labeller: Labeller
        /// Frame-level scores of this video by frames.csv, added to the job's when it is finalised ok.
        var scores: AggregatorScores
        /// Its frames' (BiLSTM, CNN) labels without frames.csv, scored against the video's label
        /// when it is finalised ok.
        var labelPairs: LabelPairs
        /// Why its results cannot be used (found before the manifest came): it fails at the manifest.
        var failure: String?
        /// `mien extract`: each track's frames, whole (one embeddings.jsonl line per track).
        var extracted: [UInt32: [Mien_V1_TrackFrame]] = [:]

        init(labels: [String]) {
            labeller = Labeller(labels: labels)
            scores = AggregatorScores(classes: labels.count)
            labelPairs = LabelPairs(classes: labels.count)
        }
    }

    /// Where results go besides the sinks: the result stream, and replies to the coordinator.
    struct Output {
        var publish: (Published.OneOf_Body) throws -> Void
        var reply: (Envelope.Payload) throws -> Void
    }

    let config: Aggregator.Config
    let sinks: Sinks
    let output: Output
    let logger: Logger
    private let labels: [String]
    private let index: [String: Int]
    private(set) var videos: [String: Video] = [:]
    private var done: Set<String>
    private var scores: AggregatorScores
    private var videosOK: Int, videosFailed: Int, framesDone: UInt64
    private let started = Date()

    init(config: Aggregator.Config, sinks: Sinks, restored: RestoredScores, output: Output, logger: Logger) {
        self.config = config
        self.sinks = sinks
        self.output = output
        self.logger = logger
        labels = config.labels
        index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        done = Set(sinks.completed.keys)
        scores = restored.scores
        (videosOK, videosFailed, framesDone) = (restored.videosOK, restored.videosFailed, restored.frames)
    }

    /// Frames the videos in progress hold now (their labelling's lag; whole tracks when extracting).
    var framesHeld: Int {
        videos.values.reduce(0) { $0 + $1.labeller.framesHeld + $1.extracted.values.reduce(0) { $0 + $1.count } }
    }

    /// Handles one message from the coordinator; true when it ends the job (shutdown).
    func handle(_ body: Envelope.Payload) throws -> Bool {
        switch body {
        case .trackFrames(let t):
            guard let v = video(t.videoID) else { return false }
            if config.extractOnly {
                let last = v.extracted[t.trackID]?.last?.frame
                v.extracted[t.trackID, default: []] += t.frames.filter { f in last.map { f.frame > $0 } ?? true }
            } else {
                let frames = t.frames.map { Labeller.Frame(frame: $0.frame, timeS: $0.timeS, cnnProbs: $0.cnnProbs.probs.map(Double.init), face: $0) }
                try label(t.videoID, v) { try $0.add(track: t.trackID, frames: frames, lastWindows: t.last ? t.windows : nil) }
            }
            try finaliseIfComplete(t.videoID, v)
        case .windowPredictionBatch(let b):
            for (id, predictions) in Dictionary(grouping: b.predictions, by: \.videoID) {
                guard let v = video(id) else { continue }
                for p in predictions {
                    let window = Labeller.Window(index: p.windowIndex, startFrame: p.startFrame, endFrame: p.endFrame, probs: p.probs.probs)
                    try label(id, v) { try $0.add(track: p.trackID, window: window) }
                }
                try finaliseIfComplete(id, v)
            }
        case .manifest(let m):
            if done.contains(m.videoID) {
                // Finished by an earlier run (resume) or already: acknowledge again, write nothing.
                try output.reply(.ack(.with { $0.videoID = m.videoID; $0.detail = "ok (already complete)" }))
                return false
            }
            let v = video(m.videoID)!
            v.manifest = m
            try finaliseIfComplete(m.videoID, v)
        case .shutdown:
            let (json, job) = metricsJSON()
            try sinks.writeMetrics(json)
            try output.publish(.jobMetrics(job))
            try output.reply(.ack(.with { $0.detail = "shutdown" }))
            logger.notice("job complete: \(videosOK) video(s) ok, \(videosFailed) failed")
            return true
        default:
            config.metrics.errors.count("unexpected_message")
            logger.warning("ignored unexpected \(body.kind)")
        }
        config.metrics.videosPending.set(videos.count)
        return false
    }

    /// The video's state, made on first sight; nil when it is finished (a late or repeated message).
    private func video(_ id: String) -> Video? {
        guard !done.contains(id) else { return nil }
        if let v = videos[id] { return v }
        let v = Video(labels: labels)
        videos[id] = v
        return v
    }

    /// Feeds the video's labeller and sends on what became final. Results that do not fit fail
    /// the video (at its manifest); its state is dropped and later messages for it are ignored.
    private func label(_ id: String, _ v: Video, _ change: (inout Labeller) throws -> Labeller.Results) throws {
        guard v.failure == nil else { return }
        let results: Labeller.Results
        do { results = try change(&v.labeller) } catch let e as TrackLabellingError {
            fail(id, v, "\(e)")
            return
        }
        try send(id, v, results)
    }

    private func fail(_ id: String, _ v: Video, _ error: String) {
        config.metrics.errors.count("bad_manifest")
        logger.warning("video failed: its results do not fit its manifest: \(error)", metadata: ["video": .string(id)])
        v.failure = error
        v.labeller = Labeller(labels: labels)
    }

    /// Writes (without flushing) and publishes frames, segments and windows that became final.
    private func send(_ id: String, _ v: Video, _ r: Labeller.Results) throws {
        let frameTruth = config.frameTruth[id]
        var frameLines: [String] = [], segmentLines: [String] = [], windowLines: [String] = []
        frameLines.reserveCapacity(r.frames.count)
        for f in r.frames {
            let face = f.frame.face, cnnProbs = f.frame.cnnProbs
            // Per-frame truth matched by box when frames.csv is given (a detection that matches no
            // true face is left out of the metrics), else the video's label, which comes with the
            // manifest: until then the frame's labels are counted by pair.
            if let frameTruth {
                let truth = frameTruth[face.frame].flatMap { FaceTruth.label(for: Aggregator.box(face.box), among: $0) }.flatMap { index[$0] }
                if let truth { v.scores.addFrame(truth: truth, bilstm: f.label, cnn: f.cnnLabel) }
            } else {
                v.labelPairs.add(bilstm: f.label, cnn: f.cnnLabel)
            }
            let cnnLabel = cnnProbs.isEmpty ? "" : labels[f.cnnLabel]
            frameLines.append(FrameRecord.line(video: id, frame: face.frame, timeS: face.timeS, track: f.track,
                                               box: [Double(face.box.x), Double(face.box.y), Double(face.box.width), Double(face.box.height)],
                                               label: labels[f.label], probs: f.probs, source: f.source.rawValue,
                                               cnnLabel: cnnLabel, cnnProbs: cnnProbs, labels: labels))
            try output.publish(.frameResult(.with {
                $0.videoID = id; $0.frame = face.frame; $0.timeS = face.timeS; $0.trackID = f.track; $0.box = face.box
                $0.label = labels[f.label]; $0.probs = .with { $0.probs = f.probs.map(Float.init) }; $0.source = f.source.rawValue
                $0.cnnLabel = cnnLabel; $0.cnnProbs = face.cnnProbs
            }))
        }
        for (track, s) in r.segments {
            let label = labels[s.segment.label]
            segmentLines.append(SegmentRecord(video: id, track: track, startFrame: s.segment.startFrame, endFrame: s.segment.endFrame,
                                              startS: s.startS, endS: s.endS, label: label).jsonLine)
            try output.publish(.segmentResult(.with {
                $0.videoID = id; $0.trackID = track; $0.startFrame = s.segment.startFrame; $0.endFrame = s.segment.endFrame
                $0.startS = s.startS; $0.endS = s.endS; $0.label = label
            }))
        }
        if config.writeWindows {
            for (track, w) in r.windows {
                let probs = w.probs.map(Double.init)
                windowLines.append(WindowRecord.line(video: id, track: track, window: w.index, startFrame: w.startFrame, endFrame: w.endFrame,
                                                     frames: w.frames, label: labels[argmax(probs) ?? 0], probs: probs, labels: labels))
            }
        }
        config.metrics.windowsMerged.increment(by: r.windows.count)
        try sinks.append(frames: frameLines, segments: segmentLines, windows: windowLines)
    }
}

// MARK: finalising

extension AggregatorJob {
    /// Finalises the video when its manifest and everything it promises are in (at once when
    /// it failed: the manifest's error, or results that did not fit).
    private func finaliseIfComplete(_ id: String, _ v: Video) throws {
        guard let m = v.manifest else { return }
        if let error = m.error.isEmpty ? v.failure : m.error {
            try finaliseFailed(id, m, error: error)
        } else if config.extractOnly {
            let complete = m.framesPerTrack.allSatisfy { v.extracted[$0.key]?.count == Int($0.value) }
            guard complete else { return }
            try finaliseExtracted(id, m, v)
        } else {
            guard v.labeller.isComplete(framesPerTrack: m.framesPerTrack, windowsPerTrack: m.windowsPerTrack) else { return }
            let last: (Labeller.Results, Labeller.Summary)
            do { last = try v.labeller.finish(windowsPerTrack: m.windowsPerTrack, windowLength: Int(m.windowLength)) } catch let e as TrackLabellingError {
                fail(id, v, "\(e)")
                return try finaliseFailed(id, m, error: "\(e)")
            }
            try send(id, v, last.0)
            try finaliseLabelled(id, m, v, last.1)
        }
        videos.removeValue(forKey: id)
        done.insert(id)
        config.metrics.videosPending.set(videos.count)
    }

    /// Writes, publishes and acknowledges a video as failed with `error` (the manifest's, or
    /// what made its results unusable here).
    private func finaliseFailed(_ id: String, _ m: Mien_V1_VideoManifest, error: String) throws {
        let record = VideoRecord(video: id, status: "error", error: error, frames: m.frameCount, faces: 0,
                                 groundTruth: m.groundTruthLabel.isEmpty ? nil : m.groundTruthLabel)
        try sinks.finishVideo(record.jsonLine(labels: labels))
        try output.publish(.videoResult(.with {
            $0.videoID = id; $0.uri = m.uri; $0.status = .error; $0.error = error; $0.frames = m.frameCount
        }))
        videosFailed += 1
        config.metrics.finalised["error"]!.increment()
        logger.info("video finalised with its error", metadata: ["video": .string(id)])
        try output.reply(.ack(.with { $0.videoID = id; $0.detail = "error: \(error)" }))
    }

    /// Its frames, segments and windows are out: the video's line, the scores, the acknowledgement.
    private func finaliseLabelled(_ id: String, _ m: Mien_V1_VideoManifest, _ v: Video, _ s: Labeller.Summary) throws {
        scores.add(v.scores)
        if let truth = index[m.groundTruthLabel] {
            if config.frameTruth[id] == nil { scores.addFrames(truth: truth, v.labelPairs) }
            scores.addVideo(truth: truth, bilstm: s.label, cnn: s.cnnLabel)
        }
        let record = VideoRecord(video: id, status: "ok", label: labels[s.label], cnnLabel: labels[s.cnnLabel],
                                 frames: m.frameCount, faces: s.faces, tracks: s.tracks,
                                 groundTruth: m.groundTruthLabel.isEmpty ? nil : m.groundTruthLabel)
        try sinks.finishVideo(record.jsonLine(probs: s.probs, labels: labels))
        try output.publish(.videoResult(.with {
            $0.videoID = id; $0.uri = m.uri; $0.status = .ok; $0.label = labels[s.label]
            $0.probs = .with { $0.probs = s.probs.map(Float.init) }; $0.frames = m.frameCount; $0.faces = UInt64(s.faces)
        }))
        videosOK += 1
        framesDone += m.frameCount
        config.metrics.finalised["ok"]!.increment()
        logger.info("video finalised", metadata: ["video": .string(id), "label": .string(labels[s.label]), "faces": "\(s.faces)"])
        try output.reply(.ack(.with { $0.videoID = id; $0.detail = "ok" }))
    }

    /// `mien extract`: one embeddings.jsonl line per track (frames, labels, CNN probabilities,
    /// embeddings), written at the video's end.
    private func finaliseExtracted(_ id: String, _ m: Mien_V1_VideoManifest, _ v: Video) throws {
        var lines: [String] = []
        var faces = 0
        for track in v.extracted.keys.sorted() {
            let frames = v.extracted[track]!
            faces += frames.count
            var line = JSONLine()
            line.add("video", id)
            line.add("track", track)
            line.add("frames", numbers: frames.map { Double($0.frame) })
            let truth = frames.map { f in
                config.frameTruth[id]?[f.frame].flatMap { FaceTruth.label(for: Aggregator.box(f.box), among: $0) } ?? m.groundTruthLabel
            }
            line.add("labels", raw: "[" + truth.map(JSONLine.quote).joined(separator: ",") + "]")
            line.add("cnn_probs", raw: "[" + frames.map { "[" + $0.cnnProbs.probs.map { JSONLine.number(Double($0)) }.joined(separator: ",") + "]" }.joined(separator: ",") + "]")
            line.add("embeddings", raw: "[" + frames.map { "[" + $0.embedding.map { JSONLine.number(Double($0)) }.joined(separator: ",") + "]" }.joined(separator: ",") + "]")
            lines.append(line.string)
        }
        let record = VideoRecord(video: id, status: "ok", frames: m.frameCount, faces: faces, tracks: v.extracted.count,
                                 groundTruth: m.groundTruthLabel.isEmpty ? nil : m.groundTruthLabel)
        try sinks.append(frames: lines, segments: [], windows: [])
        try sinks.finishVideo(record.jsonLine(labels: labels))
        videosOK += 1
        framesDone += m.frameCount
        config.metrics.finalised["ok"]!.increment()
        logger.info("video finalised", metadata: ["video": .string(id), "tracks": "\(v.extracted.count)", "faces": "\(faces)"])
        try output.reply(.ack(.with { $0.videoID = id; $0.detail = "ok" }))
    }

    /// metrics.json and the job's metrics message.
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
}
