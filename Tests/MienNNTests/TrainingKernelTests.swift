import CMienKernels
import Foundation
import XCTest
@testable import MienNN

/// The training passes as they run in `mien train cnn`: batches cut into chunks (`BatchChunks`)
/// on several threads, the C kernels at every instruction-set level this CPU has, OpenBLAS's
/// corrected kernel choice, and AdamW.
final class TrainingKernelTests: XCTestCase {
    override func tearDown() {
        BatchChunks.threads = 1
        mien_cpu_level_limit(2)
    }

    /// Finite differences (`GradientCheck`, relative error ≤ 1e-3) on batches of 11 images: two
    /// chunks, the second partial, run on two threads, so the per-chunk partial gradients and
    /// statistics and their sum are checked, not only one chunk.
    func testChunkedGradientsMatchFiniteDifferences() {
        BatchChunks.threads = 2
        var rng = SeededRandom(seed: 40)
        for (k, s, p) in [(3, 1, Padding.same), (3, 2, .same), (1, 1, .valid), (1, 2, .same)] {
            let layer = Conv2D(inChannels: 3, outChannels: 4, kernelSize: k, stride: s, padding: p, rng: &rng)
            layer.bias!.value = rng.uniformTensor([4])
            GradientCheck().check(layer, input: rng.uniformTensor([11, 5, 5, 3]), name: "chunked conv k\(k) s\(s) \(p)")
        }
        for (m, s) in [(1, 1), (1, 2), (2, 1)] {
            let layer = DepthwiseConv2D(kernel: rng.uniformTensor([3, 3, 3, m]), bias: rng.uniformTensor([3 * m]), stride: s, padding: .same)
            GradientCheck().check(layer, input: rng.uniformTensor([11, 5, 5, 3]), name: "chunked depthwise m\(m) s\(s)")
        }
        let bn = BatchNorm(gamma: rng.uniformTensor([3], 0.5, 1.5), beta: rng.uniformTensor([3]),
                           movingMean: Tensor(shape: [3]), movingVariance: Tensor(shape: [3], repeating: 1))
        GradientCheck().check(bn, input: rng.uniformTensor([11, 3, 3, 3]), name: "chunked batch norm")
        let x = separatedTensor([11, 4, 4, 3], seed: 41)
        GradientCheck(epsilon: 1e-3).check(MaxPool2D(size: 2, stride: 2, padding: .same), input: x, name: "chunked max pool 2×2")
        GradientCheck(epsilon: 1e-3).check(ReLU(), input: x, name: "chunked relu")
    }

    /// One forward and backward pass of a small VGG-style graph on 20 images gives bit-identical
    /// weight gradients, moving statistics and input gradient on 1 and on 2 threads: chunks are
    /// fixed in size and summed in order, whichever thread computed them.
    func testGradientsAreBitIdenticalOnOneAndTwoThreads() throws {
        func pass(threads: Int) throws -> [String: Tensor] {
            BatchChunks.threads = threads
            let graph = try smallGraph()
            var rng = SeededRandom(seed: 42)
            let x = rng.uniformTensor([20, 16, 16, 1])
            let targets = SoftmaxCrossEntropy.oneHot((0..<20).map { $0 % 7 }, classes: 7)
            let logits = graph.forward(x, training: true).logits
            let (_, g, _) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, targets: targets)
            graph.backward(g)
            var out = graph.namedTensors
            for p in graph.parameters { out["grad:" + p.name] = p.grad }
            return out
        }
        let one = try pass(threads: 1), two = try pass(threads: 2)
        XCTAssertEqual(one.keys.sorted(), two.keys.sorted())
        for (name, t) in one {
            XCTAssertEqual(t.data, two[name]!.data, "\(name) differs between 1 and 2 threads")
        }
        XCTAssertTrue(one.keys.contains { $0.hasPrefix("grad:") })
    }

    /// `Denormals.flushed` makes a product that underflows below `Float.leastNormalMagnitude`
    /// zero on this thread and restores exact IEEE behaviour afterwards; `BatchChunks` runs every
    /// chunk, on whatever thread, with the caller's setting (so training's results and speed do
    /// not depend on the thread count).
    func testFlushedScopeFlushesDenormalsOnEveryChunkThread() {
        let a: [Float] = [1e-20], b: [Float] = [1e-20]
        func product() -> Float {
            var c: [Float] = [7]
            GEMM.blas(m: 1, n: 1, k: 1, a: a, lda: 1, b: b, ldb: 1, c: &c, ldc: 1)
            return c[0]
        }
        XCTAssertFalse(Denormals.flushedOnThisThread)
        XCTAssertGreaterThan(product(), 0, "1e-40 is a denormal, kept outside the scope")
        XCTAssertEqual(Denormals.flushed { product() }, 0)
        XCTAssertFalse(Denormals.flushedOnThisThread, "the scope restores the setting")
        XCTAssertGreaterThan(product(), 0)

        BatchChunks.threads = 2
        defer { BatchChunks.threads = 1 }
        let chunks = BatchChunks.count(64)
        func settings() -> [Bool] {
            let seen = UnsafeMutablePointer<Bool>.allocate(capacity: chunks)
            defer { seen.deallocate() }
            let box = UncheckedSendable(seen)
            BatchChunks.forEach(batch: 64) { c, _ in
                usleep(2_000)   // so that both threads take chunks
                box.value[c] = Denormals.flushedOnThisThread && product() == 0
            }
            return Array(UnsafeBufferPointer(start: seen, count: chunks))
        }
        XCTAssertEqual(Denormals.flushed { settings() }, Array(repeating: true, count: chunks))
        XCTAssertEqual(settings(), Array(repeating: false, count: chunks), "worker threads go back to the caller's setting")
    }

    /// On two threads (`ChunkWorker`) chunk c is always computed by the same thread, the caller
    /// taking the even ones; a call made from inside a chunk completes (no deadlock); callers
    /// on several threads at once each get every chunk of their own call.
    func testTwoThreadChunksKeepTheirThreadAndServeConcurrentCallers() {
        BatchChunks.threads = 2
        let n = BatchChunks.count(64)
        func threadsOfChunks() -> [pthread_t] {
            let seen = UnsafeMutablePointer<pthread_t>.allocate(capacity: n)
            defer { seen.deallocate() }
            let box = UncheckedSendable(seen)
            BatchChunks.forEach(batch: 64) { c, _ in box.value[c] = pthread_self() }
            return Array(UnsafeBufferPointer(start: seen, count: n))
        }
        let first = threadsOfChunks(), second = threadsOfChunks(), me = pthread_self()
        XCTAssertEqual(first.map { UInt(bitPattern: Int(bitPattern: $0)) }, second.map { UInt(bitPattern: Int(bitPattern: $0)) })
        for c in 0..<n { XCTAssertEqual(pthread_equal(first[c], me) != 0, c % 2 == 0, "chunk \(c)") }

        let nested = BatchChunks.sum(batch: 64, size: 1) { (images: Range<Int>, partial: UnsafeMutablePointer<Float>) in
            partial[0] = BatchChunks.sum(batch: 16, size: 1) { inner, p in p[0] = Float(inner.count) }[0] * Float(images.count)
        }
        XCTAssertEqual(nested, [16 * 64])

        let totals = UnsafeMutablePointer<Float>.allocate(capacity: 6)
        defer { totals.deallocate() }
        let out = UncheckedSendable(totals)
        DispatchQueue.concurrentPerform(iterations: 6) { k in
            out.value[k] = BatchChunks.sum(batch: 64 + k, size: 1) { images, partial in partial[0] = Float(images.count) }[0]
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: totals, count: 6)), (0..<6).map { Float(64 + $0) })
    }

    /// Every kernel level this CPU supports (AVX-512, AVX2+FMA, baseline) gives the Double
    /// references' results within float rounding: a depthwise forward and backward (checked
    /// against `DepthwiseConv2D.reference` and against each level's own finite differences through
    /// `GradientCheck`), im2col against the Swift `im2col`, batch norm against its definition.
    func testEveryInstructionSetLevelMatchesTheReferences() {
        let top = Int(mien_cpu_level())
        var rng = SeededRandom(seed: 43)
        let x = rng.uniformTensor([3, 7, 6, 19]), k = rng.uniformTensor([3, 3, 19, 1])
        let expected = DepthwiseConv2D.reference(x, kernel: k, stride: 2, padding: .same)
        for level in 0...top {
            mien_cpu_level_limit(Int32(level))
            XCTAssertEqual(Int(mien_cpu_level()), level)
            let got = DepthwiseConv2D.compute(x, kernel: k, bias: nil, stride: 2, padding: .same)
            XCTAssertLessThan(got.maxAbsDifference(expected), 1e-5, "depthwise forward at level \(level)")
            let layer = DepthwiseConv2D(kernel: rng.uniformTensor([3, 3, 9, 1]), bias: nil, stride: 2, padding: .same)
            GradientCheck().check(layer, input: rng.uniformTensor([2, 5, 6, 9]), name: "depthwise at level \(level)")
            let bn = BatchNorm(gamma: rng.uniformTensor([19], 0.5, 1.5), beta: rng.uniformTensor([19]),
                               movingMean: Tensor(shape: [19]), movingVariance: Tensor(shape: [19], repeating: 1))
            GradientCheck().check(bn, input: rng.uniformTensor([2, 3, 3, 19]), name: "batch norm at level \(level)")
            let g = ConvGeometry(inputShape: x.shape, kernelH: 3, kernelW: 3, stride: 2, padding: .same)
            var a = [Float](repeating: 0, count: g.outPixels * g.patchSize), b = a
            x.data.withUnsafeBufferPointer { xp in
                a.withUnsafeMutableBufferPointer { im2col(g, image: xp.baseAddress!, cols: $0.baseAddress!) }
                b.withUnsafeMutableBufferPointer { g.im2col(xp.baseAddress!, into: $0.baseAddress!) }
            }
            XCTAssertEqual(a, b, "im2col at level \(level)")
        }
    }

    /// The 3×3 stride-1 depthwise row kernels training uses for channels a multiple of 8 (AVX2;
    /// AVX-512 for multiples of 16) against float64 loops, every coordinate: the forward, the
    /// input gradient (the kernel turned by 180° over dy) and the kernel gradient; 'same' and
    /// 'valid', images narrower and shorter than the kernel, at every instruction-set level
    /// (level 0 runs the generic kernels). Tolerance 1e-5 absolute on values of order 1.
    func testDepthwise3x3RowKernelsMatchFloat64Loops() {
        let top = Int(mien_cpu_level())
        var rng = SeededRandom(seed: 45)
        let cases: [(Int, Int, Int, Padding)] = [(7, 9, 16, .same), (5, 6, 8, .same), (6, 5, 24, .valid), (2, 2, 16, .same),
                                                 (1, 5, 8, .same), (9, 4, 32, .valid), (4, 13, 48, .same)]
        for level in 0...top {
            mien_cpu_level_limit(Int32(level))
            for (h, w, c, padding) in cases {
                let name = "\(h)×\(w)×\(c) \(padding) at level \(level)"
                let x = rng.uniformTensor([3, h, w, c]), k = rng.uniformTensor([3, 3, c, 1])
                let g = ConvGeometry(inputShape: x.shape, kernelH: 3, kernelW: 3, stride: 1, padding: padding)
                XCTAssertEqual(g.hasDepthwise3x3Kernels, level >= 1, name)
                let dy = rng.uniformTensor([3, g.outH, g.outW, c])
                let layer = DepthwiseConv2D(kernel: k, bias: nil, stride: 1, padding: padding)
                let y = layer.forward(x, training: true)
                XCTAssertLessThan(y.maxAbsDifference(DepthwiseConv2D.reference(x, kernel: k, stride: 1, padding: padding)), 1e-5, name)
                layer.kernel.zeroGrad()
                let dx = layer.backward(dy)
                var dxRef = [Double](repeating: 0, count: x.count), dkRef = [Double](repeating: 0, count: k.count)
                for n in 0..<3 { for oh in 0..<g.outH { for ow in 0..<g.outW { for i in 0..<3 { for j in 0..<3 {
                    let ih = oh - g.padTop + i, iw = ow - g.padLeft + j
                    guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                    for ch in 0..<c {
                        let d = Double(dy[n, oh, ow, ch])
                        dxRef[((n * h + ih) * w + iw) * c + ch] += d * Double(k[i, j, ch, 0])
                        dkRef[(i * 3 + j) * c + ch] += d * Double(x[n, ih, iw, ch])
                    }
                }}}}}
                let dxErr = zip(dx.data, dxRef).map { abs(Double($0) - $1) }.max()!
                let dkErr = zip(layer.kernel.grad.data, dkRef).map { abs(Double($0) - $1) }.max()!
                XCTAssertLessThan(dxErr, 1e-5, "input gradient \(name)")
                XCTAssertLessThan(dkErr, 1e-4, "kernel gradient \(name) (sums of up to \(3 * h * w) products)")
            }
        }
    }

    /// Convolutions with few input channels run forward on the direct kernels, and their input
    /// gradient too when they have few output channels; their 3×3 kernel gradients have a direct
    /// kernel; 1×1 convolutions run on the pointwise tiles (ConvolutionDirect.swift). Against
    /// float64 loops, every coordinate: the output and the input, kernel and bias gradients,
    /// 'valid' and 'same', 1×1, 3×3 and 5×5, at every instruction-set level (level 0: im2col +
    /// GEMM). Tolerance 1e-4 absolute (sums of up to 400 products of values ≤ 1).
    func testDirectAndPointwiseConvolutionsMatchFloat64Loops() {
        let top = Int(mien_cpu_level())
        var rng = SeededRandom(seed: 48)
        let cases: [(h: Int, w: Int, cin: Int, cout: Int, k: Int, padding: Padding)] = [
            (9, 11, 1, 8, 3, .valid), (8, 7, 8, 8, 3, .valid), (6, 9, 1, 16, 3, .same), (7, 6, 8, 16, 3, .same),
            (5, 8, 16, 8, 3, .same), (6, 7, 3, 8, 5, .same), (3, 3, 8, 8, 3, .same),
            (6, 7, 16, 24, 1, .valid), (5, 5, 8, 8, 1, .same), (4, 4, 24, 40, 1, .valid), (3, 5, 12, 8, 1, .valid)]
        for level in 0...top {
            mien_cpu_level_limit(Int32(level))
            for t in cases {
                let name = "\(t.h)×\(t.w)×\(t.cin) → \(t.cout), \(t.k)×\(t.k) \(t.padding), level \(level)"
                let x = rng.uniformTensor([2, t.h, t.w, t.cin]), k = rng.uniformTensor([t.k, t.k, t.cin, t.cout])
                let g = ConvGeometry(inputShape: x.shape, kernelH: t.k, kernelW: t.k, stride: 1, padding: t.padding)
                if t.k == 1 {
                    XCTAssertEqual(PointwiseProduct.applies(n: t.cout), level >= 1, name)
                } else {
                    XCTAssertEqual(g.hasDirectKernel(cout: t.cout), level >= 1, name)
                    XCTAssertEqual(g.hasDirectInputGradient(cout: t.cout), level >= 1 && t.cin % 8 == 0, name)
                    XCTAssertEqual(g.hasDirectKernelGradient(cout: t.cout), level >= 1 && t.k == 3, name)
                }
                checkAgainstFloat64(Conv2D(kernel: k, bias: rng.uniformTensor([t.cout]), stride: 1, padding: t.padding),
                                    x: x, geometry: g, rng: &rng, name: name)
            }
        }
    }

    private func checkAgainstFloat64(_ layer: Conv2D, x: Tensor, geometry g: ConvGeometry, rng: inout SeededRandom, name: String) {
        let k = layer.kernel.value, kk = k.shape[0], cin = k.shape[2], cout = k.shape[3], n = x.shape[0]
        let y = layer.forward(x, training: true)
        XCTAssertLessThan(y.maxAbsDifference(Conv2D.reference(x, kernel: k, bias: layer.bias!.value, stride: 1,
                                                              padding: layer.padding)), 1e-4, name)
        let dy = rng.uniformTensor(y.shape)
        layer.kernel.zeroGrad(); layer.bias!.zeroGrad()
        let dx = layer.backward(dy)
        var dxRef = [Double](repeating: 0, count: x.count), dkRef = [Double](repeating: 0, count: k.count)
        var dbRef = [Double](repeating: 0, count: cout)
        for b in 0..<n { for oh in 0..<g.outH { for ow in 0..<g.outW { for co in 0..<cout {
            let d = Double(dy[b, oh, ow, co])
            dbRef[co] += d
            for i in 0..<kk { for j in 0..<kk {
                let ih = oh - g.padTop + i, iw = ow - g.padLeft + j
                guard ih >= 0, ih < g.height, iw >= 0, iw < g.width else { continue }
                for ci in 0..<cin {
                    dxRef[((b * g.height + ih) * g.width + iw) * cin + ci] += d * Double(k[i, j, ci, co])
                    dkRef[((i * kk + j) * cin + ci) * cout + co] += d * Double(x[b, ih, iw, ci])
                }
            }}
        }}}}
        func err(_ a: [Float], _ b: [Double]) -> Double { zip(a, b).map { abs(Double($0) - $1) }.max()! }
        XCTAssertLessThan(err(dx.data, dxRef), 1e-4, "input gradient \(name)")
        XCTAssertLessThan(err(layer.kernel.grad.data, dkRef), 1e-4, "kernel gradient \(name)")
        XCTAssertLessThan(err(layer.bias!.grad.data, dbRef), 1e-4, "bias gradient \(name)")
    }

    /// Batch norm's sums (statistics in the forward, Σ dy and Σ dy·x̂ in the backward) against
    /// float64 over 8·5·7 = 280 rows of 600 channels, at every instruction-set level:
    /// batch mean and unbiased variance (read back as the moving statistics with momentum 0),
    /// and the γ and β gradients. Tolerance 1e-5 relative.
    func testBatchNormSumsMatchFloat64OverManyChannels() {
        let top = Int(mien_cpu_level()), c = 600
        var rng = SeededRandom(seed: 49)
        let x = rng.uniformTensor([8, 5, 7, c], -1, 3), dy = rng.uniformTensor([8, 5, 7, c])
        let rows = x.count / c
        var mean = [Double](repeating: 0, count: c), variance = mean, sumDy = mean, sumDyXhat = mean
        for r in 0..<rows { for j in 0..<c { mean[j] += Double(x.data[r * c + j]) / Double(rows) } }
        for r in 0..<rows { for j in 0..<c { let d = Double(x.data[r * c + j]) - mean[j]; variance[j] += d * d } }
        for r in 0..<rows { for j in 0..<c {
            let xhat = (Double(x.data[r * c + j]) - mean[j]) / (variance[j] / Double(rows) + 1e-3).squareRoot()
            sumDy[j] += Double(dy.data[r * c + j]); sumDyXhat[j] += Double(dy.data[r * c + j]) * xhat
        }}
        func close(_ a: [Float], _ b: [Double], _ what: String) {
            let worst = zip(a, b).map { abs(Double($0) - $1) / max(abs($1), 1) }.max()!
            XCTAssertLessThan(worst, 1e-5, what)
        }
        for level in 0...top {
            mien_cpu_level_limit(Int32(level))
            let bn = BatchNorm(channels: c, momentum: 0)
            _ = bn.forward(x, training: true)
            close(bn.movingMean.data, mean, "mean at level \(level)")
            close(bn.movingVariance.data, variance.map { $0 / Double(rows - 1) }, "variance at level \(level)")
            _ = bn.backward(dy)
            close(bn.beta.grad.data, sumDy, "Σ dy at level \(level)")
            close(bn.gamma.grad.data, sumDyXhat, "Σ dy·x̂ at level \(level)")
        }
    }

    /// A ReLU fused into the batch norm before it (`forward(_:training:relu:)`, what CNNGraph
    /// runs for every batch norm → ReLU pair) computes what the two layers compute apart: the same
    /// outputs in training and inference mode, the same input and parameter gradients (within
    /// 1e-6). (Each layer apart passes finite differences above; the pair has kinks where
    /// finite differences are not a reliable oracle.)
    func testBatchNormWithFusedReLUEqualsTheTwoLayers() {
        BatchChunks.threads = 2
        var rng = SeededRandom(seed: 46)
        let gamma = rng.uniformTensor([16], 0.5, 1.5), beta = rng.uniformTensor([16])
        func make() -> BatchNorm {
            BatchNorm(gamma: gamma, beta: beta, movingMean: Tensor(shape: [16]), movingVariance: Tensor(shape: [16], repeating: 1))
        }
        let x = rng.uniformTensor([11, 5, 4, 16]), dy = rng.uniformTensor([11, 5, 4, 16])
        let fused = make(), apart = make(), relu = ReLU()
        let yFused = fused.forward(x, training: true, relu: true)
        let yApart = relu.forward(apart.forward(x, training: true), training: true)
        XCTAssertLessThan(yFused.maxAbsDifference(yApart), 1e-6)
        XCTAssertGreaterThan(yFused.data.filter { $0 == 0 }.count, 100, "the ReLU clips about half of the outputs")
        let dxFused = fused.backward(dy), dxApart = apart.backward(relu.backward(dy))
        XCTAssertLessThan(dxFused.maxAbsDifference(dxApart), 1e-6)
        XCTAssertLessThan(fused.gamma.grad.maxAbsDifference(apart.gamma.grad), 1e-5)
        XCTAssertLessThan(fused.beta.grad.maxAbsDifference(apart.beta.grad), 1e-5)
        XCTAssertLessThan(fused.forward(x, training: false, relu: true)
            .maxAbsDifference(relu.forward(apart.forward(x, training: false), training: false)), 1e-6)
    }

    /// OpenBLAS's kernels are AVX2 or better wherever the CPU has AVX2 (an unknown CPU model made
    /// Debian's OpenBLAS fall back to SSE3 "Prescott" kernels), and GEMM still equals the naive
    /// reference after the switch.
    func testOpenBLASRunsKernelsForThisCPU() {
        let choice = BLASCore.selectForCPU()
        if mien_cpu_level() >= 1 && ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            XCTAssertFalse(BLASCore.weakCores.contains(choice.after), "OpenBLAS runs \(choice.after) kernels on an AVX2 CPU (it chose \(choice.before))")
        }
        var rng = SeededRandom(seed: 44)
        let a = rng.uniformTensor([67, 45]), b = rng.uniformTensor([45, 33])
        XCTAssertLessThan(GEMM.matmul(a, b).maxAbsDifference(GEMM.matmul(a, b, reference: true)), 1e-4)
    }

    /// AdamW: with a zero gradient the only change is the decoupled decay, θ ← θ − lr·wd·θ.
    func testAdamWDecayIsDecoupled() {
        let p = Parameter(name: "w", value: Tensor(shape: [3], data: [1, -2, 4]))
        let adam = Adam(learningRate: 0.1, weightDecay: 0.5)
        adam.step([p])
        XCTAssertEqual(p.value.data, [0.95, -1.9, 3.8].map { Float($0) })
    }

    private func smallGraph() throws -> CNNGraph {
        let layers: [[String: Any]] = [
            ["name": "input", "type": "InputLayer", "config": [:], "inputs": []],
            ["name": "c1", "type": "Conv2D", "config": ["filters": 8, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "use_bias": false], "inputs": ["input"]],
            ["name": "b1", "type": "BatchNormalization", "config": [:], "inputs": ["c1"]],
            ["name": "r1", "type": "Activation", "config": ["activation": "relu"], "inputs": ["b1"]],
            ["name": "p1", "type": "MaxPooling2D", "config": ["pool_size": [2, 2], "strides": [2, 2], "padding": "same"], "inputs": ["r1"]],
            ["name": "s2", "type": "SeparableConv2D", "config": ["filters": 16, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "use_bias": false], "inputs": ["p1"]],
            ["name": "b2", "type": "BatchNormalization", "config": [:], "inputs": ["s2"]],
            ["name": "r2", "type": "Activation", "config": ["activation": "relu"], "inputs": ["b2"]],
            ["name": "out", "type": "Conv2D", "config": ["filters": 7, "kernel_size": [1, 1], "strides": [1, 1], "padding": "valid", "use_bias": true], "inputs": ["r2"]],
            ["name": "gap", "type": "GlobalAveragePooling2D", "config": [:], "inputs": ["out"]],
            ["name": "softmax", "type": "Activation", "config": ["activation": "softmax"], "inputs": ["gap"]],
        ]
        let json: [String: Any] = [
            "labels": ["a", "b", "c", "d", "e", "f", "g"], "input": ["height": 16, "width": 16, "channels": 1],
            "preprocessing": ["scale": 1, "offset": 0, "multiplier": 1], "embedding": ["layer": "r2"],
            "output": ["layer": "softmax"], "weights": ["file": "model.safetensors"], "layers": layers,
        ]
        return try CNNGraph.initialized(try CNNDescription.parse(json, origin: "test graph"), seed: 5)
    }
}
