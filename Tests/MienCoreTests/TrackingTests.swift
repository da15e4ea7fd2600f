import XCTest
@testable import MienCore

final class FaceTrackerTests: XCTestCase {
    func box(_ x: Double, _ y: Double = 100, _ s: Double = 80) -> Box { Box(x: x, y: y, width: s, height: s) }

    func testIoU() {
        XCTAssertEqual(box(0, 0, 10).iou(box(0, 0, 10)), 1)
        XCTAssertEqual(box(0, 0, 10).iou(box(20, 0, 10)), 0)
        XCTAssertEqual(box(0, 0, 10).iou(box(5, 0, 10)), 50.0 / 150.0, accuracy: 1e-12)
        XCTAssertEqual(Box(x: 0, y: 0, width: 0, height: 0).iou(box(0)), 0)
    }

    /// Two faces moving slowly keep their ids even when given in swapped order.
    func testTwoMovingFacesKeepTheirTracks() {
        var t = FaceTracker()
        XCTAssertEqual(t.update(frame: 0, boxes: [box(100), box(400)]).trackIDs, [1, 2])
        for f in 1...20 {
            let d = Double(f) * 3
            let u = t.update(frame: UInt64(f), boxes: f % 2 == 0 ? [box(100 + d), box(400 - d)] : [box(400 - d), box(100 + d)])
            XCTAssertEqual(u.trackIDs, f % 2 == 0 ? [1, 2] : [2, 1], "frame \(f)")
            XCTAssertEqual(u.ended, [])
        }
        XCTAssertEqual(t.finish(), [1, 2])
    }

    /// A face missed for up to maxGap frames continues its track; longer, a new track starts.
    func testGapsWithinLimitContinueLongerGapsStartNewTrack() {
        var t = FaceTracker(config: .init(minIoU: 0.3, maxGapFrames: 3))
        XCTAssertEqual(t.update(frame: 0, boxes: [box(100)]).trackIDs, [1])
        XCTAssertEqual(t.update(frame: 4, boxes: [box(102)]).trackIDs, [1], "3 frames missed: same track")
        let u = t.update(frame: 9, boxes: [box(104)])
        XCTAssertEqual(u.ended, [1])
        XCTAssertEqual(u.trackIDs, [2], "4 frames missed: new track")
    }

    /// A face that jumps across the frame (no overlap) is a new track.
    func testNoOverlapStartsNewTrack() {
        var t = FaceTracker()
        _ = t.update(frame: 0, boxes: [box(0)])
        XCTAssertEqual(t.update(frame: 1, boxes: [box(500)]).trackIDs, [2])
    }
}

final class TrackWindowerTests: XCTestCase {
    func steps(_ n: Int) -> [TrackStep] { (0..<n).map { TrackStep(frame: UInt64($0 * 2), embedding: [Float($0)]) } }

    func run(_ n: Int, length: Int, stride: Int) -> [TrackWindow] {
        var w = TrackWindower(length: length, stride: stride)
        var out = steps(n).compactMap { w.append($0) }
        if let last = w.finish() { out.append(last) }
        return out
    }

    /// Exhaustively for small sizes: windows are ordered, full-length unless the track is
    /// shorter, every step is covered, the count matches `windowCount`, indices are 0, 1, 2…
    func testEveryStepCoveredForAllSmallShapes() {
        for length in 1...6 {
            for stride in 1...length {
                for n in 0...20 {
                    let ws = run(n, length: length, stride: stride)
                    XCTAssertEqual(ws.count, TrackWindower.windowCount(steps: n, length: length, stride: stride), "n \(n) T \(length) s \(stride)")
                    XCTAssertEqual(ws.map(\.index), (0..<UInt32(ws.count)).map { $0 })
                    var covered = Set<UInt64>()
                    for w in ws {
                        XCTAssertEqual(w.steps.count, min(n, length))
                        XCTAssertEqual(w.steps.map(\.frame), w.steps.map(\.frame).sorted())
                        XCTAssertEqual(w.paddedFrom, n < length ? UInt32(n) : 0)
                        covered.formUnion(w.steps.map(\.frame))
                    }
                    XCTAssertEqual(covered, Set(steps(n).map(\.frame)), "n \(n) T \(length) s \(stride)")
                    XCTAssertEqual(ws.map(\.startFrame), ws.map(\.startFrame).sorted())
                }
            }
        }
    }

    func testRegularWindowsAndTail() {
        let ws = run(20, length: 8, stride: 4)
        XCTAssertEqual(ws.map { $0.steps.first!.embedding[0] }, [0, 4, 8, 12], "windows at 0, 4, 8, 12; 12+8 = 20 covers the tail")
        let tail = run(21, length: 8, stride: 4)
        XCTAssertEqual(tail.map { $0.steps.first!.embedding[0] }, [0, 4, 8, 12, 13], "a last window covers the final step")
    }

    func testShortTrackIsOneShortWindow() {
        let ws = run(3, length: 16, stride: 8)
        XCTAssertEqual(ws.count, 1)
        XCTAssertEqual(ws[0].steps.count, 3)
        XCTAssertEqual(ws[0].paddedFrom, 3)
    }
}
