import Foundation
import MienSynth
import XCTest
@testable import MienVision

/// Mien's flat evaluator of dlib's shape-predictor models (CMienVision's shape_model.cpp) against
/// dlib's own `shape_predictor::operator()` (`referenceLandmarks`). Tolerance: none. Both give
/// whole pixels (dlib rounds its points) and the flat evaluator does dlib's arithmetic in dlib's
/// order, so the landmarks must be identical, and so must the leaf that each of the 7500 trees
/// chooses, which is finer than landmarks rounded to pixels: one feature pixel read differently or
/// one threshold compared the other way changes the leaves. Checked by breaking the evaluator on
/// purpose: leaving out the leaves of the first cascade level, or of the last (whose leaves the
/// trees still choose: only the landmarks show it, in 48 of the 75 fits with the 5-point model),
/// comparing with ≥, reading 255 outside the image or truncating instead of rounding each fail
/// both model tests.
final class LandmarkerTests: XCTestCase {
    private struct Case {
        let name: String
        let image: GrayImage
        let box: FaceBox
    }

    /// The bundled 5-point model against dlib on every case.
    func testFivePointModelEqualsDlib() throws {
        try checkEqualsDlib(try Landmarker.shared(), cases: try cases())
    }

    /// Debian's 68-point model against dlib on every case (skipped when libdlib-data is absent).
    func testSixtyEightPointModelEqualsDlib() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Landmarker.default68ModelPath),
                          "\(Landmarker.default68ModelPath) is missing: install Debian's libdlib-data to compare the 68-point model")
        try checkEqualsDlib(try landmarker68(), cases: try cases())
    }

    /// Mien's reader of dlib's format (shape_model.cpp's ByteDecoder) against dlib's stream
    /// decoding into the same flat layout: every array bit for bit, for the bundled 5-point model
    /// and Debian's 68-point one. Checked by breaking the reader on purpose: dropping the sign of
    /// signed integers (so of floats' mantissas) or adding 1 to floats' exponents each fail it for
    /// both models. A one-bit change to the model's very last value (the y offset of the last
    /// feature pixel) makes the comparison fail too.
    func testReaderEqualsDlibDecoding() throws {
        let five = Landmarker.defaultModelPath
        XCTAssertTrue(try Landmarker(modelPath: five).hasIdenticalModel(to: try Landmarker(modelPath: five, decoding: .dlib)),
                      "\(five): Mien's reader and dlib's decoding give different models")

        var bytes = try Data(contentsOf: URL(fileURLWithPath: five))
        let n = bytes.count
        // The last float: a 3-byte mantissa and a 1-byte negative exponent (control bytes 0x03 or 0x83, 0x81).
        XCTAssertEqual(bytes[n - 6] & 0x7F, 0x03)
        XCTAssertEqual(bytes[n - 2], 0x81)
        bytes[n - 5] ^= 1
        let dir = try makeTemporaryDirectory(self)
        let changed = dir.appendingPathComponent("changed.dat")
        try bytes.write(to: changed)
        XCTAssertFalse(try Landmarker(modelPath: changed.path).hasIdenticalModel(to: try Landmarker(modelPath: five)),
                       "a model with its last value changed compares equal")
        XCTAssertTrue(try Landmarker(modelPath: changed.path).hasIdenticalModel(to: try Landmarker(modelPath: changed.path, decoding: .dlib)))

        try XCTSkipUnless(FileManager.default.fileExists(atPath: Landmarker.default68ModelPath),
                          "\(Landmarker.default68ModelPath) is missing: install Debian's libdlib-data to compare the 68-point model")
        XCTAssertTrue(try landmarker68().hasIdenticalModel(to: try Landmarker(modelPath: Landmarker.default68ModelPath, decoding: .dlib)),
                      "\(Landmarker.default68ModelPath): Mien's reader and dlib's decoding give different models")
    }

    /// Truncated and garbled copies of the 5-point model are corrupt files, with the reason and
    /// the byte in the message: cut inside the version, inside a length (the first cascade
    /// level's tree count, 500 in two bytes), inside the initial shape, in the middle, inside the
    /// last float's mantissa and inside its exponent (dlib's decoding refuses the truncated ones
    /// too); control bytes out of range, a float in dlib's old text format, a matrix whose
    /// dimensions disagree, and a tree's split count garbled into 2^60-odd (refused before
    /// anything is allocated). Reading unsigned integers' control bytes without their sign bit
    /// (dlib's mask is 0x8F), or signed integers without their sign, fails it.
    func testTruncatedAndGarbledModelsAreCorrupt() throws {
        let model = try Data(contentsOf: URL(fileURLWithPath: Landmarker.defaultModelPath))
        let n = model.count
        // The layout these offsets rely on: version 1 (01 01), the initial shape's rows and
        // columns (−10, −1: 81 0a 81 01), its first float's mantissa control (3 bytes: 03); at 0x42
        // the number of levels (15: 01 0f), the first level's trees (500: 02 f4 01), the first
        // tree's splits (15: 01 0f).
        XCTAssertEqual([UInt8](model.prefix(7)), [0x01, 0x01, 0x81, 0x0a, 0x81, 0x01, 0x03])
        XCTAssertEqual([UInt8](model[0x42..<0x49]), [0x01, 0x0f, 0x02, 0xf4, 0x01, 0x01, 0x0f])
        let dir = try makeTemporaryDirectory(self)
        func write(_ name: String, _ bytes: Data) throws -> String {
            let url = dir.appendingPathComponent(name)
            try bytes.write(to: url)
            return url.path
        }
        func expectCorrupt(_ path: String, _ reason: String, dlibToo: Bool = false, line: UInt = #line) {
            XCTAssertThrowsError(try Landmarker(modelPath: path), line: line) { error in
                let e = error as? VisionError
                XCTAssertEqual(e?.code, .corrupt, "\(error)", line: line)
                XCTAssertTrue(e?.message.contains(reason) ?? false, "\(error) does not say \"\(reason)\"", line: line)
            }
            if dlibToo {
                XCTAssertThrowsError(try Landmarker(modelPath: path, decoding: .dlib), line: line) { error in
                    XCTAssertEqual((error as? VisionError)?.code, .corrupt, "\(error)", line: line)
                }
            }
        }
        let cuts: [(Int, String)] = [
            (1, "truncated inside an int starting at byte 0 of 1"),
            (0x46, "truncated inside an unsigned long starting at byte 68 of 70"),
            (9, "10 rows of a column vector, more than the bytes left can hold"),
            (n / 2, " of \(n / 2)"),
            (n - 4, "truncated inside a float's mantissa starting at byte \(n - 6)"),
            (n - 1, "truncated inside a float's exponent starting at byte \(n - 2)"),
        ]
        for (cut, reason) in cuts {
            expectCorrupt(try write("cut\(cut).dat", model.prefix(cut)), reason, dlibToo: true)
        }
        func garbled(_ offset: Int, _ byte: UInt8) throws -> String {
            var bytes = model
            bytes[offset] = byte
            return try write("byte\(offset)-\(byte).dat", bytes)
        }
        expectCorrupt(try garbled(0, 0x09), "bad control byte 0x09 (9 bytes) of an int at byte 0")
        expectCorrupt(try garbled(0, 0x00), "bad control byte 0x00 (0 bytes) of an int at byte 0")
        expectCorrupt(try garbled(6, 0x0c), "bad control byte 0x0c (12 bytes) of a float's mantissa at byte 6")
        expectCorrupt(try garbled(0x42, 0x81), "bad control byte 0x81 (129 bytes) of an unsigned long at byte 66")
        expectCorrupt(try garbled(6, 0x33), "a float in dlib's old text format (first byte 0x33) at byte 6")
        expectCorrupt(try garbled(4, 0x01), "a column vector with -1 columns") // rows −10, columns +1: both negated
        expectCorrupt(try garbled(0x47, 0x08), "elements of a vector, more than the bytes left can hold")
    }

    /// A box must overlap the image and be finite; both evaluators refuse the same boxes.
    func testBadBoxesAreErrors() throws {
        let landmarker = try Landmarker.shared()
        let image = GrayImage(width: 64, height: 48, pixels: .init(repeating: 100, count: 64 * 48))
        let bad = [FaceBox(x: 64, y: 0, width: 10, height: 10), FaceBox(x: -10, y: 5, width: 10, height: 10),
                   FaceBox(x: .nan, y: 0, width: 10, height: 10), FaceBox(x: 0, y: 0, width: .infinity, height: 10),
                   FaceBox(x: 0, y: 0, width: 0, height: 10), FaceBox(x: 0, y: 0, width: 10, height: -1)]
        for box in bad {
            XCTAssertThrowsError(try landmarker.landmarks(in: image, box: box), "\(box)")
            XCTAssertThrowsError(try landmarker.referenceLandmarks(in: image, box: box), "\(box)")
        }
    }

    private func checkEqualsDlib(_ landmarker: Landmarker, cases: [Case]) throws {
        var worst: Float = 0, worstCase = "", differing = 0, differingLeaves = 0
        for c in cases {
            let flat = try landmarker.landmarks(in: c.image, box: c.box)
            let dlib = try landmarker.referenceLandmarks(in: c.image, box: c.box)
            XCTAssertEqual(flat.count, landmarker.pointCount)
            let delta = zip(flat, dlib).map { max(abs($0.x - $1.x), abs($0.y - $1.y)) }.max() ?? .infinity
            if delta > 0 { differing += 1 }
            if delta > worst { worst = delta; worstCase = c.name }
            let leaves = try landmarker.leafSequence(in: c.image, box: c.box, reference: false)
            let dlibLeaves = try landmarker.leafSequence(in: c.image, box: c.box, reference: true)
            XCTAssertEqual(leaves.count, 7500, "15 cascade levels × 500 trees")
            if leaves != dlibLeaves { differingLeaves += 1 }
        }
        XCTAssertEqual(worst, 0, "\(landmarker.pointCount) points: \(differing) of \(cases.count) fits differ, largest |Δ| \(worst) px (\(worstCase))")
        XCTAssertEqual(differingLeaves, 0, "\(landmarker.pointCount) points: \(differingLeaves) of \(cases.count) fits chose other leaves")
    }

    /// The three annotated photographs with their annotated and detected boxes, seeded random
    /// boxes around the face, boxes hanging off each side and corner, tiny boxes and one larger
    /// than the image; Grace Hopper's photograph enlarged 4× (a 790 px face: the last cascade
    /// levels' corrections, hundredths of the box, then move points by whole pixels); faces of
    /// synthetic clips (MienSynth, seeded) with their true boxes.
    private func cases() throws -> [Case] {
        var cases: [Case] = []
        var rng = SeededRandom(seed: 2024)
        let detector = try FaceDetector()
        for reference in try referenceImages() {
            let image = try GrayImage.read(path: reference.resolvedPath)
            let face = reference.faces[0].box
            let w = Float(image.width), h = Float(image.height)
            var boxes = [("annotated", face)] + (try detector.detect(image)).map { ("detected", $0) }
            for i in 0..<8 {
                let s = face.width * Float(rng.uniform(0.6, 1.6))
                let x = face.x + face.width * Float(rng.uniform(-0.25, 0.25)), y = face.y + face.height * Float(rng.uniform(-0.25, 0.25))
                boxes.append(("jittered \(i)", FaceBox(x: x, y: y, width: s, height: s * Float(rng.uniform(0.9, 1.2)))))
            }
            let side = face.width
            boxes += [("off the left", FaceBox(x: -side / 2, y: face.y, width: side, height: side)),
                      ("off the top", FaceBox(x: face.x, y: -side / 2, width: side, height: side)),
                      ("off the right", FaceBox(x: w - side / 2, y: face.y, width: side, height: side)),
                      ("off the bottom", FaceBox(x: face.x, y: h - side / 3, width: side, height: side)),
                      ("off the top-left corner", FaceBox(x: -side * 0.6, y: -side * 0.4, width: side, height: side)),
                      ("off the bottom-right corner", FaceBox(x: w - side * 0.3, y: h - side * 0.7, width: side, height: side)),
                      ("larger than the image", FaceBox(x: -40, y: -30, width: w + 80, height: h + 60)),
                      ("0.4 px", FaceBox(x: face.x + 20.3, y: face.y + 20.3, width: 0.4, height: 0.4)),
                      ("1 px", FaceBox(x: face.x + 20, y: face.y + 20, width: 1, height: 1)),
                      ("2×3 px", FaceBox(x: face.x + 10.5, y: face.y + 12, width: 2, height: 3)),
                      ("5 px", FaceBox(x: face.x + 30, y: face.y + 30, width: 5, height: 5))]
            cases += boxes.map { Case(name: "\(reference.name), \($0.0)", image: image, box: $0.1) }
            if reference.name == "grace_hopper" {
                let big = try image.resized(width: image.width * 4, height: image.height * 4, interpolation: .linear)
                let b = FaceBox(x: face.x * 4, y: face.y * 4, width: face.width * 4, height: face.height * 4)
                cases.append(Case(name: "grace_hopper ×4", image: big, box: b))
                cases.append(Case(name: "grace_hopper ×4, shifted", image: big, box: FaceBox(x: b.x + 37, y: b.y - 23, width: b.width * 0.9, height: b.height * 0.95)))
            }
        }
        for frame in syntheticFrames(seed: 11, clips: 3, indices: [0, 25]) {
            for face in frame.faces {
                cases.append(Case(name: "synthetic clip \(frame.clip) frame \(frame.index) face \(face.track)", image: frame.image, box: face.box))
            }
        }
        return cases
    }
}
