import Foundation
import XCTest
@testable import MienVision

/// Loading the 100 MB 68-point model (Debian's libdlib-data) takes about a second: share one per
/// test process.
nonisolated(unsafe) private var sharedLandmarker: Landmarker?
func landmarker68() throws -> Landmarker {
    if let l = sharedLandmarker { return l }
    let l = try Landmarker(modelPath: Landmarker.default68ModelPath)
    sharedLandmarker = l
    return l
}

final class FaceCropTests: XCTestCase {
    /// Swift fer crops equal the Python/OpenCV reimplementation of fer's code
    /// (ops/vision/make_fer_crop_fixture.py) for a face box, a box hanging off the bottom-right
    /// corner and one off the top-left: largest difference ≤ 1 grey level (bilinear rounding).
    func testFerCropMatchesReference() throws {
        let image = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        let boxes: [(String, FaceBox)] = [
            ("astronaut", FaceBox(x: 177, y: 66, width: 95, height: 95)),
            ("corner", FaceBox(x: 470, y: 440, width: 50, height: 90)),
            ("topleft", FaceBox(x: -5, y: 3, width: 70, height: 40)),
        ]
        for (name, box) in boxes {
            let expected = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("fer_crop_\(name).png").path)
            let crop = try XCTUnwrap(try ferCrop(image, box: box, size: 64))
            let worst = zip(crop.pixels, expected.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1, "\(name): largest difference \(worst)")
        }
        // The README's worked example: box (177, 66, 95, 95) → padded rows [96, 211), cols [207, 322).
        let r = try XCTUnwrap(ferCropRect(box: FaceBox(x: 177, y: 66, width: 95, height: 95), width: 512, height: 512))
        XCTAssertEqual([r.x1, r.y1, r.x2, r.y2], [207, 96, 322, 211])
        XCTAssertNil(ferCropRect(box: FaceBox(x: 900, y: 900, width: 20, height: 20), width: 512, height: 512))
    }

    func testNormalisationAndTensorLayout() {
        let a = GrayImage(width: 2, height: 2, pixels: [0, 255, 51, 204])
        let b = GrayImage(width: 2, height: 2, pixels: [128, 128, 128, 128])
        let t = normalizedTensor([a, b])
        XCTAssertEqual(t.count, 8)
        XCTAssertEqual(t[0], -1)
        XCTAssertEqual(t[1], 1)
        XCTAssertEqual(t[2], (51 / 255 - 0.5) * 2, accuracy: 1e-6)
        XCTAssertEqual(t[4], (128 / 255 - 0.5) * 2, accuracy: 1e-6)
    }

    /// `.aligned`'s transform: with level eyes it maps the fer crop square onto the crop exactly
    /// (corners to corners, cv::resize's pixel-centre convention); with rolled eyes it levels them
    /// and keeps the square's centre at the crop's centre.
    func testFerAlignedTransform() {
        let box = FaceBox(x: 177, y: 66, width: 95, height: 95)
        let level = ferAlignedTransform(box: box, left: Point(x: 200, y: 100), right: Point(x: 250, y: 100), size: 64)
        // fer square: x 167..282, y 56..171 (115 px). Pixel 167 → -0.5 + 0.5·64/115 - ... check two corners.
        let s = 64.0 / 115.0
        let p = applyTransform(level, Point(x: 167, y: 56))
        XCTAssertEqual(Double(p.x), 0.5 * s - 0.5, accuracy: 1e-4)
        XCTAssertEqual(Double(p.y), 0.5 * s - 0.5, accuracy: 1e-4)
        let q = applyTransform(level, Point(x: 281, y: 170))
        XCTAssertEqual(Double(q.x), 63.5 - 0.5 * s, accuracy: 1e-4)
        for degrees in [-25.0, 10.0, 30.0] {
            let t = degrees * .pi / 180
            let left = Point(x: 200, y: 100)
            let right = Point(x: Float(200 + 50 * cos(t)), y: Float(100 + 50 * sin(t)))
            let m = ferAlignedTransform(box: box, left: left, right: right, size: 64)
            let l = applyTransform(m, left), r = applyTransform(m, right)
            XCTAssertEqual(l.y, r.y, accuracy: 1e-3, "eyes level at \(degrees)°")
            let c = applyTransform(m, Point(x: 167 + 57, y: 56 + 57))
            XCTAssertEqual(c.x, 31.5, accuracy: 1e-3)
            XCTAssertEqual(c.y, 31.5, accuracy: 1e-3)
        }
    }

    /// `.eyes`' transform maps the eyes to the stated positions for any roll angle.
    func testAlignmentTransformLevelsEyes() {
        for degrees in stride(from: -40.0, through: 40.0, by: 10.0) {
            let t = degrees * .pi / 180
            let left = Point(x: 100, y: 80)
            let right = Point(x: Float(100 + 50 * cos(t)), y: Float(80 + 50 * sin(t)))
            let m = alignmentTransform(left: left, right: right, size: 64)
            let l = applyTransform(m, left), r = applyTransform(m, right)
            XCTAssertEqual(l.x, 0.31 * 64, accuracy: 1e-3)
            XCTAssertEqual(r.x, 0.69 * 64, accuracy: 1e-3)
            XCTAssertEqual(l.y, 0.38 * 64, accuracy: 1e-3)
            XCTAssertEqual(r.y, 0.38 * 64, accuracy: 1e-3)
        }
    }

    /// dlib's 68 landmarks, and the bundled 5-point model (the default), put the eye centres
    /// within 12 % of the inter-ocular distance of the hand-annotated pupils on the three
    /// photographs, and the aligned crop is upright: the annotated eyes, mapped through the
    /// alignment, are level within 4°.
    func testLandmarksAndAlignedCropUpright() throws {
        try checkEyesAndUprightCrop(try landmarker68(), points: 68)
        try checkEyesAndUprightCrop(try Landmarker.shared(), points: 5)
    }

    private func checkEyesAndUprightCrop(_ landmarker: Landmarker, points: Int) throws {
        XCTAssertEqual(landmarker.pointCount, points)
        let detector = try FaceDetector()
        for image in try referenceImages() {
            let gray = try GrayImage.read(path: image.resolvedPath)
            let boxes = try detector.detect(gray)
            for face in image.faces {
                let box = try XCTUnwrap(boxes.max { $0.iou(face.box) < $1.iou(face.box) })
                let points = try landmarker.landmarks(in: gray, box: box)
                let eyes = try XCTUnwrap(Landmarker.eyeCentres(points))
                let refLeft = Point(x: face.left_eye[0], y: face.left_eye[1]), refRight = Point(x: face.right_eye[0], y: face.right_eye[1])
                let iod = hypot(refRight.x - refLeft.x, refRight.y - refLeft.y)
                XCTAssertLessThan(hypot(eyes.left.x - refLeft.x, eyes.left.y - refLeft.y) / iod, 0.12, "\(image.name) left eye, \(points) points")
                XCTAssertLessThan(hypot(eyes.right.x - refRight.x, eyes.right.y - refRight.y) / iod, 0.12, "\(image.name) right eye, \(points) points")
                let m = ferAlignedTransform(box: box, left: eyes.left, right: eyes.right, size: 64)
                let l = applyTransform(m, refLeft), r = applyTransform(m, refRight)
                let roll = atan2(Double(r.y - l.y), Double(r.x - l.x)) * 180 / .pi
                XCTAssertLessThan(abs(roll), 4, "\(image.name): aligned eyes tilted \(roll)°, \(points) points")
            }
        }
    }

    /// Rotating a photograph by ±15° and running the aligned pipeline gives an upright crop:
    /// the annotated eyes (rotated with the image) come out level within 4°, with either model.
    func testAlignedPipelineUndoesRoll() throws {
        for landmarker in [try landmarker68(), try Landmarker.shared()] {
            try checkRollUndone(try FacePipeline(options: .init(cropMode: .aligned), sharedLandmarker: landmarker))
        }
    }

    private func checkRollUndone(_ pipeline: FacePipeline) throws {
        let astronaut = try referenceImages().first { $0.name == "astronaut" }!
        let gray = try GrayImage.read(path: astronaut.resolvedPath)
        let face = astronaut.faces[0]
        for degrees in [-15.0, 15.0] {
            let (rotated, m) = try rotate(gray, degrees: degrees)
            let result = try pipeline.process(rotated)
            let found = try XCTUnwrap(result.faces.first, "no face at \(degrees)°")
            XCTAssertEqual(Double(found.rollDegrees), -degrees, accuracy: 4, "measured roll")
            let l0 = applyTransform(m, Point(x: face.left_eye[0], y: face.left_eye[1]))
            let r0 = applyTransform(m, Point(x: face.right_eye[0], y: face.right_eye[1]))
            let eyes = try XCTUnwrap(Landmarker.eyeCentres(found.landmarks))
            let a = ferAlignedTransform(box: found.box, left: eyes.left, right: eyes.right, size: 64)
            let l = applyTransform(a, l0), r = applyTransform(a, r0)
            XCTAssertLessThan(abs(atan2(Double(r.y - l.y), Double(r.x - l.x)) * 180 / .pi), 4, "at \(degrees)°, \(pipeline.landmarker!.pointCount) points")
            XCTAssertEqual(found.crop.width, 64)
        }
    }

    /// One landmarker shared by pipelines on two threads gives the same landmarks as serial use.
    func testSharedLandmarkerAcrossThreads() throws {
        let landmarker = try landmarker68()
        let gray = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        let box = try FaceDetector().detect(gray)[0]
        let serial = try landmarker.landmarks(in: gray, box: box)
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [Int: [Point]] = [:]
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            var last: [Point] = []
            for _ in 0..<20 { last = (try? landmarker.landmarks(in: gray, box: box)) ?? [] }
            results.lock.withLock { results.values[i] = last }
        }
        XCTAssertEqual(results.values[0], serial)
        XCTAssertEqual(results.values[1], serial)
    }

    /// The pipeline's output: boxes, 68 landmarks, scores, and an N×64×64×1 tensor.
    func testPipelineOutputShapes() throws {
        let pipeline = try FacePipeline(options: .init(cropMode: .fer, landmarks: true), sharedLandmarker: try landmarker68())
        let gray = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        let result = try pipeline.process(gray, frameIndex: 7, timestamp: 0.28)
        XCTAssertEqual(result.faces.count, 1)
        XCTAssertEqual(result.frameIndex, 7)
        XCTAssertEqual(result.faces[0].landmarks.count, 68)
        XCTAssertGreaterThanOrEqual(result.faces[0].box.score, 5)
        XCTAssertEqual(result.tensor.count, 64 * 64)
        XCTAssertEqual(result.tensor.min()! >= -1 && result.tensor.max()! <= 1, true)
        // fer mode with the Haar box is exactly the fer crop of that box.
        let fer = try XCTUnwrap(try ferCrop(gray, box: result.faces[0].box))
        XCTAssertEqual(result.faces[0].crop, fer)
        // With level eyes, the aligned geometry is the fer crop: warping the fer square gives the
        // same pixels as fer's crop + resize (largest difference ≤ 2 grey levels: warpAffine's and
        // resize's fixed-point bilinear weights differ slightly).
        let box = result.faces[0].box
        let level = ferAlignedTransform(box: box, left: Point(x: 0, y: 0), right: Point(x: 1, y: 0), size: 64)
        let warped = try warpCrop(gray, transform: level, size: 64)
        let worst = zip(warped.pixels, fer.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 2, "level aligned crop vs fer crop: largest difference \(worst)")
    }
}

/// Rotates an image about its centre by `degrees` (counter-clockwise as seen, OpenCV's
/// convention), same size; returns it and the 2×3 transform applied.
func rotate(_ image: GrayImage, degrees: Double) throws -> (GrayImage, [Double]) {
    let t = degrees * .pi / 180
    let c = cos(t), s = sin(t)
    let cx = Double(image.width) / 2, cy = Double(image.height) / 2
    // cv::getRotationMatrix2D(center, angle, 1).
    let m = [c, s, (1 - c) * cx - s * cy, -s, c, s * cx + (1 - c) * cy]
    let out = try warpCrop(image, transform: m, size: image.width)
    return (out, m)
}
