import Foundation
import XCTest
@testable import MienCluster

final class JSONLineTests: XCTestCase {
    /// Numbers of the JSONL sinks: integers as integers, the rest as C's `%.6g` — the C library's
    /// formatting against Foundation's `String(format:)` on probabilities, boxes, times, tiny,
    /// huge and negative values; non-finite values are JSON's null.
    func testNumbersMatchPrintfsShortestSixDigits() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var values: [Double] = [0.5, 0.1234567, 1e-7, 3.0e-12, 123_456.789, 1e15, 1e16, -2.5, -0.000123456789, 96.44, 0.999_999_7]
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Double(state >> 11) / Double(1 << 53)
            values.append(unit)
            values.append((unit - 0.5) * pow(10, Double(Int(state % 25)) - 12))
        }
        for v in values {
            let expected = v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.6g", v)
            XCTAssertEqual(JSONLine.number(v), expected, "\(v)")
        }
        XCTAssertEqual(JSONLine.number(3), "3")
        XCTAssertEqual(JSONLine.number(.nan), "null")
        XCTAssertEqual(JSONLine.number(-.infinity), "null")
        var line = JSONLine()
        line.add("probs", probs: [0.25, 1e-9], labels: ["happy", "sad"])
        XCTAssertEqual(line.string, #"{"probs":{"happy":0.25,"sad":1e-09}}"#)
    }
}
