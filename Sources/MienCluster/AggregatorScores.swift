import Foundation
import MienCore

/// Frame-level and video-level confusion counts for the aggregator's metrics: constant memory
/// however many frames an archive has.
struct AggregatorScores {
    var frameBiLSTM: [[Int]]
    var frameCNN: [[Int]]
    var videoBiLSTM: [[Int]]
    var videoCNN: [[Int]]
    var frames = 0

    init(classes: Int) {
        let zero = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        (frameBiLSTM, frameCNN, videoBiLSTM, videoCNN) = (zero, zero, zero, zero)
    }

    mutating func addFrame(truth: Int, bilstm: Int, cnn: Int) {
        frameBiLSTM[truth][bilstm] += 1
        frameCNN[truth][cnn] += 1
        frames += 1
    }

    mutating func addVideo(truth: Int, bilstm: Int, cnn: Int) {
        videoBiLSTM[truth][bilstm] += 1
        videoCNN[truth][cnn] += 1
    }

    /// Adds another's counts (one video's, to the job's).
    mutating func add(_ other: AggregatorScores) {
        for t in frameBiLSTM.indices {
            for c in frameBiLSTM.indices {
                frameBiLSTM[t][c] += other.frameBiLSTM[t][c]
                frameCNN[t][c] += other.frameCNN[t][c]
                videoBiLSTM[t][c] += other.videoBiLSTM[t][c]
                videoCNN[t][c] += other.videoCNN[t][c]
            }
        }
        frames += other.frames
    }

    /// Adds frames whose truth is `truth`, counted by their (BiLSTM, CNN) label pair.
    mutating func addFrames(truth: Int, _ pairs: LabelPairs) {
        for b in pairs.counts.indices {
            for c in pairs.counts.indices where pairs.counts[b][c] > 0 {
                frameBiLSTM[truth][b] += pairs.counts[b][c]
                frameCNN[truth][c] += pairs.counts[b][c]
                frames += pairs.counts[b][c]
            }
        }
    }
}

/// Frames counted by their (BiLSTM label, CNN label) pair: a video's frames until its truth is
/// known (constant memory however long the video).
struct LabelPairs {
    private(set) var counts: [[Int]]

    init(classes: Int) {
        counts = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    }

    mutating func add(bilstm: Int, cnn: Int) { counts[bilstm][cnn] += 1 }
}

/// On resume, the scores and counts of the videos an interrupted run completed, rebuilt from
/// the records it wrote: the frame lines as `Sinks` keeps them (the file is read once), then
/// the video lines. Frame truth is matched by box as the aggregator does it.
final class RestoredScores {
    private(set) var scores: AggregatorScores
    private(set) var videosOK = 0, videosFailed = 0
    private(set) var frames: UInt64 = 0
    private let index: [String: Int]
    private let frameTruth: [String: [UInt64: [FaceTruth]]]
    private let decoder = JSONDecoder()

    init(labels: [String], frameTruth: [String: [UInt64: [FaceTruth]]]) {
        scores = AggregatorScores(classes: labels.count)
        index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        self.frameTruth = frameTruth
    }

    /// One kept `frames.jsonl` line of a completed video (a line that does not decode counts nothing).
    func addFrame(line: String, completed: [String: VideoRecord]) {
        guard let f = try? decoder.decode(FrameRecord.self, from: Data(line.utf8)), let box = f.boxValue,
              let l = index[f.label], let c = index[f.cnnLabel] else { return }
        let truth = frameTruth[f.video].map { $0[f.frame].flatMap { FaceTruth.label(for: box, among: $0) }.flatMap { index[$0] } }
            ?? completed[f.video]?.groundTruth.flatMap { index[$0] }
        guard let t = truth else { return }
        scores.addFrame(truth: t, bilstm: l, cnn: c)
    }

    /// The completed videos' lines.
    func addVideos(_ completed: [String: VideoRecord]) {
        for v in completed.values {
            if v.isOK { videosOK += 1 } else { videosFailed += 1 }
            frames += v.frames
            if v.isOK, let t = v.groundTruth.flatMap({ index[$0] }), let l = v.label.flatMap({ index[$0] }),
               let c = v.cnnLabel.flatMap({ index[$0] }) {
                scores.addVideo(truth: t, bilstm: l, cnn: c)
            }
        }
    }
}
