import Foundation
import XCTest
@testable import MienNN

/// Finite-difference checks of every layer's backward pass (see `GradientCheck`: relative error ≤ 1e-3).
final class GradientTests: XCTestCase {
    func testConv2D() {
        var rng = SeededRandom(seed: 10)
        for (k, s, p) in [(3, 1, Padding.same), (3, 2, .same), (3, 1, .valid), (1, 2, .same), (1, 1, .valid)] {
            let layer = Conv2D(inChannels: 3, outChannels: 4, kernelSize: k, stride: s, padding: p, rng: &rng)
            layer.bias!.value = rng.uniformTensor([4])
            GradientCheck().check(layer, input: rng.uniformTensor([2, 5, 5, 3]), name: "conv k\(k) s\(s) \(p)")
        }
    }

    func testDepthwiseConv2D() {
        var rng = SeededRandom(seed: 11)
        for (m, s) in [(1, 1), (2, 2)] {
            let layer = DepthwiseConv2D(kernel: rng.uniformTensor([3, 3, 3, m]), bias: rng.uniformTensor([3 * m]), stride: s, padding: .same)
            GradientCheck().check(layer, input: rng.uniformTensor([2, 5, 5, 3]), name: "depthwise m\(m) s\(s)")
        }
    }

    func testSeparableConv2D() {
        var rng = SeededRandom(seed: 12)
        let layer = SeparableConv2D(inChannels: 3, outChannels: 4, kernelSize: 3, rng: &rng)
        GradientCheck().check(layer, input: rng.uniformTensor([2, 5, 5, 3]), name: "separable")
    }

    func testBatchNormTrainingMode() {
        var rng = SeededRandom(seed: 13)
        let bn = BatchNorm(gamma: rng.uniformTensor([3], 0.5, 1.5), beta: rng.uniformTensor([3]),
                           movingMean: Tensor(shape: [3]), movingVariance: Tensor(shape: [3], repeating: 1))
        GradientCheck().check(bn, input: rng.uniformTensor([2, 3, 3, 3]), name: "batch norm")
    }

    func testReLUAndMaxPoolAndGlobalAveragePool() {
        let x = separatedTensor([2, 5, 5, 3], seed: 14)
        GradientCheck(epsilon: 1e-3).check(ReLU(), input: x, name: "relu")
        GradientCheck(epsilon: 1e-3).check(MaxPool2D(size: 3, stride: 2, padding: .same), input: x, name: "max pool same")
        GradientCheck(epsilon: 1e-3).check(MaxPool2D(size: 2, stride: 2, padding: .valid), input: x, name: "max pool valid")
        GradientCheck().check(GlobalAveragePool(), input: x, name: "global average pool")
    }

    func testDense() {
        var rng = SeededRandom(seed: 15)
        let layer = Dense(inputs: 5, outputs: 4, rng: &rng)
        layer.bias!.value = rng.uniformTensor([4])
        GradientCheck().check(layer, input: rng.uniformTensor([3, 5]), name: "dense")
    }

    func testSoftmaxLayer() {
        var rng = SeededRandom(seed: 16)
        GradientCheck().check(Softmax(), input: rng.uniformTensor([3, 7], -2, 2), name: "softmax")
    }

    func testDropoutBackwardAppliesTheForwardMask() {
        let d = Dropout(rate: 0.4, seed: 3)
        let x = Tensor(shape: [1000], repeating: 1)
        let y = d.forward(x, training: true)
        let g = Tensor(shape: [1000], data: (0..<1000).map { Float($0) })
        let dx = d.backward(g)
        var zeros = 0
        for i in 0..<1000 {
            // y = m·x with x = 1, so ∂y/∂x = m = y exactly.
            XCTAssertEqual(dx.data[i], g.data[i] * y.data[i])
            XCTAssertTrue(y.data[i] == 0 || abs(y.data[i] - 1 / 0.6) < 1e-6)
            if y.data[i] == 0 { zeros += 1 }
        }
        XCTAssertGreaterThan(zeros, 330); XCTAssertLessThan(zeros, 470)  // ≈ 400 expected
        XCTAssertEqual(d.forward(x, training: false), x)
    }

    func testSoftmaxCrossEntropyGradient() {
        var rng = SeededRandom(seed: 17)
        var logits = rng.uniformTensor([4, 7], -2, 2)
        let targets = SoftmaxCrossEntropy.oneHot([0, 3, 6, 2], classes: 7)
        let (_, g, _) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, targets: targets)
        var num: [Double] = [], ana: [Double] = []
        let eps: Float = 1e-2
        for i in 0..<logits.count {
            let v = logits.data[i]
            logits.data[i] = v + eps; let lp = SoftmaxCrossEntropy.lossAndGradient(logits: logits, targets: targets).loss
            logits.data[i] = v - eps; let lm = SoftmaxCrossEntropy.lossAndGradient(logits: logits, targets: targets).loss
            logits.data[i] = v
            num.append(Double(lp - lm) / Double(2 * eps)); ana.append(Double(g.data[i]))
        }
        XCTAssertLessThanOrEqual(relativeError(num, ana), 1e-3)
        // Probability-space cross-entropy agrees with softmax + categorical cross-entropy.
        let p = softmax(logits)
        XCTAssertEqual(crossEntropy(probabilities: p, targets: targets).loss,
                       SoftmaxCrossEntropy.lossAndGradient(logits: logits, targets: targets).loss, accuracy: 1e-5)
    }

    func testLSTMForwardAndReverse() {
        var rng = SeededRandom(seed: 18)
        for reverse in [false, true] {
            let layer = LSTM(inputSize: 3, units: 4, reverse: reverse, rng: &rng)
            layer.bias.value = rng.uniformTensor([16], -0.5, 0.5)
            GradientCheck().check(layer, input: rng.uniformTensor([2, 5, 3]), name: "lstm reverse=\(reverse)")
        }
    }

    func testBiLSTM() {
        var rng = SeededRandom(seed: 19)
        GradientCheck().check(BiLSTM(inputSize: 3, units: 4, rng: &rng), input: rng.uniformTensor([2, 4, 3]), name: "bilstm")
    }
}

final class FastMathTests: XCTestCase {
    /// fastExp/fastSigmoid/fastTanh against libm over a dense grid: relative error ≤ 1e-6 for exp,
    /// absolute ≤ 1e-6 for sigmoid and tanh.
    func testAgainstLibm() {
        var worstExp: Double = 0, worstSig: Float = 0, worstTanh: Float = 0
        var x: Float = -30
        while x <= 30 {
            worstExp = max(worstExp, abs(Double(fastExp(x)) - Foundation.exp(Double(x))) / Foundation.exp(Double(x)))
            worstSig = max(worstSig, abs(fastSigmoid(x) - Float(1 / (1 + Foundation.exp(-Double(x))))))
            worstTanh = max(worstTanh, abs(fastTanh(x) - Float(Foundation.tanh(Double(x)))))
            x += 0.0037
        }
        XCTAssertLessThanOrEqual(worstExp, 1e-6); XCTAssertLessThanOrEqual(worstSig, 1e-6); XCTAssertLessThanOrEqual(worstTanh, 1e-6)
        XCTAssertEqual(fastTanh(100), 1); XCTAssertEqual(fastTanh(-100), -1); XCTAssertEqual(fastSigmoid(-200), 0, accuracy: 1e-30)
        print("fast math vs libm: exp rel \(worstExp), sigmoid abs \(worstSig), tanh abs \(worstTanh)")
    }
}
