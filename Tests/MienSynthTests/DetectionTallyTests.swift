import XCTest
@testable import MienSynth

final class DetectionTallyTests: XCTestCase {
    func testIoUReferenceValues() {
        let a = PixelBox(x: 0, y: 0, w: 10, h: 10)
        XCTAssertEqual(a.iou(a), 1)
        XCTAssertEqual(a.iou(PixelBox(x: 20, y: 0, w: 10, h: 10)), 0)
        // Half overlap: intersection 50, union 150.
        XCTAssertEqual(a.iou(PixelBox(x: 5, y: 0, w: 10, h: 10)), 50.0 / 150.0, accuracy: 1e-12)
        // Nested: 25 / 100.
        XCTAssertEqual(a.iou(PixelBox(x: 0, y: 0, w: 5, h: 5)), 0.25, accuracy: 1e-12)
        XCTAssertEqual(a.iou(PixelBox(x: 0, y: 0, w: 0, h: 0)), 0)
    }

    func testCountsHitsMissesOcclusionAndUnmatched() {
        var t = DetectionTally()
        let face = PixelBox(x: 100, y: 100, w: 100, h: 100)
        // Frame 1: found exactly.
        t.add(faces: [(face, 0)], detections: [face])
        // Frame 2: detection shifted by 30 px: IoU = 70·100 / (2·10000 − 7000) ≈ 0.54 → found.
        t.add(faces: [(face, 0)], detections: [PixelBox(x: 130, y: 100, w: 100, h: 100)])
        // Frame 3: shifted by 40 px: IoU = 6000 / 14000 ≈ 0.43 → missed, detection unmatched.
        t.add(faces: [(face, 0)], detections: [PixelBox(x: 140, y: 100, w: 100, h: 100)])
        // Frame 4: occluded face missed; a false positive elsewhere.
        t.add(faces: [(face, 0.6)], detections: [PixelBox(x: 400, y: 0, w: 50, h: 50)])
        // Frame 5: two faces, one detection: it can match only one of them.
        t.add(faces: [(face, 0), (face, 0)], detections: [face])
        XCTAssertEqual(t.faces, 6)
        XCTAssertEqual(t.found, 3)
        XCTAssertEqual(t.visibleFaces, 5)
        XCTAssertEqual(t.visibleFound, 3)
        XCTAssertEqual(t.detections, 5)
        XCTAssertEqual(t.unmatchedDetections, 2)
        XCTAssertEqual(t.rate!, 0.5, accuracy: 1e-12)
        XCTAssertTrue(t.summary.contains("50.00 % of 6 face-frames"), t.summary)
        XCTAssertTrue(t.summary.contains("60.00 % of 5 face-frames less than 30 % occluded"), t.summary)
        XCTAssertNil(DetectionTally().rate)
    }
}
