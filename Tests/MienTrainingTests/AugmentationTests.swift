import XCTest
import MienCore
import MienVision
@testable import MienTraining

/// The image operations of augmentation, against OpenCV (an independent implementation) and
/// exact identities.
final class AugmentationTests: XCTestCase {
    /// A smooth 64×64 test face-like image: a blob plus gradients (values 0–255, integers so
    /// OpenCV sees the same input).
    func smoothImage(side: Int = 64) -> [UInt8] {
        (0..<(side * side)).map { i in
            let x = Double(i % side), y = Double(i / side)
            let blob = 120 * exp(-((x - 40) * (x - 40) + (y - 24) * (y - 24)) / 120)
            return UInt8(max(0, min(255, (30 + 2 * x + y + blob).rounded())))
        }
    }

    func testRotationZoomWarpAgreesWithOpenCVWarpAffine() throws {
        let side = 64
        let src = smoothImage()
        let cases: [(Double, Double)] = [(10, 1), (-10, 1), (0, 1.1), (0, 0.9), (7.5, 1.08), (-9, 0.93)]
        var worst: Float = 0
        for (deg, scale) in cases {
            let m = ImageOps.rotationZoom(degrees: deg, scale: scale, side: side)
            let mine = ImageOps.affineWarp(src.map(Float.init), side: side, forward: m)
            let cv = try warpCrop(GrayImage(width: side, height: side, pixels: src), transform: m, size: side)
            var maxDiff: Float = 0, sum: Float = 0
            for i in 0..<(side * side) {
                let d = abs(mine[i].rounded() - Float(cv.pixels[i]))
                maxDiff = max(maxDiff, d); sum += d
            }
            worst = max(worst, maxDiff)
            // OpenCV interpolates 8-bit images with coordinates quantised to 1/32 pixel and
            // 15-bit fixed-point weights; on this image (gradients ≤ ~12 levels/pixel) that
            // moves a pixel by at most 1 gray level after rounding.
            XCTAssertLessThanOrEqual(maxDiff, 1, "rotation \(deg)° zoom \(scale): largest difference \(maxDiff)")
            XCTAssertLessThan(sum / Float(side * side), 0.2, "rotation \(deg)° zoom \(scale): mean difference")
        }
        print("augmentation warp vs OpenCV warpAffine: largest difference \(worst) gray levels")
    }

    func testIdentityWarpIsExactAndRotationBy90IsAPermutation() {
        let side = 8
        let src = (0..<(side * side)).map { Float($0) }
        XCTAssertEqual(ImageOps.affineWarp(src, side: side, forward: ImageOps.rotationZoom(degrees: 0, scale: 1, side: side)), src)
        // 90° counter-clockwise about the centre: destination (x, y) shows source (side-1-y, x).
        let r = ImageOps.affineWarp(src, side: side, forward: ImageOps.rotationZoom(degrees: 90, scale: 1, side: side))
        for y in 0..<side { for x in 0..<side {
            XCTAssertEqual(r[y * side + x], src[x * side + (side - 1 - y)], accuracy: 1e-3, "pixel (\(x), \(y))")
        }}
    }

    func testFlipBrightnessContrast() {
        let side = 4
        let src: [Float] = (0..<16).map { Float($0 * 10) }
        let f = ImageOps.flipHorizontal(src, side: side)
        XCTAssertEqual(Array(f[0..<4]), [30, 20, 10, 0])
        XCTAssertEqual(ImageOps.flipHorizontal(f, side: side), src)
        // mean 75: (x − 75)·1.5 + 75 + 10, clamped to [0, 255].
        let bc = ImageOps.brightnessContrast(src, brightness: 10, contrast: 1.5)
        for (a, b) in zip(src, bc) { XCTAssertEqual(b, min(255, max(0, (a - 75) * 1.5 + 85)), accuracy: 1e-4) }
        XCTAssertEqual(ImageOps.brightnessContrast([250, 250], brightness: 20, contrast: 1), [255, 255])
    }

    func testAugmentationIsSeededAndParsesItsOptions() throws {
        let a = try Augmentation.parse("rotation,flip,zoom,brightness,contrast")
        XCTAssertEqual(a.rotationDegrees, 10); XCTAssertTrue(a.flip); XCTAssertEqual(a.zoom, 0.1)
        XCTAssertTrue(try Augmentation.parse("none").isIdentity)
        XCTAssertThrowsError(try Augmentation.parse("rotation,shear")) { e in
            XCTAssertTrue("\(e)".contains("shear"), "\(e)")
        }
        let img = smoothImage().map(Float.init)
        var r1 = SplitMix64(seed: 5), r2 = SplitMix64(seed: 5), r3 = SplitMix64(seed: 6)
        let x1 = a.apply(img, side: 64, rng: &r1), x2 = a.apply(img, side: 64, rng: &r2), x3 = a.apply(img, side: 64, rng: &r3)
        XCTAssertEqual(x1, x2)
        XCTAssertNotEqual(x1, x3)
        XCTAssertNotEqual(x1, img)
        XCTAssertTrue(x1.allSatisfy { $0 >= 0 && $0 <= 255 })
        // Five draws per image whatever is enabled.
        var r4 = SplitMix64(seed: 5)
        _ = try Augmentation.parse("flip").apply(img, side: 64, rng: &r4)
        XCTAssertEqual(r4.state, r1.state)
    }

    /// Shift moves the picture by whole pixels when nothing else warps it; erasing replaces one
    /// rectangle and leaves the rest; both draw only when enabled (so the five first draws are
    /// those of a run without them) and are seeded.
    func testShiftAndErasing() throws {
        let img = smoothImage().map(Float.init)
        var shift = Augmentation(); shift.shift = 0.1
        var r = SplitMix64(seed: 9)
        let shifted = shift.apply(img, side: 64, rng: &r)
        XCTAssertNotEqual(shifted, img)
        // Some integer-free shift: the centre pixel moved, and every output is an image value mix.
        XCTAssertTrue(shifted.allSatisfy { $0 >= 0 && $0 <= 255 })
        var erase = Augmentation(); erase.erasing = 1
        var r1 = SplitMix64(seed: 10)
        let erased = erase.apply(img, side: 64, rng: &r1)
        let changed = zip(erased, img).filter { $0 != $1 }.count
        XCTAssertGreaterThan(changed, Int(0.01 * 4096), "a rectangle of 2–20 % is erased")
        XCTAssertLessThanOrEqual(changed, Int(0.21 * 4096))
        var r2 = SplitMix64(seed: 10)
        XCTAssertEqual(erase.apply(img, side: 64, rng: &r2), erased)
        // With both off, the draws are the first five only.
        var a = SplitMix64(seed: 11), b = SplitMix64(seed: 11)
        _ = Augmentation().apply(img, side: 64, rng: &a)
        for _ in 0..<5 { _ = b.next() }
        XCTAssertEqual(a.state, b.state)
        XCTAssertEqual(try Augmentation.parse("shift,erasing").description, "shift ±10 %, erasing p 0.5")
    }
}
