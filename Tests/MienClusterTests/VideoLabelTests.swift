import XCTest
@testable import MienCluster

final class VideoLabelTests: XCTestCase {
    let labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]

    /// Mostly neutral with a recurring smile: the video is "happy".
    func testDominantExpressionWinsOverNeutralMajority() {
        let probs = [0.0, 0.0, 0.05, 0.3, 0.0, 0.05, 0.6]
        let frames = Array(repeating: 6, count: 70) + Array(repeating: 3, count: 30)
        XCTAssertEqual(Aggregator.videoLabel(probs: probs, frameLabels: frames, labels: labels), 3)
    }

    /// Below the expressive share the video is neutral.
    func testRareExpressionsLeaveTheVideoNeutral() {
        let probs = [0.0, 0.0, 0.05, 0.3, 0.0, 0.05, 0.6]
        let frames = Array(repeating: 6, count: 95) + Array(repeating: 3, count: 5)
        XCTAssertEqual(Aggregator.videoLabel(probs: probs, frameLabels: frames, labels: labels), 6)
    }
}
