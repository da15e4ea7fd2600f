import Crypto
import Foundation

/// A BiLSTM model bundle on disk: a directory with
/// - `model.safetensors`: the tensors of `BiLSTMClassifier` (names in its doc comment), F32;
/// - `model.json`: `{"format_version": 1, "architecture": "bilstm-classifier", "labels": [...],
///   "input": {"window": T, "embedding_size": D, "layout": "N×T×D"}, "preprocessing": {...},
///   "bilstm": {"units": U, "layers": L, "dropout": p, "cnn_prior": bool (absent = false)},
///   "weights": {"file": "model.safetensors",
///   "sha256": hex}, "content_hash": hex}` where `content_hash` = SHA-256 of the safetensors file
///   (the model identity that travels in messages).
public struct BiLSTMBundle {
    public var classifier: BiLSTMClassifier
    public var labels: [String]
    /// What produced the embeddings this model reads (free text, e.g. the CNN's content hash).
    public var preprocessing: [String: String]
    /// SHA-256 (lower-case hex) of `model.safetensors`.
    public private(set) var contentHash: String

    public init(classifier: BiLSTMClassifier, labels: [String], preprocessing: [String: String] = [:]) throws {
        guard labels.count == classifier.config.classes else {
            throw NNError.badInput("bundle has \(labels.count) labels but the classifier has \(classifier.config.classes) classes")
        }
        self.classifier = classifier
        self.labels = labels
        self.preprocessing = preprocessing
        self.contentHash = sha256Hex(Safetensors.serialize(classifier.namedTensors))
    }

    /// Writes `model.safetensors` and `model.json` into `directory` (created if needed).
    public mutating func save(to directory: String) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw NNError.fileUnwritable(directory, error.localizedDescription)
        }
        let bytes = Safetensors.serialize(classifier.namedTensors, metadata: ["format": "mien-bilstm-1"])
        contentHash = sha256Hex(bytes)
        let weightsPath = (directory as NSString).appendingPathComponent("model.safetensors")
        do { try Data(bytes).write(to: URL(fileURLWithPath: weightsPath), options: .atomic) } catch {
            throw NNError.fileUnwritable(weightsPath, error.localizedDescription)
        }
        let c = classifier.config
        let json: [String: Any] = [
            "format_version": 1,
            "architecture": "bilstm-classifier",
            "labels": labels,
            "input": ["window": c.window, "embedding_size": c.inputSize, "layout": "N×T×D"],
            "preprocessing": preprocessing,
            "bilstm": ["units": c.units, "layers": c.layers, "dropout": Double(c.dropout), "gate_order": "i,f,c,o",
                       "final_state": "forward h after step T-1 ‖ backward h after step 0", "cnn_prior": c.cnnPrior],
            "weights": ["file": "model.safetensors", "sha256": contentHash, "dtype": "float32"],
            "content_hash": contentHash,
        ]
        let jsonPath = (directory as NSString).appendingPathComponent("model.json")
        do {
            let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: jsonPath), options: .atomic)
        } catch {
            throw NNError.fileUnwritable(jsonPath, error.localizedDescription)
        }
    }

    /// Loads a bundle directory, verifying the content hash and every tensor shape.
    public static func load(directory: String) throws -> BiLSTMBundle {
        let jsonPath = (directory as NSString).appendingPathComponent("model.json")
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: jsonPath)) } catch {
            throw NNError.fileUnreadable(jsonPath, FileManager.default.fileExists(atPath: jsonPath) ? error.localizedDescription : "no such file")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw NNError.fileCorrupt(jsonPath, "not a JSON object")
        }
        func need<T>(_ v: T?, _ what: String) throws -> T {
            guard let v else { throw NNError.fileCorrupt(jsonPath, "missing or malformed '\(what)'") }
            return v
        }
        guard (json["architecture"] as? String) == "bilstm-classifier" else {
            throw NNError.unsupported(jsonPath, "architecture is \(json["architecture"] ?? "absent"), expected bilstm-classifier")
        }
        let labels = try need(json["labels"] as? [String], "labels")
        let input = try need(json["input"] as? [String: Any], "input")
        let lstm = try need(json["bilstm"] as? [String: Any], "bilstm")
        let weights = try need(json["weights"] as? [String: Any], "weights")
        let hash = try need(json["content_hash"] as? String, "content_hash")
        let config = BiLSTMClassifier.Config(
            window: try need(input["window"] as? Int, "input.window"),
            inputSize: try need(input["embedding_size"] as? Int, "input.embedding_size"),
            units: try need(lstm["units"] as? Int, "bilstm.units"),
            layers: try need(lstm["layers"] as? Int, "bilstm.layers"),
            dropout: try need((lstm["dropout"] as? NSNumber)?.floatValue, "bilstm.dropout"),
            classes: labels.count,
            cnnPrior: (lstm["cnn_prior"] as? Bool) ?? false)
        let weightsPath = (directory as NSString).appendingPathComponent(try need(weights["file"] as? String, "weights.file"))
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: weightsPath))) } catch {
            throw NNError.fileUnreadable(weightsPath, FileManager.default.fileExists(atPath: weightsPath) ? error.localizedDescription : "no such file")
        }
        let actual = sha256Hex(bytes)
        guard actual == hash.lowercased() else {
            throw NNError.fileCorrupt(weightsPath, "SHA-256 \(actual) differs from content_hash \(hash) in \(jsonPath); the file was changed or belongs to another bundle")
        }
        let contents = try Safetensors.parse(bytes, path: weightsPath)
        var bundle = try BiLSTMBundle(classifier: try BiLSTMClassifier(config: config, tensors: contents, path: weightsPath), labels: labels,
                                      preprocessing: (json["preprocessing"] as? [String: String]) ?? [:])
        bundle.contentHash = actual
        return bundle
    }
}

/// Lower-case hex SHA-256 of `bytes` (swift-crypto).
public func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// Lower-case hex SHA-256 of a file's contents.
public func sha256Hex(file path: String) throws -> String {
    do { return sha256Hex([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))) } catch {
        throw NNError.fileUnreadable(path, FileManager.default.fileExists(atPath: path) ? error.localizedDescription : "no such file")
    }
}
