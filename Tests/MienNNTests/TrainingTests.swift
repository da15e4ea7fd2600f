import XCTest
@testable import MienNN

/// End-to-end training of a small CNN built from MienNN layers (conv, BN, ReLU, separable conv,
/// max pool, global average pool, dense) on a tiny synthetic image set.
final class TrainingTests: XCTestCase {
    func testSmallCNNOverfitsToFullTrainingAccuracy() {
        var rng = SeededRandom(seed: 21)
        let layers: [Layer] = [
            Conv2D(inChannels: 1, outChannels: 6, kernelSize: 3, padding: .same, useBias: false, rng: &rng),
            BatchNorm(channels: 6), ReLU(),
            SeparableConv2D(inChannels: 6, outChannels: 8, kernelSize: 3, useBias: false, rng: &rng),
            BatchNorm(channels: 8), ReLU(),
            MaxPool2D(size: 3, stride: 2, padding: .same),
            GlobalAveragePool(),
            Dense(inputs: 8, outputs: 3, rng: &rng),
        ]
        // Synthetic: 12 random 8×8 images, 3 classes assigned arbitrarily (pure memorisation).
        let x = rng.uniformTensor([12, 8, 8, 1])
        let labels = (0..<12).map { $0 % 3 }
        let targets = SoftmaxCrossEntropy.oneHot(labels, classes: 3)
        let params = layers.flatMap(\.parameters)
        let adam = Adam(learningRate: 0.03)
        func run(_ training: Bool) -> Tensor { layers.reduce(x) { $1.forward($0, training: training) } }
        var losses: [Float] = []
        for _ in 0..<400 {
            for p in params { p.zeroGrad() }
            let (loss, g, _) = SoftmaxCrossEntropy.lossAndGradient(logits: run(true), targets: targets)
            losses.append(loss)
            _ = layers.reversed().reduce(g) { $1.backward($0) }
            adam.step(params)
        }
        // Train-mode accuracy (batch statistics) must be perfect; inference mode uses moving averages.
        XCTAssertEqual(argmaxRows(run(true)), labels, "training accuracy is not 100 % (final loss \(losses.last!))")
        XCTAssertLessThan(losses.last!, losses.first! / 10)
    }

    func testSGDMomentumStepIsExact() {
        let p = Parameter(name: "w", value: Tensor(shape: [2], data: [1, 2]))
        p.grad = Tensor(shape: [2], data: [0.5, -1])
        let sgd = SGD(learningRate: 0.1, momentum: 0.9)
        sgd.step([p])   // v = −0.1·g
        XCTAssertEqual(p.value.data[0], 0.95, accuracy: 1e-7); XCTAssertEqual(p.value.data[1], 2.1, accuracy: 1e-7)
        sgd.step([p])   // v = 0.9·v − 0.1·g = 1.9·(−0.1·g)
        XCTAssertEqual(p.value.data[0], 0.95 - 0.095, accuracy: 1e-6)
    }

    func testAdamFirstStepMovesByLearningRate() {
        // Bias-corrected first step: Δθ = −lr · g/(|g| + ε') ≈ −lr·sign(g).
        let p = Parameter(name: "w", value: Tensor(shape: [2], data: [0, 0]))
        p.grad = Tensor(shape: [2], data: [3, -0.01])
        Adam(learningRate: 0.01).step([p])
        XCTAssertEqual(p.value.data[0], -0.01, accuracy: 1e-6); XCTAssertEqual(p.value.data[1], 0.01, accuracy: 1e-6)
    }

    func testFineTuningTheRealCNNLowersTheLoss() throws {
        let graph = try CNNGraph.load(modelJSON: FER2013ModelTests.modelJSON)
        var rng = SeededRandom(seed: 4)
        let x = rng.uniformTensor([4, 64, 64, 1])
        let targets = SoftmaxCrossEntropy.oneHot([0, 1, 2, 4], classes: 7)
        let adam = Adam(learningRate: 1e-3)
        var losses: [Float] = []
        for _ in 0..<5 {
            for p in graph.parameters { p.zeroGrad() }
            let (loss, g, _) = SoftmaxCrossEntropy.lossAndGradient(logits: graph.forward(x, training: true).logits, targets: targets)
            losses.append(loss)
            graph.backward(g)
            adam.step(graph.parameters)
        }
        XCTAssertLessThan(losses.last!, losses.first!, "losses \(losses)")
    }
}
