import CMienKernels
import XCTest
@testable import MienNN

/// The AVX2+FMA kernels of `CMienKernels` against the reference layers (Double accumulation), on
/// odd shapes that reach their tile remainders, edges and general (non-3×3) paths, and FoldedCNN
/// with them against its portable path. Skipped on CPUs without AVX2+FMA.
/// Tolerance: 1e-5 absolute on values of magnitude ≲ 10 (float rounding of ≤ 400-term sums).
final class NativeKernelTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(FoldedCNN.nativeKernelsAvailable, "no AVX2+FMA on this CPU")
    }

    private func relu(_ t: Tensor) -> Tensor { var t = t; reluInPlace(&t.data); return t }

    /// Every CPU level (AVX2 channel tiles; on AVX-512 CPUs the planar row kernel for 3-wide
    /// kernels over ≤ 16 channels) matches the reference, and the levels give bit-identical
    /// outputs (the same fused multiply-adds in the same order). Shapes reach the row-pair and
    /// 16-pixel remainders (odd output heights, widths not a multiple of 16).
    func testDirectConvolutionMatchesReference() {
        var rng = SeededRandom(seed: 40)
        defer { mien_cpu_level_limit(2) }
        for (h, w, cin, cout, k) in [(9, 11, 1, 8, 3), (10, 7, 8, 16, 3), (6, 13, 3, 24, 2), (12, 12, 8, 8, 5), (64, 64, 1, 8, 3),
                                     (62, 62, 8, 8, 3), (7, 37, 16, 16, 3), (3, 20, 2, 8, 3)] {
            let x = rng.uniformTensor([1, h, w, cin]), kernel = rng.uniformTensor([k, k, cin, cout]), bias = rng.uniformTensor([cout])
            for (b, r) in [(bias, true), (nil, false)] as [(Tensor?, Bool)] {
                var expected = Conv2D.reference(x, kernel: kernel, bias: b, stride: 1, padding: .valid)
                if r { expected = relu(expected) }
                var outputs: [Tensor] = []
                for level in 1...max(1, Int(mien_cpu_level())) {
                    mien_cpu_level_limit(Int32(level))
                    var out = Tensor(shape: expected.shape), scratch = [Float](repeating: .nan, count: h * w * cin)
                    x.data.withUnsafeBufferPointer { xp in kernel.data.withUnsafeBufferPointer { kp in out.data.withUnsafeMutableBufferPointer { op in
                        withOptionalPointer(b) { bp in scratch.withUnsafeMutableBufferPointer { sp in
                            mien_conv_valid_s1(xp.baseAddress!, Int32(h), Int32(w), Int32(cin), kp.baseAddress!, Int32(k), Int32(k), Int32(cout),
                                               bp, r ? 1 : 0, op.baseAddress!, sp.baseAddress!)
                        }}
                    }}}
                    XCTAssertLessThan(out.maxAbsDifference(expected), 1e-5, "conv \(h)×\(w)×\(cin) → \(cout), \(k)×\(k), CPU level \(level)")
                    outputs.append(out)
                }
                for out in outputs.dropFirst() {
                    XCTAssertEqual(out.data, outputs[0].data, "AVX-512 and AVX2 differ: conv \(h)×\(w)×\(cin) → \(cout), \(k)×\(k)")
                }
            }
        }
    }

    /// Every vector width the CPU has (AVX2: 16-channel tiles; AVX-512: 32): each matches the
    /// reference, and the two give bit-identical outputs (same fused multiply-adds per channel).
    func testPointwiseConvolutionMatchesReference() {
        var rng = SeededRandom(seed: 41)
        defer { mien_cpu_level_limit(2) }
        for (h, w, cin, cout, s) in [(8, 8, 16, 16, 2), (9, 7, 8, 40, 2), (5, 6, 32, 8, 1), (4, 4, 128, 128, 1), (60, 60, 16, 32, 2),
                                     (7, 5, 16, 56, 1)] {
            let x = rng.uniformTensor([1, h, w, cin]), kernel = rng.uniformTensor([1, 1, cin, cout]), bias = rng.uniformTensor([cout])
            let expected = Conv2D.reference(x, kernel: kernel, bias: bias, stride: s, padding: .valid)
            var outputs: [Tensor] = []
            for level in 1...max(1, Int(mien_cpu_level())) {
                mien_cpu_level_limit(Int32(level))
                var out = Tensor(shape: expected.shape), scratch = [Float](repeating: 0, count: expected.count / cout * cin)
                x.data.withUnsafeBufferPointer { xp in kernel.data.withUnsafeBufferPointer { kp in bias.data.withUnsafeBufferPointer { bp in
                    out.data.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { sp in
                        mien_conv1x1(xp.baseAddress!, Int32(h), Int32(w), Int32(cin), Int32(s), Int32(expected.shape[1]), Int32(expected.shape[2]),
                                     kp.baseAddress!, Int32(cout), bp.baseAddress!, 0, op.baseAddress!, sp.baseAddress!)
                    }}
                }}}
                XCTAssertLessThan(out.maxAbsDifference(expected), 1e-5, "1×1 \(h)×\(w)×\(cin) → \(cout), stride \(s), CPU level \(level)")
                outputs.append(out)
            }
            for out in outputs.dropFirst() { XCTAssertEqual(out.data, outputs[0].data, "AVX-512 and AVX2 differ: 1×1 \(h)×\(w)×\(cin) → \(cout)") }
        }
    }

    /// At every CPU level (AVX-512 runs the 3×3 depthwise rows 16 channels a vector when the
    /// channels allow), against the reference, and the levels bit-identical to each other.
    func testSeparableMatchesReference() {
        var rng = SeededRandom(seed: 42)
        defer { mien_cpu_level_limit(2) }
        for (h, w, cin, cout, k, s, p) in [(7, 9, 8, 16, 3, 1, Padding.same), (8, 8, 16, 24, 3, 2, .same), (9, 6, 8, 8, 3, 1, .valid),
                                           (5, 5, 32, 40, 3, 1, .same), (6, 7, 16, 16, 5, 1, .same), (60, 60, 16, 16, 3, 1, .same),
                                           (15, 15, 32, 64, 3, 1, .same), (2, 2, 8, 8, 3, 1, .same), (8, 8, 128, 128, 3, 1, .same),
                                           (9, 6, 48, 16, 3, 1, .valid), (4, 13, 16, 8, 3, 1, .same)] {
            let x = rng.uniformTensor([1, h, w, cin]), dw = rng.uniformTensor([k, k, cin, 1])
            let pw = rng.uniformTensor([1, 1, cin, cout]), bias = rng.uniformTensor([cout])
            let mid = DepthwiseConv2D.reference(x, kernel: dw, stride: s, padding: p)
            let expected = relu(Conv2D.reference(mid, kernel: pw, bias: bias, stride: 1, padding: .valid))
            let g = ConvGeometry(inputShape: x.shape, kernelH: k, kernelW: k, stride: s, padding: p)
            var outputs: [Tensor] = []
            for level in 1...max(1, Int(mien_cpu_level())) {
                mien_cpu_level_limit(Int32(level))
                var out = Tensor(shape: expected.shape), row = [Float](repeating: 0, count: min(g.outPixels, 48 + g.outW) * cin)
                x.data.withUnsafeBufferPointer { xp in dw.data.withUnsafeBufferPointer { dp in pw.data.withUnsafeBufferPointer { pp in
                    bias.data.withUnsafeBufferPointer { bp in out.data.withUnsafeMutableBufferPointer { op in row.withUnsafeMutableBufferPointer { rp in
                        mien_separable(xp.baseAddress!, Int32(h), Int32(w), Int32(cin), dp.baseAddress!, Int32(k), Int32(k), Int32(s),
                                       Int32(g.padTop), Int32(g.padLeft), Int32(g.outH), Int32(g.outW), pp.baseAddress!, Int32(cout),
                                       bp.baseAddress!, 1, op.baseAddress!, rp.baseAddress!)
                    }}}
                }}}
                XCTAssertLessThan(out.maxAbsDifference(expected), 3e-5,   // 128-channel sums of 9-tap sums reach 1.05e-5
                                  "separable \(h)×\(w)×\(cin) → \(cout), \(k)×\(k) stride \(s) \(p), CPU level \(level)")
                outputs.append(out)
            }
            for out in outputs.dropFirst() {
                XCTAssertEqual(out.data, outputs[0].data, "AVX-512 and AVX2 differ: separable \(h)×\(w)×\(cin) → \(cout)")
            }
        }
    }

    func testMaxPoolMatchesReference() {
        var rng = SeededRandom(seed: 43)
        for (h, c, size, s, p) in [(60, 16, 3, 2, Padding.same), (15, 32, 3, 2, .same), (9, 8, 2, 2, .valid), (7, 24, 3, 1, .same)] {
            let x = rng.uniformTensor([1, h, h, c])
            let pooled = MaxPool2D.reference(x, size: size, stride: s, padding: p)
            let residual = rng.uniformTensor(pooled.shape)
            let g = ConvGeometry(inputShape: x.shape, kernelH: size, kernelW: size, stride: s, padding: p)
            for add in [false, true] {
                var out = Tensor(shape: pooled.shape), scratch = [Float](repeating: 0, count: h * c)
                x.data.withUnsafeBufferPointer { xp in residual.data.withUnsafeBufferPointer { rp in out.data.withUnsafeMutableBufferPointer { op in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        mien_maxpool(xp.baseAddress!, Int32(h), Int32(h), Int32(c), Int32(size), Int32(s), Int32(g.padTop), Int32(g.padLeft),
                                     Int32(g.outH), Int32(g.outW), add ? rp.baseAddress! : nil, op.baseAddress!, sp.baseAddress!)
                    }
                }}}
                XCTAssertEqual(out.data, (add ? pooled + residual : pooled).data, "max pool \(h)×\(h)×\(c) \(size)/\(s) \(p) add \(add)")
            }
        }
    }

    /// FoldedCNN with the kernels equals its portable path and the unfolded graph (1e-5 on
    /// probabilities and embeddings), on random inputs and on the Keras fixture's face.
    func testFoldedCNNNativeMatchesPortable() throws {
        let graph = try CNNGraph.load(modelJSON: FER2013ModelTests.modelJSON)
        let ref = try Safetensors.read(path: FER2013ModelTests.fixture)
        for x in [SeededRandom(seed: 44).uniformTensorCopy([5, 64, 64, 1]), try ref.tensor("face/input", path: FER2013ModelTests.fixture)] {
            let native = FoldedCNN(graph), portable = FoldedCNN(graph)
            portable.nativeKernels = false
            XCTAssertTrue(native.nativeKernels)
            let (p, e) = try native.predict(x), (p0, e0) = try portable.predict(x), (p1, e1) = graph.predict(x)
            let dp = p.maxAbsDifference(p0), de = e.maxAbsDifference(e0)
            print("FoldedCNN native vs portable: max |Δ| probabilities \(dp), embedding \(de); vs unfolded \(p.maxAbsDifference(p1)), \(e.maxAbsDifference(e1))")
            XCTAssertLessThan(dp, 1e-5); XCTAssertLessThan(de, 1e-5)
            XCTAssertLessThan(p.maxAbsDifference(p1), 1e-5); XCTAssertLessThan(e.maxAbsDifference(e1), 1e-5)
        }
    }
}
