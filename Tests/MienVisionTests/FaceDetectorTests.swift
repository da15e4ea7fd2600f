import Foundation
import XCTest
@testable import MienVision

final class FaceDetectorTests: XCTestCase {
    /// Each hand-annotated face in the three real photographs is found by the Haar detector
    /// with IoU ≥ 0.5.
    func testHaarFindsReferenceFaces() throws {
        let detector = try FaceDetector()
        for image in try referenceImages() {
            let gray = try GrayImage.read(path: image.resolvedPath)
            let boxes = try detector.detect(gray)
            for face in image.faces {
                let best = boxes.map { $0.iou(face.box) }.max() ?? 0
                XCTAssertGreaterThanOrEqual(best, 0.5, "\(image.name): best IoU \(best), boxes \(boxes)")
            }
        }
    }

    /// A frame larger than maxSide is detected on a downscaled copy; boxes come back in the
    /// original coordinates (the astronaut upscaled 3× must give the 1× box times 3).
    func testDownscaledDetectionReturnsOriginalCoordinates() throws {
        let gray = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        let big = try gray.resized(width: 1536, height: 1536, interpolation: .linear)
        let detector = try FaceDetector(options: .init(maxSide: 512))
        let small = try detector.detect(gray)
        let large = try detector.detect(big)
        XCTAssertEqual(small.count, 1)
        XCTAssertEqual(large.count, 1)
        let scaled = FaceBox(x: small[0].x * 3, y: small[0].y * 3, width: small[0].width * 3, height: small[0].height * 3)
        XCTAssertGreaterThan(large[0].iou(scaled), 0.85)
    }

    func testBlankImageHasNoFacesAndMinSizeFilters() throws {
        let detector = try FaceDetector()
        XCTAssertEqual(try detector.detect(GrayImage(width: 320, height: 240, pixels: .init(repeating: 128, count: 320 * 240))), [])
        let gray = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        let strict = try FaceDetector(options: .init(minSize: 200))
        XCTAssertEqual(try strict.detect(gray), [], "a ~95 px face must be dropped with minSize 200")
    }

    func testMissingCascadeIsATypedError() {
        XCTAssertThrowsError(try FaceDetector(options: .init(cascadePath: "/nonexistent/cascade.xml"))) { error in
            let e = error as? VisionError
            XCTAssertEqual(e?.code, .notFound)
            XCTAssertEqual(e?.path, "/nonexistent/cascade.xml")
        }
        XCTAssertThrowsError(try FaceDetector(options: .init(scaleFactor: 1.0)))
    }
}

final class HOGDetectorTests: XCTestCase {
    /// dlib's HOG detector also finds each reference face with IoU ≥ 0.5 (upsampled once for
    /// messi5's 38 px face).
    func testHOGFindsReferenceFaces() throws {
        let detector = try FaceDetector(options: .init(backend: .hog, minSize: 20, upsample: 1))
        for image in try referenceImages() {
            let gray = try GrayImage.read(path: image.resolvedPath)
            let boxes = try detector.detect(gray)
            for face in image.faces {
                let best = boxes.map { $0.iou(face.box) }.max() ?? 0
                XCTAssertGreaterThanOrEqual(best, 0.5, "\(image.name): best IoU \(best), boxes \(boxes)")
            }
        }
    }
}
