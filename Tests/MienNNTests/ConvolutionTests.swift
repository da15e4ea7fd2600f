import XCTest
@testable import MienNN

final class ConvolutionTests: XCTestCase {
    func testTensorFlowSamePaddingGeometry() {
        // TF 'same': out = ceil(n/s); the odd padding pixel goes after (bottom/right).
        XCTAssertEqual(Padding.same.geometry(input: 60, kernel: 3, stride: 2).output, 30)
        XCTAssertEqual(Padding.same.geometry(input: 60, kernel: 3, stride: 2).padBefore, 0)   // total 1: 0 before, 1 after
        XCTAssertEqual(Padding.same.geometry(input: 15, kernel: 3, stride: 2).output, 8)
        XCTAssertEqual(Padding.same.geometry(input: 15, kernel: 3, stride: 2).padBefore, 1)   // total 2
        XCTAssertEqual(Padding.same.geometry(input: 15, kernel: 1, stride: 2).padBefore, 0)
        XCTAssertEqual(Padding.same.geometry(input: 8, kernel: 3, stride: 1).padBefore, 1)
        XCTAssertEqual(Padding.valid.geometry(input: 64, kernel: 3, stride: 1).output, 62)
        XCTAssertEqual(Padding.valid.geometry(input: 7, kernel: 3, stride: 2).output, 3)
    }

    func testConv2DMatchesDirectReference() {
        var rng = SeededRandom(seed: 2)
        for (h, w, cin, cout, k, s, p) in [(7, 7, 3, 4, 3, 1, Padding.same), (8, 6, 2, 5, 3, 2, .same), (9, 9, 1, 8, 3, 1, .valid),
                                           (15, 15, 4, 6, 1, 2, .same), (5, 5, 3, 2, 1, 1, .valid), (6, 7, 2, 3, 2, 2, .same)] {
            let x = rng.uniformTensor([2, h, w, cin])
            let kernel = rng.uniformTensor([k, k, cin, cout]), bias = rng.uniformTensor([cout])
            let fast = Conv2D.compute(x, kernel: kernel, bias: bias, stride: s, padding: p)
            let ref = Conv2D.reference(x, kernel: kernel, bias: bias, stride: s, padding: p)
            XCTAssertEqual(fast.shape, ref.shape)
            XCTAssertLessThan(fast.maxAbsDifference(ref), 1e-5, "conv \(h)x\(w) k\(k) s\(s) \(p)")
        }
    }

    func testDepthwiseMatchesDirectReference() {
        var rng = SeededRandom(seed: 3)
        for (h, cin, m, s, p) in [(7, 3, 1, 1, Padding.same), (8, 4, 2, 2, .same), (9, 2, 1, 2, .valid), (15, 5, 1, 1, .same)] {
            let x = rng.uniformTensor([2, h, h, cin])
            let kernel = rng.uniformTensor([3, 3, cin, m])
            let fast = DepthwiseConv2D.compute(x, kernel: kernel, bias: nil, stride: s, padding: p)
            let ref = DepthwiseConv2D.reference(x, kernel: kernel, stride: s, padding: p)
            XCTAssertEqual(fast.shape, ref.shape)
            XCTAssertLessThan(fast.maxAbsDifference(ref), 1e-5, "depthwise \(h) m\(m) s\(s) \(p)")
        }
    }

    func testSeparableIsDepthwiseThenPointwise() {
        var rng = SeededRandom(seed: 4)
        let x = rng.uniformTensor([2, 6, 6, 3])
        let dw = rng.uniformTensor([3, 3, 3, 1]), pw = rng.uniformTensor([1, 1, 3, 5]), b = rng.uniformTensor([5])
        let layer = SeparableConv2D(depthwiseKernel: dw, pointwiseKernel: pw, bias: b, padding: .same)
        let y = layer.forward(x, training: false)
        let ref = Conv2D.reference(DepthwiseConv2D.reference(x, kernel: dw, stride: 1, padding: .same), kernel: pw, bias: b, stride: 1, padding: .valid)
        XCTAssertLessThan(y.maxAbsDifference(ref), 1e-5)
        XCTAssertEqual(layer.parameters.map(\.name), ["separable_conv2d/depthwise_kernel", "separable_conv2d/pointwise_kernel", "separable_conv2d/bias"])
    }

    func testMaxPoolMatchesReferenceWithTFSamePadding() {
        var rng = SeededRandom(seed: 5)
        for h in [4, 7, 8, 15, 60] {
            let x = rng.uniformTensor([2, h, h, 3])
            let y = MaxPool2D(size: 3, stride: 2, padding: .same).forward(x, training: false)
            XCTAssertEqual(y, MaxPool2D.reference(x, size: 3, stride: 2, padding: .same), "max pool \(h)")
        }
        // 4×4 → 2×2 with total padding 1 placed after: window rows {0,1,2} and {2,3,pad}.
        let x = Tensor(shape: [1, 4, 4, 1], data: (0..<16).map(Float.init))
        XCTAssertEqual(MaxPool2D(size: 3, stride: 2, padding: .same).forward(x, training: false).data, [10, 11, 14, 15])
    }

    func testBatchNormFoldingEqualsConvThenBatchNorm() {
        var rng = SeededRandom(seed: 6)
        let x = rng.uniformTensor([2, 6, 6, 3])
        let kernel = rng.uniformTensor([3, 3, 3, 4])
        let bn = BatchNorm(gamma: rng.uniformTensor([4], 0.5, 1.5), beta: rng.uniformTensor([4]),
                           movingMean: rng.uniformTensor([4]), movingVariance: rng.uniformTensor([4], 0.5, 2))
        let unfolded = bn.forward(Conv2D.compute(x, kernel: kernel, bias: nil, stride: 1, padding: .same), training: false)
        let (k2, b2) = foldBatchNorm(kernel: kernel, bias: nil, into: bn)
        let folded = Conv2D.compute(x, kernel: k2, bias: b2, stride: 1, padding: .same)
        XCTAssertLessThan(folded.maxAbsDifference(unfolded), 1e-5)
    }

    func testBatchNormTrainingStatisticsAndMovingAverages() {
        let x = Tensor(shape: [4, 1, 1, 2], data: [1, 10, 2, 20, 3, 30, 4, 40])
        let bn = BatchNorm(channels: 2, epsilon: 0, momentum: 0.9)
        let y = bn.forward(x, training: true)
        // channel 0: mean 2.5, biased var 1.25 → (x − 2.5)/√1.25
        XCTAssertEqual(y[0, 0, 0, 0], Float((1 - 2.5) / 1.25.squareRoot()), accuracy: 1e-5)
        XCTAssertEqual(y[3, 0, 0, 1], Float((40 - 25) / 125.squareRoot()), accuracy: 1e-5)
        XCTAssertEqual(bn.movingMean.data[0], 0.1 * 2.5, accuracy: 1e-6)
        XCTAssertEqual(bn.movingVariance.data[0], 0.9 + 0.1 * (5.0 / 3.0), accuracy: 1e-6)  // unbiased variance 5/3
    }
}

final class FastKernelTests: XCTestCase {
    /// The SIMD8 depthwise kernel and the fast im2col equal their references.
    func testSIMDDepthwiseAndFastIm2colMatchReferences() {
        var rng = SeededRandom(seed: 30)
        for (h, c, s, p) in [(7, 8, 1, Padding.same), (8, 16, 2, .same), (9, 8, 2, .valid), (15, 32, 1, .same)] {
            let x = rng.uniformTensor([2, h, h, c]), k = rng.uniformTensor([3, 3, c, 1])
            let g = ConvGeometry(inputShape: x.shape, kernelH: 3, kernelW: 3, stride: s, padding: p)
            var out = Tensor(shape: [2, g.outH, g.outW, c])
            x.data.withUnsafeBufferPointer { xp in k.data.withUnsafeBufferPointer { kp in out.data.withUnsafeMutableBufferPointer { op in
                depthwiseForwardSIMD8(g, x: xp.baseAddress!, w: kp.baseAddress!, out: op.baseAddress!)
            }}}
            XCTAssertLessThan(out.maxAbsDifference(DepthwiseConv2D.reference(x, kernel: k, stride: s, padding: p)), 1e-5)
            var a = [Float](repeating: 1, count: g.outPixels * g.patchSize), b = a
            x.data.withUnsafeBufferPointer { xp in
                a.withUnsafeMutableBufferPointer { im2col(g, image: xp.baseAddress!, cols: $0.baseAddress!) }
                b.withUnsafeMutableBufferPointer { im2colFast(g, image: xp.baseAddress!, cols: $0.baseAddress!) }
            }
            XCTAssertEqual(a, b)
        }
    }

    /// FoldedCNN at chunk sizes 1 and 3 gives the same results as the unfolded graph on a batch of 5.
    func testFoldedChunkingMatchesUnfolded() throws {
        let graph = try CNNGraph.load(modelJSON: FER2013ModelTests.modelJSON)
        let x = SeededRandom(seed: 31).uniformTensorCopy([5, 64, 64, 1])
        let (p0, e0) = graph.predict(x)
        for chunk in [1, 3] {
            let f = FoldedCNN(graph)
            f.chunkSize = chunk
            let (p, e) = try f.predict(x)
            XCTAssertLessThan(p.maxAbsDifference(p0), 1e-5); XCTAssertLessThan(e.maxAbsDifference(e0), 1e-5)
        }
        XCTAssertThrowsError(try FoldedCNN(graph).predict(Tensor(shape: [1, 48, 48, 1]))) {
            XCTAssertEqual(($0 as! NNError).description, "CNN input must be [n, 64, 64, 1] (NHWC, preprocessed), got [1, 48, 48, 1]")
        }
    }
}
