import Foundation

/// Writing a (fine-tuned or freshly trained) CNN back as a bundle in the format of
/// `models/fer2013` (`model.json` + `model.safetensors`), and building an untrained copy of an
/// architecture for training from scratch.
extension CNNGraph {
    /// Writes `model.safetensors` (every parameter and batch-norm statistic, F32, names sorted)
    /// and `model.json` (this graph's description with the new weights' SHA-256, plus a
    /// `training` object describing how the weights were made) into `directory` (created if
    /// needed).
    /// - Returns: the SHA-256 of the weights file (lower-case hex; the model hash workers announce).
    @discardableResult
    public func save(to directory: String, training: [String: Any]) throws -> String {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw NNError.fileUnwritable(directory, error.localizedDescription)
        }
        let bytes = Safetensors.serialize(namedTensors, metadata: ["format": "mien-cnn-1", "architecture": description.architecture])
        let hash = sha256Hex(bytes)
        let weightsPath = (directory as NSString).appendingPathComponent("model.safetensors")
        do { try Data(bytes).write(to: URL(fileURLWithPath: weightsPath), options: .atomic) } catch {
            throw NNError.fileUnwritable(weightsPath, error.localizedDescription)
        }
        var json = description.json
        var weights = json["weights"] as? [String: Any] ?? [:]
        weights["file"] = "model.safetensors"
        weights["sha256"] = hash
        weights["dtype"] = "float32"
        weights["tensor_count"] = namedTensors.count
        json["weights"] = weights
        json["parameter_count"] = parameterCount
        json["training"] = training
        let jsonPath = (directory as NSString).appendingPathComponent("model.json")
        guard JSONSerialization.isValidJSONObject(json) else {
            throw NNError.badInput("the training notes for \(jsonPath) are not JSON values")
        }
        do {
            let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: jsonPath), options: .atomic)
        } catch {
            throw NNError.fileUnwritable(jsonPath, error.localizedDescription)
        }
        return hash
    }

    /// Replaces every parameter and batch-norm statistic with the tensors of `contents` (all
    /// must be present with this graph's shapes). Used to restore checkpoints and best epochs.
    public func load(_ contents: [String: Tensor], path: String) throws {
        for p in parameters {
            guard let t = contents[p.name] else { throw NNError.tensorMissing(path, p.name) }
            guard t.shape == p.value.shape else { throw NNError.shapeMismatch(path, p.name, found: t.shape, expected: p.value.shape) }
            p.value = t
        }
        for node in nodes {
            guard case .batchNorm(let bn) = node.op else { continue }
            for (name, current) in bn.state {
                guard let t = contents[name] else { throw NNError.tensorMissing(path, name) }
                guard t.shape == current.shape else { throw NNError.shapeMismatch(path, name, found: t.shape, expected: current.shape) }
                if name.hasSuffix("/moving_mean") { bn.movingMean = t } else { bn.movingVariance = t }
            }
        }
    }

    /// The architecture of `description` with fresh weights, as Keras initialises them:
    /// Glorot-uniform kernels (fans as Keras computes them: receptive field × in / out
    /// channels), zero biases, batch norm γ = 1, β = 0, moving mean 0, moving variance 1.
    /// Seeded, so a from-scratch run is reproducible.
    public static func initialized(_ d: CNNDescription, seed: UInt64) throws -> CNNGraph {
        var rng = SeededRandom(seed: seed)
        var tensors: [String: Tensor] = [:]
        var channels: [String: Int] = [:]
        for spec in d.layers {
            guard let name = spec["name"] as? String, let type = spec["type"] as? String else {
                throw NNError.badInput("model description: a layer lacks 'name' or 'type'")
            }
            let config = spec["config"] as? [String: Any] ?? [:]
            let cin = (spec["inputs"] as? [String])?.first.flatMap { channels[$0] } ?? d.inputChannels
            let k = (config["kernel_size"] as? [Int])?.first ?? 1
            let useBias = config["use_bias"] as? Bool ?? true
            var cout = cin
            switch type {
            case "InputLayer":
                cout = d.inputChannels
            case "Conv2D":
                guard let f = config["filters"] as? Int else { throw NNError.badInput("layer '\(name)': no 'filters'") }
                tensors["\(name)/kernel"] = rng.glorotUniform([k, k, cin, f], fanIn: k * k * cin, fanOut: k * k * f)
                if useBias { tensors["\(name)/bias"] = Tensor(shape: [f]) }
                cout = f
            case "SeparableConv2D":
                guard let f = config["filters"] as? Int else { throw NNError.badInput("layer '\(name)': no 'filters'") }
                let m = config["depth_multiplier"] as? Int ?? 1
                tensors["\(name)/depthwise_kernel"] = rng.glorotUniform([k, k, cin, m], fanIn: k * k * cin, fanOut: k * k * m)
                tensors["\(name)/pointwise_kernel"] = rng.glorotUniform([1, 1, cin * m, f], fanIn: cin * m, fanOut: f)
                if useBias { tensors["\(name)/bias"] = Tensor(shape: [f]) }
                cout = f
            case "BatchNormalization":
                tensors["\(name)/gamma"] = Tensor(shape: [cin], repeating: 1)
                tensors["\(name)/beta"] = Tensor(shape: [cin])
                tensors["\(name)/moving_mean"] = Tensor(shape: [cin])
                tensors["\(name)/moving_variance"] = Tensor(shape: [cin], repeating: 1)
            default:
                break   // parameter-free layers; `build` rejects unsupported types
            }
            channels[name] = cout
        }
        let contents = Safetensors.Contents(tensors: tensors, dtypes: tensors.mapValues { _ in "F32" }, metadata: [:],
                                            names: tensors.keys.sorted())
        return try build(d, weights: contents, weightsPath: "fresh weights (seed \(seed))")
    }
}
