import XCTest
import MienCore
import MienNN
@testable import MienTraining

/// CNN training: bundles, fresh initialisation, Adam state, learning, early stopping, and a
/// resumed run ending bit-identical to an uninterrupted one.
final class CNNTrainerTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let modelJSON = root + "/models/fer2013/model.json"
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mien-cnn-train-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        BLASThreads.set(1)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Synthetic 64×64 crops: class c is a bright bar at angle c·180/7 over noise, so the
    /// classes are learnable but not trivially by mean brightness.
    static func bars(_ n: Int, classes: [Int], seed: UInt64) -> FaceImageSet {
        var rng = SplitMix64(seed: seed)
        var set = FaceImageSet(side: 64)
        for i in 0..<n {
            let c = classes[i % classes.count]
            let angle = Double(c) * Double.pi / 7
            let (dx, dy) = (cos(angle), sin(angle))
            let px: [UInt8] = (0..<4096).map { k in
                let x = Double(k % 64) - 31.5, y = Double(k / 64) - 31.5
                let dist = abs(-dy * x + dx * y)
                let noise = Double(rng.next() % 60)
                return UInt8(min(255, (dist < 4 ? 170 : 60) + noise))
            }
            set.append(pixels: px, label: c, group: "img\(i)", source: "synthetic \(i)")
        }
        return set
    }

    func testFreshInitialisationHasTheArchitectureAndSaveLoadRoundTrips() throws {
        let d = try CNNDescription.read(path: Self.modelJSON)
        let fresh = try CNNGraph.initialized(d, seed: 3)
        let real = try CNNGraph.load(modelJSON: Self.modelJSON)
        XCTAssertEqual(fresh.parameterCount, real.parameterCount)
        XCTAssertEqual(Set(fresh.namedTensors.keys), Set(real.namedTensors.keys))
        XCTAssertEqual(fresh.namedTensors["conv2d_1/kernel"], try CNNGraph.initialized(d, seed: 3).namedTensors["conv2d_1/kernel"])
        XCTAssertNotEqual(fresh.namedTensors["conv2d_1/kernel"], try CNNGraph.initialized(d, seed: 4).namedTensors["conv2d_1/kernel"])
        // Glorot-uniform limit for conv2d_1 (3×3×1 → 8): √(6 / (9 + 72)).
        let limit = Float((6.0 / 81).squareRoot())
        XCTAssertTrue(fresh.namedTensors["conv2d_1/kernel"]!.data.allSatisfy { abs($0) <= limit })
        XCTAssertEqual(fresh.namedTensors["batch_normalization_1/moving_variance"]!.data, [Float](repeating: 1, count: 8))

        let hash = try fresh.save(to: dir + "/bundle", training: ["note": "test"])
        XCTAssertEqual(hash, try sha256Hex(file: dir + "/bundle/model.safetensors"))
        let back = try CNNGraph.load(modelJSON: dir + "/bundle/model.json")
        XCTAssertEqual(back.namedTensors, fresh.namedTensors)
        XCTAssertEqual(back.description.weightsSHA256, hash)
        XCTAssertEqual(back.description.labels, real.description.labels)
        let x = SeededRandom(seed: 1).uniformTensorCopy([2, 64, 64, 1])
        XCTAssertEqual(back.predict(x).probabilities, fresh.predict(x).probabilities)
    }

    func testAdamStateRestoresExactly() throws {
        func params() -> [Parameter] { [Parameter(name: "a", value: Tensor(shape: [3], data: [1, 2, 3])), Parameter(name: "b", value: Tensor(shape: [2], data: [-1, 0.5]))] }
        func grads(_ p: [Parameter], _ k: Int) { for q in p { for i in 0..<q.grad.count { q.grad.data[i] = Float(k + i) * 0.1 - 0.2 } } }
        let p1 = params(), a1 = Adam(learningRate: 0.01)
        for k in 0..<3 { grads(p1, k); a1.step(p1) }
        let s = a1.state(for: p1)
        let p2 = params(); for (x, y) in zip(p2, p1) { x.value = y.value }
        let a2 = Adam(learningRate: 0.01)
        try a2.restore(iterations: s.iterations, m: s.m, v: s.v, parameters: p2)
        for k in 3..<6 { grads(p1, k); a1.step(p1); grads(p2, k); a2.step(p2) }
        for (x, y) in zip(p1, p2) { XCTAssertEqual(x.value.data, y.value.data) }
        XCTAssertThrowsError(try Adam().restore(iterations: 1, m: [:], v: [:], parameters: p2)) { e in
            XCTAssertTrue("\(e)".contains("'a'"), "\(e)")
        }
    }

    func config(epochs: Int) -> CNNTrainer.Config {
        var c = CNNTrainer.Config()
        c.epochs = epochs; c.batchSize = 8; c.learningRate = 0.002; c.patience = 5; c.seed = 9
        c.augmentation = try! Augmentation.parse("rotation,flip,zoom,brightness,contrast")
        return c
    }

    /// The resume guarantee: 1 epoch, a new process-like start (fresh graph, fresh trainer)
    /// with resume, 2 more epochs — the same weights, bit for bit, and the same history as 3
    /// epochs in one go. (ops/train-cnn-test.sh does the same with `kill -9` of the CLI.)
    func testResumedRunEndsBitIdenticalToAnUninterruptedOne() throws {
        let train = Self.bars(24, classes: [0, 3, 5], seed: 1), val = Self.bars(9, classes: [0, 3, 5], seed: 2)
        let whole = try CNNGraph.load(modelJSON: Self.modelJSON)
        let a = try CNNTrainer(graph: whole, config: config(epochs: 3), checkpointDirectory: dir + "/a").train(train, validation: val, resume: false)
        XCTAssertEqual(a.history.count, 3)

        let first = try CNNGraph.load(modelJSON: Self.modelJSON)
        _ = try CNNTrainer(graph: first, config: config(epochs: 1), checkpointDirectory: dir + "/b").train(train, validation: val, resume: false)
        XCTAssertEqual(CNNCheckpoint.list(in: dir + "/b").map(\.epoch), [1])
        let resumed = try CNNGraph.load(modelJSON: Self.modelJSON)
        var notes: [String] = []
        let b = try CNNTrainer(graph: resumed, config: config(epochs: 3), checkpointDirectory: dir + "/b")
            .train(train, validation: val, resume: true, note: { notes.append($0) })
        XCTAssertEqual(b.resumedFrom, 1)
        XCTAssertTrue(notes.first?.contains("resuming after epoch 1") == true, "\(notes)")
        XCTAssertEqual(b.history.map(\.validationLoss), a.history.map(\.validationLoss))
        XCTAssertEqual(b.history.map(\.trainLoss), a.history.map(\.trainLoss))
        XCTAssertEqual(b.bestEpoch, a.bestEpoch)
        let wa = whole.namedTensors, wb = resumed.namedTensors
        var maxDiff: Float = 0
        for (k, t) in wa { maxDiff = max(maxDiff, t.maxAbsDifference(wb[k]!)) }
        XCTAssertEqual(maxDiff, 0, "resumed weights differ from the uninterrupted run by up to \(maxDiff)")
        // The last checkpoints of both runs hold the same current weights too.
        let ca = try CNNCheckpoint.read(path: CNNCheckpoint.list(in: dir + "/a").last!.path)
        let cb = try CNNCheckpoint.read(path: CNNCheckpoint.list(in: dir + "/b").last!.path)
        XCTAssertEqual(ca.model, cb.model); XCTAssertEqual(ca.adamM, cb.adamM); XCTAssertEqual(ca.rngState, cb.rngState)

        // Refusals: existing checkpoints without --resume; a resume with other settings.
        XCTAssertThrowsError(try CNNTrainer(graph: try CNNGraph.load(modelJSON: Self.modelJSON), config: config(epochs: 3), checkpointDirectory: dir + "/b")
            .train(train, validation: val, resume: false)) { e in XCTAssertTrue("\(e)".contains("--resume"), "\(e)") }
        var other = config(epochs: 4); other.learningRate = 0.01
        XCTAssertThrowsError(try CNNTrainer(graph: try CNNGraph.load(modelJSON: Self.modelJSON), config: other, checkpointDirectory: dir + "/b")
            .train(train, validation: val, resume: true)) { e in XCTAssertTrue("\(e)".contains("other data, settings"), "\(e)") }
    }

    func testFineTuningLearnsAndEarlyStoppingKeepsTheBestEpoch() throws {
        let train = Self.bars(42, classes: [0, 3, 5], seed: 11), val = Self.bars(15, classes: [0, 3, 5], seed: 12)
        let graph = try CNNGraph.load(modelJSON: Self.modelJSON)
        var c = config(epochs: 8); c.patience = 2; c.augmentation = Augmentation(); c.learningRate = 0.003
        let trainer = CNNTrainer(graph: graph, config: c, checkpointDirectory: nil)
        let before = trainer.evaluate(val)
        let out = try trainer.train(train, validation: val, resume: false)
        let after = trainer.evaluate(val)
        let best = out.history.min { $0.validationLoss < $1.validationLoss }!
        XCTAssertEqual(out.bestEpoch, best.epoch)
        // The graph holds the best epoch's weights: its validation loss is that epoch's.
        XCTAssertEqual(after.loss, best.validationLoss, accuracy: 1e-9)
        XCTAssertLessThan(after.loss, before.loss, "history \(out.history)")
        XCTAssertGreaterThan(after.accuracy, 0.6, "three bar orientations should be learnt (chance 0.33); history \(out.history)")
        if out.stoppedEarly { XCTAssertEqual(out.history.count - out.bestEpoch, c.patience) }
    }

    /// The training regression test of the from-scratch recipe: a VGG of `CNNArchitectures` with
    /// every option of `mien train cnn` on (AdamW, cosine schedule with warm-up, sqrt class
    /// weights, label smoothing, batch-norm recalibration, all seven augmentations), seeded, on
    /// three bar orientations (chance 0.33). Fails if learning breaks in any of them.
    func testFromScratchRecipeLearns() throws {
        let train = Self.bars(60, classes: [0, 3, 5], seed: 21), val = Self.bars(21, classes: [0, 3, 5], seed: 22)
        let d = try CNNArchitectures.description("vgg-4", side: 64, labels: ExpressionClass.labels)
        let graph = try CNNGraph.initialized(d, seed: 2)
        var c = config(epochs: 10)
        c.patience = 10; c.learningRate = 0.01; c.weightDecay = 0.01; c.schedule = .cosine; c.warmupEpochs = 1
        c.classWeighting = .sqrt; c.labelSmoothing = 0.1; c.batchNormRecalibration = 40; c.selection = .accuracy
        c.augmentation = try Augmentation.parse("rotation,flip,zoom,brightness,contrast,shift,erasing")
        let out = try CNNTrainer(graph: graph, config: c, checkpointDirectory: nil).train(train, validation: val, resume: false)
        let best = out.history.max { $0.validationAccuracy < $1.validationAccuracy }!
        XCTAssertGreaterThan(best.validationAccuracy, 0.7, "history \(out.history)")
        XCTAssertEqual(out.bestEpoch, out.history.first { $0.validationAccuracy == best.validationAccuracy }!.epoch)
    }

    /// Every architecture family builds, has the embedding it names, and its fast inference form
    /// (`FoldedCNN`, batch norm folded) equals the graph's inference within 1e-4.
    func testArchitecturesBuildAndFoldExactly() throws {
        for (name, side, embedding) in [("vgg-8", 48, 64), ("xception-8", 48, 64), ("xception-16", 64, 128)] {
            let d = try CNNArchitectures.description(name, side: side, labels: ExpressionClass.labels)
            let graph = try CNNGraph.initialized(d, seed: 9)
            var rng = SeededRandom(seed: 3)
            // Move the moving statistics away from 0/1 so folding is exercised.
            for node in graph.nodes { if case .batchNorm(let bn) = node.op {
                bn.movingMean = rng.uniformTensor([bn.channels], -0.2, 0.2); bn.movingVariance = rng.uniformTensor([bn.channels], 0.5, 1.5)
            } }
            let x = rng.uniformTensor([3, side, side, 1])
            let slow = graph.predict(x)
            let fast = try FoldedCNN(graph).predict(x)
            XCTAssertEqual(slow.embedding.shape, [3, embedding], name)
            XCTAssertLessThan(fast.probabilities.maxAbsDifference(slow.probabilities), 1e-4, name)
            XCTAssertLessThan(fast.embedding.maxAbsDifference(slow.embedding), 1e-4, name)
        }
        XCTAssertThrowsError(try CNNArchitectures.description("resnet-18", side: 48, labels: ExpressionClass.labels))
        XCTAssertThrowsError(try CNNArchitectures.description("vgg", side: 48, labels: ExpressionClass.labels))
    }
}

extension SeededRandom {
    /// A uniform tensor from a copy of the generator (test helper).
    func uniformTensorCopy(_ shape: [Int]) -> Tensor {
        var r = self
        return r.uniformTensor(shape)
    }
}
