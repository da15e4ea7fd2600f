import Foundation
import XCTest
@testable import MienVision

final class ImageTests: XCTestCase {
    /// Grayscale reading of the astronaut fixture equals the BGR read converted to gray, and the
    /// conversion follows BT.601 weights (checked by hand on one pixel, ±1 for rounding).
    func testReadGrayAndColourAgree() throws {
        let path = fixturesDirectory.appendingPathComponent("astronaut.jpg").path
        let gray = try GrayImage.read(path: path)
        let bgr = try BGRImage.read(path: path)
        XCTAssertEqual(gray.width, 512)
        XCTAssertEqual(gray.height, 512)
        XCTAssertEqual(bgr.width, 512)
        let converted = bgr.gray()
        XCTAssertEqual(gray, converted)
        // Independent check of the BT.601 weights on one pixel.
        let i = 200 * 512 + 300
        let b = Double(bgr.pixels[i * 3]), g = Double(bgr.pixels[i * 3 + 1]), r = Double(bgr.pixels[i * 3 + 2])
        XCTAssertEqual(Double(converted.pixels[i]), (0.299 * r + 0.587 * g + 0.114 * b).rounded(), accuracy: 1)
    }

    /// Area resize against a naive box-filter reference for an exact 4:1 shrink (where
    /// INTER_AREA is exactly the mean of each 4×4 block, rounded), largest difference ≤ 1.
    func testAreaResizeMatchesBlockMean() throws {
        var pixels = [UInt8](repeating: 0, count: 64 * 48)
        var state: UInt32 = 12345
        for i in pixels.indices {
            state = state &* 1_664_525 &+ 1_013_904_223
            pixels[i] = UInt8(truncatingIfNeeded: state >> 24)
        }
        let image = GrayImage(width: 64, height: 48, pixels: pixels)
        let small = try image.resized(width: 16, height: 12, interpolation: .area)
        var worst = 0
        for y in 0..<12 {
            for x in 0..<16 {
                var sum = 0
                for dy in 0..<4 { for dx in 0..<4 { sum += Int(image[x * 4 + dx, y * 4 + dy]) } }
                let mean = Int((Double(sum) / 16).rounded())
                worst = max(worst, abs(mean - Int(small[x, y])))
            }
        }
        XCTAssertLessThanOrEqual(worst, 1, "largest difference \(worst)")
        let linear = try image.resized(width: 128, height: 96, interpolation: .linear)
        XCTAssertEqual(linear.pixels.count, 128 * 96)
    }

    /// Block averaging with a factor that does not divide the sides (67×50 by 6 → 11×8, the last
    /// column and 2 rows left out) against the rounded block means in Double: ≤ 1 grey level.
    func testBlockAverageDropsTheRemainderAndMatchesTheMeans() throws {
        var state: UInt32 = 777
        let image = GrayImage(width: 67, height: 50, pixels: (0..<67 * 50).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        })
        let small = try image.blockAveraged(by: 6)
        XCTAssertEqual(small.width, 11)
        XCTAssertEqual(small.height, 8)
        var worst = 0
        for y in 0..<8 {
            for x in 0..<11 {
                var sum = 0
                for dy in 0..<6 { for dx in 0..<6 { sum += Int(image[x * 6 + dx, y * 6 + dy]) } }
                worst = max(worst, abs(Int((Double(sum) / 36).rounded()) - Int(small[x, y])))
            }
        }
        XCTAssertLessThanOrEqual(worst, 1, "largest difference \(worst)")
        XCTAssertEqual(try image.blockAveraged(by: 1), image)
        XCTAssertThrowsError(try image.blockAveraged(by: 0))
        XCTAssertThrowsError(try image.blockAveraged(by: 51), "a factor above the shorter side")
    }

    func testWriteThenReadRoundTripsLosslessly() throws {
        let dir = try makeTemporaryDirectory(self)
        let image = GrayImage(width: 7, height: 5, pixels: (0..<35).map { UInt8($0 * 7) })
        let path = dir.appendingPathComponent("g.png").path
        try image.write(path: path)
        XCTAssertEqual(try GrayImage.read(path: path), image)
        XCTAssertEqual(try imageSize(path: path).width, 7)
    }
}
