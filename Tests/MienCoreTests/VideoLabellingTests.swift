import XCTest
import MienCore

final class VideoLabellingTests: XCTestCase {
    let labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    let probs = [0.0, 0.0, 0.05, 0.3, 0.0, 0.05, 0.6]

    func video(neutralFrames: Int, happyFrames: Int) -> VideoLabelling {
        var v = VideoLabelling(labels: labels)
        for _ in 0..<neutralFrames { v.add(label: 6, probabilities: probs) }
        for _ in 0..<happyFrames { v.add(label: 3, probabilities: probs) }
        return v
    }

    /// Mostly neutral with a recurring smile: the video is "happy".
    func testDominantExpressionWinsOverNeutralMajority() {
        let v = video(neutralFrames: 70, happyFrames: 30)
        XCTAssertEqual(v.label(probabilities: v.meanProbabilities), 3)
        XCTAssertEqual(v.label(probabilities: v.probabilitySums), 3, "sums and means give the same label")
        XCTAssertEqual(v.meanProbabilities[6], 0.6, accuracy: 1e-12)
    }

    /// Below the expressive share the video is neutral.
    func testRareExpressionsLeaveTheVideoNeutral() {
        let v = video(neutralFrames: 95, happyFrames: 5)
        XCTAssertEqual(v.label(probabilities: v.meanProbabilities), 6)
    }

    /// No frames, or no neutral class: the argmax.
    func testWithoutFramesOrNeutralTheArgmaxDecides() {
        let empty = VideoLabelling(labels: labels)
        XCTAssertEqual(empty.label(probabilities: probs), 6)
        XCTAssertEqual(empty.meanProbabilities, [Double](repeating: 0, count: 7))
        var noNeutral = VideoLabelling(labels: ["a", "b"])
        noNeutral.add(label: 0, probabilities: [0.2, 0.8])
        XCTAssertEqual(noNeutral.label(probabilities: noNeutral.probabilitySums), 1)
    }
}
