/// The label policy of one video, fed as its tracks' parts and window predictions come in:
/// each track's frames labelled as they become final (`TrackLabelStream`), its segments as they
/// close (`SegmentStream`), and the video's label kept as running state (`VideoLabelling` per
/// track) — what it holds does not grow with the video's length, only with the window
/// pipeline's lag and the number of tracks (a few hundred bytes each once ended).
///
/// The results equal those of labelling the whole video at its end (`TrackMerger`,
/// `TrackLabelling`, `Segmenter`), with one difference in the last bits: the video's mean
/// probabilities are summed track by track, then over the tracks in id order.
public struct VideoLabeller<Face: Sendable>: Sendable {
    public typealias Frame = TrackLabelStream<Face>.Frame
    public typealias Window = TrackLabelStream<Face>.Window

    /// A face's final label.
    public struct LabelledFrame: Sendable {
        public var track: UInt32
        public var frame: Frame
        /// The argmax of `probs`.
        public var label: Int
        public var probs: [Double]
        public var source: LabelSource
        /// The argmax of the frame's CNN probabilities (0 without them).
        public var cnnLabel: Int
    }

    /// What became final with one message: frames (ascending per track), segments, merged windows.
    public struct Results: Sendable {
        public var frames: [LabelledFrame] = []
        public var segments: [(track: UInt32, segment: TimedSegment)] = []
        public var windows: [(track: UInt32, window: Window)] = []

        mutating func append(_ other: Results) {
            frames += other.frames
            segments += other.segments
            windows += other.windows
        }
    }

    /// The video's result once every track is labelled.
    public struct Summary: Sendable, Equatable {
        /// By the BiLSTM (`VideoLabelling`'s rule over the mean probabilities) and by the CNN.
        public var label: Int
        public var probs: [Double]
        public var cnnLabel: Int
        public var faces: Int
        public var tracks: Int
    }

    private struct Track: Sendable {
        var stream: TrackLabelStream<Face>
        var segments = SegmentStream()
        var bilstm: VideoLabelling
        var cnn: VideoLabelling
        /// Labelled by the CNN when its last part came without windows (checked against the
        /// manifest's window length at the end).
        var byCNN = false
        /// Every frame labelled and the segments closed.
        var done = false
    }

    public let labels: [String]
    private var tracks: [UInt32: Track] = [:]

    public init(labels: [String]) {
        self.labels = labels
    }

    /// Frames held now, over all tracks (labelling and segments): the memory the video costs.
    public var framesHeld: Int { tracks.values.reduce(0) { $0 + $1.stream.framesHeld + $1.segments.framesHeld } }

    /// The next frames of `track` (ascending; repeats count once); `lastWindows` when this part
    /// ends the track: the windows cut for it.
    ///
    /// - Throws: `TrackLabellingError` naming the track when its results do not fit (the video fails).
    public mutating func add(track id: UInt32, frames: [Frame], lastWindows: UInt32?) throws -> Results {
        try update(id) { t in
            t.stream.add(frames)
            if let lastWindows { try t.stream.end(windows: lastWindows) }
        }
    }

    /// One window's prediction for `track` (a window seen before counts once).
    public mutating func add(track id: UInt32, window: Window) throws -> Results {
        try update(id) { t in t.stream.add(window: window) }
    }

    /// Whether every frame and window the manifest promises is in.
    public func isComplete(framesPerTrack: [UInt32: UInt32], windowsPerTrack: [UInt32: UInt32]) -> Bool {
        framesPerTrack.allSatisfy { tracks[$0.key]?.stream.framesReceived == Int($0.value) }
            && windowsPerTrack.allSatisfy { (tracks[$0.key]?.stream.windowsReceived ?? 0) >= Int($0.value) }
    }

    /// Ends every track as the manifest says and labels what is left (a track without windows:
    /// by the CNN when it is shorter than `windowLength`); returns the last results and the
    /// video's summary. Call once `isComplete`.
    public mutating func finish(windowsPerTrack: [UInt32: UInt32], windowLength: Int) throws -> (Results, Summary) {
        var results = Results()
        for id in tracks.keys.sorted() {
            let windows = windowsPerTrack[id] ?? 0
            let short = windowLength > 0 && (tracks[id]?.stream.framesReceived ?? 0) < windowLength
            if tracks[id]!.byCNN && !short {
                throw TrackLabellingError(description: "track \(id): labelled by the CNN without windows, but its \(tracks[id]!.stream.framesReceived) frames fill a window of \(windowLength)")
            }
            if windows == 0 && !short, let first = tracks[id]!.stream.firstHeldFrame {
                throw TrackLabellingError(description: "track \(id): frame \(first) is in no window: the coordinator's windows do not cover the track")
            }
            results.append(try update(id) { t in try t.stream.end(windows: windows) })
            guard tracks[id]!.done else {
                throw TrackLabellingError(description: "track \(id): \(tracks[id]!.stream.windowsMerged) of its \(windows) windows could be merged")
            }
        }
        var bilstm = VideoLabelling(labels: labels), cnn = VideoLabelling(labels: labels)
        for id in tracks.keys.sorted() {
            bilstm.add(tracks[id]!.bilstm)
            cnn.add(tracks[id]!.cnn)
        }
        let probs = bilstm.meanProbabilities
        let summary = Summary(label: bilstm.label(probabilities: probs), probs: probs,
                              cnnLabel: cnn.label(probabilities: cnn.probabilitySums), faces: bilstm.frames, tracks: tracks.count)
        return (results, summary)
    }

    /// Applies `change` to track `id` (made on first sight), then takes what became final.
    private mutating func update(_ id: UInt32, _ change: (inout Track) throws -> Void) throws -> Results {
        var t = tracks.removeValue(forKey: id)
            ?? Track(stream: TrackLabelStream(classes: labels.count), bilstm: VideoLabelling(labels: labels), cnn: VideoLabelling(labels: labels))
        defer { tracks[id] = t }
        do {
            try change(&t)
            return try take(id, &t)
        } catch let e as TrackLabellingError {
            throw TrackLabellingError(description: "track \(id): \(e)")
        }
    }

    private func take(_ id: UInt32, _ t: inout Track) throws -> Results {
        var results = Results()
        guard !t.done else { return results }
        let labelled: [TrackLabelStream<Face>.Labelled]
        if t.stream.totalWindows == 0 {
            t.byCNN = true
            labelled = try t.stream.labelByCNN()
        } else {
            let taken = try t.stream.take()
            labelled = taken.frames
            results.windows = taken.windows.map { (id, $0) }
        }
        results.frames.reserveCapacity(labelled.count)
        for l in labelled {
            let label = argmax(l.probs)!
            let cnnLabel = argmax(l.frame.cnnProbs) ?? 0
            t.bilstm.add(label: label, probabilities: l.probs)
            t.cnn.add(label: cnnLabel, probabilities: l.frame.cnnProbs)
            results.frames.append(LabelledFrame(track: id, frame: l.frame, label: label, probs: l.probs, source: l.source, cnnLabel: cnnLabel))
            results.segments += t.segments.add(frame: l.frame.frame, timeS: l.frame.timeS, label: label).map { (id, $0) }
        }
        if t.stream.isFinished {
            results.segments += t.segments.finish().map { (id, $0) }
            t.done = true
        }
        return results
    }
}
