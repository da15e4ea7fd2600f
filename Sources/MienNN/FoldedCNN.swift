/// Fast inference form of a `CNNGraph`: every batch norm that directly follows a convolution
/// (or separable convolution) is folded into that convolution's kernel and bias
/// (`foldBatchNorm`), a ReLU that directly follows is fused into the same step, and the batch is
/// run in chunks of a few images so activations stay in cache.
///
/// Input: preprocessed NHWC images `[n, h, w, c]`. Output: probabilities `[n, classes]` and
/// embeddings `[n, E]` (global average of the embedding layer). Equal to `CNNGraph.predict` up to
/// float rounding (tests check within 1e-5).
public final class FoldedCNN: @unchecked Sendable {
    enum Step {
        case conv(kernel: Tensor, bias: Tensor?, stride: Int, padding: Padding, relu: Bool)
        case separable(depthwise: Tensor, pointwise: Tensor, bias: Tensor?, stride: Int, padding: Padding, relu: Bool)
        case affine(scale: [Float], shift: [Float], relu: Bool)
        case relu
        case maxPool(size: Int, stride: Int, padding: Padding)
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
    /// Images per internal chunk.
    public var chunkSize: Int = 8
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
        for (i, node) in nodes.enumerated() where !done.contains(i) {
            let ins = node.inputs.map { valueOf[$0] }
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
            case .maxPool(let l): step = .maxPool(size: l.size, stride: l.stride, padding: l.padding)
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
    public func predict(_ x: Tensor) throws -> (probabilities: Tensor, embedding: Tensor) {
        guard x.rank == 4, Array(x.shape.dropFirst()) == inputShape else {
            throw NNError.badInput("CNN input must be [n, \(inputShape.map(String.init).joined(separator: ", "))] (NHWC, preprocessed), got \(x.shape)")
        }
        let n = x.shape[0], per = x.count / max(n, 1)
        var probs: [Float] = [], emb: [Float] = []
        var classes = 0, embSize = 0
        var start = 0
        while start < n {
            let m = min(chunkSize, n - start)
            let chunk = Tensor(shape: [m] + inputShape, data: Array(x.data[(start * per)..<((start + m) * per)]))
            let (l, e) = run(chunk)
            classes = l.shape[1]; embSize = e.shape[1]
            probs += softmax(l).data
            emb += e.data
            start += m
        }
        return (Tensor(shape: [n, classes], data: probs), Tensor(shape: [n, embSize], data: emb))
    }

    /// Runs the program on one chunk; returns logits and embedding.
    func run(_ x: Tensor) -> (Tensor, Tensor) {
        var values = [Tensor?](repeating: nil, count: valueCount)
        values[0] = x
        for ins in instructions {
            let a = values[ins.inputs[0]]!
            let y: Tensor
            switch ins.step {
            case let .conv(kernel, bias, stride, padding, relu):
                y = FoldedCNN.conv(a, kernel: kernel, bias: bias, stride: stride, padding: padding, relu: relu)
            case let .separable(dw, pw, bias, stride, padding, relu):
                let d = DepthwiseConv2D.compute(a, kernel: dw, bias: nil, stride: stride, padding: padding)
                y = FoldedCNN.conv(d, kernel: pw, bias: bias, stride: 1, padding: .valid, relu: relu)
            case let .affine(scale, shift, relu):
                var t = a
                let c = scale.count
                t.data.withUnsafeMutableBufferPointer { p in
                    for r in 0..<(p.count / c) {
                        let row = p.baseAddress! + r * c
                        for j in 0..<c { let v = row[j] * scale[j] + shift[j]; row[j] = relu ? max(v, 0) : v }
                    }
                }
                y = t
            case .relu:
                var t = a; reluInPlace(&t.data); y = t
            case let .maxPool(size, stride, padding):
                let g = ConvGeometry(inputShape: a.shape, kernelH: size, kernelW: size, stride: stride, padding: padding)
                var out = Tensor(shape: [g.batch, g.outH, g.outW, g.inChannels])
                a.data.withUnsafeBufferPointer { xp in
                    out.data.withUnsafeMutableBufferPointer { op in
                        maxPoolForward(g, x: xp.baseAddress!, out: op.baseAddress!, argmax: nil)
                    }
                }
                y = out
            case .add:
                var t = a
                for j in ins.inputs.dropFirst() { t.add(values[j]!) }
                y = t
            case .globalAveragePool:
                y = globalAveragePool(a)
            case .identity:
                y = a
            }
            values[ins.output] = y
        }
        return (values[logitsValue]!, globalAveragePool(values[embeddingValue]!))
    }

    static func conv(_ x: Tensor, kernel: Tensor, bias: Tensor?, stride: Int, padding: Padding, relu: Bool) -> Tensor {
        let kh = kernel.shape[0], kw = kernel.shape[1], cout = kernel.shape[3]
        let g = ConvGeometry(inputShape: x.shape, kernelH: kh, kernelW: kw, stride: stride, padding: padding)
        var out = Tensor(shape: [g.batch, g.outH, g.outW, cout])
        x.data.withUnsafeBufferPointer { xp in
            kernel.data.withUnsafeBufferPointer { wp in
                out.data.withUnsafeMutableBufferPointer { op in
                    convForward(g, x: xp.baseAddress!, w: wp.baseAddress!, bias: nil, cout: cout, out: op.baseAddress!)
                    let rows = g.batch * g.outPixels
                    if let bias {
                        bias.data.withUnsafeBufferPointer { bp in
                            for r in 0..<rows {
                                let o = op.baseAddress! + r * cout
                                if relu { for c in 0..<cout { o[c] = max(o[c] + bp[c], 0) } }
                                else { for c in 0..<cout { o[c] += bp[c] } }
                            }
                        }
                    } else if relu {
                        for i in 0..<op.count { op[i] = max(op[i], 0) }
                    }
                }
            }
        }
        return out
    }
}
