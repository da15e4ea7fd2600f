import Foundation
import MienCore
import MienNN

/// Training of a CNN graph (fine-tuned from its weights, or from fresh ones of any architecture
/// `CNNArchitectures` writes) on labelled face crops: Adam or AdamW with a learning-rate
/// schedule, softmax cross-entropy (class weights, label smoothing, distillation targets), seeded shuffling and
/// augmentation, early stopping on validation loss or accuracy (the best epoch's weights are
/// kept), a checkpoint after every epoch and exact resumption from it.
///
/// Determinism: with the same data, settings and seed, a run resumed from a checkpoint ends with
/// the same weights, bit for bit, as a run that was never interrupted, whatever the thread count
/// (`BatchChunks` fixes the chunking and the order of every sum) — everything that evolves during
/// training (weights, batch-norm statistics, Adam's moments and step count, the generator that
/// shuffles and augments, the early-stopping state) is in the checkpoint.
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
        /// Decoupled weight decay (AdamW); 0 is Adam.
        public var weightDecay: Float = 0
        /// How the learning rate moves over the run (`epochs` steps' worth).
        public var schedule = LearningRateSchedule.constant
        /// Epochs of linear warm-up from lr/10 to lr before the schedule (0: none).
        public var warmupEpochs = 0
        /// How each class's examples weigh in the loss's gradient.
        public var classWeighting = ClassWeighting.none
        /// Label smoothing ε: targets (1 − ε)·one-hot + ε/classes.
        public var labelSmoothing: Float = 0
        /// What picks the kept epoch and drives early stopping.
        public var selection = Selection.loss
        /// Training images (unaugmented, the first ones) over which batch norm's moving statistics
        /// are recomputed exactly after each epoch, before validation; 0 keeps Keras's moving
        /// averages. From fresh weights the moving averages trail the quickly changing network
        /// for many epochs, and inference-mode validation figures are then meaningless.
        public var batchNormRecalibration = 0
        /// Targets blended with the teachers' outputs (knowledge distillation); nil: labels only.
        public var distillation: Distillation?
        public init() {}

        /// The settings that must not change across a resume (epochs may grow, except with a
        /// schedule, which spans the planned epochs).
        var identity: String {
            var s = "batch \(batchSize) lr \(learningRate.bitPattern) patience \(patience) seed \(seed) augmentation \(augmentation)"
            if weightDecay != 0 { s += " wd \(weightDecay.bitPattern)" }
            if schedule != .constant { s += " schedule \(schedule) epochs \(epochs)" }
            if warmupEpochs != 0 { s += " warmup \(warmupEpochs)" }
            if classWeighting != .none { s += " weights \(classWeighting)" }
            if labelSmoothing != 0 { s += " smoothing \(labelSmoothing.bitPattern)" }
            if selection != .loss { s += " select \(selection)" }
            if batchNormRecalibration != 0 { s += " bn-recalibration \(batchNormRecalibration)" }
            if let d = distillation {
                let bytes = d.targets.withUnsafeBytes { Array($0) }
                s += " distil \(d.weight.bitPattern) \(d.provenance) \(sha256Hex(bytes))"
            }
            return s
        }

        /// The learning rate of optimiser step `step` (0-based) of a run of `stepsPerEpoch`.
        func learningRate(step: Int, stepsPerEpoch: Int) -> Float {
            let warm = warmupEpochs * stepsPerEpoch
            if step < warm { return learningRate * (0.1 + 0.9 * Float(step) / Float(warm)) }
            switch schedule {
            case .constant: return learningRate
            case .cosine:
                let total = max(epochs * stepsPerEpoch - warm, 1)
                let t = min(Double(step - warm) / Double(total), 1)
                return learningRate * Float(0.5 * (1 + cos(Double.pi * t)))
            }
        }
    }

    public enum LearningRateSchedule: String, Sendable, CaseIterable { case constant, cosine }
    /// `balanced`: weight N / (K·n_c) (Keras' "balanced"); `sqrt`: its square root, normalised
    /// to mean 1 over the examples (a milder boost of rare classes such as disgust).
    public enum ClassWeighting: String, Sendable, CaseIterable { case none, balanced, sqrt }
    public enum Selection: String, Sendable, CaseIterable { case loss, accuracy }

    /// Per-class weights for `counts` (examples per class) under `weighting`.
    public static func classWeights(_ weighting: ClassWeighting, counts: [Int]) -> [Float] {
        let n = Double(counts.reduce(0, +)), k = Double(counts.count)
        switch weighting {
        case .none: return counts.map { _ in 1 }
        case .balanced: return counts.map { $0 > 0 ? Float(n / (k * Double($0))) : 0 }
        case .sqrt:
            let raw = counts.map { $0 > 0 ? (n / (k * Double($0))).squareRoot() : 0 }
            let mean = zip(raw, counts).reduce(0) { $0 + $1.0 * Double($1.1) } / max(n, 1)
            return raw.map { Float($0 / mean) }
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
        if let t = config.distillation, t.classes != classes || t.targets.count != train.count * classes {
            throw TrainingError("the distillation targets are for \(t.targets.count / max(t.classes, 1)) images of \(t.classes) classes, the training set has \(train.count) of \(classes)")
        }
        if let bad = (train.labels + validation.labels).first(where: { $0 < 0 || $0 >= classes }) {
            throw TrainingError("a label index \(bad) is outside the CNN's \(classes) classes")
        }
        HeapTuning.keepFreedMemoryForReuse()
        let fingerprint = Self.fingerprint(train: train, validation: validation, config: config, startWeights: graph.namedTensors)
        let adam = Adam(learningRate: config.learningRate, weightDecay: config.weightDecay)
        let weights = Self.classWeights(config.classWeighting, counts: train.classCounts(classes: classes))
        let stepsPerEpoch = (train.count + config.batchSize - 1) / config.batchSize
        let parameters = graph.parameters
        var rng = SplitMix64(seed: config.seed ^ 0xC11_7A1_5EED)
        var history: [Epoch] = []
        var best = (loss: Double.infinity, epoch: 0, tensors: graph.namedTensors)   // loss: the selection score, lower is better
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
            Denormals.flushed {   // as TensorFlow trains: underflowing gradients would run at microcode speed
                for first in stride(from: 0, to: order.count, by: config.batchSize) {
                    let batch = Array(order[first..<min(first + config.batchSize, order.count)])
                    let x = inputTensor(train, batch, augment: true, rng: &rng)
                    var targets = SoftmaxCrossEntropy.oneHot(batch.map { train.labels[$0] }, classes: classes)
                    if config.labelSmoothing > 0 {
                        let e = config.labelSmoothing
                        for i in 0..<targets.count { targets.data[i] = targets.data[i] * (1 - e) + e / Float(classes) }
                    }
                    config.distillation?.blend(into: &targets, indices: batch)
                    for p in parameters { p.zeroGrad() }
                    let logits = graph.forward(x, training: true).logits
                    let (loss, unweighted, probs) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, targets: targets)
                    var grad = unweighted
                    if config.classWeighting != .none {
                        for (row, i) in batch.enumerated() { for j in 0..<classes { grad.data[row * classes + j] *= weights[train.labels[i]] } }
                    }
                    graph.backward(grad)
                    adam.learningRate = config.learningRate(step: adam.iterations, stepsPerEpoch: stepsPerEpoch)
                    adam.step(parameters)
                    lossSum += Double(loss) * Double(batch.count)
                    for (row, i) in batch.enumerated() where argmax(probs.data, row: row, classes: classes) == train.labels[i] { correct += 1 }
                }
            }
            if config.batchNormRecalibration > 0 { recalibrateBatchNorm(train, images: config.batchNormRecalibration) }
            let (valLoss, valAcc) = evaluate(validation)
            let record = Epoch(epoch: epoch, trainLoss: lossSum / Double(train.count), trainAccuracy: Double(correct) / Double(train.count),
                               validationLoss: valLoss, validationAccuracy: valAcc)
            history.append(record)
            let score = config.selection == .loss ? valLoss : -valAcc
            if score < best.loss - 1e-6 {
                best = (score, epoch, graph.namedTensors)
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

    /// Recomputes every batch norm's moving mean and variance as the exact average of its batch
    /// statistics over the first `images` training images (unaugmented, in order, in batches of
    /// `batchSize`): momentum 1 − 1/k at the k-th batch makes the moving value the mean of the k.
    func recalibrateBatchNorm(_ data: FaceImageSet, images: Int) {
        let norms = graph.nodes.compactMap { node -> BatchNorm? in
            if case .batchNorm(let bn) = node.op { return bn }
            return nil
        }
        let saved = norms.map(\.momentum)
        defer { for (bn, m) in zip(norms, saved) { bn.momentum = m } }
        var unused = SplitMix64(seed: 0)
        var k = 0
        for first in stride(from: 0, to: min(images, data.count), by: config.batchSize) {
            k += 1
            for bn in norms { bn.momentum = 1 - 1 / Float(k) }
            let batch = Array(first..<min(first + config.batchSize, min(images, data.count)))
            _ = graph.forward(inputTensor(data, batch, augment: false, rng: &unused), training: true)
        }
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
    /// model description says (`((x · scale) + offset) · multiplier`). Images are prepared in
    /// parallel (`BatchChunks`); each augments with its own generator, seeded by one draw of
    /// `rng` per image in batch order, so the result does not depend on the thread count.
    private func inputTensor(_ data: FaceImageSet, _ batch: [Int], augment: Bool, rng: inout SplitMix64) -> Tensor {
        let d = graph.description, side = data.side, per = side * side
        let augmentation = augment && !config.augmentation.isIdentity ? config.augmentation : nil
        let seeds = augmentation == nil ? [] : batch.map { _ in rng.next() }
        var x = Tensor(uninitialized: [batch.count, side, side, 1])
        x.data.withUnsafeMutableBufferPointer { xb in
            let out = UncheckedSendable(xb.baseAddress!), job = UncheckedSendable((data, batch, seeds, augmentation))
            BatchChunks.forEach(batch: batch.count) { _, rows in
                let (data, batch, seeds, augmentation) = job.value
                for row in rows {
                    var image = data.image(batch[row]).map(Float.init)
                    if let augmentation {
                        var own = SplitMix64(seed: seeds[row])
                        image = augmentation.apply(image, side: side, rng: &own)
                    }
                    let o = out.value + row * per
                    for k in 0..<per { o[k] = (image[k] * d.scale + d.offset) * d.multiplier }
                }
            }
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
