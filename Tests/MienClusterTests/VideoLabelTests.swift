import XCTest
import MienCore
@testable import MienCluster

final class FaceTruthTests: XCTestCase {
    /// In a two-face frame each detection takes the label of the face it overlaps; a detection
    /// on no true face has no truth.
    func testMatchesDetectionsToTrueFacesByBox() {
        let faces = [FaceTruth(label: "happy", box: Box(x: 0, y: 0, width: 100, height: 100)),
                     FaceTruth(label: "neutral", box: Box(x: 300, y: 0, width: 100, height: 100))]
        XCTAssertEqual(FaceTruth.label(for: Box(x: 310, y: 5, width: 95, height: 95), among: faces), "neutral")
        XCTAssertEqual(FaceTruth.label(for: Box(x: 5, y: 0, width: 100, height: 100), among: faces), "happy")
        XCTAssertNil(FaceTruth.label(for: Box(x: 150, y: 300, width: 50, height: 50), among: faces))
        XCTAssertEqual(FaceTruth.label(for: Box(x: 150, y: 300, width: 50, height: 50), among: [FaceTruth(label: "sad", box: nil)]), "sad")
    }
}

final class WindowSpanTests: XCTestCase {
    /// The binary-searched span equals the filter it replaces, for every window over a gappy track.
    func testSpanEqualsFilter() {
        let frames: [UInt64] = [0, 1, 2, 5, 6, 9, 10, 11, 20]
        for lo in UInt64(0)...22 {
            for hi in lo...22 {
                XCTAssertEqual(Array(frames[Aggregator.span(of: frames, from: lo, through: hi)]),
                               frames.filter { $0 >= lo && $0 <= hi }, "[\(lo), \(hi)]")
            }
        }
        XCTAssertEqual(Aggregator.span(of: [], from: 0, through: 5), 0..<0)
    }
}
