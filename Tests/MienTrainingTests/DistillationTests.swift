import XCTest
import MienCore
import MienNN
import MienVision
@testable import MienTraining

/// Knowledge distillation (`Distillation`, `CNNTrainer.Config.distillation`): the tempered
/// teacher targets against float64 maths, the teachers' flip-averaged mean against a per-image
/// computation, and training that follows the targets rather than the labels.
final class DistillationTests: XCTestCase {
    override func setUp() { BLASThreads.set(1) }

    /// tempered(softmax(z), T) = softmax(z / T), the latter computed from the logits in float64;
    /// within 1e-6 (the probabilities are float32).
    func testTemperedProbabilitiesEqualTheSoftmaxOfScaledLogits() {
        var rng = SplitMix64(seed: 5)
        func softmax(_ z: [Double]) -> [Double] {
            let top = z.max()!
            let e = z.map { exp($0 - top) }
            return e.map { $0 / e.reduce(0, +) }
        }
        for t in [1.0, 2.0, 4.0, 0.5] {
            for _ in 0..<20 {
                let z = (0..<7).map { _ in Double(rng.next() % 2000) / 250 - 4 }
                let p = softmax(z).map { Float($0) }
                let got = Distillation.tempered(p[...], temperature: t)
                for (g, w) in zip(got, softmax(z.map { $0 / t })) { XCTAssertEqual(g, w, accuracy: 1e-6, "T \(t), logits \(z)") }
            }
        }
    }

    /// Two teachers of different input sides (64 and 48): each image's target is the mean of
    /// their tempered, flip-averaged probabilities, as computed one image at a time here.
    func testTargetsAreTheTeachersMeanOfFlipAveragedTemperedOutputs() throws {
        let set = CNNTrainerTests.bars(9, classes: [0, 3, 5], seed: 31)
        let teachers = try [(64, UInt64(3)), (48, UInt64(4))].map { side, seed -> Distillation.Teacher in
            let d = try CNNArchitectures.description("vgg-4", side: side, labels: ExpressionClass.labels)
            return Distillation.Teacher(cnn: FoldedCNN(try CNNGraph.initialized(d, seed: seed)), description: d, name: "vgg-4@\(side)")
        }
        let targets = try Distillation.targets(of: teachers, on: set, temperature: 2, flipAverage: true, batch: 4)
        XCTAssertEqual(targets.count, 9 * 7)
        for i in 0..<set.count {
            var want = [Double](repeating: 0, count: 7)
            for t in teachers {
                let d = t.description
                let image = try GrayImage(width: 64, height: 64, pixels: Array(set.image(i)))
                    .resized(width: d.inputWidth, height: d.inputHeight, interpolation: .linear)
                let mirror = (0..<d.inputHeight).flatMap { y in image.pixels[(y * d.inputWidth)..<((y + 1) * d.inputWidth)].reversed() }
                let p = try t.cnn.predict(d.preprocess(pixels: image.pixels, count: 1)).probabilities.data
                let q = try t.cnn.predict(d.preprocess(pixels: mirror, count: 1)).probabilities.data
                let tempered = Distillation.tempered(zip(p, q).map { ($0 + $1) / 2 }[...], temperature: 2)
                for j in 0..<7 { want[j] += tempered[j] / 2 }
            }
            for j in 0..<7 { XCTAssertEqual(Double(targets[i * 7 + j]), want[j], accuracy: 1e-5, "image \(i) class \(j)") }
            XCTAssertEqual(targets[(i * 7)..<(i * 7 + 7)].reduce(0, +), 1, accuracy: 1e-5)
        }
    }

    /// With weight 1 the student learns the teacher's classes, not the labels: the teacher here
    /// maps each bar orientation to another class (0 → 3 → 5 → 0), and the trained student
    /// follows it on most training images (it would learn the labels if the targets were ignored).
    func testTrainingFollowsTheTeachersTargets() throws {
        let train = CNNTrainerTests.bars(60, classes: [0, 3, 5], seed: 21), val = CNNTrainerTests.bars(21, classes: [0, 3, 5], seed: 22)
        let teacherClass = [0: 3, 3: 5, 5: 0]
        var targets = [Float](repeating: 0, count: train.count * 7)
        for (i, label) in train.labels.enumerated() { targets[i * 7 + teacherClass[label]!] = 1 }
        let d = try CNNArchitectures.description("vgg-4", side: 64, labels: ExpressionClass.labels)
        let graph = try CNNGraph.initialized(d, seed: 2)
        var c = CNNTrainer.Config()
        c.epochs = 8; c.batchSize = 8; c.patience = 8; c.learningRate = 0.01; c.schedule = .cosine; c.batchNormRecalibration = 40
        c.augmentation = Augmentation()
        c.distillation = Distillation(targets: targets, classes: 7, weight: 1, provenance: "test permutation")
        let trainer = CNNTrainer(graph: graph, config: c, checkpointDirectory: nil)
        _ = try trainer.train(train, validation: val, resume: false)
        let predicted = trainer.predict(train)
        let followsTeacher = zip(predicted, train.labels).filter { $0 == teacherClass[$1]! }.count
        let followsLabel = zip(predicted, train.labels).filter { $0 == $1 }.count
        XCTAssertGreaterThan(followsTeacher, 45, "of 60 training images: \(followsTeacher) follow the teacher, \(followsLabel) the label")
        XCTAssertLessThan(followsLabel, 10)
    }

    /// Targets made for another set are refused before training, naming both sizes.
    func testTargetsOfTheWrongSizeAreRefused() throws {
        let train = CNNTrainerTests.bars(6, classes: [0, 3], seed: 1), val = CNNTrainerTests.bars(3, classes: [0, 3], seed: 2)
        let d = try CNNArchitectures.description("vgg-4", side: 64, labels: ExpressionClass.labels)
        var c = CNNTrainer.Config()
        c.epochs = 1
        c.distillation = Distillation(targets: [Float](repeating: 1.0 / 7, count: 5 * 7), classes: 7, weight: 0.5, provenance: "other set")
        XCTAssertThrowsError(try CNNTrainer(graph: try CNNGraph.initialized(d, seed: 1), config: c, checkpointDirectory: nil)
            .train(train, validation: val, resume: false)) { e in
            XCTAssertTrue("\(e)".contains("for 5 images") && "\(e)".contains("has 6"), "\(e)")
        }
    }

    /// Saved predictions (mien evaluate's CSV, two files as two folds write them) become targets
    /// in the training set's order, matched by class folder and file name, a quoted path with a
    /// comma included; a training image without a row, a path given twice and a foreign header
    /// are errors naming them.
    func testSavedPredictionsBecomeTargetsInTrainingOrder() throws {
        let dir = NSTemporaryDirectory() + "mien-distil-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let labels = ExpressionClass.labels
        let header = "path,truth,predicted," + labels.map { "p_" + $0 }.joined(separator: ",")
        func row(_ path: String, _ hot: Int) -> String {
            path + ",happy,happy," + (0..<7).map { $0 == hot ? "0.70000" : "0.05000" }.joined(separator: ",")
        }
        try [header, row("/x/foldA/train/happy/1.png", 3)].joined(separator: "\n").write(toFile: dir + "/a.csv", atomically: true, encoding: .utf8)
        try [header, row("\"/x/foldB/train/sad/2,b.png\"", 4), row("/x/foldB/train/happy/3.png", 6)].joined(separator: "\n")
            .write(toFile: dir + "/b.csv", atomically: true, encoding: .utf8)
        var set = FaceImageSet(side: 2)
        for (source, label) in [("sad/2,b.png", 4), ("happy/3.png", 3), ("happy/1.png", 3)] {
            set.append(pixels: [0, 0, 0, 0], label: label, group: source, source: source)
        }
        let saved = try Distillation.SavedPredictions.read([dir + "/a.csv", dir + "/b.csv"], labels: labels)
        let t = try Distillation.targets(from: saved, on: set, temperature: 1)
        XCTAssertEqual(t.count, 21)
        for (image, hot) in [(0, 4), (1, 6), (2, 3)] {
            XCTAssertEqual(t[image * 7 + hot], 0.7, accuracy: 1e-6, "image \(image)")
            XCTAssertEqual(t[(image * 7)..<(image * 7 + 7)].reduce(0, +), 1, accuracy: 1e-6)
        }
        // At T 2 the hot class's share shrinks: sqrt(0.7) / (sqrt(0.7) + 6·sqrt(0.05)).
        let soft = try Distillation.targets(from: saved, on: set, temperature: 2)
        XCTAssertEqual(Double(soft[4]), 0.7.squareRoot() / (0.7.squareRoot() + 6 * 0.05.squareRoot()), accuracy: 1e-6)

        var missing = set
        missing.append(pixels: [0, 0, 0, 0], label: 0, group: "angry/9.png", source: "angry/9.png")
        XCTAssertThrowsError(try saved.probabilities(for: missing)) { XCTAssertTrue("\($0)".contains("angry/9.png"), "\($0)") }
        XCTAssertThrowsError(try Distillation.SavedPredictions.read([dir + "/a.csv", dir + "/a.csv"], labels: labels)) {
            XCTAssertTrue("\($0)".contains("has predictions already"), "\($0)")
        }
        try "path,label\nx.png,happy\n".write(toFile: dir + "/c.csv", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Distillation.SavedPredictions.read([dir + "/c.csv"], labels: labels)) {
            XCTAssertTrue("\($0)".contains("c.csv is not a predictions CSV"), "\($0)")
        }
    }
}
