import CMienKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Batch normalisation over the last axis (channels of an NHWC image, features of N×D).
///
/// Training: normalises with the batch mean and biased batch variance over all other axes, and
/// updates `movingMean ← momentum·movingMean + (1−momentum)·mean`, likewise `movingVariance`
/// with the unbiased batch variance. Inference: `y = γ·(x − movingMean)/√(movingVariance + ε) + β`.
/// Keras names: `gamma`, `beta`, `moving_mean`, `moving_variance`, each `[channels]`.
public final class BatchNorm: Layer {
    public let gamma: Parameter
    public let beta: Parameter
    public var movingMean: Tensor
    public var movingVariance: Tensor
    public let epsilon: Float
    /// Weight of the old moving statistics in each training-mode update (may be changed between
    /// batches, e.g. `1 − 1/k` to make them the exact mean over k batches).
    public var momentum: Float
    public let name: String
    /// What the last training forward leaves for `backward`: its input, the batch statistics,
    /// the γ and β it used, and whether a ReLU was fused into it (x̂ and the mask are recomputed).
    private var cached: (x: Tensor, mean: [Float], invStd: [Float], gamma: [Float], beta: [Float], relu: Bool)?

    public init(gamma: Tensor, beta: Tensor, movingMean: Tensor, movingVariance: Tensor,
                epsilon: Float = 1e-3, momentum: Float = 0.99, name: String = "batch_normalization") {
        let c = gamma.count
        precondition([beta.count, movingMean.count, movingVariance.count].allSatisfy { $0 == c },
                     "batch-norm tensors must all be [\(c)]")
        self.gamma = Parameter(name: "\(name)/gamma", value: gamma.reshaped([c]))
        self.beta = Parameter(name: "\(name)/beta", value: beta.reshaped([c]))
        self.movingMean = movingMean.reshaped([c])
        self.movingVariance = movingVariance.reshaped([c])
        self.epsilon = epsilon
        self.momentum = momentum
        self.name = name
    }

    /// γ = 1, β = 0, moving mean 0, moving variance 1 (Keras initial state).
    public convenience init(channels: Int, epsilon: Float = 1e-3, momentum: Float = 0.99, name: String = "batch_normalization") {
        self.init(gamma: Tensor(shape: [channels], repeating: 1), beta: Tensor(shape: [channels]),
                  movingMean: Tensor(shape: [channels]), movingVariance: Tensor(shape: [channels], repeating: 1),
                  epsilon: epsilon, momentum: momentum, name: name)
    }

    public var channels: Int { gamma.value.count }
    public var parameters: [Parameter] { [gamma, beta] }

    /// Non-trainable state with its weight-file names.
    public var state: [(name: String, value: Tensor)] {
        [("\(name)/moving_mean", movingMean), ("\(name)/moving_variance", movingVariance)]
    }

    /// Inference form as a per-channel affine map: `y = scale·x + shift`.
    public func inferenceScaleShift() -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            let s = gamma.value.data[c] / (movingVariance.data[c] + epsilon).squareRoot()
            scale[c] = s
            shift[c] = beta.value.data[c] - movingMean.data[c] * s
        }
        return (scale, shift)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        forward(x, training: training, relu: false)
    }

    /// The batch norm, followed by `max(·, 0)` when `relu` (a ReLU layer fused into it: one pass
    /// over the data instead of two, and `backward` then takes ∂L/∂ of the ReLU's output).
    public func forward(_ x: Tensor, training: Bool, relu: Bool) -> Tensor {
        let c = channels
        precondition(x.shape.last == c, "batch norm \(name) expects \(c) channels last, got \(x.shape)")
        let rows = x.count / c
        var y = Tensor(uninitialized: x.shape)
        let (meanF, invStd) = training ? batchStatistics(x)
            : (movingMean.data, movingVariance.data.map { 1 / ($0 + epsilon).squareRoot() })
        let g = gamma.value.data, b = beta.value.data, batch = x.shape[0], rowsPerImage = rows / max(batch, 1)
        x.data.withUnsafeBufferPointer { xb in
        y.data.withUnsafeMutableBufferPointer { yb in
            let xp = UncheckedSendable(xb.baseAddress!), yp = UncheckedSendable(yb.baseAddress!)
            let v = UncheckedSendable((meanF, invStd, g, b))
            BatchChunks.forEach(batch: batch) { _, images in
                let off = images.lowerBound * rowsPerImage * c
                mien_t_bn_normalize(xp.value + off, images.count * rowsPerImage, Int32(c), v.value.0, v.value.1, v.value.2, v.value.3,
                                    relu ? 1 : 0, yp.value + off)
            }
        }}
        if training { cached = (x, meanF, invStd, g, b, relu) }
        return y
    }

    /// The batch's mean and 1/√(biased variance + ε) per channel, from sums and sums of squares
    /// per chunk of images in Double (`BatchChunks`: summed over the chunks in order, so
    /// independent of the thread count); updates the moving statistics (unbiased variance).
    private func batchStatistics(_ x: Tensor) -> (mean: [Float], invStd: [Float]) {
        let c = channels, rows = x.count / c
        let batch = x.shape[0], rowsPerImage = rows / max(batch, 1)
        let sums = x.data.withUnsafeBufferPointer { xb in
            let xp = UncheckedSendable(xb.baseAddress!)
            return BatchChunks.sum(batch: batch, size: 2 * c) { (images, partial: UnsafeMutablePointer<Double>) in
                mien_t_column_sums_squares(xp.value + images.lowerBound * rowsPerImage * c, images.count * rowsPerImage,
                                           Int32(c), partial, partial + c)
            }
        }
        var invStd = [Float](repeating: 0, count: c), meanF = invStd
        for j in 0..<c {
            let mean = sums[j] / Double(rows)
            // E[x²] − E[x]² in Double: exact enough for activations (|mean|/σ ≪ 1e6).
            let biased = max(sums[c + j] / Double(rows) - mean * mean, 0)
            invStd[j] = Float(1 / (biased + Double(epsilon)).squareRoot())
            meanF[j] = Float(mean)
            let unbiased = rows > 1 ? biased * Double(rows) / Double(rows - 1) : biased
            movingMean.data[j] = momentum * movingMean.data[j] + (1 - momentum) * Float(mean)
            movingVariance.data[j] = momentum * movingVariance.data[j] + (1 - momentum) * Float(unbiased)
        }
        return (meanF, invStd)
    }

    /// Back-propagation: Σ dy and Σ dy·x̂ per chunk in Double (summed in chunk order), then
    /// ∂L/∂x per chunk. After a forward with a fused ReLU, `gradOutput` is ∂L/∂ of the ReLU's
    /// output, counted only where the ReLU passed.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let f = cached else { preconditionFailure("BatchNorm.backward called before a training forward") }
        let c = channels, rows = gradOutput.count / c
        precondition(gradOutput.shape == f.x.shape, "batch norm \(name): gradient \(gradOutput.shape) for input \(f.x.shape)")
        let batch = gradOutput.shape[0], rowsPerImage = rows / max(batch, 1)
        let stats = UncheckedSendable(f)
        let sums = gradOutput.data.withUnsafeBufferPointer { gb in
            f.x.data.withUnsafeBufferPointer { xb in
                let gp = UncheckedSendable(gb.baseAddress!), xp = UncheckedSendable(xb.baseAddress!)
                return BatchChunks.sum(batch: batch, size: 2 * c) { (images, partial: UnsafeMutablePointer<Double>) in
                    let off = images.lowerBound * rowsPerImage * c, s = stats.value
                    mien_t_bn_grad_sums(gp.value + off, xp.value + off, images.count * rowsPerImage, Int32(c), s.mean, s.invStd,
                                        s.gamma, s.beta, s.relu ? 1 : 0, partial, partial + c)
                }
            }
        }
        for j in 0..<c {
            beta.grad.data[j] += Float(sums[j])
            gamma.grad.data[j] += Float(sums[c + j])
        }
        var dx = Tensor(uninitialized: gradOutput.shape)
        let m = Float(rows)
        let k = (0..<c).map { f.gamma[$0] * f.invStd[$0] / m }
        let sDy = sums[0..<c].map { Float($0) }, sDyXhat = sums[c...].map { Float($0) }
        gradOutput.data.withUnsafeBufferPointer { gb in
        f.x.data.withUnsafeBufferPointer { xb in
        dx.data.withUnsafeMutableBufferPointer { db in
            let gp = UncheckedSendable(gb.baseAddress!), xp = UncheckedSendable(xb.baseAddress!), dp = UncheckedSendable(db.baseAddress!)
            let v = UncheckedSendable((k, sDy, sDyXhat))
            BatchChunks.forEach(batch: batch) { _, images in
                let off = images.lowerBound * rowsPerImage * c, s = stats.value
                mien_t_bn_grad_input(gp.value + off, xp.value + off, images.count * rowsPerImage, Int32(c), s.mean, s.invStd,
                                     s.gamma, s.beta, s.relu ? 1 : 0, v.value.0, m, v.value.1, v.value.2, dp.value + off)
            }
        }}}
        return dx
    }
}

/// Folds an inference-mode batch norm into the convolution (or dense layer) before it.
///
/// `kernel` has the output channel as its last axis (HWIO conv kernel, `[1,1,cin,cout]`
/// pointwise kernel or `[in, out]` dense kernel); `bias` is `[cout]` or nil (taken as 0).
/// Returns `(kernel·scale, bias·scale + shift)` so that `conv'(x) = BN(conv(x))`.
public func foldBatchNorm(kernel: Tensor, bias: Tensor?, into bn: BatchNorm) -> (kernel: Tensor, bias: Tensor) {
    let cout = kernel.shape.last!
    precondition(cout == bn.channels, "cannot fold batch norm \(bn.name) with \(bn.channels) channels into a kernel \(kernel.shape)")
    let (scale, shift) = bn.inferenceScaleShift()
    var k = kernel
    for r in 0..<(k.count / cout) { for j in 0..<cout { k.data[r * cout + j] *= scale[j] } }
    var b = Tensor(shape: [cout])
    for j in 0..<cout { b.data[j] = (bias?.data[j] ?? 0) * scale[j] + shift[j] }
    return (k, b)
}
