import Foundation
import XCTest
@testable import MienVision

/// The keyframe schedule, follower and scene-change gate with RetinaFace as the detector (the
/// default of `mien run`): its region search (the cascade's, then the network's) serves the
/// keyframe refreshes and the template's fallback, and stills are scanned whole at full resolution.
final class RetinaFaceFollowerTests: XCTestCase {
    private func astronaut() throws -> GrayImage {
        try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
    }

    private func pipeline(minSize: Int = 40) throws -> FacePipeline {
        try FacePipeline(options: .init(detector: .init(backend: .retinaface, minSize: minSize, maxSide: 0)))
    }

    func testRegionSearchFindsTheFaceAndNothingBesideIt() throws {
        let image = try astronaut()
        let detector = try pipeline().detector
        let full = try XCTUnwrap(try detector.detect(image).first)
        XCTAssertEqual(full.width, full.height, "boxes are framed as Haar's squares")
        try assertRegionSearchFindsTheFace(detector, in: image, minIoU: 0.7)
    }

    func testPanningFaceIsFollowedBetweenKeyframes() throws {
        try assertPanningFaceIsFollowed(try pipeline(), try astronaut())
    }

    func testStillSceneSkipsFullScansButRefreshes() throws {
        let image = try astronaut()
        let follower = try FaceFollower(pipeline: try pipeline(), schedule: DetectionSchedule(keyframeInterval: 5, fullScanInterval: 20))
        for i in 0..<21 { XCTAssertEqual(try follower.process(image, frameIndex: i).faces.count, 1, "frame \(i)") }
        XCTAssertEqual(follower.keyframes, 2, "frame 0, and frame 20 (the full-scan bound)")
        XCTAssertEqual(follower.refreshes, 3, "frames 5, 10, 15: the region search re-found the face")
        XCTAssertEqual(follower.losses, 0)
    }

    /// A face smaller than the video's minimum is not looked for in video frames, but a still is
    /// scanned at full resolution whatever the minimum: the astronaut shrunk to 192 px (a ~34-px face).
    func testStillsAreScannedAtFullResolution() throws {
        let small = try astronaut().resized(width: 192, height: 192)
        let follower = try FaceFollower(pipeline: try pipeline(minSize: 80))
        XCTAssertEqual(try follower.process(small, frameIndex: 0).faces.count, 0, "video: faces under 80 px are not sought")
        XCTAssertEqual(try follower.process(small, frameIndex: 1, still: true).faces.count, 1, "a still: full resolution")
        XCTAssertEqual(try follower.process(small, frameIndex: 2, still: true).faces.count, 1, "each still on its own")
    }
}
