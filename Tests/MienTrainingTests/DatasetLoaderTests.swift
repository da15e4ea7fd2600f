import XCTest
import MienCore
import MienNN
import MienSynth
import MienVision
@testable import MienTraining

/// FER2013 CSV, class folders and labelled-video crops: contents, splits and error messages.
final class DatasetLoaderTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mien-datasets-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ text: String, _ name: String) throws -> String {
        let p = dir + "/" + name
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func pixels(_ f: (Int, Int) -> Int) -> String {
        (0..<(48 * 48)).map { String(f($0 % 48, $0 / 48)) }.joined(separator: " ")
    }

    func testFER2013CSVHonoursUsageAndResizesLikeOpenCV() throws {
        let usages = ["Training", "Training", "Training", "PublicTest", "PrivateTest", "Training"]
        var rows = ["emotion,pixels,Usage"]
        for (i, u) in usages.enumerated() { rows.append("\(i),\(pixels { x, y in (x * 5 + y + i * 7) % 256 }),\(u)") }
        let path = try write(rows.joined(separator: "\n") + "\n", "fer.csv")
        let s = try FER2013CSV.read(path: path, side: 64)
        XCTAssertEqual(s.train.count, 4); XCTAssertEqual(s.validation.count, 1); XCTAssertEqual(s.test.count, 1)
        XCTAssertEqual(s.train.labels, [0, 1, 2, 5]); XCTAssertEqual(s.validation.labels, [3]); XCTAssertEqual(s.test.labels, [4])
        XCTAssertEqual(s.train.sources[3], "fer.csv:7")
        // Independent check of the 48 → 64 bilinear resize: half-pixel-centre bilinear
        // interpolation (cv::resize INTER_LINEAR) computed here in Double; OpenCV's 11-bit
        // fixed-point weights may round to the neighbouring gray level.
        let src: [Double] = (0..<(48 * 48)).map { (i: Int) -> Double in
            let x = i % 48, y = i / 48
            return Double((x * 5 + y + 21) % 256)
        }
        let got = s.validation.image(0).map(Double.init)
        var worst = 0.0
        for y in 0..<64 { for x in 0..<64 {
            let sx: Double = max(0, (Double(x) + 0.5) * 0.75 - 0.5)
            let sy: Double = max(0, (Double(y) + 0.5) * 0.75 - 0.5)
            let x0 = min(Int(sx), 47), y0 = min(Int(sy), 47)
            let x1 = min(x0 + 1, 47), y1 = min(y0 + 1, 47)
            let fx: Double = sx - Double(x0), fy: Double = sy - Double(y0)
            let top: Double = src[y0 * 48 + x0] * (1 - fx) + src[y0 * 48 + x1] * fx
            let bottom: Double = src[y1 * 48 + x0] * (1 - fx) + src[y1 * 48 + x1] * fx
            let v: Double = top * (1 - fy) + bottom * fy
            worst = max(worst, abs(v - got[y * 64 + x]))
        }}
        XCTAssertLessThanOrEqual(worst, 1.0, "largest difference to the reference bilinear resize")
    }

    func testWrittenCropsReadBackWithTheSameSplit() throws {
        var rows = ["emotion,pixels"]
        for i in 0..<21 { rows.append("\(i % 7),\(pixels { x, y in (x * y + i) % 256 })") }
        let a = try FER2013CSV.read(path: try write(rows.joined(separator: "\n"), "src.csv"), side: 64, fractions: (0.4, 0.3), seed: 1)
        try FER2013CSV.write(a, to: dir + "/crops.csv")
        let b = try FER2013CSV.read(path: dir + "/crops.csv", side: 64)
        for (x, y) in [(a.train, b.train), (a.validation, b.validation), (a.test, b.test)] {
            XCTAssertEqual(x.pixels, y.pixels); XCTAssertEqual(x.labels, y.labels)
        }
        XCTAssertGreaterThan(b.test.count, 0)
    }

    func testFER2013CSVWithoutUsageIsSplitStratifiedAndSeeded() throws {
        var rows = ["emotion,pixels"]
        for i in 0..<70 { rows.append("\(i % 7),\(pixels { x, _ in (x + i) % 256 })") }
        let path = try write(rows.joined(separator: "\n"), "nousage.csv")
        let a = try FER2013CSV.read(path: path, side: 48, fractions: (0.6, 0.2), seed: 3)
        let b = try FER2013CSV.read(path: path, side: 48, fractions: (0.6, 0.2), seed: 3)
        XCTAssertEqual(a.train.count + a.validation.count + a.test.count, 70)
        XCTAssertEqual(a.train.classCounts(classes: 7), [Int](repeating: 6, count: 7))
        XCTAssertEqual(a.validation.classCounts(classes: 7), [Int](repeating: 2, count: 7))
        XCTAssertEqual(a.train.sources, b.train.sources)
        XCTAssertTrue(Set(a.train.groups).isDisjoint(with: a.test.groups))
    }

    func testFER2013CSVErrorsNameTheFileAndLine() throws {
        let good = pixels { x, _ in x }
        let cases: [(String, String)] = [
            ("emotion,pixels,Usage\n3,\(good),Training\n9,\(good),Training\n", "line 3: emotion \"9\""),
            ("emotion,pixels,Usage\n3,1 2 3,Training\n", "line 2: 3 pixel values, expected a square image"),
            ("emotion,pixels,Usage\n3,\(good),Training\n3,1 2 3 4,Training\n", "line 3: 4 pixel values, expected 2304 (48×48"),
            ("emotion,pixels,Usage\n3,\(good),Validation\n", "line 2: Usage \"Validation\""),
            ("emotion,pixels,Usage\n3,\(good.replacingOccurrences(of: "7", with: "x")),Training\n", "line 2: pixels contain \"x\""),
            ("emotion,pixels,Usage\n3,\(good.replacingOccurrences(of: " 47", with: " 470")),Training\n", "line 2: a pixel value exceeds 255"),
            ("label,image\n3,\(good)\n", "line 1: header"),
            ("emotion,pixels,Usage\n3,\(good)\n", "line 2: 2 fields"),
        ]
        for (text, expected) in cases {
            let path = try write(text, "bad.csv")
            XCTAssertThrowsError(try FER2013CSV.read(path: path)) { e in
                XCTAssertTrue("\(e)".contains(path) && "\(e)".contains(expected), "\(e) should name \(path) and \(expected)")
            }
        }
        XCTAssertThrowsError(try FER2013CSV.read(path: dir + "/missing.csv")) { e in XCTAssertTrue("\(e)".contains("no such file"), "\(e)") }
    }

    func makeFolders(_ spec: [String: Int], size: Int = 40) throws -> String {
        let root = dir + "/faces"
        for (cls, n) in spec {
            try FileManager.default.createDirectory(atPath: root + "/" + cls, withIntermediateDirectories: true)
            for i in 0..<n {
                let img = GrayImage(width: size, height: size, pixels: (0..<(size * size)).map { UInt8(($0 + i * 13 + cls.count * 29) % 256) })
                try img.write(path: "\(root)/\(cls)/img\(i).png")
            }
        }
        return root
    }

    func testImageFoldersLoadEveryImageWithItsClass() throws {
        let root = try makeFolders(["happy": 5, "sad": 3, "neutral": 4])
        let set = try ImageFolderDataset.read(root: root, side: 64)
        XCTAssertEqual(set.count, 12)
        XCTAssertEqual(set.classCounts(classes: 7), [0, 0, 0, 5, 3, 0, 4])
        XCTAssertEqual(set.side, 64)
        XCTAssertEqual(set.sources.first, "happy/img0.png")
        let split = FaceImageSplits.grouped(set, classNames: ExpressionClass.labels, fractions: (0.5, 0.25), seed: 2)
        XCTAssertEqual(split.train.count + split.validation.count + split.test.count, 12)
        XCTAssertEqual(split.train.classCounts(classes: 7)[3], 3)   // round(5 · 0.5)
    }

    func testImageFolderErrors() throws {
        let root = try makeFolders(["happy": 2])
        try FileManager.default.createDirectory(atPath: root + "/smug", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolderDataset.read(root: root)) { e in
            XCTAssertTrue("\(e)".contains("unknown class \"smug\""), "\(e)")
        }
        try FileManager.default.removeItem(atPath: root + "/smug")
        try FileManager.default.createDirectory(atPath: root + "/sad", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolderDataset.read(root: root)) { e in
            XCTAssertTrue("\(e)".contains("/sad has no images"), "\(e)")
        }
        try "x".write(toFile: root + "/sad/notes.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImageFolderDataset.read(root: root)) { e in
            XCTAssertTrue("\(e)".contains("notes.txt is not an image"), "\(e)")
        }
        try "not a png".write(toFile: root + "/sad/broken.png", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: root + "/sad/notes.txt")
        XCTAssertThrowsError(try ImageFolderDataset.read(root: root)) { e in
            XCTAssertTrue("\(e)".contains("broken.png"), "\(e)")
        }
    }

    /// Two synthetic clips (MienSynth), cropped by the real FacePipeline and labelled by box.
    func testLabelledVideoCropsAreLabelledByBoxAndGroupedByClip() throws {
        let cfg = SynthConfig(width: 320, height: 240, fps: 25, minSeconds: 2, maxSeconds: 2)
        let ds = SynthDataset(seed: 7, count: 2, config: cfg)
        var videos: [(id: String, path: String)] = []
        var truth: [String: [UInt64: [FaceTruth]]] = [:]
        var expected: [String: Set<String>] = [:]
        for i in 0..<2 {
            let plan = ds.plan(ofClip: i), r = ClipRenderer(plan: plan)
            let name = SynthDataset.clipName(i), path = dir + "/" + name
            let w = try VideoWriter(path: path, width: 320, height: 240, fps: 25, channels: 3, codec: .h264)
            for f in 0..<12 {
                let (px, faces) = r.frame(f)
                try w.write(px)
                if f == 11 { continue }   // the last frame has no ground truth: must be counted, not labelled
                for face in faces {
                    let b = face.box(frameWidth: 320, frameHeight: 240)
                    truth[name, default: [:]][UInt64(f), default: []].append(
                        FaceTruth(label: face.label.rawValue, box: Box(x: Double(b.x), y: Double(b.y), width: Double(b.w), height: Double(b.h))))
                    expected[name, default: []].insert(face.label.rawValue)
                }
            }
            try w.close()
            videos.append((name, path))
        }
        let pipeline = try FacePipeline()
        let (set, tally) = try LabelledVideoCrops.read(videos: videos, frameTruth: truth, pipeline: pipeline, frameStep: 1)
        XCTAssertEqual(tally.videos, 2); XCTAssertEqual(tally.framesRead, 24); XCTAssertEqual(tally.framesWithoutTruth, 2)
        XCTAssertGreaterThanOrEqual(set.count, 15, "\(tally)")   // Haar finds ≈ 98 % of synthetic faces
        XCTAssertEqual(tally.labelled, set.count)
        XCTAssertEqual(tally.labelled + tally.unmatched + tally.unknownLabel, tally.detections)
        XCTAssertEqual(set.side, 64)
        for i in 0..<set.count {
            XCTAssertTrue(expected[set.groups[i]]!.contains(ExpressionClass.labels[set.labels[i]]), "crop \(set.sources[i])")
        }
        XCTAssertEqual(Set(set.groups), Set(videos.map(\.id)))
        // A video without frames.csv rows is an error naming it.
        XCTAssertThrowsError(try LabelledVideoCrops.read(videos: videos, frameTruth: [:], pipeline: pipeline)) { e in
            XCTAssertTrue("\(e)".contains(videos[0].path) && "\(e)".contains("frames.csv"), "\(e)")
        }
    }

    /// Labelled stills (what `mien evaluate` scores without --labels): class folders and a
    /// path,label CSV give the same items; the scores count every readable image once, an
    /// unreadable one is reported and not scored, and flip averaging of a mirror-symmetric image
    /// gives exactly its own probabilities.
    func testLabelledStillsFromFoldersAndCSVAndTheirScores() throws {
        let root = dir + "/stills"
        for (c, n) in [("happy", 3), ("sad", 2)] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(c)", withIntermediateDirectories: true)
            for k in 0..<n {
                // Mirror-symmetric 48×48 faces (value depends on |x − 23.5| and y only).
                let px = (0..<(48 * 48)).map { (i: Int) -> UInt8 in
                    let fromCentre: Double = abs(Double(i % 48) - 23.5)
                    let value: Double = fromCentre * 5 + Double(i / 48) * 2 + Double(k * 9)
                    return UInt8(value.truncatingRemainder(dividingBy: 256))
                }
                try GrayImage(width: 48, height: 48, pixels: px).write(path: "\(root)/\(c)/\(k).png")
            }
        }
        let folders = try LabelledStills.read(root)
        XCTAssertEqual(folders.items.count, 5)
        XCTAssertEqual(folders.items.map(\.label), [3, 3, 3, 4, 4])   // happy = 3, sad = 4 in Mien's order
        let csv = try write("path,label\nstills/happy/0.png,happy\nstills/sad/1.png,sad\nstills/missing.png,sad\n", "stills.csv")
        let listed = try LabelledStills.read(csv)
        XCTAssertEqual(listed.items.map(\.label), [3, 4, 4])
        XCTAssertEqual(listed.items[0].path, root + "/happy/0.png")
        XCTAssertThrowsError(try LabelledStills.read(try write("a.png,joy\n", "bad.csv"))) { e in XCTAssertTrue("\(e)".contains("joy"), "\(e)") }
        XCTAssertThrowsError(try LabelledStills.read(try write("a.png\n", "short.csv"))) { e in XCTAssertTrue("\(e)".contains("path,label"), "\(e)") }

        let d = try CNNArchitectures.description("vgg-4", side: 48, labels: ExpressionClass.labels)
        let cnn = FoldedCNN(try CNNGraph.initialized(d, seed: 1))
        let scores = try listed.score(cnn, description: d, batch: 2)
        XCTAssertEqual(scores.metrics.count, 2)
        XCTAssertEqual(scores.unreadable.map(\.path), [dir + "/stills/missing.png"])
        let plain = try folders.score(cnn, description: d), flipped = try folders.score(cnn, description: d, augmentation: .flip)
        XCTAssertEqual(plain.metrics.count, 5)
        for (a, b) in zip(plain.probabilities, flipped.probabilities) { XCTAssertEqual(a, b, accuracy: 1e-6) }

        // An ensemble's scores: per image the mean of its members' probabilities (checked in
        // Double), its label their argmax, its time the members' sum.
        let other = FoldedCNN(try CNNGraph.initialized(d, seed: 2))
        let second = try folders.score(other, description: d)
        let ensemble = LabelledStills.mean(of: [plain, second], truth: folders.items.map(\.label))
        XCTAssertEqual(ensemble.msPerFace, plain.msPerFace + second.msPerFace, accuracy: 1e-12)
        for i in 0..<5 {
            let p = (0..<7).map { j in (Double(plain.probabilities[i * 7 + j]) + Double(second.probabilities[i * 7 + j])) / 2 }
            for j in 0..<7 { XCTAssertEqual(Double(ensemble.probabilities[i * 7 + j]), p[j], accuracy: 1e-6) }
            XCTAssertEqual(ensemble.predicted[i], p.indices.max { p[$0] < p[$1] })
        }
        XCTAssertEqual(ensemble.metrics.count, 5)
    }

    /// The test-time views against a per-pixel reference: a shift takes the pixel (x − dx,
    /// y − dy) with coordinates clamped, the mirror reverses each row of the shifted image; the
    /// ten `shifts` views are distinct, and scoring with them equals the mean of the CNN's
    /// probabilities over the ten views computed one at a time.
    func testTestTimeViewsAndTheirMeanProbabilities() throws {
        let w = 5, h = 4
        let image = (0..<(w * h)).map { UInt8($0 * 7) }
        func reference(_ dx: Int, _ dy: Int, _ mirrored: Bool) -> [UInt8] {
            let shifted = (0..<h).flatMap { y in (0..<w).map { x in image[min(max(y - dy, 0), h - 1) * w + min(max(x - dx, 0), w - 1)] } }
            return mirrored ? (0..<h).flatMap { y in shifted[(y * w)..<((y + 1) * w)].reversed() } : shifted
        }
        for dx in -2...2 { for dy in -2...2 { for m in [false, true] {
            XCTAssertEqual(TestTimeAugmentation.View(dx: dx, dy: dy, mirrored: m).apply(to: image, width: w, height: h),
                           reference(dx, dy, m), "dx \(dx) dy \(dy) mirrored \(m)")
        } } }
        XCTAssertEqual(TestTimeAugmentation.none.views.count, 1)
        XCTAssertEqual(TestTimeAugmentation.flip.views, [.init(), .init(mirrored: true)])
        let views = TestTimeAugmentation.shifts.views
        XCTAssertEqual(views.count, 10)
        XCTAssertEqual(Set(views.map { "\($0.dx),\($0.dy),\($0.mirrored)" }).count, 10)

        let root = dir + "/tta/happy"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: 5)
        for k in 0..<3 {
            let px = (0..<(48 * 48)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try GrayImage(width: 48, height: 48, pixels: px).write(path: "\(root)/\(k).png")
        }
        let set = try LabelledStills.read(dir + "/tta")
        let d = try CNNArchitectures.description("vgg-4", side: 48, labels: ExpressionClass.labels)
        let cnn = FoldedCNN(try CNNGraph.initialized(d, seed: 3))
        let scored = try set.score(cnn, description: d, batch: 2, augmentation: .shifts)
        let decoded = set.decode()
        for (i, image) in decoded.images.enumerated() {
            var mean = [Double](repeating: 0, count: 7)
            for v in views {
                let x = try d.preprocess(pixels: v.apply(to: image.image.pixels, width: 48, height: 48), count: 1)
                let p = try cnn.predict(x).probabilities.data
                for j in 0..<7 { mean[j] += Double(p[j]) / 10 }
            }
            for j in 0..<7 { XCTAssertEqual(Double(scored.probabilities[i * 7 + j]), mean[j], accuracy: 1e-5) }
        }
        let single = try set.score(cnn, description: d, augmentation: .none)
        XCTAssertNotEqual(single.probabilities, scored.probabilities, "the views change the probabilities of random images")
    }
}
