import MienCore
import MienNN

/// Ordered windows of T embeddings cut from tracks (frame order preserved), each labelled
/// with the ground truth of its centre frame.
public struct WindowDataset: Sendable {
    public var windows: [[[Float]]]
    /// Per window, `BiLSTMClassifier.prior(ofSteps:)` of its steps' CNN probabilities; empty
    /// when the tracks carry none.
    public var priors: [[Float]]
    public var labels: [Int]
    /// The video each window comes from (for grouped splits).
    public var videos: [String]

    public var count: Int { labels.count }

    /// Cuts every track with the same `TrackWindower` the coordinator uses, so training sees
    /// exactly the windows inference will (tracks shorter than T give one short window).
    public init(tracks: [TrackSequence], length: Int, stride: Int, labels classNames: [String]) throws {
        let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
        windows = []; priors = []; labels = []; videos = []
        for t in tracks {
            var w = TrackWindower(length: length, stride: stride)
            var cut: [TrackWindow] = []
            for (i, f) in t.frames.enumerated() {
                let probs = i < t.cnnProbs.count ? t.cnnProbs[i] : []
                if let win = w.append(TrackStep(frame: UInt64(f), embedding: t.embeddings[i], cnnProbs: probs)) { cut.append(win) }
            }
            if let last = w.finish() { cut.append(last) }
            let position = Dictionary(uniqueKeysWithValues: t.frames.enumerated().map { (UInt64($1), $0) })
            for win in cut {
                let centre = position[win.steps[win.steps.count / 2].frame]!
                guard let label = index[t.labels[centre]] else {
                    throw TrainingError("track \(t.track) of \(t.video) has no known label at frame \(t.frames[centre]) (\"\(t.labels[centre])\"): extract with --labels")
                }
                windows.append(win.steps.map(\.embedding))
                priors.append(win.steps.allSatisfy { $0.cnnProbs.count == classNames.count }
                              ? BiLSTMClassifier.prior(ofSteps: win.steps.map(\.cnnProbs), classes: classNames.count) : [])
                labels.append(label)
                videos.append(t.video)
            }
        }
    }

    init(windows: [[[Float]]], priors: [[Float]], labels: [Int], videos: [String]) {
        self.windows = windows
        self.priors = priors
        self.labels = labels
        self.videos = videos
    }

    /// The windows whose video is in `keep`.
    public func subset(videos keep: Set<String>) -> WindowDataset {
        let idx = videos.indices.filter { keep.contains(videos[$0]) }
        return WindowDataset(windows: idx.map { windows[$0] }, priors: idx.map { priors[$0] }, labels: idx.map { labels[$0] }, videos: idx.map { videos[$0] })
    }
}

/// Splits videos into train / validation / test, stratified by video label and grouped by
/// video (no clip in two splits), seeded.
public enum GroupedSplit {
    public static func split(videoLabels: [String: String], fractions: (train: Double, validation: Double), seed: UInt64)
        -> (train: Set<String>, validation: Set<String>, test: Set<String>) {
        var rng = SplitMix64(seed: seed)
        var train = Set<String>(), val = Set<String>(), test = Set<String>()
        let byLabel = Dictionary(grouping: videoLabels.keys.sorted(), by: { videoLabels[$0]! })
        for label in byLabel.keys.sorted() {
            var vids = byLabel[label]!
            vids.shuffle(using: &rng)
            let nTrain = Int((Double(vids.count) * fractions.train).rounded())
            let nVal = Int((Double(vids.count) * fractions.validation).rounded())
            for (i, v) in vids.enumerated() {
                if i < nTrain { train.insert(v) } else if i < nTrain + nVal { val.insert(v) } else { test.insert(v) }
            }
        }
        return (train, val, test)
    }
}
