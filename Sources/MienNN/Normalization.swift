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
    public let momentum: Float
    public let name: String
    private var cachedNormalized: Tensor?
    private var cachedInvStd: [Float] = []

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
        let c = channels
        precondition(x.shape.last == c, "batch norm \(name) expects \(c) channels last, got \(x.shape)")
        let rows = x.count / c
        var y = Tensor(shape: x.shape)
        if !training {
            let (scale, shift) = inferenceScaleShift()
            x.data.withUnsafeBufferPointer { xp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    for r in 0..<rows { for j in 0..<c { yp[r * c + j] = xp[r * c + j] * scale[j] + shift[j] } }
                }
            }
            return y
        }
        // Raw-buffer loops (same arithmetic, same order as the indexed form; the indexed
        // form spent most of CNN training time in bounds and uniqueness checks).
        var mean = [Double](repeating: 0, count: c), variance = mean
        var invStd = [Float](repeating: 0, count: c), meanF = invStd
        var xhat = Tensor(shape: x.shape)
        x.data.withUnsafeBufferPointer { xp in
            mean.withUnsafeMutableBufferPointer { mp in
                for r in 0..<rows { for j in 0..<c { mp[j] += Double(xp[r * c + j]) } }
                for j in 0..<c { mp[j] /= Double(rows) }
                variance.withUnsafeMutableBufferPointer { vp in
                    for r in 0..<rows { for j in 0..<c { let d = Double(xp[r * c + j]) - mp[j]; vp[j] += d * d } }
                }
            }
        }
        for j in 0..<c {
            let biased = variance[j] / Double(rows)
            invStd[j] = Float(1 / (biased + Double(epsilon)).squareRoot())
            meanF[j] = Float(mean[j])
            let unbiased = rows > 1 ? variance[j] / Double(rows - 1) : biased
            movingMean.data[j] = momentum * movingMean.data[j] + (1 - momentum) * Float(mean[j])
            movingVariance.data[j] = momentum * movingVariance.data[j] + (1 - momentum) * Float(unbiased)
        }
        let g = gamma.value.data, b = beta.value.data
        x.data.withUnsafeBufferPointer { xp in
            xhat.data.withUnsafeMutableBufferPointer { hp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    for r in 0..<rows { for j in 0..<c {
                        let h = (xp[r * c + j] - meanF[j]) * invStd[j]
                        hp[r * c + j] = h
                        yp[r * c + j] = g[j] * h + b[j]
                    }}
                }
            }
        }
        cachedNormalized = xhat
        cachedInvStd = invStd
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let xhat = cachedNormalized else { preconditionFailure("BatchNorm.backward called before a training forward") }
        let c = channels, rows = gradOutput.count / c
        var sumDy = [Double](repeating: 0, count: c), sumDyXhat = sumDy
        gradOutput.data.withUnsafeBufferPointer { gp in
            xhat.data.withUnsafeBufferPointer { hp in
                sumDy.withUnsafeMutableBufferPointer { sp in
                    sumDyXhat.withUnsafeMutableBufferPointer { shp in
                        for r in 0..<rows { for j in 0..<c {
                            let dy = Double(gp[r * c + j])
                            sp[j] += dy
                            shp[j] += dy * Double(hp[r * c + j])
                        }}
                    }
                }
            }
        }
        for j in 0..<c {
            beta.grad.data[j] += Float(sumDy[j])
            gamma.grad.data[j] += Float(sumDyXhat[j])
        }
        var dx = Tensor(shape: gradOutput.shape)
        let m = Float(rows)
        let k = (0..<c).map { gamma.value.data[$0] * cachedInvStd[$0] / m }
        let sDy = sumDy.map { Float($0) }, sDyXhat = sumDyXhat.map { Float($0) }
        gradOutput.data.withUnsafeBufferPointer { gp in
            xhat.data.withUnsafeBufferPointer { hp in
                dx.data.withUnsafeMutableBufferPointer { dp in
                    for r in 0..<rows { for j in 0..<c {
                        dp[r * c + j] = k[j] * (m * gp[r * c + j] - sDy[j] - hp[r * c + j] * sDyXhat[j])
                    }}
                }
            }
        }
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
