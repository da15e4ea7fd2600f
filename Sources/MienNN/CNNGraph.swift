import Foundation

/// A feed-forward CNN read from a Mien model description (`model.json`: Keras layer graph,
/// labels, input size, preprocessing, embedding layer) plus its weights (`model.safetensors`,
/// tensors named `<layer>/<keras weight>` in Keras layouts). The mini-Xception of
/// `models/fer2013` is one such graph.
///
/// Input images are NHWC `[n, height, width, channels]` *after* preprocessing. This type runs the
/// unfolded graph (training mode with batch statistics, or inference mode) and back-propagates;
/// `FoldedCNN` is the fast inference form built from it.
public final class CNNGraph {
    /// Supported layer types (Keras class names).
    public enum Op {
        case input
        case conv(Conv2D)
        case separable(SeparableConv2D)
        case batchNorm(BatchNorm)
        case relu(ReLU)
        case softmax(Softmax)
        case identity
        case maxPool(MaxPool2D)
        case add
        case globalAveragePool(GlobalAveragePool)
    }

    public struct Node {
        public let name: String
        public let op: Op
        /// Indices of input nodes.
        public let inputs: [Int]
    }

    public let nodes: [Node]
    public let description: CNNDescription
    /// Node whose output is the logits (the input of the final softmax).
    public let logitsNode: Int
    /// Node whose output is globally averaged into the embedding.
    public let embeddingNode: Int

    /// ReLU nodes computed inside the batch norm that is their only input (`BatchNorm.forward(_:
    /// training:relu:)`), and those batch norms: a ReLU after a batch norm read by nothing else.
    private let fusedReLUs: Set<Int>, fusedBatchNorms: Set<Int>

    init(nodes: [Node], description: CNNDescription) throws {
        self.nodes = nodes
        self.description = description
        var readers = [Int](repeating: 0, count: nodes.count)
        for node in nodes { for j in node.inputs { readers[j] += 1 } }
        var relus = Set<Int>()
        for (i, node) in nodes.enumerated() {
            guard case .relu = node.op, node.inputs.count == 1, case .batchNorm = nodes[node.inputs[0]].op,
                  readers[node.inputs[0]] == 1 else { continue }
            relus.insert(i)
        }
        guard let out = nodes.firstIndex(where: { $0.name == description.outputLayer }) else {
            throw NNError.badInput("model description: output layer '\(description.outputLayer)' is not in the layer list")
        }
        guard case .softmax = nodes[out].op, nodes[out].inputs.count == 1 else {
            throw NNError.badInput("model description: output layer '\(description.outputLayer)' must be a softmax activation")
        }
        logitsNode = nodes[out].inputs[0]
        guard let emb = nodes.firstIndex(where: { $0.name == description.embeddingLayer }) else {
            throw NNError.badInput("model description: embedding layer '\(description.embeddingLayer)' is not in the layer list")
        }
        embeddingNode = emb
        // The embedding and the logits are read by the caller too: keep those values unfused.
        let outputs = Set([logitsNode, embeddingNode])
        let kept = relus.filter { !outputs.contains(nodes[$0].inputs[0]) }
        fusedReLUs = kept
        fusedBatchNorms = Set(kept.map { nodes[$0].inputs[0] })
    }

    /// All trainable parameters in node order.
    public var parameters: [Parameter] {
        nodes.flatMap { node -> [Parameter] in
            switch node.op {
            case .conv(let l): return l.parameters
            case .separable(let l): return l.parameters
            case .batchNorm(let l): return l.parameters
            default: return []
            }
        }
    }

    /// Every weight tensor by its file name (parameters and batch-norm moving statistics).
    public var namedTensors: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for p in parameters { out[p.name] = p.value }
        for node in nodes { if case .batchNorm(let bn) = node.op { for s in bn.state { out[s.name] = s.value } } }
        return out
    }

    /// Number of scalars in all weight tensors, batch-norm statistics included.
    public var parameterCount: Int { namedTensors.values.reduce(0) { $0 + $1.count } }

    /// Runs the graph to the logits. Returns logits `[n, classes]` and the embedding `[n, E]`.
    public func forward(_ x: Tensor, training: Bool) -> (logits: Tensor, embedding: Tensor) {
        var values = [Tensor?](repeating: nil, count: nodes.count)
        for (i, node) in nodes.enumerated() where i <= max(logitsNode, embeddingNode) {
            let a = node.inputs.first.map { values[$0]! }
            switch node.op {
            case .input: values[i] = x
            case .conv(let l): values[i] = l.forward(a!, training: training)
            case .separable(let l): values[i] = l.forward(a!, training: training)
            case .batchNorm(let l): values[i] = l.forward(a!, training: training, relu: fusedBatchNorms.contains(i))
            case .relu(let l): values[i] = fusedReLUs.contains(i) ? a! : l.forward(a!, training: training)
            case .softmax(let l): values[i] = l.forward(a!, training: training)
            case .identity: values[i] = a!
            case .maxPool(let l): values[i] = l.forward(a!, training: training)
            case .globalAveragePool(let l): values[i] = l.forward(a!, training: training)
            case .add:
                var s = a!
                for j in node.inputs.dropFirst() { s.add(values[j]!) }
                values[i] = s
            }
        }
        return (values[logitsNode]!, globalAveragePool(values[embeddingNode]!))
    }

    /// Back-propagates ∂L/∂logits `[n, classes]` of the last training forward; accumulates
    /// parameter gradients and returns ∂L/∂input.
    @discardableResult
    public func backward(_ gradLogits: Tensor) -> Tensor {
        var grads = [Tensor?](repeating: nil, count: nodes.count)
        grads[logitsNode] = gradLogits
        var inputGrad = Tensor(shape: [])
        for i in stride(from: logitsNode, through: 0, by: -1) {
            guard let g = grads[i] else { continue }
            let node = nodes[i]
            func pass(_ dx: Tensor, to j: Int) {
                if grads[j] == nil { grads[j] = dx } else { grads[j]!.add(dx) }
            }
            switch node.op {
            case .input: inputGrad = g
            case .conv(let l):
                // The network's input needs no gradient (a first convolution skips its col2im).
                if case .input = nodes[node.inputs[0]].op {
                    _ = l.backward(g, inputGradient: false)
                } else {
                    pass(l.backward(g), to: node.inputs[0])
                }
            case .separable(let l): pass(l.backward(g), to: node.inputs[0])
            case .batchNorm(let l): pass(l.backward(g), to: node.inputs[0])
            case .relu(let l): pass(fusedReLUs.contains(i) ? g : l.backward(g), to: node.inputs[0])
            case .softmax(let l): pass(l.backward(g), to: node.inputs[0])
            case .identity: pass(g, to: node.inputs[0])
            case .maxPool(let l): pass(l.backward(g), to: node.inputs[0])
            case .globalAveragePool(let l): pass(l.backward(g), to: node.inputs[0])
            case .add: for j in node.inputs { pass(g, to: j) }
            }
            grads[i] = nil
        }
        return inputGrad
    }

    /// Probabilities `[n, classes]` and embeddings `[n, E]` with the unfolded graph in inference mode.
    public func predict(_ x: Tensor) -> (probabilities: Tensor, embedding: Tensor) {
        let (logits, embedding) = forward(x, training: false)
        return (softmax(logits), embedding)
    }
}

/// What `model.json` says about a CNN besides its layers.
public struct CNNDescription {
    public var architecture: String
    public var labels: [String]
    public var inputHeight: Int, inputWidth: Int, inputChannels: Int
    /// Preprocessing `((x · scale) + offset) · multiplier` for pixel values x in [0, 255].
    public var scale: Float, offset: Float, multiplier: Float
    public var embeddingLayer: String
    public var outputLayer: String
    public var weightsFile: String
    public var weightsSHA256: String?
    /// The layer list as parsed JSON objects.
    var layers: [[String: Any]]
    /// The whole description as parsed JSON (kept to write a fine-tuned copy).
    var json: [String: Any]
}

extension CNNDescription: @unchecked Sendable {}

extension CNNGraph {
    /// Loads `model.json` from `directory` (or the JSON at `modelJSON`) and the weights it names.
    public static func load(modelJSON path: String) throws -> CNNGraph {
        let description = try CNNDescription.read(path: path)
        let dir = (path as NSString).deletingLastPathComponent
        let weightsPath = (dir as NSString).appendingPathComponent(description.weightsFile)
        let weights = try Safetensors.read(path: weightsPath)
        return try build(description, weights: weights, weightsPath: weightsPath)
    }

    /// Builds the graph from a description and weights, checking every tensor's shape against the layer configuration.
    public static func build(_ d: CNNDescription, weights: Safetensors.Contents, weightsPath: String) throws -> CNNGraph {
        var index: [String: Int] = [:]
        var nodes: [Node] = []
        var channels: [Int] = []   // output channels per node, to check kernel shapes
        var used = Set<String>()
        func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
            used.insert(name)
            return try weights.tensor(name, path: weightsPath, shape: shape)
        }
        for spec in d.layers {
            guard let name = spec["name"] as? String, let type = spec["type"] as? String else {
                throw NNError.badInput("model description: a layer lacks 'name' or 'type'")
            }
            let config = spec["config"] as? [String: Any] ?? [:]
            let inputNames = spec["inputs"] as? [String] ?? []
            let inputs = try inputNames.map { n -> Int in
                guard let i = index[n] else { throw NNError.badInput("model description: layer '\(name)' reads '\(n)', which is not defined before it") }
                return i
            }
            func int2(_ key: String) throws -> Int {
                guard let v = config[key] as? [Int], v.count == 2, v[0] == v[1] else {
                    throw NNError.unsupported(d.weightsFile, "layer '\(name)': \(key) must be two equal integers, got \(String(describing: config[key]))")
                }
                return v[0]
            }
            func padding() throws -> Padding {
                guard let p = (config["padding"] as? String).flatMap(Padding.init(rawValue:)) else {
                    throw NNError.unsupported(d.weightsFile, "layer '\(name)': padding \(String(describing: config["padding"])) is not 'same' or 'valid'")
                }
                return p
            }
            func linearActivation() throws {
                let a = config["activation"] as? String ?? "linear"
                if a != "linear" { throw NNError.unsupported(d.weightsFile, "layer '\(name)': fused activation '\(a)' is not supported; use a separate Activation layer") }
            }
            let cin = inputs.first.map { channels[$0] } ?? 0
            var cout = cin
            let op: Op
            switch type {
            case "InputLayer":
                op = .input
                cout = d.inputChannels
            case "Conv2D":
                try linearActivation()
                let k = try int2("kernel_size"), s = try int2("strides")
                guard let filters = config["filters"] as? Int else { throw NNError.badInput("layer '\(name)': no 'filters'") }
                let useBias = config["use_bias"] as? Bool ?? true
                let kernel = try tensor("\(name)/kernel", [k, k, cin, filters])
                let bias = useBias ? try tensor("\(name)/bias", [filters]) : nil
                op = .conv(Conv2D(kernel: kernel, bias: bias, stride: s, padding: try padding(), name: name))
                cout = filters
            case "SeparableConv2D":
                try linearActivation()
                let k = try int2("kernel_size"), s = try int2("strides")
                guard let filters = config["filters"] as? Int else { throw NNError.badInput("layer '\(name)': no 'filters'") }
                let m = config["depth_multiplier"] as? Int ?? 1
                let useBias = config["use_bias"] as? Bool ?? true
                let dw = try tensor("\(name)/depthwise_kernel", [k, k, cin, m])
                let pw = try tensor("\(name)/pointwise_kernel", [1, 1, cin * m, filters])
                let bias = useBias ? try tensor("\(name)/bias", [filters]) : nil
                op = .separable(SeparableConv2D(depthwiseKernel: dw, pointwiseKernel: pw, bias: bias, stride: s,
                                                padding: try padding(), name: name))
                cout = filters
            case "BatchNormalization":
                let eps = (config["epsilon"] as? NSNumber)?.floatValue ?? 1e-3
                let momentum = (config["momentum"] as? NSNumber)?.floatValue ?? 0.99
                op = .batchNorm(BatchNorm(gamma: try tensor("\(name)/gamma", [cin]), beta: try tensor("\(name)/beta", [cin]),
                                          movingMean: try tensor("\(name)/moving_mean", [cin]),
                                          movingVariance: try tensor("\(name)/moving_variance", [cin]),
                                          epsilon: eps, momentum: momentum, name: name))
            case "Activation":
                switch config["activation"] as? String {
                case "relu": op = .relu(ReLU())
                case "softmax": op = .softmax(Softmax())
                case "linear": op = .identity
                case let a: throw NNError.unsupported(d.weightsFile, "layer '\(name)': activation \(a ?? "nil") is not supported (relu, softmax, linear)")
                }
            case "MaxPooling2D":
                op = .maxPool(MaxPool2D(size: try int2("pool_size"), stride: try int2("strides"), padding: try padding()))
            case "Add":
                guard inputs.count >= 2, inputs.allSatisfy({ channels[$0] == cin }) else {
                    throw NNError.badInput("model description: Add layer '\(name)' needs ≥ 2 inputs with equal channels")
                }
                op = .add
            case "GlobalAveragePooling2D":
                op = .globalAveragePool(GlobalAveragePool())
            default:
                throw NNError.unsupported(d.weightsFile, "layer '\(name)' has type \(type), which MienNN does not implement")
            }
            if case .input = op {} else if inputs.isEmpty {
                throw NNError.badInput("model description: layer '\(name)' has no inputs")
            }
            index[name] = nodes.count
            nodes.append(Node(name: name, op: op, inputs: inputs))
            channels.append(cout)
        }
        if let extra = weights.tensors.keys.filter({ !used.contains($0) }).sorted().first {
            throw NNError.unsupported(weightsPath, "tensor '\(extra)' is not used by any layer of the model description; the weights do not belong to this architecture")
        }
        return try CNNGraph(nodes: nodes, description: d)
    }
}

extension CNNDescription {
    /// Parses a `model.json`.
    public static func read(path: String) throws -> CNNDescription {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw NNError.fileUnreadable(path, FileManager.default.fileExists(atPath: path) ? error.localizedDescription : "no such file")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw NNError.fileCorrupt(path, "not a JSON object")
        }
        return try parse(json, origin: path)
    }

    /// Reads a description from `model.json`'s parsed object; `origin` names it in errors.
    public static func parse(_ json: [String: Any], origin path: String) throws -> CNNDescription {
        func need<T>(_ v: T?, _ what: String) throws -> T {
            guard let v else { throw NNError.fileCorrupt(path, "missing or malformed '\(what)'") }
            return v
        }
        let input = try need(json["input"] as? [String: Any], "input")
        let pre = try need(json["preprocessing"] as? [String: Any], "preprocessing")
        let emb = try need(json["embedding"] as? [String: Any], "embedding")
        let out = try need(json["output"] as? [String: Any], "output")
        let weights = try need(json["weights"] as? [String: Any], "weights")
        return CNNDescription(
            architecture: json["architecture"] as? String ?? "cnn",
            labels: try need(json["labels"] as? [String], "labels"),
            inputHeight: try need(input["height"] as? Int, "input.height"),
            inputWidth: try need(input["width"] as? Int, "input.width"),
            inputChannels: try need(input["channels"] as? Int, "input.channels"),
            scale: try need((pre["scale"] as? NSNumber)?.floatValue, "preprocessing.scale"),
            offset: try need((pre["offset"] as? NSNumber)?.floatValue, "preprocessing.offset"),
            multiplier: try need((pre["multiplier"] as? NSNumber)?.floatValue, "preprocessing.multiplier"),
            embeddingLayer: try need(emb["layer"] as? String, "embedding.layer"),
            outputLayer: try need(out["layer"] as? String, "output.layer"),
            weightsFile: try need(weights["file"] as? String, "weights.file"),
            weightsSHA256: weights["sha256"] as? String,
            layers: try need(json["layers"] as? [[String: Any]], "layers"),
            json: json)
    }

    /// Preprocesses 8-bit pixel values (row-major HWC per image, `n·h·w·c` values) into the
    /// model's NHWC input: `((x · scale) + offset) · multiplier`.
    public func preprocess(pixels: [UInt8], count n: Int) throws -> Tensor {
        let per = inputHeight * inputWidth * inputChannels
        guard pixels.count == n * per else {
            throw NNError.badInput("expected \(n) images of \(inputHeight)×\(inputWidth)×\(inputChannels) = \(n * per) pixel values, got \(pixels.count)")
        }
        var t = Tensor(uninitialized: [n, inputHeight, inputWidth, inputChannels])
        let (scale, offset, multiplier) = (scale, offset, multiplier)
        pixels.withUnsafeBufferPointer { src in
            t.data.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = (Float(src[i]) * scale + offset) * multiplier }
            }
        }
        return t
    }
}
