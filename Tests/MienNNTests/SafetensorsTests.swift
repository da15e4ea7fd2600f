import Foundation
import XCTest
@testable import MienNN

final class SafetensorsTests: XCTestCase {
    func testRoundTripAndExactLayout() throws {
        let t = ["b": Tensor(shape: [2, 2], data: [1, -2, 3.5, 4]), "a": Tensor(shape: [3], data: [0.25, 0, -1])]
        let bytes = Safetensors.serialize(t, metadata: ["k": "v"])
        // 8-byte little-endian header length, header padded to a multiple of 8.
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(bytes.count, 8 + n + 4 * 7)
        // First tensor by name ("a") starts right after the header: 0.25f = 0x3E800000 little-endian.
        XCTAssertEqual(Array(bytes[(8 + n)..<(8 + n + 4)]), [0x00, 0x00, 0x80, 0x3E])
        let back = try Safetensors.parse(bytes, path: "mem")
        XCTAssertEqual(back.tensors["a"], t["a"]); XCTAssertEqual(back.tensors["b"], t["b"])
        XCTAssertEqual(back.metadata, ["k": "v"])
        XCTAssertEqual(back.names, ["a", "b"])
    }

    func testReadsFloat64AndRejectsBadOffsets() throws {
        func file(_ header: String, _ data: [UInt8]) -> [UInt8] {
            var h = Array(header.utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            let l = UInt64(h.count)
            return (0..<8).map { UInt8((l >> (8 * UInt64($0))) & 0xFF) } + h + data
        }
        let one = Array(withUnsafeBytes(of: (1.5 as Double).bitPattern.littleEndian) { Array($0) })
        let ok = try Safetensors.parse(file(#"{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, one), path: "f.safetensors")
        XCTAssertEqual(ok.tensors["x"]?.data, [1.5])
        XCTAssertEqual(ok.dtypes["x"], "F64")
        XCTAssertThrowsError(try Safetensors.parse(file(#"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, one), path: "f.safetensors")) {
            XCTAssertEqual(($0 as! NNError).description, "f.safetensors is not a valid file: tensor 'x' has 8 bytes but shape [3] of F32 needs 12")
        }
        XCTAssertThrowsError(try Safetensors.parse(file(#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, one), path: "f.safetensors")) {
            XCTAssertTrue(($0 as! NNError).description.contains("tensor 'x' data_offsets [0, 16] lie outside the 8 data bytes"))
        }
        XCTAssertThrowsError(try Safetensors.parse(file(#"{"x":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}"#, one), path: "f.safetensors")) {
            XCTAssertEqual(($0 as! NNError).description, "f.safetensors: tensor 'x' has dtype BF16; supported are F32, F64, F16, I32, I64")
        }
        XCTAssertThrowsError(try Safetensors.parse(file("{not json", one), path: "f.safetensors")) {
            XCTAssertEqual(($0 as! NNError).description, "f.safetensors is not a valid file: the JSON header does not parse")
        }
        XCTAssertThrowsError(try Safetensors.parse([255, 255, 255, 255, 0, 0, 0, 0, 1], path: "f.safetensors")) {
            XCTAssertTrue(($0 as! NNError).description.contains("header length 4294967295 exceeds the file size 9"))
        }
    }
}
