import CMienKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rectified linear unit, element-wise, any shape.
public final class ReLU: Layer {
    private var cachedInput: Tensor?
    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { cachedInput = x }
        var y = Tensor(uninitialized: x.shape)
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeMutableBufferPointer { mien_t_relu(xp.baseAddress!, xp.count, $0.baseAddress!) }
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let x = cachedInput else { preconditionFailure("ReLU.backward called before a training forward") }
        precondition(gradOutput.count == x.count, "ReLU gradient shape \(gradOutput.shape) does not match its input \(x.shape)")
        var dx = Tensor(uninitialized: gradOutput.shape)
        x.data.withUnsafeBufferPointer { xp in
            gradOutput.data.withUnsafeBufferPointer { gp in
                dx.data.withUnsafeMutableBufferPointer { mien_t_relu_backward(xp.baseAddress!, gp.baseAddress!, xp.count, $0.baseAddress!) }
            }
        }
        return dx
    }
}

/// `max(x, 0)` in place.
@inline(__always)
public func reluInPlace(_ data: inout [Float]) {
    data.withUnsafeMutableBufferPointer { p in
        for i in 0..<p.count { p[i] = max(p[i], 0) }
    }
}

/// Softmax over the last axis (rows of N×C), numerically stabilised by the row maximum.
public func softmax(_ logits: Tensor) -> Tensor {
    let c = logits.shape.last!
    var p = logits
    for r in 0..<(logits.count / c) {
        var m = -Float.infinity
        for j in 0..<c { m = max(m, logits.data[r * c + j]) }
        var s: Float = 0
        for j in 0..<c { let e = expf(logits.data[r * c + j] - m); p.data[r * c + j] = e; s += e }
        for j in 0..<c { p.data[r * c + j] /= s }
    }
    return p
}

/// Softmax as a layer (last axis). Its backward is the full Jacobian-vector product
/// `dx = p ⊙ (dy − Σ dy·p)`; training code normally uses `SoftmaxCrossEntropy` on logits instead.
public final class Softmax: Layer {
    private var cachedOutput: Tensor?
    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let p = softmax(x)
        if training { cachedOutput = p }
        return p
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let p = cachedOutput else { preconditionFailure("Softmax.backward called before a training forward") }
        let c = p.shape.last!
        var dx = gradOutput
        for r in 0..<(p.count / c) {
            var dot: Float = 0
            for j in 0..<c { dot += gradOutput.data[r * c + j] * p.data[r * c + j] }
            for j in 0..<c { dx.data[r * c + j] = p.data[r * c + j] * (gradOutput.data[r * c + j] - dot) }
        }
        return dx
    }
}
