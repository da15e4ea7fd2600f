import Foundation
import XCTest
@testable import MienVision

/// The detection schedule: full detection on keyframes, a checked template match (or cascade
/// search) near the last box in between. Frames are the astronaut photograph panned across the frame (a real face moving).
final class FaceFollowerTests: XCTestCase {
    private func astronaut() throws -> GrayImage {
        try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
    }

    private func blank(like image: GrayImage) -> GrayImage {
        GrayImage(width: image.width, height: image.height, pixels: .init(repeating: 128, count: image.width * image.height))
    }

    func testRegionSearchFindsTheFaceInFrameCoordinates() throws {
        try assertRegionSearchFindsTheFace(try FaceDetector(), in: try astronaut(), minIoU: 0.7, workingFaceSide: 28, minNeighbors: 2)
    }

    func testPanningFaceIsFollowedBetweenKeyframes() throws {
        try assertPanningFaceIsFollowed(try FacePipeline(), try astronaut())
    }

    /// Between keyframes the landmark model does not run: the previous frame's points move and
    /// scale with the box, exactly.
    func testLandmarksMoveWithTheBoxBetweenKeyframes() throws {
        let image = try astronaut()
        let follower = try FaceFollower(pipeline: try FacePipeline(), schedule: DetectionSchedule(keyframeInterval: 5))
        let first = try follower.process(image, frameIndex: 0).faces[0]
        let second = try follower.process(shifted(image, dx: 8), frameIndex: 1).faces[0]
        let sx = second.box.width / first.box.width, sy = second.box.height / first.box.height
        XCTAssertEqual(first.landmarks.count, 5, "the bundled 5-point model")
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

    /// `image` with the rectangle `from` copied to the top-left corner `to`.
    private func pasted(_ image: GrayImage, from: (x: Int, y: Int, w: Int, h: Int), to: (x: Int, y: Int)) -> GrayImage {
        var px = image.pixels
        for y in 0..<from.h { for x in 0..<from.w {
            px[(to.y + y) * image.width + to.x + x] = image.pixels[(from.y + y) * image.width + from.x + x]
        } }
        return GrayImage(width: image.width, height: image.height, pixels: px)
    }

    /// In a still scene a keyframe re-finds the face and measures its landmarks afresh, without a
    /// full scan; the scan still comes back after `fullScanInterval` frames.
    func testStillSceneSkipsFullScansButRefreshesLandmarks() throws {
        let image = try astronaut()
        let pipeline = try FacePipeline()
        let follower = try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(keyframeInterval: 5, fullScanInterval: 20))
        var last: DetectedFace?
        for i in 0..<21 {
            let faces = try follower.process(image, frameIndex: i).faces
            XCTAssertEqual(faces.count, 1, "frame \(i)")
            last = faces.first
            if i == 5 {
                XCTAssertEqual(faces[0].landmarks, try pipeline.landmarker!.landmarks(in: image, box: faces[0].box),
                               "a keyframe without a scan measures landmarks, it does not move old ones")
            }
        }
        XCTAssertEqual(follower.keyframes, 2, "frame 0, and frame 20 (the full-scan bound)")
        XCTAssertEqual(follower.refreshes, 3, "frames 5, 10, 15")
        XCTAssertEqual(follower.followedFrames, 16)
        XCTAssertNotNil(last)
        // Brighter or darker everywhere (exposure) is not a change either.
        let dimmed = GrayImage(width: image.width, height: image.height, pixels: image.pixels.map { UInt8(Float($0) * 0.8) })
        let exposure = try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(keyframeInterval: 5, fullScanInterval: 20))
        for i in 0..<6 { _ = try exposure.process(i < 3 ? image : dimmed, frameIndex: i) }
        XCTAssertEqual(exposure.keyframes, 1)
        XCTAssertEqual(exposure.refreshes, 1)
    }

    /// A face that appears where the picture was still changes it there: the next keyframe scans
    /// and finds it, well before the full-scan bound.
    func testNewFaceInAStillSceneIsFoundAtTheNextKeyframe() throws {
        let image = try astronaut()
        let pipeline = try FacePipeline()
        let face = try XCTUnwrap(try pipeline.detector.detect(image).first)
        // The astronaut's face copied into the bottom-left corner: a second person walks in.
        let side = Int(face.width.rounded()) + 20
        let two = pasted(image, from: (Int(face.x) - 10, Int(face.y) - 10, side, side), to: (10, image.height - side - 10))
        XCTAssertEqual(try pipeline.detector.detect(two).count, 2, "the pasted face is a face to the detector")
        let follower = try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(keyframeInterval: 5, fullScanInterval: 100))
        var counts: [Int] = []
        for i in 0..<10 { counts.append(try follower.process(i < 3 ? image : two, frameIndex: i).faces.count) }
        XCTAssertEqual(counts, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2], "found at keyframe 5")
        XCTAssertEqual(follower.keyframes, 2)
        XCTAssertEqual(follower.refreshes, 0)
    }

    func testSceneThumbnailIgnoresMaskedChangesAndGain() throws {
        let image = try astronaut()
        let base = try SceneThumbnail(image)
        XCTAssertTrue((SceneThumbnail.longSide..<2 * SceneThumbnail.longSide).contains(max(base.width, base.height)),
                      "\(base.width)×\(base.height) from \(image.width)×\(image.height)")
        XCTAssertEqual(base.scaleX, Float(image.width / base.width))
        XCTAssertEqual(base.scaleX, base.scaleY)
        XCTAssertFalse(base.changed(from: base, outside: [], threshold: 1))
        // A bright square at (300, 300)–(380, 380).
        var px = image.pixels
        for y in 300..<380 { for x in 300..<380 { px[y * image.width + x] = 255 &- px[y * image.width + x] } }
        let changed = try SceneThumbnail(GrayImage(width: image.width, height: image.height, pixels: px))
        XCTAssertTrue(changed.changed(from: base, outside: [], threshold: 8))
        XCTAssertFalse(changed.changed(from: base, outside: [FaceBox(x: 290, y: 290, width: 100, height: 100)], threshold: 8),
                       "the change lies inside a mask")
        XCTAssertTrue(changed.changed(from: base, outside: [FaceBox(x: 0, y: 0, width: 100, height: 100)], threshold: 8))
        let gained = try SceneThumbnail(GrayImage(width: image.width, height: image.height, pixels: image.pixels.map { UInt8(Float($0) * 0.7) }))
        XCTAssertFalse(gained.changed(from: base, outside: [], threshold: 8), "a global exposure gain is not a change")
        let small = try SceneThumbnail(GrayImage(width: 100, height: 100, pixels: .init(repeating: 0, count: 10_000)))
        XCTAssertTrue(small.changed(from: base, outside: [], threshold: 8), "another size is a change")
    }

    func testInvalidSchedulesAreRefused() throws {
        let pipeline = try FacePipeline()
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(keyframeInterval: 0)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(workingFaceSide: 10)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(sizeRange: 1.2...1.5)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(searchScaleFactor: 1)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(fullScanInterval: 0)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(sceneChangeThreshold: -1)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(templateSide: 4)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(templateInset: 0.5)))
        XCTAssertThrowsError(try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(templateMinScore: 1.5)))
        XCTAssertThrowsError(try FaceDetector(options: .init(minSize: 40, maxSize: 20)))
    }

    /// `image` moved down by `dy` pixels (uncovered rows take the edge value).
    private func shiftedDown(_ image: GrayImage, dy: Int) -> GrayImage {
        var px = [UInt8](repeating: 0, count: image.width * image.height)
        for y in 0..<image.height {
            let from = min(image.height - 1, max(0, y - dy))
            px[(y * image.width)..<((y + 1) * image.width)] = image.pixels[(from * image.width)..<((from + 1) * image.width)]
        }
        return GrayImage(width: image.width, height: image.height, pixels: px)
    }

    /// The template finds the face moved by whole pixels to within half a pixel (the match runs
    /// on a copy downscaled ~4×: the sub-pixel refinement is what makes this hold), through an
    /// exposure change, and reports no match where the face is not.
    func testTemplateFindsTheMovedFace() throws {
        let image = try astronaut()
        let face = try XCTUnwrap(try FaceDetector().detect(image).first)
        let template = try XCTUnwrap(try FaceTemplate(image: image, box: face, side: 24, inset: 0.15))
        XCTAssertTrue((16...36).contains(max(template.width, template.height)), "about 24 px after a whole-pixel downscale: \(template.width)×\(template.height)")
        let still = try XCTUnwrap(try template.find(in: image, around: face, margin: 0.3))
        XCTAssertEqual(still.box.x, face.x, accuracy: 0.5)
        XCTAssertEqual(still.box.y, face.y, accuracy: 0.5)
        XCTAssertGreaterThan(still.score, 0.99)
        for (dx, dy) in [(7, 0), (-11, 5), (3, -9)] {
            let moved = shiftedDown(shifted(image, dx: dx), dy: dy)
            let m = try XCTUnwrap(try template.find(in: moved, around: face, margin: 0.3))
            XCTAssertEqual(m.box.x - face.x, Float(dx), accuracy: 1.0, "moved by (\(dx), \(dy))")
            XCTAssertEqual(m.box.y - face.y, Float(dy), accuracy: 1.0, "moved by (\(dx), \(dy))")
            XCTAssertEqual(m.box.width, face.width)
            XCTAssertGreaterThan(m.score, 0.9)
        }
        // Darker and flatter (exposure): normalised correlation does not care.
        let dimmed = GrayImage(width: image.width, height: image.height, pixels: image.pixels.map { UInt8(Float($0) * 0.6 + 20) })
        let d = try XCTUnwrap(try template.find(in: dimmed, around: face, margin: 0.3))
        XCTAssertEqual(d.box.x, face.x, accuracy: 0.5)
        XCTAssertGreaterThan(d.score, 0.99)
        // Nothing there: a flat frame has no defined correlation; another part of the photo
        // correlates poorly.
        let flat = try XCTUnwrap(try template.find(in: blank(like: image), around: face, margin: 0.3))
        XCTAssertLessThan(flat.score, DetectionSchedule().templateMinScore)
        let elsewhere = FaceBox(x: 20, y: Float(image.height) - face.height - 20, width: face.width, height: face.height)
        let wrong = try XCTUnwrap(try template.find(in: image, around: elsewhere, margin: 0.3))
        XCTAssertLessThan(wrong.score, DetectionSchedule().templateMinScore)
        // A face without texture has no template (the cascade follows it).
        XCTAssertNil(try FaceTemplate(image: blank(like: image), box: face, side: 24, inset: 0.15))
        // A box mostly outside the frame: too little left to cut, or to search.
        XCTAssertNil(try FaceTemplate(image: image, box: FaceBox(x: Float(image.width) - 5, y: 0, width: 100, height: 100), side: 24, inset: 0.15))
        XCTAssertNil(try template.find(in: image, around: FaceBox(x: Float(image.width) + 50, y: 0, width: face.width, height: face.height), margin: 0.3))
    }

    /// Between keyframes a template match counts only within the search margin of where the
    /// cascade last saw the face; beyond it (or below the correlation threshold) the cascade
    /// searches near the last box and decides: a face that moved fast is kept, with a template cut
    /// afresh, and something that is not a face is dropped, never followed off across the frame.
    func testFailedTemplateMatchesFallBackToTheCascade() throws {
        let image = try astronaut()
        let face = try XCTUnwrap(try FaceDetector().detect(image).first)
        let step = Int((face.width * 0.2).rounded())   // 0.2 side a frame: 0.4 after two frames > 0.3
        let moving = try FaceFollower(pipeline: try FacePipeline(), schedule: DetectionSchedule(keyframeInterval: 10))
        let counts = try (0..<5).map { try moving.process(shifted(image, dx: -step * $0), frameIndex: $0).faces.count }
        XCTAssertEqual(counts, [1, 1, 1, 1, 1])
        XCTAssertEqual(moving.losses, 0)
        XCTAssertEqual(moving.fallbacks, 2, "frames 2 and 4 are 0.4 side from the last cascade box: the cascade found the face, and its new template matched frame 3")
        XCTAssertEqual(moving.keyframes, 1)
        // The face is gone (a flat frame): the template cannot match, the cascade finds nothing.
        let gone = try FaceFollower(pipeline: try FacePipeline(), schedule: DetectionSchedule(keyframeInterval: 10))
        _ = try gone.process(image, frameIndex: 0)
        XCTAssertEqual(try gone.process(blank(like: image), frameIndex: 1).faces.count, 0)
        XCTAssertEqual(gone.fallbacks, 1)
        XCTAssertEqual(gone.losses, 1)
        // `.haar` searches on every followed frame: no template, no fallbacks.
        let haar = try FaceFollower(pipeline: try FacePipeline(), schedule: DetectionSchedule(keyframeInterval: 10, follow: .haar))
        XCTAssertEqual(try (0..<5).map { try haar.process(shifted(image, dx: -step * $0), frameIndex: $0).faces.count }, [1, 1, 1, 1, 1])
        XCTAssertEqual(haar.fallbacks, 0)
        XCTAssertEqual(haar.losses, 0)
    }
}
