import Foundation
import MienCore
import MienNN

/// Training of the CNN (the mini-Xception of `models/fer2013`, fine-tuned from its weights or
/// trained from fresh ones) on labelled face crops: Adam, softmax cross-entropy, seeded
/// shuffling and augmentation, early stopping on validation loss (the best epoch's weights are
/// kept), a checkpoint after every epoch and exact resumption from it.
///
/// Determinism: with the same data, settings, seed and BLAS thread count, a run resumed from a
/// checkpoint ends with the same weights, bit for bit, as a run that was never interrupted —
/// everything that evolves during training (weights, batch-norm statistics, Adam's moments and
/// step count, the generator that shuffles and augments, the early-stopping state) is in the
/// checkpoint, and every loop runs in a fixed order on one thread.
public final class CNNTrainer {
    public struct Config: Sendable {
        public var epochs = 10
        public var batchSize = 32
        public var learningRate: Float = 0.001
        /// Epochs without a better validation loss before stopping.
        public var patience = 3
        public var seed: UInt64 = 1
        public var augmentation = Augmentation()
        /// Images per inference batch when evaluating.
        public var evaluationBatch = 128
        public init() {}

        /// The settings that must not change across a resume (epochs may grow).
        var identity: String {
            "batch \(batchSize) lr \(learningRate.bitPattern) patience \(patience) seed \(seed) augmentation \(augmentation)"
        }
    }

    public typealias Epoch = BiLSTMTrainer.Epoch

    public let graph: CNNGraph
    public let config: Config
    /// Where checkpoints go (nil: none are written).
    public let checkpointDirectory: String?

    /// - Parameters:
    ///   - graph: the CNN to train (its weights are updated in place; at the end it holds the
    ///     best epoch's weights).
    public init(graph: CNNGraph, config: Config, checkpointDirectory: String?) {
        self.graph = graph
        self.config = config
        self.checkpointDirectory = checkpointDirectory
    }

    /// The result of a run.
    public struct Outcome {
        public var history: [Epoch]
        public var bestEpoch: Int
        /// The epoch the run started from (0 unless resumed).
        public var resumedFrom: Int
        public var stoppedEarly: Bool
    }

    /// Trains on `train`, validating on `validation` after each epoch.
    /// - Parameters:
    ///   - resume: continue from the newest checkpoint in `checkpointDirectory` (a fresh start
    ///     when there is none); without it, a folder that already holds checkpoints is refused.
    ///   - log: called after every epoch.
    public func train(_ train: FaceImageSet, validation: FaceImageSet, resume: Bool,
                      log: (Epoch) -> Void = { _ in }, note: (String) -> Void = { _ in }) throws -> Outcome {
        let d = graph.description
        guard train.side == d.inputHeight, train.side == d.inputWidth, d.inputChannels == 1 else {
            throw TrainingError("the crops are \(train.side)×\(train.side) gray but the CNN takes \(d.inputHeight)×\(d.inputWidth)×\(d.inputChannels)")
        }
        guard train.count > 0, validation.count > 0 else { throw TrainingError("training needs non-empty training and validation sets") }
        let classes = d.labels.count
        if let bad = (train.labels + validation.labels).first(where: { $0 < 0 || $0 >= classes }) {
            throw TrainingError("a label index \(bad) is outside the CNN's \(classes) classes")
        }
        let fingerprint = Self.fingerprint(train: train, validation: validation, config: config, startWeights: graph.namedTensors)
        let adam = Adam(learningRate: config.learningRate)
        let parameters = graph.parameters
        var rng = SplitMix64(seed: config.seed ^ 0xC11_7A1_5EED)
        var history: [Epoch] = []
        var best = (loss: Double.infinity, epoch: 0, tensors: graph.namedTensors)
        var start = 0
        var stopped = false

        if let dir = checkpointDirectory {
            let existing = CNNCheckpoint.list(in: dir)
            if resume, let last = existing.last {
                let c = try CNNCheckpoint.read(path: last.path)
                guard c.fingerprint == fingerprint else {
                    throw TrainingError("\(last.path) was made with other data, settings or starting weights than this run: resume with the same --data, --init/--from-scratch, --batch-size, --lr, --patience, --augment and --seed, or use an empty --checkpoint-dir")
                }
                try graph.load(c.model, path: last.path)
                try adam.restore(iterations: c.adamIterations, m: c.adamM, v: c.adamV, parameters: parameters)
                rng = SplitMix64(seed: c.rngState)
                history = c.history
                best = (c.bestLoss, c.bestEpoch, c.best)
                start = c.epoch
                stopped = c.stopped
                note("resuming after epoch \(c.epoch) from \(last.path)")
            } else if resume {
                note("no checkpoint in \(dir): starting from epoch 1")
            } else if !existing.isEmpty {
                throw TrainingError("\(dir) already holds checkpoints (up to epoch \(existing.last!.epoch)): pass --resume to continue that run, or give an empty --checkpoint-dir")
            }
        }

        var epoch = start
        while !stopped && epoch < config.epochs {
            epoch += 1
            var order = Array(0..<train.count)
            order.shuffle(using: &rng)
            var lossSum = 0.0, correct = 0
            for first in stride(from: 0, to: order.count, by: config.batchSize) {
                let batch = Array(order[first..<min(first + config.batchSize, order.count)])
                let x = inputTensor(train, batch, augment: true, rng: &rng)
                let targets = SoftmaxCrossEntropy.oneHot(batch.map { train.labels[$0] }, classes: classes)
                for p in parameters { p.zeroGrad() }
                let logits = graph.forward(x, training: true).logits
                let (loss, grad, probs) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, targets: targets)
                graph.backward(grad)
                adam.step(parameters)
                lossSum += Double(loss) * Double(batch.count)
                for (row, i) in batch.enumerated() where argmax(probs.data, row: row, classes: classes) == train.labels[i] { correct += 1 }
            }
            let (valLoss, valAcc) = evaluate(validation)
            let record = Epoch(epoch: epoch, trainLoss: lossSum / Double(train.count), trainAccuracy: Double(correct) / Double(train.count),
                               validationLoss: valLoss, validationAccuracy: valAcc)
            history.append(record)
            if valLoss < best.loss - 1e-6 {
                best = (valLoss, epoch, graph.namedTensors)
            } else if epoch - best.epoch >= config.patience {
                stopped = true
            }
            if let dir = checkpointDirectory {
                let s = adam.state(for: parameters)
                try CNNCheckpoint(epoch: epoch, model: graph.namedTensors, best: best.tensors, bestEpoch: best.epoch, bestLoss: best.loss,
                                  adamIterations: s.iterations, adamM: s.m, adamV: s.v, rngState: rng.state, stopped: stopped,
                                  history: history, fingerprint: fingerprint).write(to: dir)
            }
            log(record)
        }
        try graph.load(best.tensors, path: "best epoch \(best.epoch)")
        return Outcome(history: history, bestEpoch: best.epoch, resumedFrom: start, stoppedEarly: stopped)
    }

    /// Mean cross-entropy (nats) and accuracy of the graph on `data` in inference mode.
    public func evaluate(_ data: FaceImageSet) -> (loss: Double, accuracy: Double) {
        let classes = graph.description.labels.count
        var loss = 0.0, correct = 0
        var unused = SplitMix64(seed: 0)
        for first in stride(from: 0, to: data.count, by: config.evaluationBatch) {
            let batch = Array(first..<min(first + config.evaluationBatch, data.count))
            let probs = graph.predict(inputTensor(data, batch, augment: false, rng: &unused)).probabilities
            for (row, i) in batch.enumerated() {
                loss -= log(Double(max(probs.data[row * classes + data.labels[i]], 1e-12)))
                if argmax(probs.data, row: row, classes: classes) == data.labels[i] { correct += 1 }
            }
        }
        return (loss / Double(max(data.count, 1)), Double(correct) / Double(max(data.count, 1)))
    }

    /// Predicted class of every image (inference mode).
    public func predict(_ data: FaceImageSet) -> [Int] {
        let classes = graph.description.labels.count
        var out: [Int] = []
        var unused = SplitMix64(seed: 0)
        for first in stride(from: 0, to: data.count, by: config.evaluationBatch) {
            let batch = Array(first..<min(first + config.evaluationBatch, data.count))
            let probs = graph.predict(inputTensor(data, batch, augment: false, rng: &unused)).probabilities
            for row in batch.indices { out.append(argmax(probs.data, row: row, classes: classes)) }
        }
        return out
    }

    /// NHWC input of the images at `batch`: augmented (training) and preprocessed as the
    /// model description says (`((x · scale) + offset) · multiplier`).
    private func inputTensor(_ data: FaceImageSet, _ batch: [Int], augment: Bool, rng: inout SplitMix64) -> Tensor {
        let d = graph.description, side = data.side, per = side * side
        var x = Tensor(shape: [batch.count, side, side, 1])
        for (row, i) in batch.enumerated() {
            var image = data.image(i).map(Float.init)
            if augment && !config.augmentation.isIdentity { image = config.augmentation.apply(image, side: side, rng: &rng) }
            for k in 0..<per { x.data[row * per + k] = (image[k] * d.scale + d.offset) * d.multiplier }
        }
        return x
    }

    private func argmax(_ p: [Float], row: Int, classes: Int) -> Int {
        var best = 0
        for j in 1..<classes where p[row * classes + j] > p[row * classes + best] { best = j }
        return best
    }

    /// SHA-256 over the training and validation images and labels, the settings that fix the
    /// run, and the starting weights.
    static func fingerprint(train: FaceImageSet, validation: FaceImageSet, config: Config, startWeights: [String: Tensor]) -> String {
        var bytes: [UInt8] = []
        for set in [train, validation] {
            bytes += set.pixels
            for l in set.labels { bytes += withUnsafeBytes(of: Int32(l).littleEndian, Array.init) }
        }
        bytes += Array(config.identity.utf8)
        bytes += Array(sha256Hex(Safetensors.serialize(startWeights)).utf8)
        return sha256Hex(bytes)
    }
}
