import XCTest
import MienCore
@testable import MienTraining

/// Sequences from one photograph (`mien train sequences`): seeded, smooth from frame to frame,
/// different from sequence to sequence, never all the same frame.
final class FaceSequenceTests: XCTestCase {
    func photo() -> [UInt8] {
        // A gradient: motion shows.
        (0..<(48 * 48)).map { (i: Int) -> UInt8 in
            let v: Int = (i % 48) * 3 + (i / 48) * 2
            return UInt8(v)
        }
    }

    func meanAbsDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
    }

    func testSequencesAreSeededSmoothAndVaried() {
        let g = FaceSequenceGenerator()
        var r1 = SplitMix64(seed: 3), r2 = SplitMix64(seed: 3)
        let a = g.frames(of: photo(), side: 48, length: 24, rng: &r1)
        XCTAssertEqual(a, g.frames(of: photo(), side: 48, length: 24, rng: &r2), "same seed, same frames")
        XCTAssertEqual(a.count, 24)
        XCTAssertTrue(a.allSatisfy { $0.count == 48 * 48 })
        let b = g.frames(of: photo(), side: 48, length: 24, rng: &r1)
        XCTAssertNotEqual(a, b, "the next sequence moves differently")
        // Neighbouring frames differ by little (drift + 1 px jitter + noise), the two ends by more.
        let steps = (1..<a.count).map { meanAbsDifference(a[$0 - 1], a[$0]) }
        let ends = meanAbsDifference(a[0], a[23])
        XCTAssertGreaterThan(steps.min()!, 0, "every frame has its own noise")
        XCTAssertLessThan(steps.max()!, 12, "frame-to-frame change is small: \(steps)")
        XCTAssertGreaterThan(ends, steps.reduce(0, +) / Double(steps.count), "the sequence drifts")
        // No motion, lighting or noise: every frame is the photograph (or its mirror).
        var still = FaceSequenceGenerator()
        still.rotation = 0; still.zoom = 0; still.shift = 0; still.brightness = 0; still.contrast = 0; still.jitter = 0; still.noise = 0
        var r3 = SplitMix64(seed: 4)
        let s = still.frames(of: photo(), side: 48, length: 3, rng: &r3)
        let original = photo()
        let mirror = (0..<(48 * 48)).map { (i: Int) -> UInt8 in
            let row: Int = i / 48, column: Int = i % 48
            return original[row * 48 + 47 - column]
        }
        XCTAssertTrue(s.allSatisfy { $0 == original } || s.allSatisfy { $0 == mirror })
    }
}
