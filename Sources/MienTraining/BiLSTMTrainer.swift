import Foundation
import MienCore
import MienNN

/// Training of the BiLSTM classifier on ordered windows of CNN embeddings: Adam,
/// categorical cross-entropy, seeded shuffling, early stopping on validation loss (the
/// weights of the best epoch are kept). With `cnnPrior` the classifier refines the CNN's window
/// mean (see `BiLSTMClassifier`); the untrained model, which is exactly that mean, is then epoch 0
/// of the history and a candidate like any other epoch, so training keeps it unless an epoch does
/// better on validation.
public struct BiLSTMTrainer {
    public struct Config: Sendable {
        public var units = 64
        public var layers = 1
        public var dropout: Float = 0.2
        public var learningRate: Float = 0.002
        public var epochs = 30
        public var batchSize = 32
        /// Epochs without a better validation loss before stopping.
        public var patience = 5
        public var seed: UInt64 = 1
        /// Refine the CNN's window mean instead of replacing it (needs CNN probabilities in the data).
        public var cnnPrior = false
        public init() {}
    }

    /// One epoch's figures (losses in nats, accuracies in [0, 1]).
    public struct Epoch: Sendable, Codable {
        public var epoch: Int
        public var trainLoss: Double
        public var trainAccuracy: Double
        public var validationLoss: Double
        public var validationAccuracy: Double
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    /// Trains a classifier over `classes` classes on windows of `inputSize`-long embeddings.
    /// - Returns: the best-validation-loss model and the per-epoch history.
    public func train(_ train: WindowDataset, validation: WindowDataset, window: Int, inputSize: Int, classes: Int,
                      log: (Epoch) -> Void = { _ in }) throws -> (BiLSTMClassifier, [Epoch]) {
        guard train.count > 0 else { throw TrainingError("no training windows: extract more videos or lower the window length") }
        if config.cnnPrior, let bare = [train, validation].first(where: { $0.priors.contains(where: \.isEmpty) }) {
            throw TrainingError("a BiLSTM with a CNN prior needs the CNN's probabilities of every frame; \(bare.count) windows include frames without them (make the cache again with this version of mien)")
        }
        let model = try BiLSTMClassifier(config: .init(window: window, inputSize: inputSize, units: config.units,
                                                       layers: config.layers, dropout: config.dropout, classes: classes,
                                                       cnnPrior: config.cnnPrior),
                                         seed: config.seed)
        let optimizer = Adam(learningRate: config.learningRate)
        var rng = SplitMix64(seed: config.seed &+ 7)
        var history: [Epoch] = []
        var best = (loss: Double.infinity, tensors: model.namedTensors, epoch: 0)
        if config.cnnPrior {
            let (trainLoss, trainAcc) = try evaluate(model, train, inputSize: inputSize, classes: classes)
            let (valLoss, valAcc) = validation.count > 0 ? try evaluate(model, validation, inputSize: inputSize, classes: classes) : (trainLoss, trainAcc)
            history.append(Epoch(epoch: 0, trainLoss: trainLoss, trainAccuracy: trainAcc, validationLoss: valLoss, validationAccuracy: valAcc))
            log(history[0])
            best.loss = valLoss
        }
        for epoch in 1...config.epochs {
            var order = Array(0..<train.count)
            order.shuffle(using: &rng)
            // Batches of equal window length (short tracks give shorter windows).
            let byLength = Dictionary(grouping: order, by: { train.windows[$0].count })
            var batches: [[Int]] = []
            for len in byLength.keys.sorted() {
                let idx = byLength[len]!
                batches += stride(from: 0, to: idx.count, by: config.batchSize).map { Array(idx[$0..<min($0 + config.batchSize, idx.count)]) }
            }
            batches.shuffle(using: &rng)
            var lossSum = 0.0
            Denormals.flushed {   // as CNNTrainer (see `Denormals`)
                for b in batches {
                    let (x, prior, y) = tensors(train, b, inputSize: inputSize, classes: classes)
                    lossSum += Double(model.trainStep(x, prior: prior, targets: y, optimizer: optimizer)) * Double(b.count)
                }
            }
            let (trainLoss, trainAcc) = try evaluate(model, train, inputSize: inputSize, classes: classes)
            let (valLoss, valAcc) = validation.count > 0 ? try evaluate(model, validation, inputSize: inputSize, classes: classes) : (trainLoss, trainAcc)
            let record = Epoch(epoch: epoch, trainLoss: trainLoss, trainAccuracy: trainAcc, validationLoss: valLoss, validationAccuracy: valAcc)
            history.append(record)
            log(record)
            _ = lossSum
            if valLoss < best.loss - 1e-6 {
                best = (valLoss, model.namedTensors, epoch)
            } else if epoch - best.epoch >= config.patience {
                break
            }
        }
        let restored = try BiLSTMClassifier(config: model.config, tensors: try Safetensors.parse(Safetensors.serialize(best.tensors), path: "best epoch \(best.epoch)"), path: "best epoch \(best.epoch)")
        return (restored, history)
    }

    /// Mean cross-entropy and accuracy of `model` on `data` (inference mode).
    public func evaluate(_ model: BiLSTMClassifier, _ data: WindowDataset, inputSize: Int, classes: Int) throws -> (loss: Double, accuracy: Double) {
        var loss = 0.0, correct = 0
        try forEachPrediction(model, data, inputSize: inputSize, classes: classes) { i, probs in
            loss -= log(Double(max(probs[probs.startIndex + data.labels[i]], 1e-12)))
            if probs.indices.max(by: { probs[$0] < probs[$1] })! - probs.startIndex == data.labels[i] { correct += 1 }
        }
        return (loss / Double(max(data.count, 1)), Double(correct) / Double(max(data.count, 1)))
    }

    /// The predicted class (argmax of the probabilities) of every window of `data`, in order (inference mode).
    public func predictions(_ model: BiLSTMClassifier, _ data: WindowDataset, inputSize: Int, classes: Int) throws -> [Int] {
        var out = [Int](repeating: 0, count: data.count)
        try forEachPrediction(model, data, inputSize: inputSize, classes: classes) { i, probs in
            out[i] = probs.indices.max(by: { probs[$0] < probs[$1] })! - probs.startIndex
        }
        return out
    }

    /// Runs `model` over `data` in batches of up to 256 windows of equal length and hands each
    /// window's index and class probabilities to `body`.
    private func forEachPrediction(_ model: BiLSTMClassifier, _ data: WindowDataset, inputSize: Int, classes: Int,
                                   _ body: (Int, ArraySlice<Float>) -> Void) throws {
        let byLength = Dictionary(grouping: Array(0..<data.count), by: { data.windows[$0].count })
        for (_, idx) in byLength {
            for start in stride(from: 0, to: idx.count, by: 256) {
                let b = Array(idx[start..<min(start + 256, idx.count)])
                let (x, prior, _) = tensors(data, b, inputSize: inputSize, classes: classes)
                let p = try model.predict(x, prior: prior)
                for (row, i) in b.enumerated() { body(i, p.data[(row * classes)..<((row + 1) * classes)]) }
            }
        }
    }

    /// Windows `idx` of `data` as model input `[n, T, D]`, their priors `[n, classes]` when
    /// every one has its prior (else nil), and one-hot targets `[n, classes]`.
    private func tensors(_ data: WindowDataset, _ idx: [Int], inputSize: Int, classes: Int) -> (Tensor, Tensor?, Tensor) {
        let t = data.windows[idx[0]].count
        var x = [Float](); x.reserveCapacity(idx.count * t * inputSize)
        var y = [Float](repeating: 0, count: idx.count * classes)
        var prior = [Float](); prior.reserveCapacity(idx.count * classes)
        for (row, i) in idx.enumerated() {
            for step in data.windows[i] { x += step }
            y[row * classes + data.labels[i]] = 1
            prior += data.priors[i]
        }
        return (Tensor(shape: [idx.count, t, inputSize], data: x),
                prior.count == idx.count * classes ? Tensor(shape: [idx.count, classes], data: prior) : nil,
                Tensor(shape: [idx.count, classes], data: y))
    }
}
