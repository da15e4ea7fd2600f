/// One face in one frame as the pipeline labelled it, with its ground truth.
public struct EvaluatedFrame: Sendable, Equatable {
    public var video: String
    public var track: UInt32
    public var frame: UInt64
    /// True class; nil for a detection that matches no true face (left out of the metrics).
    public var truth: Int?
    /// CNN+BiLSTM label (windows merged over the frame).
    public var bilstm: Int
    /// The per-frame CNN's class probabilities (the baseline), in label order.
    public var cnnProbs: [Double]
    /// The CNN baseline's label.
    public var cnn: Int

    /// - Parameter cnn: the CNN's label as the pipeline reported it; by default the argmax of
    ///   `cnnProbs` (give it when the probabilities were rounded on the way, so that a near-tie
    ///   cannot flip it).
    public init(video: String, track: UInt32, frame: UInt64, truth: Int?, bilstm: Int, cnnProbs: [Double], cnn: Int? = nil) {
        self.video = video
        self.track = track
        self.frame = frame
        self.truth = truth
        self.bilstm = bilstm
        self.cnnProbs = cnnProbs
        self.cnn = cnn ?? argmax(cnnProbs) ?? 0
    }
}

/// One window of one track as the BiLSTM classified it.
public struct EvaluatedWindow: Sendable, Equatable {
    public var video: String
    public var track: UInt32
    public var index: UInt32
    /// First and last frame covered (inclusive).
    public var startFrame: UInt64
    public var endFrame: UInt64
    /// BiLSTM class probabilities, in label order.
    public var probs: [Double]

    public init(video: String, track: UInt32, index: UInt32, startFrame: UInt64, endFrame: UInt64, probs: [Double]) {
        self.video = video
        self.track = track
        self.index = index
        self.startFrame = startFrame
        self.endFrame = endFrame
        self.probs = probs
    }
}

/// One input video's outcome: its labels, or the error that stopped it.
public struct EvaluatedVideo: Sendable, Equatable {
    public var video: String
    public var truth: Int?
    public var bilstm: Int?
    public var cnn: Int?
    /// What failed, for a video the pipeline could not label.
    public var error: String?

    public init(video: String, truth: Int?, bilstm: Int?, cnn: Int?, error: String? = nil) {
        self.video = video
        self.truth = truth
        self.bilstm = bilstm
        self.cnn = cnn
        self.error = error
    }
}

/// A problem with the predictions being evaluated (they do not fit together).
public struct EvaluationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The CNN baseline and CNN+BiLSTM compared at three levels — per frame (each detected face
/// in each frame), per window (each BiLSTM window of a face track) and per video — with
/// `ClassificationMetrics` (the code the aggregator's metrics.json uses).
///
/// - A frame's truth is its face's label; frames without truth are counted, not scored.
/// - A window's truth is the most frequent truth of the frames it covers (ties go to the
///   class that comes first in label order); the BiLSTM's window label is the argmax of its
///   probabilities; the CNN's window label is the argmax of the mean of its per-frame
///   probabilities over the same frames (the baseline pooled over the same evidence).
/// - A video's labels are the pipeline's video labels (its dominant expression); videos
///   that failed are listed with their error, not scored.
public struct Evaluation: Sendable {
    /// Both models' metrics at one level, and how many items had no truth.
    public struct Level: Sendable, Equatable {
        public var cnn: ClassificationMetrics
        public var bilstm: ClassificationMetrics
        /// Items left out of the metrics for lack of ground truth.
        public var withoutTruth: Int
    }

    public let labels: [String]
    public let frame: Level
    public let window: Level
    public let video: Level
    /// Videos that failed, with their error, in input order.
    public let failedVideos: [(video: String, error: String)]

    /// - Throws: `EvaluationError` when a label index is out of range, a probability vector
    ///   has the wrong length, or a window covers no frame of its track.
    public init(labels: [String], frames: [EvaluatedFrame], windows: [EvaluatedWindow], videos: [EvaluatedVideo]) throws {
        let k = labels.count
        guard k >= 1 else { throw EvaluationError("no class labels to evaluate against") }
        self.labels = labels
        func check(_ i: Int?, _ what: @autoclosure () -> String) throws {
            if let i, !(0..<k).contains(i) { throw EvaluationError("\(what()): class index \(i) is outside the \(k) labels") }
        }

        var ft: [Int] = [], fb: [Int] = [], fc: [Int] = [], frameNoTruth = 0
        var tracks: [TrackKey: [EvaluatedFrame]] = [:]
        for f in frames {
            let name = "video \(f.video) track \(f.track) frame \(f.frame)"
            guard f.cnnProbs.count == k else { throw EvaluationError("\(name): \(f.cnnProbs.count) CNN probabilities for \(k) labels") }
            try check(f.truth, name)
            try check(f.bilstm, name)
            try check(f.cnn, name)
            tracks[TrackKey(video: f.video, track: f.track), default: []].append(f)
            guard let t = f.truth else { frameNoTruth += 1; continue }
            ft.append(t); fb.append(f.bilstm); fc.append(f.cnn)
        }
        for key in tracks.keys { tracks[key]!.sort { $0.frame < $1.frame } }
        frame = Level(cnn: ClassificationMetrics(truth: ft, predicted: fc, classes: k),
                      bilstm: ClassificationMetrics(truth: ft, predicted: fb, classes: k), withoutTruth: frameNoTruth)

        var wt: [Int] = [], wb: [Int] = [], wc: [Int] = [], windowNoTruth = 0
        for w in windows {
            let name = "video \(w.video) track \(w.track) window \(w.index)"
            guard w.probs.count == k else { throw EvaluationError("\(name): \(w.probs.count) probabilities for \(k) labels") }
            let track = tracks[TrackKey(video: w.video, track: w.track)] ?? []
            // Binary search: a long track has thousands of frames and windows.
            let covered = w.startFrame <= w.endFrame
                ? track[Evaluation.firstIndex(track) { $0 >= w.startFrame }..<Evaluation.firstIndex(track) { $0 > w.endFrame }] : []
            guard !covered.isEmpty else {
                throw EvaluationError("\(name) covers frames \(w.startFrame)–\(w.endFrame), where the track has no labelled frame: frames and windows come from different runs")
            }
            let truths = covered.compactMap(\.truth)
            guard !truths.isEmpty else { windowNoTruth += 1; continue }
            var votes = [Int](repeating: 0, count: k)
            for t in truths { votes[t] += 1 }
            var mean = [Double](repeating: 0, count: k)
            for f in covered { for c in 0..<k { mean[c] += f.cnnProbs[c] / Double(covered.count) } }
            wt.append(argmax(votes)!); wb.append(argmax(w.probs)!); wc.append(argmax(mean)!)
        }
        window = Level(cnn: ClassificationMetrics(truth: wt, predicted: wc, classes: k),
                       bilstm: ClassificationMetrics(truth: wt, predicted: wb, classes: k), withoutTruth: windowNoTruth)

        var vt: [Int] = [], vb: [Int] = [], vc: [Int] = [], videoNoTruth = 0
        var failed: [(String, String)] = []
        for v in videos {
            if let e = v.error { failed.append((v.video, e)); continue }
            let name = "video \(v.video)"
            try check(v.truth, name)
            guard let b = v.bilstm, let c = v.cnn else { throw EvaluationError("\(name) has neither labels nor an error") }
            try check(b, name)
            try check(c, name)
            guard let t = v.truth else { videoNoTruth += 1; continue }
            vt.append(t); vb.append(b); vc.append(c)
        }
        video = Level(cnn: ClassificationMetrics(truth: vt, predicted: vc, classes: k),
                      bilstm: ClassificationMetrics(truth: vt, predicted: vb, classes: k), withoutTruth: videoNoTruth)
        failedVideos = failed.map { (video: $0.0, error: $0.1) }
    }

    /// First index whose frame satisfies `isPast` (monotone over ascending frames); `count` when none.
    static func firstIndex(_ frames: [EvaluatedFrame], where isPast: (UInt64) -> Bool) -> Int {
        var lo = 0, hi = frames.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if isPast(frames[mid].frame) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    private struct TrackKey: Hashable {
        var video: String
        var track: UInt32
    }
}
