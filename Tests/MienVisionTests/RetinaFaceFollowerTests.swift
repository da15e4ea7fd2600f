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

    /// `image` moved right by `dx` pixels (uncovered columns take the edge value).
    private func shifted(_ image: GrayImage, dx: Int) -> GrayImage {
        var px = [UInt8](repeating: 0, count: image.width * image.height)
        for y in 0..<image.height {
            for x in 0..<image.width { px[y * image.width + x] = image.pixels[y * image.width + min(image.width - 1, max(0, x - dx))] }
        }
        return GrayImage(width: image.width, height: image.height, pixels: px)
    }

    func testRegionSearchFindsTheFaceAndNothingBesideIt() throws {
        let image = try astronaut()
        let detector = try pipeline().detector
        let full = try XCTUnwrap(try detector.detect(image).first)
        XCTAssertEqual(full.width, full.height, "boxes are reframed as Haar's squares")
        let m = full.width * 0.3
        let region = FaceBox(x: full.x - m, y: full.y - m, width: full.width + 2 * m, height: full.height + 2 * m)
        let side = Int(full.width)
        let found = try detector.detect(image, in: region, sizes: (side * 3 / 4)...(side * 4 / 3))
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertGreaterThan(found[0].iou(full), 0.7, "region search box \(found[0]) vs full-frame \(full)")
        let beside = FaceBox(x: full.x + full.width * 1.6, y: full.y, width: full.width, height: full.height)
        XCTAssertEqual(try detector.detect(image, in: beside, sizes: (side * 3 / 4)...(side * 4 / 3)), [])
        XCTAssertEqual(try detector.detect(image, in: region, sizes: (side * 2)...(side * 3)), [])
    }

    func testPanningFaceIsFollowedBetweenKeyframes() throws {
        let image = try astronaut()
        let p = try pipeline()
        let follower = try FaceFollower(pipeline: p, schedule: DetectionSchedule(keyframeInterval: 5))
        for i in 0..<12 {
            let frame = shifted(image, dx: 6 * i)
            let followed = try follower.process(frame, frameIndex: i)
            let detected = try p.process(frame, frameIndex: i)
            XCTAssertEqual(followed.faces.count, 1, "frame \(i)")
            XCTAssertEqual(detected.faces.count, 1, "frame \(i)")
            XCTAssertGreaterThan(followed.faces[0].box.iou(detected.faces[0].box), 0.7, "frame \(i)")
        }
        XCTAssertEqual(follower.keyframes, 3, "frames 0, 5 and 10 are keyframes")
        XCTAssertEqual(follower.followedFrames, 9)
        XCTAssertEqual(follower.losses, 0)
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
