import Foundation
import XCTest
@testable import MienVision

/// The detection schedule: full detection on keyframes, a checked search near the last box in
/// between. Frames are the astronaut photograph panned across the frame (a real face moving).
final class FaceFollowerTests: XCTestCase {
    private func astronaut() throws -> GrayImage {
        try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
    }

    /// `image` moved right by `dx` pixels (uncovered columns take the edge value).
    private func shifted(_ image: GrayImage, dx: Int) -> GrayImage {
        var px = [UInt8](repeating: 0, count: image.width * image.height)
        for y in 0..<image.height {
            for x in 0..<image.width {
                px[y * image.width + x] = image.pixels[y * image.width + min(image.width - 1, max(0, x - dx))]
            }
        }
        return GrayImage(width: image.width, height: image.height, pixels: px)
    }

    private func blank(like image: GrayImage) -> GrayImage {
        GrayImage(width: image.width, height: image.height, pixels: .init(repeating: 128, count: image.width * image.height))
    }

    func testRegionSearchFindsTheFaceInFrameCoordinates() throws {
        let image = try astronaut()
        let detector = try FaceDetector()
        let full = try XCTUnwrap(try detector.detect(image).first)
        let m = full.width * 0.3
        let region = FaceBox(x: full.x - m, y: full.y - m, width: full.width + 2 * m, height: full.height + 2 * m)
        let side = Int(full.width)
        let found = try detector.detect(image, in: region, sizes: (side * 3 / 4)...(side * 4 / 3), workingFaceSide: 28, minNeighbors: 2)
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertGreaterThan(found[0].iou(full), 0.7, "region search box \(found[0]) vs full-frame \(full)")
        // A region beside the face, and sizes far from the face's, find nothing.
        let beside = FaceBox(x: full.x + full.width * 1.6, y: full.y, width: full.width, height: full.height)
        XCTAssertEqual(try detector.detect(image, in: beside, sizes: (side * 3 / 4)...(side * 4 / 3)), [])
        XCTAssertEqual(try detector.detect(image, in: region, sizes: (side * 2)...(side * 3)), [])
    }

    func testPanningFaceIsFollowedBetweenKeyframes() throws {
        let image = try astronaut()
        let pipeline = try FacePipeline()
        let follower = try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(keyframeInterval: 5))
        for i in 0..<12 {
            let frame = shifted(image, dx: 6 * i)
            let followed = try follower.process(frame, frameIndex: i)
            let detected = try pipeline.process(frame, frameIndex: i)
            XCTAssertEqual(followed.faces.count, 1, "frame \(i)")
            XCTAssertEqual(detected.faces.count, 1, "frame \(i)")
            XCTAssertGreaterThan(followed.faces[0].box.iou(detected.faces[0].box), 0.7, "frame \(i)")
            XCTAssertEqual(followed.faces[0].crop.width, 64)
        }
        XCTAssertEqual(follower.keyframes, 3, "frames 0, 5 and 10 are keyframes")
        XCTAssertEqual(follower.followedFrames, 9)
        XCTAssertEqual(follower.losses, 0)
    }

    /// Between keyframes the landmark model does not run: the previous frame's points move and
    /// scale with the box, exactly.
    func testLandmarksMoveWithTheBoxBetweenKeyframes() throws {
        let image = try astronaut()
        let follower = try FaceFollower(pipeline: try FacePipeline(), schedule: DetectionSchedule(keyframeInterval: 5))
        let first = try follower.process(image, frameIndex: 0).faces[0]
        let second = try follower.process(shifted(image, dx: 8), frameIndex: 1).faces[0]
        let sx = second.box.width / first.box.width, sy = second.box.height / first.box.height
        XCTAssertEqual(first.landmarks.count, 68)
        for (a, b) in zip(first.landmarks, second.landmarks) {
            XCTAssertEqual(b.x, second.box.x + (a.x - first.box.x) * sx, accuracy: 1e-3)
            XCTAssertEqual(b.y, second.box.y + (a.y - first.box.y) * sy, accuracy: 1e-3)
        }
        // With landmarksEveryFrame the model runs again and the points are its own.
        let measuring = try FaceFollower(pipeline: try FacePipeline(), schedule: DetectionSchedule(keyframeInterval: 5, landmarksEveryFrame: true))
        _ = try measuring.process(image)
        let measured = try measuring.process(shifted(image, dx: 8)).faces[0]
        let direct = try FacePipeline().landmarker!.landmarks(in: shifted(image, dx: 8), box: measured.box)
        XCTAssertEqual(measured.landmarks, direct)
    }

    /// A face that leaves is dropped at once — never carried forward — and the next frame runs a
    /// full detection.
    func testLostFaceIsDroppedAndForcesAFullDetection() throws {
        let image = try astronaut()
        let follower = try FaceFollower(pipeline: try FacePipeline(), schedule: DetectionSchedule(keyframeInterval: 10))
        XCTAssertEqual(try follower.process(image).faces.count, 1)
        XCTAssertEqual(try follower.process(blank(like: image)).faces.count, 0)
        XCTAssertEqual(follower.losses, 1)
        XCTAssertEqual(follower.keyframes, 1)
        XCTAssertEqual(try follower.process(image).faces.count, 1, "the face is found again by the forced full detection")
        XCTAssertEqual(follower.keyframes, 2)
        follower.reset()
        _ = try follower.process(image)
        XCTAssertEqual(follower.keyframes, 3, "reset forces a full detection")
    }

    /// dlib's HOG window is 80 px: the search must not shrink the face below it, or every
    /// followed frame would lose the face.
    func testHOGFollowsWithoutLosses() throws {
        // The face's neighbourhood only (HOG also fires on the suit elsewhere in the photo).
        let full = try astronaut()
        var px: [UInt8] = []
        for y in 0..<256 { px += full.pixels[(y * full.width + 100)..<(y * full.width + 356)] }
        let image = GrayImage(width: 256, height: 256, pixels: px)
        let pipeline = try FacePipeline(options: .init(detector: .init(backend: .hog)))
        let follower = try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(keyframeInterval: 5))
        for i in 0..<6 {
            XCTAssertEqual(try follower.process(shifted(image, dx: 6 * i), frameIndex: i).faces.count, 1, "frame \(i)")
        }
        XCTAssertEqual(follower.losses, 0)
        XCTAssertEqual(follower.keyframes, 2)
    }

    func testEveryFrameScheduleEqualsThePipeline() throws {
        let image = try astronaut()
        let pipeline = try FacePipeline()
        let follower = try FaceFollower(pipeline: pipeline, schedule: .everyFrame)
        for i in 0..<3 {
            let frame = shifted(image, dx: 10 * i)
            XCTAssertEqual(try follower.process(frame, frameIndex: i), try pipeline.process(frame, frameIndex: i))
        }
        XCTAssertEqual(follower.followedFrames, 0)
    }

    func testInvalidSchedulesAreRefused() throws {
        let pipeline = try FacePipeline()
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(keyframeInterval: 0)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(workingFaceSide: 10)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(sizeRange: 1.2...1.5)))
        XCTAssertThrowsError(try FaceDetector(options: .init(minSize: 40, maxSize: 20)))
    }
}
