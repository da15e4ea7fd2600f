import XCTest
@testable import MienCore

/// Short tracks and photos: a track shorter than one BiLSTM window is labelled by the CNN.
final class TrackLabellingTests: XCTestCase {
    let classes = 7, happy = 3, neutral = 6, sad = 4, windowLength = 16

    /// The CNN is sure of `happy`; the BiLSTM's windows say `neutral` (near its prior).
    func cnnHappy(_ n: Int) -> [[Double]] {
        (0..<n).map { _ in var p = [Double](repeating: 0.001 / 6, count: classes); p[happy] = 0.999; return p }
    }

    /// The track cut as the coordinator cuts it (a short track: one padded window), every
    /// window predicted `neutral`.
    func windows(over frames: [UInt64], stride: Int = 8) -> TrackMerger {
        var m = TrackMerger(classes: classes)
        var bilstm = [Float](repeating: 0.13, count: classes)
        bilstm[neutral] = 0.22
        var w = TrackWindower(length: windowLength, stride: stride)
        let cut = frames.compactMap { w.append(TrackStep(frame: $0, embedding: [])) } + [w.finish()].compactMap { $0 }
        for window in cut { m.add(window: window.index, frames: window.steps.map(\.frame), probs: bilstm) }
        return m
    }

    func testOneFrameTrackIsLabelledByTheCNN() throws {
        let frames: [UInt64] = [0]
        let t = try TrackLabelling.label(frames: frames, cnnProbs: cnnHappy(1), windows: windows(over: frames),
                                         windowLength: windowLength)
        XCTAssertEqual(t.source, .cnn)
        XCTAssertEqual(t.labels, [happy])
        XCTAssertEqual(t.probs, cnnHappy(1), "a photo gets exactly the CNN's probabilities")
        // Also when no window was cut for it (what the coordinator does).
        let none = try TrackLabelling.label(frames: frames, cnnProbs: cnnHappy(1), windows: TrackMerger(classes: classes), windowLength: windowLength)
        XCTAssertEqual(none, t)
    }

    /// A track one frame short of a window: every frame gets the mean of the track's CNN
    /// probabilities, whose argmax is the CNN's label of most of its frames.
    func testTrackShorterThanAWindowGetsTheMeanOfItsCNNProbabilities() throws {
        let frames = (0..<UInt64(windowLength - 1)).map { $0 * 2 }
        var cnn = cnnHappy(frames.count)
        cnn[0] = [Double](repeating: 0.01, count: classes); cnn[0][sad] = 0.94  // one frame says sad
        let t = try TrackLabelling.label(frames: frames, cnnProbs: cnn, windows: windows(over: frames),
                                         windowLength: windowLength)
        XCTAssertEqual(t.source, .cnn)
        XCTAssertEqual(t.labels, Array(repeating: happy, count: frames.count))
        let mean = try TrackLabelling.cnnProbabilities(cnn, classes: classes)
        XCTAssertEqual(t.probs, Array(repeating: mean, count: frames.count))
        XCTAssertEqual(mean[happy], (0.999 * 14 + 0.01) / 15, accuracy: 1e-12)
        XCTAssertEqual(mean.reduce(0, +), 1, accuracy: 1e-12)
    }

    /// A track of one whole window or more is the BiLSTM's, whatever the CNN says.
    func testTrackOfAWindowOrMoreIsLabelledByTheBiLSTM() throws {
        for n in [windowLength, windowLength + 1, 5 * windowLength] {
            let frames = (0..<UInt64(n)).map { $0 }
            let t = try TrackLabelling.label(frames: frames, cnnProbs: cnnHappy(n), windows: windows(over: frames),
                                             windowLength: windowLength)
            XCTAssertEqual(t.source, .bilstm, "\(n) frames")
            XCTAssertEqual(t.labels, Array(repeating: neutral, count: n), "\(n) frames")
        }
    }

    func testThresholdIsOneWholeWindow() {
        XCTAssertEqual(TrackLabelling.source(trackFrames: 1, windowLength: 16), .cnn)
        XCTAssertEqual(TrackLabelling.source(trackFrames: 15, windowLength: 16), .cnn)
        XCTAssertEqual(TrackLabelling.source(trackFrames: 16, windowLength: 16), .bilstm)
        XCTAssertEqual(TrackLabelling.source(trackFrames: 1, windowLength: 1), .bilstm)
        XCTAssertEqual(TrackLabelling.source(trackFrames: 1, windowLength: 0), .bilstm, "unknown window length: the BiLSTM as before")
        XCTAssertEqual(LabelSource.allCases.map(\.rawValue), ["bilstm", "cnn"])
    }

    /// Bad inputs are errors that name the problem, not crashes.
    func testBadInputsThrow() {
        let frames: [UInt64] = Array(0..<20)
        var partial = TrackMerger(classes: classes)
        partial.add(window: 0, frames: Array(frames[0..<16]), probs: [Float](repeating: 1 / 7, count: classes))
        XCTAssertThrowsError(try TrackLabelling.label(frames: frames, cnnProbs: cnnHappy(20), windows: partial, windowLength: 16)) {
            XCTAssertTrue("\($0)".contains("frame 16 is in no window"), "\($0)")
        }
        XCTAssertThrowsError(try TrackLabelling.label(frames: [0, 1], cnnProbs: [[0.5, 0.5], [0.5, 0.5]], windows: partial, windowLength: 16)) {
            XCTAssertTrue("\($0)".contains("2 CNN probabilities for 7 classes"), "\($0)")
        }
        XCTAssertThrowsError(try TrackLabelling.cnnProbabilities([], classes: 7))
    }
}
