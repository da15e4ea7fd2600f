import CMienKernels
import Foundation

/// Fast inference form of a `CNNGraph`: every batch norm that directly follows a convolution
/// (or separable convolution) is folded into that convolution's kernel and bias
/// (`foldBatchNorm`), a ReLU that directly follows is fused into the same step, and the batch is
/// run in chunks of a few images so activations stay in cache.
///
/// Input: preprocessed NHWC images `[n, h, w, c]`. Output: probabilities `[n, classes]` and
/// embeddings `[n, E]` (global average of the embedding layer). Equal to `CNNGraph.predict` up to
/// float rounding (tests check within 1e-5).
///
/// Where the CPU has AVX2+FMA (`nativeKernels`, decided at run time), the convolutions, separable
/// convolutions and max pools run in `CMienKernels`' hand-written C kernels: Swift compiles for
/// baseline x86-64 (its SIMD8 types become pairs of SSE instructions) and has no per-function
/// target attribute, and OpenBLAS is slow on this model's many tiny matrices; no other library on
/// the machine offers these kernels to Swift. On the fer mini-Xception that is ~3.5× faster per
/// image than the portable path (Swift SIMD8 kernels + OpenBLAS), which stays as the fallback and
/// as the tests' comparison.
public final class FoldedCNN: @unchecked Sendable {
    enum Step {
        case conv(kernel: Tensor, bias: Tensor?, stride: Int, padding: Padding, relu: Bool)
        case separable(depthwise: Tensor, pointwise: Tensor, bias: Tensor?, stride: Int, padding: Padding, relu: Bool)
        case affine(scale: [Float], shift: [Float], relu: Bool)
        case relu
        /// Max pooling; with `add`, plus a second input (the residual add that directly follows the
        /// pool in mini-Xception, fused so the pooled value is written once).
        case maxPool(size: Int, stride: Int, padding: Padding, add: Bool)
        case add
        case globalAveragePool
        case identity
    }

    struct Instruction {
        let step: Step
        let inputs: [Int]
        let output: Int
    }

    let instructions: [Instruction]
    let valueCount: Int
    let logitsValue: Int
    let embeddingValue: Int
    /// Images per internal chunk (1 measured fastest: one image's activations stay in cache).
    public var chunkSize: Int = 1
    /// True when this CPU can run the AVX2+FMA kernels of `CMienKernels` (checked once).
    public static let nativeKernelsAvailable = mien_kernels_avx2_available() != 0
    /// Use the AVX2+FMA kernels where a step fits them (default: when the CPU has them). False
    /// runs the portable path (Swift SIMD8 and OpenBLAS) everywhere; tests compare the two.
    public var nativeKernels: Bool = FoldedCNN.nativeKernelsAvailable
    public let labels: [String]
    public let inputShape: [Int]

    /// Compiles `graph` (its current weights and moving statistics) into folded steps.
    public init(_ graph: CNNGraph) {
        let nodes = graph.nodes
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (i, n) in nodes.enumerated() { for j in n.inputs { consumers[j].append(i) } }
        let protected: Set<Int> = [graph.logitsNode, graph.embeddingNode]
        var valueOf = [Int](repeating: -1, count: nodes.count)
        var done = Set<Int>()
        var program: [Instruction] = []
        var nextValue = 1   // value 0 is the input
        func single(_ i: Int, _ match: (CNNGraph.Op) -> Bool) -> Int? {
            guard !protected.contains(i), consumers[i].count == 1 else { return nil }
            let j = consumers[i][0]
            return match(nodes[j].op) ? j : nil
        }
        func isBN(_ op: CNNGraph.Op) -> Bool { if case .batchNorm = op { return true }; return false }
        func isReLU(_ op: CNNGraph.Op) -> Bool { if case .relu = op { return true }; return false }
        func isAdd(_ op: CNNGraph.Op) -> Bool { if case .add = op { return true }; return false }
        for (i, node) in nodes.enumerated() where !done.contains(i) {
            var ins = node.inputs.map { valueOf[$0] }
            var tail = i
            var step: Step
            switch node.op {
            case .input:
                valueOf[i] = 0
                continue
            case .identity, .softmax:
                valueOf[i] = ins[0]
                continue
            case .conv(let l):
                var k = l.kernel.value, b = l.bias?.value
                if let j = single(i, isBN), case .batchNorm(let bn) = nodes[j].op {
                    (k, b) = foldBatchNorm(kernel: k, bias: b, into: bn); tail = j; done.insert(j)
                }
                var relu = false
                if let j = single(tail, isReLU) { relu = true; tail = j; done.insert(j) }
                step = .conv(kernel: k, bias: b, stride: l.stride, padding: l.padding, relu: relu)
            case .separable(let l):
                var k = l.pointwise.kernel.value, b = l.pointwise.bias?.value
                if let j = single(i, isBN), case .batchNorm(let bn) = nodes[j].op {
                    (k, b) = foldBatchNorm(kernel: k, bias: b, into: bn); tail = j; done.insert(j)
                }
                var relu = false
                if let j = single(tail, isReLU) { relu = true; tail = j; done.insert(j) }
                step = .separable(depthwise: l.depthwise.kernel.value, pointwise: k, bias: b,
                                  stride: l.depthwise.stride, padding: l.depthwise.padding, relu: relu)
            case .batchNorm(let bn):
                let (scale, shift) = bn.inferenceScaleShift()
                var relu = false
                if let j = single(i, isReLU) { relu = true; tail = j; done.insert(j) }
                step = .affine(scale: scale, shift: shift, relu: relu)
            case .relu: step = .relu
            case .maxPool(let l):
                // An add of this pool and one value already computed: fuse it into the pool.
                var add = false
                if let j = single(i, isAdd), nodes[j].inputs.count == 2,
                   let other = nodes[j].inputs.first(where: { $0 != i }), valueOf[other] >= 0 {
                    add = true; ins.append(valueOf[other]); tail = j; done.insert(j)
                }
                step = .maxPool(size: l.size, stride: l.stride, padding: l.padding, add: add)
            case .add: step = .add
            case .globalAveragePool: step = .globalAveragePool
            }
            program.append(Instruction(step: step, inputs: ins, output: nextValue))
            valueOf[tail] = nextValue
            nextValue += 1
        }
        instructions = program
        valueCount = nextValue
        logitsValue = valueOf[graph.logitsNode]
        embeddingValue = valueOf[graph.embeddingNode]
        labels = graph.description.labels
        inputShape = [graph.description.inputHeight, graph.description.inputWidth, graph.description.inputChannels]
    }

    /// Probabilities `[n, classes]` and embeddings `[n, E]` for preprocessed NHWC images.
    /// Thread-safe (calls are serialised: use one `FoldedCNN` per thread for parallel work).
    public func predict(_ x: Tensor) throws -> (probabilities: Tensor, embedding: Tensor) {
        guard x.rank == 4, Array(x.shape.dropFirst()) == inputShape else {
            throw NNError.badInput("CNN input must be [n, \(inputShape.map(String.init).joined(separator: ", "))] (NHWC, preprocessed), got \(x.shape)")
        }
        lock.lock(); defer { lock.unlock() }
        let n = x.shape[0], per = x.count / max(n, 1)
        let chunk = max(1, chunkSize)
        if arena == nil || arena!.batch != chunk { arena = Arena(self, batch: chunk) }
        let arena = arena!
        let classes = arena.shapes[logitsValue].last!, embSize = arena.shapes[embeddingValue].last!
        var logits = Tensor(shape: [n, classes]), emb = Tensor(shape: [n, embSize])
        var start = 0
        x.data.withUnsafeBufferPointer { xp in
            logits.data.withUnsafeMutableBufferPointer { lp in
                emb.data.withUnsafeMutableBufferPointer { ep in
                    while start < n {
                        let m = min(chunk, n - start)
                        runFast(arena, input: xp.baseAddress! + start * per, count: m,
                                logits: lp.baseAddress! + start * classes, embedding: ep.baseAddress! + start * embSize)
                        start += m
                    }
                }
            }
        }
        return (softmax(logits), emb)
    }

    /// Seconds spent in each step (labelled by kind and output shape) over `repeats` runs of `x`,
    /// for profiling where inference time goes.
    public func profile(_ x: Tensor, repeats: Int) throws -> [(step: String, seconds: Double)] {
        _ = try predict(x)
        lock.lock(); defer { lock.unlock() }
        let arena = arena!
        var t = [Double](repeating: 0, count: instructions.count)
        let n = x.shape[0], per = x.count / max(n, 1)
        var logits = [Float](repeating: 0, count: arena.batch * arena.shapes[logitsValue].last!)
        var emb = [Float](repeating: 0, count: arena.batch * arena.shapes[embeddingValue].last!)
        x.data.withUnsafeBufferPointer { xp in
            t.withUnsafeMutableBufferPointer { tp in
                for _ in 0..<repeats {
                    var start = 0
                    while start < n {
                        let m = min(arena.batch, n - start)
                        runFast(arena, input: xp.baseAddress! + start * per, count: m, logits: &logits, embedding: &emb, timings: tp.baseAddress!)
                        start += m
                    }
                }
            }
        }
        return instructions.enumerated().map { k, ins in
            let kind: String
            switch ins.step {
            case .conv(let w, _, let s, _, let r): kind = "conv \(w.shape[0])x\(w.shape[1]) s\(s)\(r ? "+relu" : "")"
            case .separable(_, _, _, _, _, let r): kind = "separable\(r ? "+relu" : "")"
            case .affine: kind = "batchnorm"
            case .relu: kind = "relu"
            case .maxPool(_, _, _, let add): kind = add ? "maxpool+add" : "maxpool"
            case .add: kind = "add"
            case .globalAveragePool: kind = "gap"
            case .identity: kind = "copy"
            }
            return ("\(kind) → \(arena.shapes[ins.output].dropFirst())", t[k])
        }
    }

    private let lock = NSLock()
    private var arena: Arena?

    /// Buffers for every value of the program at a fixed chunk size, allocated once.
    final class Arena {
        let batch: Int
        let shapes: [[Int]]
        let values: [UnsafeMutablePointer<Float>]
        let scratch: UnsafeMutablePointer<Float>

        init(_ cnn: FoldedCNN, batch: Int) {
            self.batch = batch
            var shapes = [[Int]](repeating: [], count: cnn.valueCount)
            shapes[0] = [batch] + cnn.inputShape
            var scratchCount = 1
            for ins in cnn.instructions {
                let a = shapes[ins.inputs[0]]
                switch ins.step {
                case let .conv(kernel, _, stride, padding, _):
                    let g = ConvGeometry(inputShape: a, kernelH: kernel.shape[0], kernelW: kernel.shape[1], stride: stride, padding: padding)
                    shapes[ins.output] = [batch, g.outH, g.outW, kernel.shape[3]]
                    scratchCount = max(scratchCount, g.outPixels * g.patchSize, a[1] * a[2] * a[3])   // im2col; planar copy
                case let .separable(dw, pw, _, stride, padding, _):
                    let g = ConvGeometry(inputShape: a, kernelH: dw.shape[0], kernelW: dw.shape[1], stride: stride, padding: padding)
                    shapes[ins.output] = [batch, g.outH, g.outW, pw.shape[3]]
                    scratchCount = max(scratchCount, batch * g.outPixels * pw.shape[2])
                case let .maxPool(size, stride, padding, _):
                    let g = ConvGeometry(inputShape: a, kernelH: size, kernelW: size, stride: stride, padding: padding)
                    shapes[ins.output] = [batch, g.outH, g.outW, a[3]]
                    scratchCount = max(scratchCount, a[2] * a[3])
                case .globalAveragePool:
                    shapes[ins.output] = [batch, a[3]]
                case .affine, .relu, .add, .identity:
                    shapes[ins.output] = a
                }
            }
            self.shapes = shapes
            values = shapes.map { UnsafeMutablePointer<Float>.allocate(capacity: max(1, $0.reduce(1, *))) }
            scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
        }

        deinit {
            for v in values { v.deallocate() }
            scratch.deallocate()
        }
    }

    /// Runs the program on `count` ≤ arena.batch images at `input`; writes logits and embeddings.
    func runFast(_ arena: Arena, input: UnsafePointer<Float>, count n: Int, logits: UnsafeMutablePointer<Float>,
                 embedding: UnsafeMutablePointer<Float>, timings: UnsafeMutablePointer<Double>? = nil) {
        // The arena's shapes are for a full chunk; only a last, shorter chunk needs its own copy.
        let shapes = n == arena.batch ? arena.shapes : arena.shapes.map { $0.isEmpty ? $0 : [n] + $0.dropFirst() }
        let values = arena.values, scratch = arena.scratch
        let native = nativeKernels
        values[0].update(from: input, count: shapes[0].reduce(1, *))
        for (k, ins) in instructions.enumerated() {
            let t0 = timings == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            defer { if let timings { timings[k] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 } }
            let aShape = shapes[ins.inputs[0]], a = UnsafePointer(values[ins.inputs[0]])
            let out = values[ins.output], outCount = shapes[ins.output].reduce(1, *)
            switch ins.step {
            case let .conv(kernel, bias, stride, padding, relu):
                let cout = kernel.shape[3]
                let g = ConvGeometry(inputShape: aShape, kernelH: kernel.shape[0], kernelW: kernel.shape[1], stride: stride, padding: padding)
                let imageIn = g.height * g.width * g.inChannels, imageOut = g.outPixels * cout
                if native && cout % 8 == 0 && g.padTop == 0 && g.padLeft == 0 {
                    if g.stride == 1 && g.outH == g.height - g.kernelH + 1 && g.outW == g.width - g.kernelW + 1 {
                        kernel.data.withUnsafeBufferPointer { wp in withOptionalPointer(bias) { bp in
                            for i in 0..<n {
                                mien_conv_valid_s1(a + i * imageIn, Int32(g.height), Int32(g.width), Int32(g.inChannels), wp.baseAddress!,
                                                   Int32(g.kernelH), Int32(g.kernelW), Int32(cout), bp, relu ? 1 : 0, out + i * imageOut, scratch)
                            }
                        }}
                        break
                    }
                    if g.kernelH == 1 && g.kernelW == 1 {
                        kernel.data.withUnsafeBufferPointer { wp in withOptionalPointer(bias) { bp in
                            for i in 0..<n {
                                mien_conv1x1(a + i * imageIn, Int32(g.height), Int32(g.width), Int32(g.inChannels), Int32(g.stride),
                                             Int32(g.outH), Int32(g.outW), wp.baseAddress!, Int32(cout), bp, relu ? 1 : 0, out + i * imageOut, scratch)
                            }
                        }}
                        break
                    }
                }
                kernel.data.withUnsafeBufferPointer { wp in
                    if g.isPointwiseIdentity {
                        GEMM.blas(m: n * g.outPixels, n: cout, k: g.patchSize, a: a, lda: g.patchSize, b: wp.baseAddress!, ldb: cout, c: out, ldc: cout)
                    } else {
                        for i in 0..<n {
                            im2colFast(g, image: a + i * imageIn, cols: scratch)
                            GEMM.blas(m: g.outPixels, n: cout, k: g.patchSize, a: scratch, lda: g.patchSize, b: wp.baseAddress!, ldb: cout,
                                      c: out + i * g.outPixels * cout, ldc: cout)
                        }
                    }
                }
                withOptionalPointer(bias) { biasActivation(out, rows: n * g.outPixels, c: cout, bias: $0, relu: relu) }
            case let .separable(dw, pw, bias, stride, padding, relu):
                let g = ConvGeometry(inputShape: aShape, kernelH: dw.shape[0], kernelW: dw.shape[1], stride: stride, padding: padding)
                let mid = pw.shape[2], cout = pw.shape[3]
                if native && dw.shape[3] == 1 && g.inChannels % 8 == 0 && cout % 8 == 0 {
                    let imageIn = g.height * g.width * g.inChannels, imageOut = g.outPixels * cout
                    dw.data.withUnsafeBufferPointer { dp in pw.data.withUnsafeBufferPointer { pp in withOptionalPointer(bias) { bp in
                        for i in 0..<n {
                            mien_separable(a + i * imageIn, Int32(g.height), Int32(g.width), Int32(g.inChannels), dp.baseAddress!,
                                           Int32(g.kernelH), Int32(g.kernelW), Int32(g.stride), Int32(g.padTop), Int32(g.padLeft),
                                           Int32(g.outH), Int32(g.outW), pp.baseAddress!, Int32(cout), bp, relu ? 1 : 0,
                                           out + i * imageOut, scratch)
                        }
                    }}}
                    break
                }
                dw.data.withUnsafeBufferPointer { wp in
                    if dw.shape[3] == 1 && g.inChannels % 8 == 0 {
                        depthwiseForwardSIMD8(g, x: a, w: wp.baseAddress!, out: scratch)
                    } else {
                        depthwiseForward(g, multiplier: dw.shape[3], x: a, w: wp.baseAddress!, out: scratch)
                    }
                }
                pw.data.withUnsafeBufferPointer { wp in
                    GEMM.blas(m: n * g.outPixels, n: cout, k: mid, a: scratch, lda: mid, b: wp.baseAddress!, ldb: cout, c: out, ldc: cout)
                }
                withOptionalPointer(bias) { biasActivation(out, rows: n * g.outPixels, c: cout, bias: $0, relu: relu) }
            case let .affine(scale, shift, relu):
                let c = scale.count
                for r in 0..<(outCount / c) {
                    for j in 0..<c { let v = a[r * c + j] * scale[j] + shift[j]; out[r * c + j] = relu ? max(v, 0) : v }
                }
            case .relu:
                for i in 0..<outCount { out[i] = max(a[i], 0) }
            case let .maxPool(size, stride, padding, add):
                let g = ConvGeometry(inputShape: aShape, kernelH: size, kernelW: size, stride: stride, padding: padding)
                let residual = add ? UnsafePointer(values[ins.inputs[1]]) : nil
                if native && g.inChannels % 8 == 0 {
                    let imageIn = g.height * g.width * g.inChannels, imageOut = g.outPixels * g.inChannels
                    for i in 0..<n {
                        mien_maxpool(a + i * imageIn, Int32(g.height), Int32(g.width), Int32(g.inChannels), Int32(size), Int32(stride),
                                     Int32(g.padTop), Int32(g.padLeft), Int32(g.outH), Int32(g.outW),
                                     residual.map { $0 + i * imageOut }, out + i * imageOut, scratch)
                    }
                } else {
                    maxPoolForward(g, x: a, out: out, argmax: nil)
                    if let residual { for i in 0..<outCount { out[i] += residual[i] } }
                }
            case .add:
                let b = values[ins.inputs[1]]
                for i in 0..<outCount { out[i] = a[i] + b[i] }
                for j in ins.inputs.dropFirst(2) { let e = values[j]; for i in 0..<outCount { out[i] += e[i] } }
            case .globalAveragePool:
                globalAveragePool(a, shape: aShape, out: out)
            case .identity:
                out.update(from: a, count: outCount)
            }
        }
        let ls = shapes[logitsValue]
        logits.update(from: values[logitsValue], count: ls.reduce(1, *))
        globalAveragePool(values[embeddingValue], shape: shapes[embeddingValue], out: embedding)
    }
}

@inline(__always)
func withOptionalPointer<R>(_ t: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let t else { return body(nil) }
    return t.data.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Mean over height and width of NHWC `shape` at `x` into `out` `[n, c]`.
func globalAveragePool(_ x: UnsafePointer<Float>, shape: [Int], out: UnsafeMutablePointer<Float>) {
    let n = shape[0], hw = shape[1] * shape[2], c = shape[3]
    let inv = 1 / Float(hw)
    for i in 0..<n {
        let o = out + i * c
        o.update(repeating: 0, count: c)
        for p in 0..<hw { let xi = x + (i * hw + p) * c; for k in 0..<c { o[k] += xi[k] } }
        for k in 0..<c { o[k] *= inv }
    }
}
