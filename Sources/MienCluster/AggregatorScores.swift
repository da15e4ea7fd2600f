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
