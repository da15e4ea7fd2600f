import XCTest
import MienCore
import MienNN
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

    func stillGenerator() -> FaceSequenceGenerator {
        var still = FaceSequenceGenerator()
        still.rotation = 0; still.zoom = 0; still.shift = 0; still.brightness = 0; still.contrast = 0; still.jitter = 0; still.noise = 0
        return still
    }

    /// The frames that differ from the photograph (or its mirror) in a still sequence.
    func changedFrames(_ frames: [[UInt8]]) -> [Int] {
        let original = photo()
        let mirror = (0..<(48 * 48)).map { (i: Int) -> UInt8 in original[(i / 48) * 48 + 47 - i % 48] }
        return frames.indices.filter { frames[$0] != original && frames[$0] != mirror }
    }

    func testOcclusionAndBlurAreContiguousEpisodesAndOffByDefault() {
        var occluded = stillGenerator()
        occluded.occlusion = 1
        var blurred = stillGenerator()
        blurred.blur = 1
        for seed in 0..<20 as Range<UInt64> {
            var r = SplitMix64(seed: seed)
            let o = changedFrames(occluded.frames(of: photo(), side: 48, length: 24, rng: &r))
            // A block that enters and leaves: 3–8 frames, consecutive (the first or last may fall outside).
            XCTAssertTrue((1...8).contains(o.count), "occluded frames \(o)")
            XCTAssertEqual(o, Array(o.first!...o.last!), "one episode")
            var r2 = SplitMix64(seed: seed)
            let b = changedFrames(blurred.frames(of: photo(), side: 48, length: 24, rng: &r2))
            XCTAssertTrue((2...5).contains(b.count), "blurred frames \(b)")
            XCTAssertEqual(b, Array(b.first!...b.last!), "one episode")
        }
        // Off (the default): a sequence takes exactly the draws it took before the episodes existed —
        // two states of 6 values, the mirror, then per frame 2 jitters and one noise value a pixel —
        // so every earlier seed gives the same sequences.
        var r1 = SplitMix64(seed: 9), expected = SplitMix64(seed: 9)
        _ = FaceSequenceGenerator().frames(of: photo(), side: 48, length: 24, rng: &r1)
        for _ in 0..<(13 + 24 * (2 + 48 * 48)) { _ = expected.next() }
        XCTAssertEqual(r1.next(), expected.next(), "the default generator's random stream is unchanged")
    }

    func testBoxBlurAveragesNeighboursWithReplicatedEdges() {
        let row: [Float] = [0, 3, 6, 9]
        let src = Array(repeating: row, count: 4).flatMap { $0 }
        let out = ImageOps.horizontalBoxBlur(src, side: 4, width: 3)
        XCTAssertEqual(Array(out[0..<4]), [1, 3, 6, 8], "(0+0+3)/3, (0+3+6)/3, (3+6+9)/3, (6+9+9)/3")
    }

    func testOnsetOffsetIntensitiesRiseHoldAndFall() {
        let dynamics = ExpressionDynamics(probability: 1)
        var kinds = Set<String>()
        for seed in 0..<200 as Range<UInt64> {
            var rng = SplitMix64(seed: seed)
            guard let a = dynamics.intensities(length: 24, rng: &rng) else { return XCTFail("probability 1 gives dynamics") }
            XCTAssertEqual(a.count, 24)
            XCTAssertTrue(a.allSatisfy { (0...1).contains($0) })
            XCTAssertGreaterThanOrEqual(a.filter { $0 == 1 }.count, 6, "the apex holds for a quarter of the frames: \(a)")
            XCTAssertTrue(a.contains { $0 < 0.5 }, "some frames are neutral: \(a)")
            // One rise then one fall: never down then up again.
            let peak = a.firstIndex(of: 1)!
            XCTAssertTrue((0..<peak).allSatisfy { a[$0] <= a[$0 + 1] } && (peak..<23).allSatisfy { a[$0] >= a[$0 + 1] }, "unimodal: \(a)")
            // Smooth: a ramp of at least two frames, so no jump from 0 to 1.
            XCTAssertTrue((1..<24).allSatisfy { abs(a[$0] - a[$0 - 1]) < 0.9 }, "eased: \(a)")
            kinds.insert("\(a.first! < 1 ? "onset" : "")\(a.last! < 1 ? "offset" : "")")
        }
        XCTAssertEqual(kinds, ["onset", "offset", "onsetoffset"], "all three shapes occur")
        var r = SplitMix64(seed: 1), untouched = SplitMix64(seed: 1)
        XCTAssertNil(ExpressionDynamics(probability: 0).intensities(length: 24, rng: &r))
        XCTAssertEqual(r.next(), untouched.next(), "probability 0 draws nothing")
        XCTAssertEqual(ExpressionDynamics.labels("happy", neutral: "neutral", intensity: [0, 0.49, 0.5, 1]), ["neutral", "neutral", "happy", "happy"])
    }

    func testBlendIsExactAtTheEndsAndAGeometricMeanBetween() {
        let pe = Tensor(shape: [3, 3], data: [0.7, 0.2, 0.1, 0.7, 0.2, 0.1, 0.7, 0.2, 0.1])
        let pn = Tensor(shape: [3, 3], data: [0.1, 0.3, 0.6, 0.1, 0.3, 0.6, 0.1, 0.3, 0.6])
        let ee = Tensor(shape: [3, 2], data: [1, 2, 1, 2, 1, 2]), en = Tensor(shape: [3, 2], data: [-1, 4, -1, 4, -1, 4])
        let out = ExpressionDynamics.blend(expression: (pe, ee), neutral: (pn, en), intensity: [1, 0, 0.5])
        for j in 0..<3 {
            XCTAssertEqual(out.probabilities.data[j], pe.data[j], accuracy: 1e-6)
            XCTAssertEqual(out.probabilities.data[3 + j], pn.data[3 + j], accuracy: 1e-6)
        }
        XCTAssertEqual(Array(out.embedding.data), [1, 2, -1, 4, 0, 3])
        // Frame 2 against float64: p ∝ sqrt(pe · pn).
        let g = (0..<3).map { (Double(pe.data[$0]) * Double(pn.data[$0])).squareRoot() }, sum = g.reduce(0, +)
        for j in 0..<3 { XCTAssertEqual(Double(out.probabilities.data[6 + j]), g[j] / sum, accuracy: 1e-6) }
    }
}
