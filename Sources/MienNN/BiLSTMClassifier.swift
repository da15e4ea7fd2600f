/// Sequence classifier of the method: a window of T per-frame embeddings `[N, T, D]` →
/// `layers` stacked bidirectional LSTMs (each returning sequences `[N, T, 2U]`, dropout after
/// each) → the last layer's final states `[forward h after step T−1 ‖ backward h after step 0]`
/// `[N, 2U]` (Keras `Bidirectional(LSTM(return_sequences=False))`) → dense `[2U, C]` → softmax.
///
/// Tensor names (Keras layouts, gate order i, f, c, o):
/// `bilstm_<k>/forward/kernel` `[Din, 4U]`, `bilstm_<k>/forward/recurrent_kernel` `[U, 4U]`,
/// `bilstm_<k>/forward/bias` `[4U]`, the same under `backward/`, for k = 0 …; Din = D for k = 0
/// and 2U after; `dense/kernel` `[2U, C]`, `dense/bias` `[C]`.
public final class BiLSTMClassifier {
    public struct Config: Sendable, Equatable, Codable {
        public var window: Int
        public var inputSize: Int
        public var units: Int
        public var layers: Int
        public var dropout: Float
        public var classes: Int

        public init(window: Int, inputSize: Int, units: Int, layers: Int = 1, dropout: Float = 0, classes: Int) {
            self.window = window; self.inputSize = inputSize; self.units = units
            self.layers = layers; self.dropout = dropout; self.classes = classes
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
            return out
        }
    }

    public let config: Config
    public let recurrent: [BiLSTM]
    public let dropouts: [Dropout]
    public let dense: Dense
    private var lastShape: [Int] = []

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
        let known = Set(config.tensorShapes.map(\.name))
        if let extra = tensors.tensors.keys.filter({ !known.contains($0) }).sorted().first {
            throw NNError.unsupported(path, "tensor '\(extra)' is not part of a \(config.layers)-layer BiLSTM classifier; the weights do not match the bundle's architecture")
        }
    }

    public var parameters: [Parameter] { recurrent.flatMap(\.parameters) + dense.parameters }

    public var namedTensors: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.value) })
    }

    /// Logits `[N, classes]` for windows `[N, T, D]` (T may differ from `config.window`).
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == config.inputSize, "BiLSTM classifier expects N×T×\(config.inputSize), got \(x.shape)")
        var h = x
        for (layer, drop) in zip(recurrent, dropouts) {
            h = drop.forward(layer.forward(h, training: training), training: training)
        }
        let n = h.shape[0], t = h.shape[1], u = config.units
        var last = Tensor(shape: [n, 2 * u])
        for b in 0..<n {
            for j in 0..<u {
                last.data[b * 2 * u + j] = h.data[(b * t + t - 1) * 2 * u + j]
                last.data[b * 2 * u + u + j] = h.data[(b * t) * 2 * u + u + j]
            }
        }
        if training { lastShape = h.shape }
        return dense.forward(last, training: training)
    }

    /// Back-propagates ∂L/∂logits of the last training forward; accumulates parameter gradients.
    @discardableResult
    public func backward(_ gradLogits: Tensor) -> Tensor {
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

    /// Class probabilities `[N, classes]`.
    public func predict(_ x: Tensor) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == config.inputSize, x.shape[1] >= 1 else {
            throw NNError.badInput("BiLSTM input must be [n, T, \(config.inputSize)] windows of embeddings, got \(x.shape)")
        }
        return softmax(forward(x, training: false))
    }

    /// One optimisation step on a batch: returns the mean cross-entropy before the step.
    @discardableResult
    public func trainStep(_ x: Tensor, targets: Tensor, optimizer: Optimizer) -> Float {
        for p in parameters { p.zeroGrad() }
        let (loss, g, _) = SoftmaxCrossEntropy.lossAndGradient(logits: forward(x, training: true), targets: targets)
        backward(g)
        optimizer.step(parameters)
        return loss
    }
}
