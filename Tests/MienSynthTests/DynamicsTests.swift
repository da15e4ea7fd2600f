import XCTest
import MienCore
@testable import MienSynth

final class DynamicsTests: XCTestCase {
    func testFearAndSurpriseShareApexButNotTiming() {
        XCTAssertEqual(FaceActions.apex(.fear), FaceActions.apex(.surprise))
        let s = ExpressionDynamics.of(.surprise), f = ExpressionDynamics.of(.fear)
        XCTAssertLessThan(s.onset.upperBound, f.onset.lowerBound / 3, "surprise snaps on, fear builds up")
        XCTAssertLessThan(s.hold.upperBound, f.hold.upperBound)
        XCTAssertEqual(s.tremorDepth.upperBound, 0)
        XCTAssertGreaterThan(f.tremorDepth.lowerBound, 0)
        // Every other pair of classes differs at the apex.
        let classes = ExpressionClass.allCases
        for i in classes.indices {
            for j in classes.indices where j > i && !(Set([classes[i], classes[j]]) == [.fear, .surprise]) {
                XCTAssertNotEqual(FaceActions.apex(classes[i]), FaceActions.apex(classes[j]), "\(classes[i]) vs \(classes[j])")
            }
        }
    }

    func testEnvelopeShapeAndLabels() {
        let e = Episode(start: 1, onset: 0.5, hold: 1, offset: 0.5, intensity: 0.8, tremorHz: 6, tremorDepth: 0, tremorPhase: 0)
        let tl = ExpressionTimeline(expression: .happy, episodes: [e])
        XCTAssertEqual(tl.envelope(at: 0.5), 0)
        XCTAssertEqual(tl.envelope(at: 1.25), 0.5, accuracy: 1e-12, "smoothstep is half way at mid-onset")
        XCTAssertEqual(tl.envelope(at: 2.0), 1)
        XCTAssertEqual(tl.strength(at: 2.0), 0.8, accuracy: 1e-12)
        XCTAssertEqual(tl.envelope(at: 3.5), 0)
        XCTAssertEqual(tl.label(at: 0.5), .neutral)
        XCTAssertEqual(tl.label(at: 1.1), .neutral)
        XCTAssertEqual(tl.label(at: 1.3), .happy)
        XCTAssertEqual(tl.label(at: 2.4), .happy)
        XCTAssertEqual(tl.label(at: 2.9), .neutral)
        // Monotone onset.
        var last = -1.0
        for k in 0...50 {
            let v = tl.envelope(at: 1 + 0.5 * Double(k) / 50)
            XCTAssertGreaterThanOrEqual(v, last)
            last = v
        }
    }

    func testSurpriseOnsetIsFastFearOnsetIsSlowInRenderedPlans() {
        // Frames from the first visible change (2 %) to 95 % of the apex, measured on drawn timelines.
        func riseFrames(_ c: ExpressionClass, seed: UInt64) -> Int {
            var rng = SeededRandom(seed: seed)
            let tl = ExpressionTimeline(expression: c, duration: 6, rng: &rng)
            let e = tl.episodes[0]
            var first = -1, half = -1
            for f in 0..<150 {
                let t = Double(f) / 25
                let v = tl.envelope(at: t)
                if first < 0 && v > 0.02 { first = f }
                if half < 0 && v >= 0.95 { half = f }
            }
            XCTAssertGreaterThan(e.onset, 0)
            return half - first
        }
        for seed in 0..<20 as Range<UInt64> {
            XCTAssertLessThanOrEqual(riseFrames(.surprise, seed: seed), 5)
            XCTAssertGreaterThanOrEqual(riseFrames(.fear, seed: seed), 12)
        }
    }

    func testNeutralHasNoEpisodesAndFirstEpisodeFitsShortClips() {
        var rng = SeededRandom(seed: 5)
        XCTAssertTrue(ExpressionTimeline(expression: .neutral, duration: 5, rng: &rng).episodes.isEmpty)
        for c in ExpressionClass.allCases where c != .neutral {
            for _ in 0..<20 {
                let tl = ExpressionTimeline(expression: c, duration: 2, rng: &rng)
                let e = tl.episodes[0]
                XCTAssertLessThanOrEqual(e.start + e.onset + 0.3, 2 + 1e-9, "\(c): onset and some apex fit in 2 s")
                XCTAssertEqual(tl.label(at: e.start + e.onset + 0.1), c)
            }
        }
    }
}
