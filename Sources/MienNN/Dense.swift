/// Fully connected layer: input `[n, in]`, Keras kernel `[in, out]`, bias `[out]`, output `[n, out]`.
/// Inputs of higher rank are flattened to `[rows, in]` over all leading axes.
public final class Dense: Layer {
    public let kernel: Parameter
    public let bias: Parameter?
    private var cachedInput: Tensor?

    public init(kernel: Tensor, bias: Tensor?, name: String = "dense") {
        precondition(kernel.rank == 2, "dense kernel must be [in, out], got \(kernel.shape)")
        if let bias { precondition(bias.shape == [kernel.shape[1]], "dense bias must be [\(kernel.shape[1])], got \(bias.shape)") }
        self.kernel = Parameter(name: "\(name)/kernel", value: kernel)
        self.bias = bias.map { Parameter(name: "\(name)/bias", value: $0) }
    }

    /// Glorot-uniform kernel, zero bias (Keras defaults).
    public convenience init(inputs: Int, outputs: Int, useBias: Bool = true, name: String = "dense", rng: inout SeededRandom) {
        self.init(kernel: rng.glorotUniform([inputs, outputs], fanIn: inputs, fanOut: outputs),
                  bias: useBias ? Tensor(shape: [outputs]) : nil, name: name)
    }

    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }
    public var inputs: Int { kernel.value.shape[0] }
    public var outputs: Int { kernel.value.shape[1] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.last == inputs, "dense expects \(inputs) features last, got \(x.shape)")
        if training { cachedInput = x }
        let rows = x.count / inputs
        var y = Tensor(shape: Array(x.shape.dropLast()) + [outputs])
        x.data.withUnsafeBufferPointer { xp in
            kernel.value.data.withUnsafeBufferPointer { wp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    GEMM.blas(m: rows, n: outputs, k: inputs, a: xp.baseAddress!, lda: inputs, b: wp.baseAddress!,
                              ldb: outputs, c: yp.baseAddress!, ldc: outputs)
                }
            }
        }
        if let bias { for r in 0..<rows { for j in 0..<outputs { y.data[r * outputs + j] += bias.value.data[j] } } }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let x = cachedInput else { preconditionFailure("Dense.backward called before a training forward") }
        let rows = x.count / inputs
        var dx = Tensor(shape: x.shape)
        x.data.withUnsafeBufferPointer { xp in
        gradOutput.data.withUnsafeBufferPointer { gp in
        kernel.value.data.withUnsafeBufferPointer { wp in
        kernel.grad.data.withUnsafeMutableBufferPointer { dwp in
        dx.data.withUnsafeMutableBufferPointer { dxp in
            GEMM.blas(transA: true, m: inputs, n: outputs, k: rows, a: xp.baseAddress!, lda: inputs,
                      b: gp.baseAddress!, ldb: outputs, beta: 1, c: dwp.baseAddress!, ldc: outputs)
            GEMM.blas(transB: true, m: rows, n: inputs, k: outputs, a: gp.baseAddress!, lda: outputs,
                      b: wp.baseAddress!, ldb: outputs, c: dxp.baseAddress!, ldc: inputs)
        }}}}}
        if let bias { for r in 0..<rows { for j in 0..<outputs { bias.grad.data[j] += gradOutput.data[r * outputs + j] } } }
        return dx
    }
}
