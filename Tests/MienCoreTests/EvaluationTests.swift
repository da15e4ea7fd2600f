import XCTest
@testable import MienCore

/// Evaluation: the frame / window / video levels built from pipeline records.
final class EvaluationTests: XCTestCase {
    let labels = ["a", "b", "c"]

    /// One-hot-ish CNN probabilities favouring `c`.
    func p(_ c: Int, _ strength: Double = 0.8) -> [Double] {
        (0..<3).map { $0 == c ? strength : (1 - strength) / 2 }
    }

    func frame(_ f: UInt64, truth: Int?, bilstm: Int, cnn: Int, track: UInt32 = 0, video: String = "v1") -> EvaluatedFrame {
        EvaluatedFrame(video: video, track: track, frame: f, truth: truth, bilstm: bilstm, cnnProbs: p(cnn))
    }

    func testLevelsByHand() throws {
        // Track 0 of v1: frames 0…5; truth a a a b b nil; BiLSTM a a b b b b; CNN a c c b a b.
        let frames = [frame(0, truth: 0, bilstm: 0, cnn: 0), frame(1, truth: 0, bilstm: 0, cnn: 2), frame(2, truth: 0, bilstm: 1, cnn: 2),
                      frame(3, truth: 1, bilstm: 1, cnn: 1), frame(4, truth: 1, bilstm: 1, cnn: 0), frame(5, truth: nil, bilstm: 1, cnn: 1)]
        let windows = [
            // frames 0–3: truth votes a×3, b×1 → a; BiLSTM says b; CNN mean favours c (two c frames at 0.8)
            EvaluatedWindow(video: "v1", track: 0, index: 0, startFrame: 0, endFrame: 3, probs: [0.2, 0.7, 0.1]),
            // frames 2–5: truth a, b, b (frame 5 has none) → b; BiLSTM b; CNN mean: c, b, a, b → b
            EvaluatedWindow(video: "v1", track: 0, index: 1, startFrame: 2, endFrame: 5, probs: [0.1, 0.8, 0.1]),
            // frame 5 only: no truth → not scored
            EvaluatedWindow(video: "v1", track: 0, index: 2, startFrame: 5, endFrame: 5, probs: [0.1, 0.8, 0.1]),
        ]
        let videos = [EvaluatedVideo(video: "v1", truth: 0, bilstm: 1, cnn: 0),
                      EvaluatedVideo(video: "v2", truth: 2, bilstm: nil, cnn: nil, error: "corrupt file"),
                      EvaluatedVideo(video: "v3", truth: nil, bilstm: 2, cnn: 2)]
        let e = try Evaluation(labels: labels, frames: frames, windows: windows, videos: videos)

        XCTAssertEqual(e.frame.withoutTruth, 1)
        XCTAssertEqual(e.frame.bilstm, ClassificationMetrics(truth: [0, 0, 0, 1, 1], predicted: [0, 0, 1, 1, 1], classes: 3))
        XCTAssertEqual(e.frame.cnn, ClassificationMetrics(truth: [0, 0, 0, 1, 1], predicted: [0, 2, 2, 1, 0], classes: 3))
        XCTAssertEqual(e.frame.bilstm.accuracy, 0.8, accuracy: 1e-15)
        XCTAssertEqual(e.frame.cnn.accuracy, 0.4, accuracy: 1e-15)

        XCTAssertEqual(e.window.withoutTruth, 1)
        XCTAssertEqual(e.window.bilstm.confusion, [[0, 1, 0], [0, 1, 0], [0, 0, 0]])
        XCTAssertEqual(e.window.cnn.confusion, [[0, 0, 1], [0, 1, 0], [0, 0, 0]])

        XCTAssertEqual(e.video.withoutTruth, 1)
        XCTAssertEqual(e.video.bilstm.confusion[0], [0, 1, 0])
        XCTAssertEqual(e.video.cnn.confusion[0], [1, 0, 0])
        XCTAssertEqual(e.video.cnn.count, 1)
        XCTAssertEqual(e.failedVideos.map(\.video), ["v2"])
        XCTAssertEqual(e.failedVideos.first?.error, "corrupt file")
    }

    func testWindowTieGoesToFirstClassAndTracksAreSeparate() throws {
        // Two tracks in the same frames: a window of track 1 must not see track 0's frames.
        let frames = [frame(0, truth: 1, bilstm: 1, cnn: 1, track: 0), frame(1, truth: 0, bilstm: 0, cnn: 0, track: 0),
                      frame(0, truth: 2, bilstm: 2, cnn: 2, track: 1), frame(1, truth: 2, bilstm: 2, cnn: 2, track: 1)]
        let windows = [EvaluatedWindow(video: "v1", track: 0, index: 0, startFrame: 0, endFrame: 1, probs: [0.6, 0.3, 0.1]),
                       EvaluatedWindow(video: "v1", track: 1, index: 0, startFrame: 0, endFrame: 1, probs: [0.1, 0.1, 0.8])]
        let e = try Evaluation(labels: labels, frames: frames, windows: windows, videos: [])
        // Track 0: votes a 1, b 1 → a (first in label order). Track 1: c.
        XCTAssertEqual(e.window.bilstm.confusion, [[1, 0, 0], [0, 0, 0], [0, 0, 1]])
        XCTAssertEqual(e.window.bilstm.accuracy, 1)
    }

    func testFramesOutOfOrderAndLongTrack() throws {
        // 2 000 frames given in reverse order; windows of 16 every 8 (binary search over the track).
        let n: UInt64 = 2_000
        let frames = (0..<n).reversed().map { frame($0, truth: Int($0 / 500) % 3, bilstm: Int($0 / 500) % 3, cnn: 0) }
        var windows: [EvaluatedWindow] = []
        for (i, s) in stride(from: UInt64(0), to: n - 15, by: 8).enumerated() {
            // The class of frame s + 7 is the window's majority (ties between classes 1 and 2 at
            // frame 1000 go to 1, the first in label order, which frame 999 also has).
            windows.append(EvaluatedWindow(video: "v1", track: 0, index: UInt32(i), startFrame: s, endFrame: s + 15, probs: p(Int((s + 7) / 500) % 3)))
        }
        let e = try Evaluation(labels: labels, frames: frames, windows: windows, videos: [])
        XCTAssertEqual(e.frame.bilstm.accuracy, 1)
        XCTAssertEqual(e.window.bilstm.count, windows.count)
        XCTAssertEqual(e.window.bilstm.accuracy, 1)
        XCTAssertEqual(e.window.cnn.confusion.map { $0.reduce(0, +) }.reduce(0, +), windows.count)
    }

    func testInconsistentRecordsAreErrorsNamingTheItem() {
        let frames = [frame(10, truth: 0, bilstm: 0, cnn: 0)]
        let orphan = EvaluatedWindow(video: "v1", track: 0, index: 4, startFrame: 20, endFrame: 35, probs: [1, 0, 0])
        XCTAssertThrowsError(try Evaluation(labels: labels, frames: frames, windows: [orphan], videos: [])) { e in
            XCTAssertTrue("\(e)".contains("window 4"), "\(e)")
        }
        let short = EvaluatedFrame(video: "v9", track: 0, frame: 1, truth: 0, bilstm: 0, cnnProbs: [1, 0])
        XCTAssertThrowsError(try Evaluation(labels: labels, frames: [short], windows: [], videos: [])) { e in
            XCTAssertTrue("\(e)".contains("v9"), "\(e)")
        }
        let outOfRange = EvaluatedFrame(video: "v8", track: 0, frame: 1, truth: 5, bilstm: 0, cnnProbs: p(0))
        XCTAssertThrowsError(try Evaluation(labels: labels, frames: [outOfRange], windows: [], videos: []))
        XCTAssertThrowsError(try Evaluation(labels: labels, frames: [], windows: [], videos: [EvaluatedVideo(video: "v", truth: 0, bilstm: nil, cnn: nil)]))
    }

    func testEmptyEvaluationIsZeroNotACrash() throws {
        let e = try Evaluation(labels: labels, frames: [], windows: [], videos: [])
        XCTAssertEqual(e.frame.cnn.count, 0)
        XCTAssertEqual(e.window.bilstm.accuracy, 0)
        XCTAssertTrue(e.failedVideos.isEmpty)
    }
}
