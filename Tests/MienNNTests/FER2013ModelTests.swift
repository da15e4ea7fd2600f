import Foundation
import XCTest
@testable import MienNN

/// The imported mini-Xception (`models/fer2013`) against the original Keras model's outputs
/// (`Fixtures/fer2013_reference.safetensors`, made by `ops/nn/make_fer_fixtures.py` with TensorFlow).
/// Tolerance: 1e-4 absolute on probabilities and embedding (and logits).
final class FER2013ModelTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let modelJSON = root + "/models/fer2013/model.json"
    static let fixture = root + "/Tests/MienNNTests/Fixtures/fer2013_reference.safetensors"

    func testLoadsWithExactParameterCount() throws {
        let graph = try CNNGraph.load(modelJSON: Self.modelJSON)
        XCTAssertEqual(graph.parameterCount, 58_423)
        XCTAssertEqual(graph.description.labels, ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
        XCTAssertEqual(graph.nodes[graph.embeddingNode].name, "add_4")
    }

    func testMatchesKerasReference() throws {
        let graph = try CNNGraph.load(modelJSON: Self.modelJSON)
        let folded = FoldedCNN(graph)
        let ref = try Safetensors.read(path: Self.fixture)
        for set in ["random", "face"] {
            let raw = try ref.tensor("\(set)/input_uint8", path: Self.fixture)
            let input = try ref.tensor("\(set)/input", path: Self.fixture)
            let pre = try graph.description.preprocess(pixels: raw.data.map { UInt8($0) }, count: raw.shape[0])
            XCTAssertLessThanOrEqual(pre.maxAbsDifference(input), 1e-6, "\(set): preprocessing differs from Keras's input")
            let expectedProbs = try ref.tensor("\(set)/probs", path: Self.fixture)
            let expectedEmb = try ref.tensor("\(set)/embedding", path: Self.fixture)
            let expectedLogits = try ref.tensor("\(set)/logits", path: Self.fixture)
            let fast = try folded.predict(pre)
            let (logits, embedding) = graph.forward(pre, training: false)
            let dp = fast.probabilities.maxAbsDifference(expectedProbs), de = fast.embedding.maxAbsDifference(expectedEmb)
            let du = softmax(logits).maxAbsDifference(expectedProbs), dl = logits.maxAbsDifference(expectedLogits)
            let due = embedding.maxAbsDifference(expectedEmb)
            print("fer2013 \(set): max |Mien − Keras| folded probs \(dp), folded embedding \(de); unfolded probs \(du), embedding \(due), logits \(dl)")
            XCTAssertLessThanOrEqual(dp, 1e-4, "\(set) probabilities (folded)")
            XCTAssertLessThanOrEqual(de, 1e-4, "\(set) embedding (folded)")
            XCTAssertLessThanOrEqual(du, 1e-4, "\(set) probabilities (unfolded)")
            XCTAssertLessThanOrEqual(due, 1e-4, "\(set) embedding (unfolded)")
            XCTAssertLessThanOrEqual(dl, 1e-4, "\(set) logits (unfolded)")
            XCTAssertEqual(argmaxRows(fast.probabilities), argmaxRows(expectedProbs))
        }
        // The real face is classified as Keras classifies it (happy).
        let face = try FoldedCNN(graph).predict(try ref.tensor("face/input", path: Self.fixture))
        XCTAssertEqual(argmaxRows(face.probabilities).map { graph.description.labels[$0] }, ["happy", "happy"])
    }

    func testIntermediateBlockMatchesKeras() throws {
        let graph = try CNNGraph.load(modelJSON: Self.modelJSON)
        let ref = try Safetensors.read(path: Self.fixture)
        let x = try ref.tensor("face/input", path: Self.fixture)
        // Run the unfolded graph and pick add_4 before pooling.
        let expected = try ref.tensor("face/add_4", path: Self.fixture)
        var values: [String: Tensor] = [:]
        for node in graph.nodes {
            let a = node.inputs.first.map { values[graph.nodes[$0].name]! }
            switch node.op {
            case .input: values[node.name] = x
            case .add: values[node.name] = node.inputs.dropFirst().reduce(a!) { $0 + values[graph.nodes[$1].name]! }
            case .conv(let l): values[node.name] = l.forward(a!, training: false)
            case .separable(let l): values[node.name] = l.forward(a!, training: false)
            case .batchNorm(let l): values[node.name] = l.forward(a!, training: false)
            case .relu(let l): values[node.name] = l.forward(a!, training: false)
            case .maxPool(let l): values[node.name] = l.forward(a!, training: false)
            default: break
            }
            if node.name == "add_4" { break }
        }
        let d = values["add_4"]!.maxAbsDifference(expected)
        print("fer2013 face add_4: max |Mien − Keras| = \(d)")
        XCTAssertLessThanOrEqual(d, 1e-4)
    }

    // MARK: bad weight files give one clear error naming the file and the tensor

    private func scratchModel(_ edit: (inout [String: Tensor]) -> Void) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-nn-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.modelJSON, toPath: dir + "/model.json")
        var tensors = try Safetensors.read(path: Self.root + "/models/fer2013/model.safetensors").tensors
        edit(&tensors)
        try Safetensors.write(tensors, to: dir + "/model.safetensors")
        return dir
    }

    func testMismatchedShapeNamesFileAndTensor() throws {
        let dir = try scratchModel { $0["separable_conv2d_3/pointwise_kernel"] = Tensor(shape: [1, 1, 16, 31]) }
        XCTAssertThrowsError(try CNNGraph.load(modelJSON: dir + "/model.json")) { error in
            let e = error as! NNError
            XCTAssertTrue(e.isShapeMismatch)
            XCTAssertEqual(e.description, "\(dir)/model.safetensors: tensor 'separable_conv2d_3/pointwise_kernel' has shape [1, 1, 16, 31] but the model needs [1, 1, 16, 32]; the weights do not belong to this architecture")
        }
    }

    func testMissingTensorNamesIt() throws {
        let dir = try scratchModel { $0["batch_normalization_7/moving_variance"] = nil }
        XCTAssertThrowsError(try CNNGraph.load(modelJSON: dir + "/model.json")) { error in
            XCTAssertEqual((error as! NNError).description, "\(dir)/model.safetensors: tensor 'batch_normalization_7/moving_variance' is missing")
        }
    }

    func testMissingAndTruncatedFiles() throws {
        XCTAssertThrowsError(try CNNGraph.load(modelJSON: "/nonexistent/model.json")) { error in
            XCTAssertEqual((error as! NNError).description, "cannot read /nonexistent/model.json: no such file")
        }
        let dir = try scratchModel { _ in }
        let path = dir + "/model.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CNNGraph.load(modelJSON: dir + "/model.json")) { error in
            let e = error as! NNError
            XCTAssertTrue(e.isCorrupt)
            XCTAssertTrue(e.description.hasPrefix("\(path) is not a valid file: tensor '"), e.description)
            XCTAssertTrue(e.description.contains("truncated"), e.description)
        }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CNNGraph.load(modelJSON: dir + "/model.json")) { error in
            XCTAssertEqual((error as! NNError).description, "\(path) is not a valid file: 3 bytes is shorter than the 8-byte safetensors header length")
        }
    }
}
