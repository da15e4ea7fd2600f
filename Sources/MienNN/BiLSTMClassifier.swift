import Foundation

/// Sequence classifier of the method: a window of T per-frame embeddings `[N, T, D]` →
/// `layers` stacked bidirectional LSTMs (each returning sequences `[N, T, 2U]`, dropout after
/// each) → the last layer's final states `[forward h after step T−1 ‖ backward h after step 0]`
/// `[N, 2U]` (Keras `Bidirectional(LSTM(return_sequences=False))`) → dense `[2U, C]` → softmax.
///
/// With `cnnPrior` the classifier refines the per-frame CNN instead of replacing it: its logits
/// are `dense(h) + s · log(mean over the window of the CNN's probabilities)` (`prior` below, one
/// row per window; `s` a learned scalar, 1 at the start). Its dense layer starts at zero, so an
/// untrained model labels a window exactly as the CNN's window mean does, and training learns
/// only what the embeddings' order and content add to that.
///
/// Tensor names (Keras layouts, gate order i, f, c, o):
/// `bilstm_<k>/forward/kernel` `[Din, 4U]`, `bilstm_<k>/forward/recurrent_kernel` `[U, 4U]`,
/// `bilstm_<k>/forward/bias` `[4U]`, the same under `backward/`, for k = 0 …; Din = D for k = 0
/// and 2U after; `dense/kernel` `[2U, C]`, `dense/bias` `[C]`; with `cnnPrior`, `cnn_prior/scale` `[1]`.
public final class BiLSTMClassifier {
    public struct Config: Sendable, Equatable, Codable {
        public var window: Int
        public var inputSize: Int
        public var units: Int
        public var layers: Int
        public var dropout: Float
        public var classes: Int
        /// The logits add the scaled log of the window's mean CNN probabilities (see the type).
        public var cnnPrior: Bool

        public init(window: Int, inputSize: Int, units: Int, layers: Int = 1, dropout: Float = 0, classes: Int, cnnPrior: Bool = false) {
            self.window = window; self.inputSize = inputSize; self.units = units
            self.layers = layers; self.dropout = dropout; self.classes = classes; self.cnnPrior = cnnPrior
        }

        private enum CodingKeys: String, CodingKey { case window, inputSize, units, layers, dropout, classes, cnnPrior }

        /// Decodes a configuration; one written before `cnnPrior` existed has none.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(window: try c.decode(Int.self, forKey: .window), inputSize: try c.decode(Int.self, forKey: .inputSize),
                      units: try c.decode(Int.self, forKey: .units), layers: try c.decode(Int.self, forKey: .layers),
                      dropout: try c.decode(Float.self, forKey: .dropout), classes: try c.decode(Int.self, forKey: .classes),
                      cnnPrior: try c.decodeIfPresent(Bool.self, forKey: .cnnPrior) ?? false)
        }

        /// Throws if any size is out of range (names the field).
        public func validate() throws {
            for (name, v) in [("window", window), ("input size", inputSize), ("units", units), ("layers", layers), ("classes", classes)] where v < 1 {
                throw NNError.badInput("BiLSTM \(name) must be at least 1, got \(v)")
            }
            if !(dropout >= 0 && dropout < 1) { throw NNError.badInput("BiLSTM dropout must be in [0, 1), got \(dropout)") }
        }

        /// Name and expected shape of every tensor, in a fixed order.
        public var tensorShapes: [(name: String, shape: [Int])] {
            var out: [(String, [Int])] = []
            for k in 0..<layers {
                let din = k == 0 ? inputSize : 2 * units
                for dir in ["forward", "backward"] {
                    out.append(("bilstm_\(k)/\(dir)/kernel", [din, 4 * units]))
                    out.append(("bilstm_\(k)/\(dir)/recurrent_kernel", [units, 4 * units]))
                    out.append(("bilstm_\(k)/\(dir)/bias", [4 * units]))
                }
            }
            out.append(("dense/kernel", [2 * units, classes]))
            out.append(("dense/bias", [classes]))
            if cnnPrior { out.append(("cnn_prior/scale", [1])) }
            return out
        }
    }

    public let config: Config
    public let recurrent: [BiLSTM]
    public let dropouts: [Dropout]
    public let dense: Dense
    /// `s` of the CNN prior (`cnn_prior/scale`), when `config.cnnPrior`.
    public let priorScale: Parameter?
    private var lastShape: [Int] = []
    private var lastPrior: Tensor?

    /// Freshly initialised weights (Keras defaults; see `LSTM.init(inputSize:units:…)`), seeded.
    public init(config: Config, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var rng = SeededRandom(seed: seed)
        var layers: [BiLSTM] = []
        for k in 0..<config.layers {
            layers.append(BiLSTM(inputSize: k == 0 ? config.inputSize : 2 * config.units, units: config.units,
                                 name: "bilstm_\(k)", rng: &rng))
        }
        recurrent = layers
        dropouts = (0..<config.layers).map { Dropout(rate: config.dropout, seed: seed &+ 1000 &+ UInt64($0)) }
        dense = Dense(inputs: 2 * config.units, outputs: config.classes, name: "dense", rng: &rng)
        if config.cnnPrior {
            for i in 0..<dense.kernel.value.count { dense.kernel.value.data[i] = 0 }
            priorScale = Parameter(name: "cnn_prior/scale", value: Tensor(shape: [1], data: [1]))
        } else {
            priorScale = nil
        }
    }

    /// Weights from named tensors; every shape is checked and a mismatch names `path` and the tensor.
    public init(config: Config, tensors: Safetensors.Contents, path: String) throws {
        try config.validate()
        self.config = config
        func t(_ name: String, _ shape: [Int]) throws -> Tensor { try tensors.tensor(name, path: path, shape: shape) }
        var layers: [BiLSTM] = []
        let u = config.units
        for k in 0..<config.layers {
            let din = k == 0 ? config.inputSize : 2 * u
            func lstm(_ dir: String) throws -> LSTM {
                LSTM(kernel: try t("bilstm_\(k)/\(dir)/kernel", [din, 4 * u]),
                     recurrentKernel: try t("bilstm_\(k)/\(dir)/recurrent_kernel", [u, 4 * u]),
                     bias: try t("bilstm_\(k)/\(dir)/bias", [4 * u]), reverse: dir == "backward", name: "bilstm_\(k)/\(dir)")
            }
            layers.append(BiLSTM(forward: try lstm("forward"), backward: try lstm("backward")))
        }
        recurrent = layers
        dropouts = (0..<config.layers).map { Dropout(rate: config.dropout, seed: 1000 &+ UInt64($0)) }
        dense = Dense(kernel: try t("dense/kernel", [2 * u, config.classes]), bias: try t("dense/bias", [config.classes]), name: "dense")
        priorScale = config.cnnPrior ? Parameter(name: "cnn_prior/scale", value: try t("cnn_prior/scale", [1])) : nil
        let known = Set(config.tensorShapes.map(\.name))
        if let extra = tensors.tensors.keys.filter({ !known.contains($0) }).sorted().first {
            throw NNError.unsupported(path, "tensor '\(extra)' is not part of a \(config.layers)-layer BiLSTM classifier; the weights do not match the bundle's architecture")
        }
    }

    public var parameters: [Parameter] { recurrent.flatMap(\.parameters) + dense.parameters + (priorScale.map { [$0] } ?? []) }

    /// The prior of one window from its steps' CNN probabilities (`classes` each): the log of their
    /// mean, floored at 1e-4 so that a class the CNN ruled out is not an infinite penalty.
    public static func prior(ofSteps cnnProbs: [[Float]], classes: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: classes)
        for p in cnnProbs { for c in 0..<classes { mean[c] += p[c] } }
        return mean.map { Float(log(Double(max($0 / Float(max(cnnProbs.count, 1)), 1e-4)))) }
    }

    public var namedTensors: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.value) })
    }

    /// Logits `[N, classes]` for windows `[N, T, D]` (T may differ from `config.window`); with
    /// `cnnPrior`, `prior` `[N, classes]` (`prior(ofSteps:classes:)` of each window) is required.
    public func forward(_ x: Tensor, prior: Tensor? = nil, training: Bool) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == config.inputSize, "BiLSTM classifier expects N×T×\(config.inputSize), got \(x.shape)")
        let n = x.shape[0], u = config.units
        var last: Tensor
        if training {
            var h = x
            for (layer, drop) in zip(recurrent, dropouts) {
                h = drop.forward(layer.forward(h, training: true), training: true)
            }
            let t = h.shape[1]
            last = Tensor(uninitialized: [n, 2 * u])
            for b in 0..<n {
                for j in 0..<u {
                    last.data[b * 2 * u + j] = h.data[(b * t + t - 1) * 2 * u + j]
                    last.data[b * 2 * u + u + j] = h.data[(b * t) * 2 * u + u + j]
                }
            }
            lastShape = h.shape
        } else {
            // Inference: dropout is the identity, and the last layer's final states are all the
            // dense layer reads.
            var h = x
            for layer in recurrent.dropLast() { h = layer.forward(h, training: false) }
            last = recurrent.last!.finalStates(h)
        }
        var logits = dense.forward(last, training: training)
        if let priorScale {
            guard let prior, prior.shape == [n, config.classes] else {
                preconditionFailure("a BiLSTM with a CNN prior needs prior [\(n), \(config.classes)], got \(prior?.shape.description ?? "none")")
            }
            let s = priorScale.value.data[0]
            for i in 0..<logits.count { logits.data[i] += s * prior.data[i] }
            if training { lastPrior = prior }
        }
        return logits
    }

    /// Back-propagates ∂L/∂logits of the last training forward; accumulates parameter gradients.
    @discardableResult
    public func backward(_ gradLogits: Tensor) -> Tensor {
        if let priorScale, let lastPrior {
            var ds: Float = 0
            for i in 0..<gradLogits.count { ds += gradLogits.data[i] * lastPrior.data[i] }
            priorScale.grad.data[0] += ds
        }
        let dLast = dense.backward(gradLogits)
        let n = lastShape[0], t = lastShape[1], u = config.units
        var g = Tensor(shape: lastShape)
        for b in 0..<n {
            for j in 0..<u {
                g.data[(b * t + t - 1) * 2 * u + j] += dLast.data[b * 2 * u + j]
                g.data[(b * t) * 2 * u + u + j] += dLast.data[b * 2 * u + u + j]
            }
        }
        for (layer, drop) in zip(recurrent, dropouts).reversed() {
            g = layer.backward(drop.backward(g))
        }
        return g
    }

    /// Class probabilities `[N, classes]` (`prior` as in `forward`).
    public func predict(_ x: Tensor, prior: Tensor? = nil) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == config.inputSize, x.shape[1] >= 1 else {
            throw NNError.badInput("BiLSTM input must be [n, T, \(config.inputSize)] windows of embeddings, got \(x.shape)")
        }
        if config.cnnPrior && prior?.shape != [x.shape[0], config.classes] {
            throw NNError.badInput("this BiLSTM refines the CNN: it needs the CNN's probabilities of every window ([\(x.shape[0]), \(config.classes)]), got \(prior?.shape.description ?? "none")")
        }
        return softmax(forward(x, prior: prior, training: false))
    }

    /// One optimisation step on a batch: returns the mean cross-entropy before the step.
    @discardableResult
    public func trainStep(_ x: Tensor, prior: Tensor? = nil, targets: Tensor, optimizer: Optimizer) -> Float {
        for p in parameters { p.zeroGrad() }
        let (loss, g, _) = SoftmaxCrossEntropy.lossAndGradient(logits: forward(x, prior: prior, training: true), targets: targets)
        backward(g)
        optimizer.step(parameters)
        return loss
    }
}
