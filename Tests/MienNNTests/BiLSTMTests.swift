import CMienKernels
import Foundation
import XCTest
@testable import MienNN

final class BiLSTMTests: XCTestCase {
    override func tearDown() { mien_cpu_level_limit(2) }

    /// Runs `body` at every instruction-set level this CPU has (the LSTM cell kernel's
    /// baseline, AVX2 and AVX-512 builds).
    private func atEveryLevel(_ body: (Int) throws -> Void) rethrows {
        for level in 0...Int(mien_cpu_level()) {
            mien_cpu_level_limit(Int32(level))
            try body(level)
        }
    }
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures"

    /// Tensors of one case with the case prefix removed.
    private func slice(_ c: Safetensors.Contents, _ prefix: String, rename: (String) -> String = { $0 }) -> Safetensors.Contents {
        var out = Safetensors.Contents(tensors: [:], dtypes: [:], metadata: [:], names: [])
        for (k, v) in c.tensors where k.hasPrefix(prefix + "/") { out.tensors[rename(String(k.dropFirst(prefix.count + 1)))] = v }
        return out
    }

    /// Runs the stacked layers and the classifier; compares each layer's sequence output and the
    /// logits/probabilities with the reference within 1e-5 absolute.
    private func compare(_ clf: BiLSTMClassifier, input: Tensor, layerOutputs: [Tensor], logits: Tensor, probs: Tensor, label: String) throws {
        var h = input
        var worst: Float = 0
        for (k, layer) in clf.recurrent.enumerated() {
            h = layer.forward(h, training: false)
            let d = h.maxAbsDifference(layerOutputs[k]); worst = max(worst, d)
            XCTAssertLessThanOrEqual(d, 1e-5, "\(label) layer \(k)")
        }
        let l = clf.forward(input, training: false)
        let p = try clf.predict(input)
        let dl = l.maxAbsDifference(logits), dp = p.maxAbsDifference(probs)
        worst = max(worst, dl, dp)
        XCTAssertLessThanOrEqual(dl, 1e-5, "\(label) logits")
        XCTAssertLessThanOrEqual(dp, 1e-5, "\(label) probs")
        print("BiLSTM \(label): largest |Mien − reference| = \(worst)")
    }

    /// Against the float64 numpy reference of `ops/nn/make_bilstm_fixture.py`.
    func testMatchesFloat64NumpyReference() throws {
        let path = Self.fixtures + "/bilstm_reference.safetensors"
        let all = try Safetensors.read(path: path)
        try atEveryLevel { level in
        // `wide` (U = 32) runs the fused time loop (lstm_steps.c) at levels 1 and 2.
        XCTAssertEqual(mien_lstm_steps_applies(32) != 0, level >= 1, "the fused loop runs exactly where AVX2 is allowed")
        for (name, n, t, d, u, layers) in [("one_layer", 3, 5, 6, 4, 1), ("two_layer", 2, 16, 10, 5, 2), ("wide", 7, 9, 12, 32, 2)] {
            let c = slice(all, name)
            let weights = Safetensors.Contents(tensors: c.tensors.filter { !$0.key.hasPrefix("expected/") && $0.key != "input" },
                                               dtypes: [:], metadata: [:], names: [])
            let clf = try BiLSTMClassifier(config: .init(window: t, inputSize: d, units: u, layers: layers, classes: 7), tensors: weights, path: path)
            let input = try c.tensor("input", path: path, shape: [n, t, d])
            try compare(clf, input: input, layerOutputs: try (0..<layers).map { try c.tensor("expected/layer_\($0)", path: path) },
                        logits: try c.tensor("expected/logits", path: path), probs: try c.tensor("expected/probs", path: path),
                        label: "numpy64 \(name) level \(level)")
        }
        }
    }

    /// Against onnxruntime's bidirectional `LSTM` op (fixture by nnpy, `make_bilstm_onnx_fixture.py`).
    func testMatchesOnnxRuntimeReference() throws {
        let path = Self.fixtures + "/fer2013_bilstm_onnx_reference.safetensors"
        let all = try Safetensors.read(path: path)
        try atEveryLevel { level in
        for (name, n, t, d, u, layers) in [("one_layer", 3, 5, 6, 4, 1), ("two_layer", 2, 16, 8, 5, 2)] {
            let c = slice(all, name) { key in
                // layer<k> (1-based) → bilstm_<k−1>
                guard key.hasPrefix("layer"), let slash = key.firstIndex(of: "/"), let k = Int(key[key.index(key.startIndex, offsetBy: 5)..<slash]) else { return key }
                return "bilstm_\(k - 1)" + key[slash...]
            }
            let weights = Safetensors.Contents(tensors: c.tensors.filter { $0.key.hasPrefix("bilstm_") && !$0.key.hasSuffix("/output") || $0.key.hasPrefix("dense/") },
                                               dtypes: [:], metadata: [:], names: [])
            let clf = try BiLSTMClassifier(config: .init(window: t, inputSize: d, units: u, layers: layers, classes: 7), tensors: weights, path: path)
            try compare(clf, input: try c.tensor("input", path: path, shape: [n, t, d]),
                        layerOutputs: try (0..<layers).map { try c.tensor("bilstm_\($0)/output", path: path) },
                        logits: try c.tensor("logits", path: path), probs: try c.tensor("probs", path: path),
                        label: "onnxruntime \(name) level \(level)")
        }
        }
    }

    /// Relative error between the accumulated gradients of (about six entries of) each parameter and
    /// central finite differences of `loss` (step 1e-2).
    func finiteDifferenceError(_ parameters: [Parameter], _ loss: () -> Double) -> Double {
        var num: [Double] = [], ana: [Double] = []
        let eps: Float = 1e-2
        for p in parameters {
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 6)) {
                let v = p.value.data[i]
                p.value.data[i] = v + eps; let lp = loss()
                p.value.data[i] = v - eps; let lm = loss()
                p.value.data[i] = v
                num.append((lp - lm) / Double(2 * eps)); ana.append(Double(p.grad.data[i]))
            }
        }
        return relativeError(num, ana)
    }

    func testClassifierGradientCheck() {
        let clf = try! BiLSTMClassifier(config: .init(window: 4, inputSize: 3, units: 3, layers: 2, dropout: 0, classes: 4), seed: 5)
        var rng = SeededRandom(seed: 6)
        let x = rng.uniformTensor([2, 4, 3])
        let targets = SoftmaxCrossEntropy.oneHot([1, 3], classes: 4)
        func loss() -> Double { Double(SoftmaxCrossEntropy.lossAndGradient(logits: clf.forward(x, training: true), targets: targets).loss) }
        // Without dropout, inference (final states only, no [N, T, 2U] output) gives exactly the
        // training path's logits.
        XCTAssertEqual(clf.forward(x, training: false).data, clf.forward(x, training: true).data)
        for p in clf.parameters { p.zeroGrad() }
        let (_, g, _) = SoftmaxCrossEntropy.lossAndGradient(logits: clf.forward(x, training: true), targets: targets)
        clf.backward(g)
        XCTAssertLessThanOrEqual(finiteDifferenceError(clf.parameters, loss), 1e-3)
    }

    /// With a CNN prior: the untrained classifier's probabilities are exactly the window mean of
    /// the CNN's probabilities (checked in Double, 1e-6); gradients of every weight and of the
    /// prior's scale match central finite differences (relative error ≤ 1e-3); the bundle keeps
    /// the prior through save and load; a window without CNN probabilities is refused by name.
    func testCNNPriorStartsAtTheCNNMeanAndItsGradientsCheck() throws {
        let clf = try BiLSTMClassifier(config: .init(window: 4, inputSize: 3, units: 3, layers: 1, dropout: 0, classes: 4, cnnPrior: true), seed: 5)
        var rng = SeededRandom(seed: 6)
        let x = rng.uniformTensor([2, 4, 3])
        let cnn: [[[Float]]] = (0..<2).map { _ in (0..<4).map { _ in
            let r = (0..<4).map { _ in Float.random(in: 0.05...1, using: &rng) }
            return r.map { $0 / r.reduce(0, +) }
        } }
        let prior = Tensor(shape: [2, 4], data: cnn.flatMap { BiLSTMClassifier.prior(ofSteps: $0, classes: 4) })
        let p = try clf.predict(x, prior: prior)
        for w in 0..<2 {
            for c in 0..<4 {
                let mean = cnn[w].map { Double($0[c]) }.reduce(0, +) / 4
                XCTAssertEqual(Double(p.data[w * 4 + c]), mean, accuracy: 1e-6)
            }
        }
        // Gradients, with a dense layer moved away from zero so that every path carries some.
        for i in 0..<clf.dense.kernel.value.count { clf.dense.kernel.value.data[i] = Float.random(in: -0.5...0.5, using: &rng) }
        clf.priorScale!.value.data[0] = 0.8
        let targets = SoftmaxCrossEntropy.oneHot([1, 3], classes: 4)
        func loss() -> Double { Double(SoftmaxCrossEntropy.lossAndGradient(logits: clf.forward(x, prior: prior, training: true), targets: targets).loss) }
        for q in clf.parameters { q.zeroGrad() }
        clf.backward(SoftmaxCrossEntropy.lossAndGradient(logits: clf.forward(x, prior: prior, training: true), targets: targets).gradient)
        XCTAssertEqual(clf.parameters.last?.name, "cnn_prior/scale")
        XCTAssertNotEqual(clf.priorScale!.grad.data[0], 0)
        XCTAssertLessThanOrEqual(finiteDifferenceError(clf.parameters, loss), 1e-3)

        var bundle = try BiLSTMBundle(classifier: clf, labels: ["a", "b", "c", "d"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-bilstm-prior-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try bundle.save(to: dir)
        let back = try BiLSTMBundle.load(directory: dir)
        XCTAssertTrue(back.classifier.config.cnnPrior)
        XCTAssertEqual(try back.classifier.predict(x, prior: prior), try clf.predict(x, prior: prior))
        XCTAssertThrowsError(try back.classifier.predict(x)) { XCTAssertTrue("\($0)".contains("CNN's probabilities"), "\($0)") }
    }

    /// A 1-layer BiLSTM classifier overfits 12 synthetic sequences of 4 classes to 100 % training accuracy with Adam.
    func testOverfitsTinyDatasetToFullAccuracy() throws {
        let clf = try BiLSTMClassifier(config: .init(window: 6, inputSize: 5, units: 8, layers: 1, dropout: 0.1, classes: 4), seed: 1)
        var rng = SeededRandom(seed: 2)
        let x = rng.uniformTensor([12, 6, 5])
        let labels = (0..<12).map { $0 % 4 }
        let targets = SoftmaxCrossEntropy.oneHot(labels, classes: 4)
        let adam = Adam(learningRate: 0.02)
        var first: Float = 0, last: Float = 0
        for epoch in 0..<300 {
            last = clf.trainStep(x, targets: targets, optimizer: adam)
            if epoch == 0 { first = last }
        }
        XCTAssertEqual(argmaxRows(try clf.predict(x)), labels, "training accuracy is not 100 %")
        XCTAssertLessThan(last, first / 10)
    }

    func testBundleRoundTripHashAndErrors() throws {
        let clf = try BiLSTMClassifier(config: .init(window: 16, inputSize: 128, units: 8, layers: 2, dropout: 0.25, classes: 7), seed: 9)
        var bundle = try BiLSTMBundle(classifier: clf, labels: ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
                                      preprocessing: ["embedding": "fer2013 add_4 global average"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-bilstm-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try bundle.save(to: dir)
        XCTAssertEqual(bundle.contentHash, try sha256Hex(file: dir + "/model.safetensors"))
        let back = try BiLSTMBundle.load(directory: dir)
        XCTAssertEqual(back.contentHash, bundle.contentHash)
        XCTAssertEqual(back.classifier.config, clf.config)
        XCTAssertEqual(back.labels, bundle.labels)
        let x = SeededRandom(seed: 3).uniformTensorCopy([3, 16, 128])
        XCTAssertEqual(try back.classifier.predict(x), try clf.predict(x))
        // Tampered weights: the hash check names the file.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors")))
        bytes[bytes.count - 1] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        XCTAssertThrowsError(try BiLSTMBundle.load(directory: dir)) {
            XCTAssertTrue(($0 as! NNError).description.hasPrefix("\(dir)/model.safetensors is not a valid file: SHA-256 "), "\($0)")
        }
        // Weights of another architecture: the shape mismatch names the tensor.
        let other = try BiLSTMClassifier(config: .init(window: 16, inputSize: 128, units: 9, layers: 2, classes: 7), seed: 9)
        let contents = try Safetensors.parse(Safetensors.serialize(other.namedTensors), path: "x.safetensors")
        XCTAssertThrowsError(try BiLSTMClassifier(config: clf.config, tensors: contents, path: "x.safetensors")) {
            XCTAssertEqual(($0 as! NNError).description, "x.safetensors: tensor 'bilstm_0/forward/kernel' has shape [128, 36] but the model needs [128, 32]; the weights do not belong to this architecture")
        }
        XCTAssertThrowsError(try BiLSTMBundle.load(directory: dir + "/absent")) {
            XCTAssertEqual(($0 as! NNError).description, "cannot read \(dir)/absent/model.json: no such file")
        }
    }

    func testSHA256KnownAnswer() {
        XCTAssertEqual(sha256Hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

extension SeededRandom {
    func uniformTensorCopy(_ shape: [Int]) -> Tensor { var r = self; return r.uniformTensor(shape) }
}
