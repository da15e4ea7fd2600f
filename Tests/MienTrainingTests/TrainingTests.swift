import XCTest
import MienCore
import MienNN
@testable import MienTraining

final class TrainingTests: XCTestCase {
    /// Two classes told apart only by the ORDER of their embeddings (rising vs falling), the
    /// property a per-frame classifier cannot see: the BiLSTM must learn it.
    func tracks(_ n: Int, seed: UInt64) -> [TrackSequence] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { i in
            let rising = i % 2 == 0
            let frames = Array(0..<24)
            let emb: [[Float]] = frames.map { f in
                let v = Float(rising ? f : 23 - f) / 23
                return [v, 1 - v, Float.random(in: -0.05...0.05, using: &rng)]
            }
            return TrackSequence(video: "v\(i)", track: 1, frames: frames, labels: Array(repeating: rising ? "happy" : "sad", count: 24),
                                 cnnProbs: Array(repeating: [Float](repeating: 1 / 7, count: 7), count: 24), embeddings: emb)
        }
    }

    func testLearnsOrderDependentClassesAndKeepsTheBestEpoch() throws {
        let labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
        let train = try WindowDataset(tracks: tracks(20, seed: 1), length: 8, stride: 4, labels: labels)
        let val = try WindowDataset(tracks: tracks(6, seed: 2), length: 8, stride: 4, labels: labels)
        var c = BiLSTMTrainer.Config()
        c.units = 8; c.epochs = 40; c.learningRate = 0.01; c.dropout = 0; c.patience = 40
        let trainer = BiLSTMTrainer(config: c)
        let (model, history) = try trainer.train(train, validation: val, window: 8, inputSize: 3, classes: 7)
        let (_, accuracy) = try trainer.evaluate(model, val, inputSize: 3, classes: 7)
        XCTAssertEqual(accuracy, 1, "rising vs falling windows are separable by order alone")
        let best = history.min { $0.validationLoss < $1.validationLoss }!
        let (loss, _) = try trainer.evaluate(model, val, inputSize: 3, classes: 7)
        XCTAssertEqual(loss, best.validationLoss, accuracy: 1e-5, "the returned weights are the best epoch's")
    }

    /// With a CNN prior, epoch 0 is the untrained model, whose validation figures are the CNN
    /// window mean's; here the CNN leans to "happy" for every window (50 % right), and training
    /// learns the order on top of it (100 %). The kept model is never worse on validation loss than
    /// epoch 0, and data without CNN probabilities is refused with the reason.
    func testCNNPriorStartsAtTheCNNMeanAndLearnsWhatOrderAdds() throws {
        let labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
        func leaning(_ t: [TrackSequence]) -> [TrackSequence] {
            t.map { var s = $0; s.cnnProbs = Array(repeating: [0.05, 0.05, 0.05, 0.4, 0.3, 0.1, 0.05], count: 24); return s }
        }
        let train = try WindowDataset(tracks: leaning(tracks(20, seed: 1)), length: 8, stride: 4, labels: labels)
        let val = try WindowDataset(tracks: leaning(tracks(6, seed: 2)), length: 8, stride: 4, labels: labels)
        var c = BiLSTMTrainer.Config()
        c.units = 8; c.epochs = 40; c.learningRate = 0.01; c.dropout = 0; c.patience = 40; c.cnnPrior = true
        let trainer = BiLSTMTrainer(config: c)
        let (model, history) = try trainer.train(train, validation: val, window: 8, inputSize: 3, classes: 7)
        XCTAssertEqual(history.first?.epoch, 0)
        XCTAssertEqual(history[0].validationAccuracy, 0.5, accuracy: 1e-9, "the untrained model is the CNN's window mean: always happy")
        XCTAssertEqual(history[0].validationLoss, -(log(0.4) + log(0.3)) / 2, accuracy: 1e-5, "cross-entropy of the mean's probabilities")
        let (loss, accuracy) = try trainer.evaluate(model, val, inputSize: 3, classes: 7)
        XCTAssertEqual(accuracy, 1, "order tells rising from falling; the prior alone cannot")
        XCTAssertLessThanOrEqual(loss, history[0].validationLoss)

        let bare = try WindowDataset(tracks: tracks(4, seed: 3).map { var s = $0; s.cnnProbs = []; return s }, length: 8, stride: 4, labels: labels)
        XCTAssertThrowsError(try trainer.train(bare, validation: val, window: 8, inputSize: 3, classes: 7)) {
            XCTAssertTrue("\($0)".contains("CNN's probabilities"), "\($0)")
        }
    }

    /// The embedding cache reader: blank lines skipped, values as written, and the first bad line
    /// in file order named (lines are decoded in parallel).
    func testEmbeddingCacheReadsTracksAndNamesTheFirstBadLine() throws {
        let good = #"{"video":"a.mp4","track":2,"frames":[4,5],"labels":["happy","sad"],"cnn_probs":[[0.25,0.75],[1,0]],"embeddings":[[0.5,-1.5],[3,1e-3]]}"#
        let tracks = try EmbeddingCache.parse("\(good)\n\n  \n\(good.replacingOccurrences(of: "a.mp4", with: "b.mp4"))\n", path: "c.jsonl")
        XCTAssertEqual(tracks.map(\.video), ["a.mp4", "b.mp4"])
        XCTAssertEqual(tracks[0], TrackSequence(video: "a.mp4", track: 2, frames: [4, 5], labels: ["happy", "sad"],
                                                cnnProbs: [[0.25, 0.75], [1, 0]], embeddings: [[0.5, -1.5], [3, 0.001]]))
        let lines = [good, "", "{\"video\":1}", good, "not json"]
        XCTAssertThrowsError(try EmbeddingCache.parse(lines.joined(separator: "\n"), path: "c.jsonl")) {
            XCTAssertEqual("\($0)", "c.jsonl line 3 is not a track record of `mien extract`: re-run the extraction")
        }
        XCTAssertThrowsError(try EmbeddingCache.read("/nonexistent/embeddings.jsonl")) {
            XCTAssertTrue("\($0)".contains("run `mien extract` first"), "\($0)")
        }
    }

    func testWindowsMatchTheCoordinatorsAndLabelTheCentreFrame() throws {
        var t = tracks(1, seed: 3)[0]
        t.labels = (0..<24).map { $0 < 12 ? "neutral" : "happy" }
        let d = try WindowDataset(tracks: [t], length: 8, stride: 4, labels: ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
        XCTAssertEqual(d.count, 5, "windows at 0, 4, 8, 12, 16")
        XCTAssertEqual(d.labels, [6, 6, 3, 3, 3], "centre frames 4, 8, 12, 16, 20")
        XCTAssertThrowsError(try WindowDataset(tracks: [t], length: 8, stride: 4, labels: ["happy"]))
    }

    func testGroupedSplitKeepsVideosWhole() {
        let labels = Dictionary(uniqueKeysWithValues: (0..<40).map { ("v\($0)", $0 % 2 == 0 ? "happy" : "sad") })
        let s = GroupedSplit.split(videoLabels: labels, fractions: (0.5, 0.25), seed: 9)
        XCTAssertEqual(s.train.count + s.validation.count + s.test.count, 40)
        XCTAssertTrue(s.train.isDisjoint(with: s.validation) && s.train.isDisjoint(with: s.test) && s.validation.isDisjoint(with: s.test))
        XCTAssertEqual(s.train.filter { labels[$0] == "happy" }.count, 10, "stratified")
        XCTAssertEqual(GroupedSplit.split(videoLabels: labels, fractions: (0.5, 0.25), seed: 9).test, s.test, "seeded")
    }
}
