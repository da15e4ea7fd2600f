import Foundation
import XCTest
import CMienVision.Testing
@_spi(Reference) @testable import MienVision

extension FaceDetector {
    /// Breaks Mien's Haar evaluator on purpose (1: no variance normalisation, 2: windows stepped
    /// by 1 px, 3: a feature rectangle 1 px wider) or selects its scalar path (4); 0 restores it.
    /// A test hook of the C shim (CMienVision.Testing), not part of MienVision's API.
    func setHaarDebugMode(_ mode: Int) {
        if let haar { mien_haar_set_debug_mode(haar, Int32(mode)) }
    }
}

final class FaceDetectorTests: XCTestCase {
    /// Each hand-annotated face in the three real photographs is found by the Haar detector
    /// with IoU ≥ 0.5.
    func testHaarFindsReferenceFaces() throws {
        let detector = try FaceDetector()
        for image in try referenceImages() {
            let gray = try GrayImage.read(path: image.resolvedPath)
            let boxes = try detector.detect(gray)
            for face in image.faces {
                let best = boxes.map { $0.iou(face.box) }.max() ?? 0
                XCTAssertGreaterThanOrEqual(best, 0.5, "\(image.name): best IoU \(best), boxes \(boxes)")
            }
        }
    }

    /// A frame larger than maxSide is detected on a downscaled copy; boxes come back in the
    /// original coordinates (the astronaut upscaled 3× must give the 1× box times 3).
    func testDownscaledDetectionReturnsOriginalCoordinates() throws {
        let gray = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        let big = try gray.resized(width: 1536, height: 1536, interpolation: .linear)
        let detector = try FaceDetector(options: .init(maxSide: 512))
        let small = try detector.detect(gray)
        let large = try detector.detect(big)
        XCTAssertEqual(small.count, 1)
        XCTAssertEqual(large.count, 1)
        let scaled = FaceBox(x: small[0].x * 3, y: small[0].y * 3, width: small[0].width * 3, height: small[0].height * 3)
        XCTAssertGreaterThan(large[0].iou(scaled), 0.85)
    }

    func testBlankImageHasNoFacesAndMinSizeFilters() throws {
        let detector = try FaceDetector()
        XCTAssertEqual(try detector.detect(GrayImage(width: 320, height: 240, pixels: .init(repeating: 128, count: 320 * 240))), [])
        let gray = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        let strict = try FaceDetector(options: .init(minSize: 200))
        XCTAssertEqual(try strict.detect(gray), [], "a ~95 px face must be dropped with minSize 200")
    }

    func testMissingCascadeIsATypedError() {
        XCTAssertThrowsError(try FaceDetector(options: .init(cascadePath: "/nonexistent/cascade.xml"))) { error in
            let e = error as? VisionError
            XCTAssertEqual(e?.code, .notFound)
            XCTAssertEqual(e?.path, "/nonexistent/cascade.xml")
        }
        XCTAssertThrowsError(try FaceDetector(options: .init(scaleFactor: 1.0)))
    }

    /// A garbled or truncated cascade file is the file's fault: `.corrupt`, naming it, with
    /// OpenCV's reason (OpenCV's parser throws; that was reported as an internal failure).
    func testGarbledCascadeIsReportedAsCorrupt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-cascade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try Data(contentsOf: URL(fileURLWithPath: FaceDetector.defaultCascadePath))
        let cases: [(String, Data)] = [
            ("truncated.xml", original.prefix(original.count / 2)),
            ("garbled.xml", Data("<?xml version=\"1.0\"?>\n<opencv_storage><cascade>\u{1}\u{2} not xml".utf8)),
            ("other.xml", Data("<?xml version=\"1.0\"?>\n<opencv_storage><answer>42</answer></opencv_storage>\n".utf8)),
        ]
        for (name, bytes) in cases {
            let path = dir.appendingPathComponent(name).path
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try FaceDetector(options: .init(cascadePath: path)), name) { error in
                let e = error as? VisionError
                XCTAssertEqual(e?.code, .corrupt, "\(name): \(error)")
                XCTAssertEqual(e?.path, path)
                XCTAssertTrue("\(error)".contains("not a valid OpenCV cascade XML"), "\(name): \(error)")
            }
        }
    }
}

final class HOGDetectorTests: XCTestCase {
    /// dlib's HOG detector also finds each reference face with IoU ≥ 0.5 (upsampled once for
    /// messi5's 38 px face).
    func testHOGFindsReferenceFaces() throws {
        let detector = try FaceDetector(options: .init(backend: .hog, minSize: 20, upsample: 1))
        for image in try referenceImages() {
            let gray = try GrayImage.read(path: image.resolvedPath)
            let boxes = try detector.detect(gray)
            for face in image.faces {
                let best = boxes.map { $0.iou(face.box) }.max() ?? 0
                XCTAssertGreaterThanOrEqual(best, 0.5, "\(image.name): best IoU \(best), boxes \(boxes)")
            }
        }
    }
}

/// Mien's own Haar-cascade evaluator (haar_cascade.cpp) against OpenCV's cv::CascadeClassifier,
/// which `FaceDetector.usesOpenCVReference` selects.
final class HaarEvaluatorTests: XCTestCase {
    /// An image the equality tests run on, and faces in it to search around as FaceFollower does.
    struct Case {
        let name: String
        let image: GrayImage
        let faces: [FaceBox]
    }

    /// The reference photographs (each also at 320 px wide), frames of synthetic clips, noise, a
    /// blank frame, odd sizes (97×61, 251×177) and images smaller than the 24×24 window.
    static func cases() throws -> [Case] {
        var cases: [Case] = []
        for reference in try referenceImages() {
            let gray = try GrayImage.read(path: reference.resolvedPath)
            let faces = reference.faces.map(\.box)
            cases.append(Case(name: reference.name, image: gray, faces: faces))
            let h = gray.height * 320 / gray.width
            let k = Float(320) / Float(gray.width)
            cases.append(Case(name: "\(reference.name) 320 px", image: try gray.resized(width: 320, height: h),
                              faces: faces.map { FaceBox(x: $0.x * k, y: $0.y * k, width: $0.width * k, height: $0.height * k) }))
        }
        for frame in syntheticFrames(seed: 5, clips: 3, indices: [0, 30]) {
            cases.append(Case(name: "synthetic clip \(frame.clip) frame \(frame.index)", image: frame.image, faces: frame.faces.map(\.box)))
        }
        var rng = SystemRandomNumberGenerator()
        let noise: [UInt8] = (0..<(320 * 240)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        cases.append(Case(name: "noise", image: GrayImage(width: 320, height: 240, pixels: noise), faces: []))
        cases.append(Case(name: "blank", image: GrayImage(width: 320, height: 240, pixels: .init(repeating: 128, count: 320 * 240)), faces: []))
        let astronaut = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        func crop(_ x: Int, _ y: Int, _ w: Int, _ h: Int) -> GrayImage {
            var pixels: [UInt8] = []
            for row in y..<(y + h) {
                let start = row * astronaut.width + x
                pixels += astronaut.pixels[start..<(start + w)]
            }
            return GrayImage(width: w, height: h, pixels: pixels)
        }
        cases.append(Case(name: "97×61", image: crop(170, 90, 97, 61), faces: []))
        cases.append(Case(name: "251×177", image: crop(101, 33, 251, 177), faces: []))
        cases.append(Case(name: "24×40", image: crop(200, 100, 24, 40), faces: []))
        cases.append(Case(name: "23×50 (narrower than the window)", image: crop(200, 100, 23, 50), faces: []))
        cases.append(Case(name: "20×30", image: crop(200, 100, 20, 30), faces: []))
        return cases
    }

    /// Every difference between Mien's evaluator and OpenCV's on the cases: full frames at scale
    /// factors 1.1 and 1.2 with min neighbours 0 (every raw candidate window), 1, 3 and 5 (and
    /// at 1.05 and 2.5 with 0 and 3; at 1.2 also with a minimum size), and FaceFollower-like
    /// searches around each face (a region of ~2× the face, sizes 0.8–1.4× it, downscaled so
    /// that the smallest is 24 or 36 px). `quick`: scale factor 1.2 and 0 neighbours only.
    /// Mien's evaluator runs in each of the debug `modes` (0: as is, 4: its scalar path).
    static func differences(_ detector: FaceDetector, _ cases: [Case], modes: [Int] = [0], quick: Bool = false) throws -> [String] {
        var found: [String] = []
        func compare(_ what: String, _ run: () throws -> [FaceBox]) throws {
            func key(_ boxes: [FaceBox]) -> [[Float]] { boxes.map { [$0.x, $0.y, $0.width, $0.height, $0.score] }.sorted { $0.lexicographicallyPrecedes($1) } }
            detector.usesOpenCVReference = true
            let reference = key(try run())
            detector.usesOpenCVReference = false
            for mode in modes {
                detector.setHaarDebugMode(mode)
                let mine = key(try run())
                if reference != mine { found.append("\(what), mode \(mode): OpenCV \(reference.count) boxes \(reference.prefix(4)), Mien \(mine.count) \(mine.prefix(4))") }
            }
        }
        let runs: [(scaleFactor: Double, minNeighbors: Int, minSize: Int)] = quick ? [(1.2, 0, 0)] :
            [1.1, 1.2].flatMap { f in [0, 1, 3, 5].map { (f, $0, 0) } } + [1.05, 2.5].flatMap { f in [0, 3].map { (f, $0, 0) } } + [(1.2, 0, 40), (1.2, 3, 40)]
        for c in cases {
            for run in runs {
                try compare("\(c.name) full, scale factor \(run.scaleFactor), \(run.minNeighbors) neighbours, min size \(run.minSize)") {
                    try detector.detect(c.image, scaleFactor: run.scaleFactor, minNeighbors: run.minNeighbors, minSize: run.minSize)
                }
            }
            for face in c.faces {
                let side = max(face.width, face.height), m = side * 0.5
                let region = FaceBox(x: face.x - m, y: face.y - m, width: face.width + 2 * m, height: face.height + 2 * m)
                let sizes = max(1, Int(side * 0.8))...max(1, Int((side * 1.4).rounded(.up)))
                for working in [24, 36] {
                    for run in runs where run.scaleFactor < 2 && run.minSize == 0 {
                        try compare("\(c.name) search around \(face), working side \(working), scale factor \(run.scaleFactor), \(run.minNeighbors) neighbours") {
                            try detector.detect(c.image, in: region, sizes: sizes, workingFaceSide: working, minNeighbors: run.minNeighbors, scaleFactor: run.scaleFactor)
                        }
                    }
                }
            }
        }
        return found
    }

    /// The cascade Mien uses by default is evaluated by Mien's evaluator, with AVX2 on this CPU
    /// if it has it; an LBP cascade falls back to OpenCV with the reason.
    func testDefaultCascadeUsesMiensEvaluator() throws {
        let detector = try FaceDetector()
        XCTAssertTrue(detector.haarEvaluator.isMien, detector.haarEvaluator.description)
        let lbp = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml"
        if FileManager.default.fileExists(atPath: lbp) {
            let other = try FaceDetector(options: .init(cascadePath: lbp))
            XCTAssertFalse(other.haarEvaluator.isMien)
            XCTAssertTrue(other.haarEvaluator.description.contains("LBP"), other.haarEvaluator.description)
            XCTAssertFalse(try other.detect(GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)).isEmpty)
        }
    }

    /// Exactly OpenCV's boxes and neighbour counts (with 0 neighbours: every raw candidate window)
    /// on every case, by the AVX2 path and by the scalar one.
    func testMatchesOpenCVExactly() throws {
        let detector = try FaceDetector(options: .init(maxSide: 0))
        let differences = try Self.differences(detector, try Self.cases(), modes: [0, 4])
        XCTAssertEqual(differences, [], "\(detector.haarEvaluator.description) and the scalar path: \(differences.count) differences")
    }

    /// Small images around a ~24 px face (as a follower's downscaled search region), every raw
    /// candidate: here OpenCV's scan leaves out the last row of window positions when its stripes
    /// do not reach it (an odd number of rows, one stripe), which Mien's evaluator reproduces.
    func testSmallRegionsMatchOpenCVExactly() throws {
        let astronaut = try GrayImage.read(path: fixturesDirectory.appendingPathComponent("astronaut.jpg").path)
        let small = try astronaut.resized(width: 128, height: 128)  // the face is ~24 px
        let detector = try FaceDetector(options: .init(maxSide: 0))
        var state: UInt64 = 12345
        func next(_ range: Range<Int>) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return range.lowerBound + Int((state >> 33) % UInt64(range.count))
        }
        var cases: [Case] = []
        while cases.count < 400 {
            let w = next(24..<56), h = next(24..<70), x = next(30..<70), y = next(0..<(128 - h))
            guard x + w <= 128 else { continue }
            var pixels: [UInt8] = []
            for row in y..<(y + h) { pixels += small.pixels[(row * 128 + x)..<(row * 128 + x + w)] }
            cases.append(Case(name: "\(w)×\(h) at \(x),\(y)", image: GrayImage(width: w, height: h, pixels: pixels), faces: []))
        }
        var differences: [String] = []
        for c in cases {
            for scaleFactor in [1.1, 1.2] {
                detector.usesOpenCVReference = true
                let reference = try detector.detect(c.image, scaleFactor: scaleFactor, minNeighbors: 0, minSize: 0)
                detector.usesOpenCVReference = false
                let mine = try detector.detect(c.image, scaleFactor: scaleFactor, minNeighbors: 0, minSize: 0)
                if Set(reference.map { [$0.x, $0.y, $0.width] }) != Set(mine.map { [$0.x, $0.y, $0.width] }) || reference.count != mine.count {
                    differences.append("\(c.name), scale factor \(scaleFactor): OpenCV \(reference.count), Mien \(mine.count)")
                }
            }
        }
        XCTAssertEqual(differences, [])
    }

    /// The equality test can fail: an evaluator broken on purpose (no variance normalisation,
    /// windows stepped by 1 px instead of 2, a feature rectangle 1 px wider) differs from OpenCV.
    func testEqualityCatchesBrokenEvaluators() throws {
        let detector = try FaceDetector(options: .init(maxSide: 0))
        let cases = try Self.cases().filter { $0.name.hasSuffix("320 px") || $0.name.hasPrefix("synthetic clip 0") }
        for mode in 1...3 {
            XCTAssertFalse(try Self.differences(detector, cases, modes: [mode], quick: true).isEmpty, "breakage \(mode) went unnoticed")
        }
        XCTAssertEqual(try Self.differences(detector, cases, modes: [0], quick: true), [])
    }
}
