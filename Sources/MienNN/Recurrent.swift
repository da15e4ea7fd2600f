import CMienKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Long short-term memory over N×T×D sequences, Keras weight layout:
///
/// - `kernel` `[D, 4U]`, `recurrent_kernel` `[U, 4U]`, `bias` `[4U]`;
/// - the 4U columns are the gates in Keras order **i, f, c, o** (input, forget, cell candidate,
///   output), each a block of U columns;
/// - `i, f, o = σ(z)` (logistic sigmoid), `c̃ = tanh(z)` (both via `fastExp`, ~1e-7 relative), `c_t = f⊙c_{t−1} + i⊙c̃`,
///   `h_t = o⊙tanh(c_t)`, zero initial state;
/// - `z_t = x_t·kernel + h_{t−1}·recurrent_kernel + bias`.
///
/// The input projection `X·kernel + bias` for all N·T steps is one GEMM before the time loop; the
/// loop itself is one C call (`mien_lstm_forward_steps`) when the CPU has AVX2 and U % 16 == 0,
/// else a GEMM and a cell call per step.
/// Output: the hidden state for every step, `[N, T, U]`. With `reverse`, steps run from T−1 down
/// to 0 and the output at index t is the state after consuming `x_t` (aligned to input time, as
/// Keras `Bidirectional` returns it).
public final class LSTM: Layer {
    public let kernel: Parameter
    public let recurrentKernel: Parameter
    public let bias: Parameter
    public let reverse: Bool
    private var cache: (x: Tensor, gates: [Float], cells: [Float], hidden: Tensor)?

    public init(kernel: Tensor, recurrentKernel: Tensor, bias: Tensor, reverse: Bool = false, name: String = "lstm") {
        let u = recurrentKernel.shape[0]
        precondition(kernel.rank == 2 && kernel.shape[1] == 4 * u, "LSTM kernel must be [D, 4U] = [D, \(4 * u)], got \(kernel.shape)")
        precondition(recurrentKernel.shape == [u, 4 * u], "LSTM recurrent kernel must be [U, 4U], got \(recurrentKernel.shape)")
        precondition(bias.shape == [4 * u], "LSTM bias must be [4U] = [\(4 * u)], got \(bias.shape)")
        self.kernel = Parameter(name: "\(name)/kernel", value: kernel)
        self.recurrentKernel = Parameter(name: "\(name)/recurrent_kernel", value: recurrentKernel)
        self.bias = Parameter(name: "\(name)/bias", value: bias)
        self.reverse = reverse
    }

    /// Glorot-uniform kernels, forget-gate bias 1 and the rest 0 (Keras `unit_forget_bias`).
    public convenience init(inputSize: Int, units: Int, reverse: Bool = false, name: String = "lstm", rng: inout SeededRandom) {
        let k = rng.glorotUniform([inputSize, 4 * units], fanIn: inputSize, fanOut: 4 * units)
        let r = rng.glorotUniform([units, 4 * units], fanIn: units, fanOut: 4 * units)
        var b = Tensor(shape: [4 * units])
        for j in units..<(2 * units) { b.data[j] = 1 }
        self.init(kernel: k, recurrentKernel: r, bias: b, reverse: reverse, name: name)
    }

    public var units: Int { recurrentKernel.value.shape[0] }
    public var inputSize: Int { kernel.value.shape[0] }
    public var parameters: [Parameter] { [kernel, recurrentKernel, bias] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == inputSize, "LSTM expects N×T×\(inputSize), got \(x.shape)")
        let n = x.shape[0], t = x.shape[1], u = units, g4 = 4 * u
        // Input projection for every (n, t) at once: Z = X·W, [N·T, 4U] (the bias is added by the
        // cell kernel as it activates the gates). Every element of z, cells and h is written
        // before it is read, so none is zeroed first.
        var z = [Float](unsafeUninitializedCapacity: n * t * g4) { _, count in count = n * t * g4 }
        var cells = [Float](unsafeUninitializedCapacity: n * t * u) { _, count in count = n * t * u }
        var h = Tensor(uninitialized: [n, t, u])
        x.data.withUnsafeBufferPointer { xp in
        kernel.value.data.withUnsafeBufferPointer { wp in
        recurrentKernel.value.data.withUnsafeBufferPointer { rp in
        bias.value.data.withUnsafeBufferPointer { bp in
        z.withUnsafeMutableBufferPointer { zp in
        cells.withUnsafeMutableBufferPointer { cp in
        h.data.withUnsafeMutableBufferPointer { hp in
            let Z = zp.baseAddress!, H = hp.baseAddress!, C = cp.baseAddress!
            GEMM.blas(m: n * t, n: g4, k: inputSize, a: xp.baseAddress!, lda: inputSize, b: wp.baseAddress!, ldb: g4, c: Z, ldc: g4)
            if mien_lstm_steps_applies(Int32(u)) != 0 {
                // The time loop in one C call: R packed once, each row block's recurrent product
                // followed at once by its cell update (lstm_steps.c says why).
                let packed = UnsafeMutablePointer<Float>.allocate(capacity: mien_lstm_packed_count(Int32(u)))
                defer { packed.deallocate() }
                mien_lstm_pack_recurrent(rp.baseAddress!, Int32(u), packed)
                mien_lstm_forward_steps(Z, packed, bp.baseAddress!, C, H, Int32(n), Int32(t), Int32(u), reverse ? 1 : 0)
                return
            }
            for s in 0..<t {
                let step = reverse ? t - 1 - s : s
                let prev = reverse ? step + 1 : step - 1
                if s > 0 {
                    // Z[:, step, :] += H[:, prev, :] · R   (rows strided by T·U and T·4U)
                    GEMM.blas(m: n, n: g4, k: u, a: H + prev * u, lda: t * u, b: rp.baseAddress!, ldb: g4,
                              beta: 1, c: Z + step * g4, ldc: t * g4)
                }
                for b in 0..<n {
                    // Gate activations in place and the cell update (C kernel, vectorised for this CPU).
                    mien_t_lstm_cell(Z + (b * t + step) * g4, bp.baseAddress!, s > 0 ? UnsafePointer(C + (b * t + prev) * u) : nil,
                                     C + (b * t + step) * u, H + (b * t + step) * u, Int32(u))
                }
            }
        }}}}}}}
        if training { cache = (x, z, cells, h) }
        return h
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let cache else { preconditionFailure("LSTM.backward called before a training forward") }
        let x = cache.x, n = x.shape[0], t = x.shape[1], u = units, g4 = 4 * u, d = inputSize
        precondition(gradOutput.shape == [n, t, u], "LSTM gradient must be [\(n), \(t), \(u)], got \(gradOutput.shape)")
        var dz = [Float](repeating: 0, count: n * t * g4)
        var dhNext = [Float](repeating: 0, count: n * u)
        var dcNext = [Float](repeating: 0, count: n * u)
        var dx = Tensor(shape: x.shape)
        cache.gates.withUnsafeBufferPointer { gp in
        cache.cells.withUnsafeBufferPointer { cp in
        cache.hidden.data.withUnsafeBufferPointer { hp in
        gradOutput.data.withUnsafeBufferPointer { dyp in
        dz.withUnsafeMutableBufferPointer { dzp in
        dhNext.withUnsafeMutableBufferPointer { dhn in
        dcNext.withUnsafeMutableBufferPointer { dcn in
        recurrentKernel.value.data.withUnsafeBufferPointer { rp in
        recurrentKernel.grad.data.withUnsafeMutableBufferPointer { drp in
            let G = gp.baseAddress!, C = cp.baseAddress!, H = hp.baseAddress!, DZ = dzp.baseAddress!
            for s in stride(from: t - 1, through: 0, by: -1) {
                let step = reverse ? t - 1 - s : s
                let prev = reverse ? step + 1 : step - 1
                for b in 0..<n {
                    mien_t_lstm_cell_backward(G + (b * t + step) * g4, C + (b * t + step) * u, s > 0 ? C + (b * t + prev) * u : nil,
                                              dyp.baseAddress! + (b * t + step) * u, dhn.baseAddress! + b * u,
                                              dcn.baseAddress! + b * u, DZ + (b * t + step) * g4, Int32(u))
                }
                if s > 0 {
                    // dh_{prev} = dZ_step · Rᵀ ; dR += H_prevᵀ · dZ_step
                    GEMM.blas(transB: true, m: n, n: u, k: g4, a: DZ + step * g4, lda: t * g4, b: rp.baseAddress!, ldb: g4,
                              c: dhn.baseAddress!, ldc: u)
                    GEMM.blas(transA: true, m: u, n: g4, k: n, a: H + prev * u, lda: t * u, b: DZ + step * g4, ldb: t * g4,
                              beta: 1, c: drp.baseAddress!, ldc: g4)
                }
            }
        }}}}}}}}}
        // Input-side gradients for all steps at once.
        x.data.withUnsafeBufferPointer { xp in
        dz.withUnsafeBufferPointer { dzp in
        kernel.value.data.withUnsafeBufferPointer { wp in
        kernel.grad.data.withUnsafeMutableBufferPointer { dwp in
        dx.data.withUnsafeMutableBufferPointer { dxp in
            GEMM.blas(transA: true, m: d, n: g4, k: n * t, a: xp.baseAddress!, lda: d, b: dzp.baseAddress!, ldb: g4,
                      beta: 1, c: dwp.baseAddress!, ldc: g4)
            GEMM.blas(transB: true, m: n * t, n: d, k: g4, a: dzp.baseAddress!, lda: g4, b: wp.baseAddress!, ldb: g4,
                      c: dxp.baseAddress!, ldc: d)
        }}}}}
        for r in 0..<(n * t) { for j in 0..<g4 { bias.grad.data[j] += dz[r * g4 + j] } }
        return dx
    }
}

/// Bidirectional LSTM: a forward LSTM and a reverse LSTM over the same N×T×D input, outputs
/// concatenated on the feature axis, `[N, T, 2U]` = `[forward_t, backward_t]`.
/// Weight names `<name>/forward/{kernel,recurrent_kernel,bias}` and `<name>/backward/…`.
public final class BiLSTM: Layer {
    public let forwardLSTM: LSTM
    public let backwardLSTM: LSTM

    public init(forward: LSTM, backward: LSTM) {
        precondition(!forward.reverse && backward.reverse, "BiLSTM needs a forward and a reverse LSTM")
        precondition(forward.units == backward.units && forward.inputSize == backward.inputSize,
                     "BiLSTM directions must have the same sizes")
        forwardLSTM = forward
        backwardLSTM = backward
    }

    public convenience init(inputSize: Int, units: Int, name: String = "bilstm", rng: inout SeededRandom) {
        self.init(forward: LSTM(inputSize: inputSize, units: units, name: "\(name)/forward", rng: &rng),
                  backward: LSTM(inputSize: inputSize, units: units, reverse: true, name: "\(name)/backward", rng: &rng))
    }

    public var units: Int { forwardLSTM.units }
    public var parameters: [Parameter] { forwardLSTM.parameters + backwardLSTM.parameters }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let f = forwardLSTM.forward(x, training: training), b = backwardLSTM.forward(x, training: training)
        let n = x.shape[0], t = x.shape[1], u = units
        var y = Tensor(shape: [n, t, 2 * u])
        for r in 0..<(n * t) {
            for j in 0..<u {
                y.data[r * 2 * u + j] = f.data[r * u + j]
                y.data[r * 2 * u + u + j] = b.data[r * u + j]
            }
        }
        return y
    }

    /// Inference only: the final states `[N, 2U]` = `[forward h after step T−1 ‖ backward h after
    /// step 0]`, what a classifier on the last layer reads, without building the `[N, T, 2U]` output.
    public func finalStates(_ x: Tensor) -> Tensor {
        let f = forwardLSTM.forward(x, training: false), b = backwardLSTM.forward(x, training: false)
        let n = x.shape[0], t = x.shape[1], u = units
        var out = Tensor(uninitialized: [n, 2 * u])
        for r in 0..<n {
            for j in 0..<u {
                out.data[r * 2 * u + j] = f.data[(r * t + t - 1) * u + j]
                out.data[r * 2 * u + u + j] = b.data[(r * t) * u + j]
            }
        }
        return out
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let n = gradOutput.shape[0], t = gradOutput.shape[1], u = units
        var gf = Tensor(shape: [n, t, u]), gb = Tensor(shape: [n, t, u])
        for r in 0..<(n * t) {
            for j in 0..<u {
                gf.data[r * u + j] = gradOutput.data[r * 2 * u + j]
                gb.data[r * u + j] = gradOutput.data[r * 2 * u + u + j]
            }
        }
        var dx = forwardLSTM.backward(gf)
        dx.add(backwardLSTM.backward(gb))
        return dx
    }
}
