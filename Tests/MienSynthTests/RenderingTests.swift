import XCTest
import MienCore
@testable import MienSynth

final class RenderingTests: XCTestCase {
    let cfg = SynthConfig(width: 320, height: 240, fps: 25, minSeconds: 2, maxSeconds: 2)

    func testFramesAreDeterministicAndRandomAccess() {
        let plan = SynthDataset(seed: 77, count: 3, config: cfg).plan(ofClip: 2)
        let r1 = ClipRenderer(plan: plan), r2 = ClipRenderer(plan: plan)
        let a = r1.frame(10), b = r2.frame(10)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(a.faces, b.faces)
        _ = r2.frame(3)   // rendering other frames in between changes nothing
        XCTAssertEqual(r2.frame(10).pixels, a.pixels)
        XCTAssertNotEqual(r1.frame(11).pixels, a.pixels)
        XCTAssertEqual(a.pixels.count, 320 * 240 * 3)
        let other = ClipRenderer(plan: SynthDataset(seed: 78, count: 3, config: cfg).plan(ofClip: 2)).frame(10)
        XCTAssertNotEqual(other.pixels, a.pixels)
    }

    func testGrayscaleIsLumaOfColour() {
        var g = cfg
        g.grayscale = true
        let planC = SynthDataset(seed: 5, count: 1, config: cfg).plan(ofClip: 0)
        let planG = SynthDataset(seed: 5, count: 1, config: g).plan(ofClip: 0)
        let gray = ClipRenderer(plan: planG).frame(4).pixels
        XCTAssertEqual(gray.count, 320 * 240)
        let (clean, _) = ClipRenderer(plan: planC).renderClean(4)
        // Mean over the frame: luma of the clean colour render × gain, noise averages out
        // (σ ≤ 6 levels over 76800 pixels: standard error < 0.03 levels; blur preserves the mean
        // up to border effects, clipping at 0/255 may shift it slightly).
        var lumaSum = 0.0
        for p in 0..<(320 * 240) {
            lumaSum += 0.299 * Double(clean.pixels[p * 3]) + 0.587 * Double(clean.pixels[p * 3 + 1]) + 0.114 * Double(clean.pixels[p * 3 + 2])
        }
        let expected = lumaSum / Double(320 * 240) * planC.scene.gain * 255
        let got = Double(gray.reduce(0) { $0 + Int($1) }) / Double(gray.count)
        XCTAssertEqual(got, min(255, expected), accuracy: 1.5)
    }

    /// The face box of frames.csv covers the drawn face: removing the people from the scene
    /// changes (nearly) every pixel of the box's central half, the eyes and mouth lie inside
    /// the box, and the box is not much larger than the face.
    func testGroundTruthBoxCoversTheRenderedFace() {
        let ds = SynthDataset(seed: 11, count: 8, config: cfg)
        for i in 0..<8 {
            var plan = ds.plan(ofClip: i)
            plan.occluder = nil
            let (withFaces, faces) = ClipRenderer(plan: plan).renderClean(20)
            var empty = plan
            empty.faces = []
            let (without, _) = ClipRenderer(plan: empty).renderClean(0)
            for f in faces {
                let b = f.box(frameWidth: 320, frameHeight: 240)
                var changed = 0, total = 0
                for y in (b.y + b.h / 4)..<(b.y + 3 * b.h / 4) {
                    for x in (b.x + b.w / 4)..<(b.x + 3 * b.w / 4) {
                        let k = (y * 320 + x) * 3
                        let d = abs(withFaces.pixels[k] - without.pixels[k]) + abs(withFaces.pixels[k + 1] - without.pixels[k + 1])
                            + abs(withFaces.pixels[k + 2] - without.pixels[k + 2])
                        total += 1
                        if d > 1e-4 { changed += 1 }
                    }
                }
                XCTAssertGreaterThan(Double(changed) / Double(total), 0.99, "clip \(i) track \(f.track)")
                // Eyes and mouth centres (local → pixel) inside the box.
                let id = plan.faces[f.track].identity
                for (u, v) in [(-id.eyeSpacing, id.eyeHeight), (id.eyeSpacing, id.eyeHeight), (0, id.mouthHeight)] {
                    let px = f.centreX + f.halfWidth * (cos(f.roll) * u - sin(f.roll) * v)
                    let py = f.centreY + f.halfWidth * (sin(f.roll) * u + cos(f.roll) * v)
                    XCTAssertTrue(Double(b.x) < px && px < Double(b.x + b.w) && Double(b.y) < py && py < Double(b.y + b.h),
                                  "clip \(i): feature (\(u), \(v)) at (\(px), \(py)) outside box \(b)")
                }
                XCTAssertLessThan(Double(b.w), 2.5 * f.halfWidth)
            }
        }
    }

    /// Each expression's apex visibly changes the face; fear and surprise apexes render the
    /// same pixels (they differ only in time).
    func testApexDiffersFromNeutralExceptTheTemporalPair() {
        let plan = SynthDataset(seed: 21, count: 1, config: cfg).plan(ofClip: 0)
        var face = plan.faceFrames(at: 0)[0]
        face.blink = 0
        let id = plan.faces[0].identity
        func render(_ a: FaceActions) -> [Float] {
            var c = Canvas(width: 320, height: 240)
            var f = face
            f.actions = a
            FaceRenderer.render(f, identity: id, into: &c, lightDir: (1, 0), lightStrength: 0, light: { _, _ in 1 })
            return c.pixels
        }
        let neutral = render(FaceActions())
        var apexes: [ExpressionClass: [Float]] = [:]
        for c in ExpressionClass.allCases {
            let img = render(FaceActions.apex(c))
            apexes[c] = img
            let diff = zip(img, neutral).map { abs($0 - $1) }
            let changed = diff.filter { $0 > 0.05 }.count / 3
            if c == .neutral {
                XCTAssertEqual(changed, 0)
            } else {
                // At least 1.5 % of the face box area changes by more than 0.05 (≈ 13 levels).
                let boxArea = pow(GroundTruthBox.side * face.halfWidth, 2)
                XCTAssertGreaterThan(Double(changed), 0.015 * boxArea, "\(c) apex barely differs from neutral")
            }
        }
        XCTAssertEqual(apexes[.fear], apexes[.surprise])
        XCTAssertNotEqual(apexes[.happy], apexes[.sad])
    }

    func testBlinkClosesTheEyes() {
        let plan = SynthDataset(seed: 4, count: 1, config: cfg).plan(ofClip: 0)
        var face = plan.faceFrames(at: 0)[0]
        face.actions = FaceActions()
        face.roll = 0
        let id = plan.faces[0].identity
        func eyeMean(blink: Double) -> Double {
            var c = Canvas(width: 320, height: 240)
            var f = face
            f.blink = blink
            FaceRenderer.render(f, identity: id, into: &c, lightDir: (1, 0), lightStrength: 0, light: { _, _ in 1 })
            // Mean brightness over the right eye's almond.
            let cx = f.centreX + id.eyeSpacing * f.halfWidth, cy = f.centreY + id.eyeHeight * f.halfWidth
            let rx = Int(id.eyeWidth * f.halfWidth * 0.7), ry = max(1, Int(0.03 * f.halfWidth))
            var s = 0.0, n = 0.0
            for y in (Int(cy) - ry)...(Int(cy) + ry) {
                for x in (Int(cx) - rx)...(Int(cx) + rx) {
                    let k = (y * 320 + x) * 3
                    s += Double(c.pixels[k] + c.pixels[k + 1] + c.pixels[k + 2]) / 3
                    n += 1
                }
            }
            return s / n
        }
        // Open: dark iris and pupil dominate the centre of the eye; shut: skin of the lid.
        XCTAssertNotEqual(eyeMean(blink: 0), eyeMean(blink: 1), accuracy: 0.03)
    }
}
