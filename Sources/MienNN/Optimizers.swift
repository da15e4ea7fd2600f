import CMienKernels
/// Gradient-descent optimisers over `Parameter`s; `step` applies the accumulated gradients
/// (the caller zeroes them between batches).
public protocol Optimizer: AnyObject {
    func step(_ parameters: [Parameter])
}

/// Stochastic gradient descent with optional (heavy-ball) momentum:
/// `v ← μ·v − lr·g`, `θ ← θ + v`.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    private var velocity: [ObjectIdentifier: [Float]] = [:]

    public init(learningRate: Float = 0.01, momentum: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public func step(_ parameters: [Parameter]) {
        for p in parameters {
            var v = velocity[ObjectIdentifier(p)] ?? [Float](repeating: 0, count: p.value.count)
            for i in 0..<p.value.count {
                v[i] = momentum * v[i] - learningRate * p.grad.data[i]
                p.value.data[i] += v[i]
            }
            velocity[ObjectIdentifier(p)] = v
        }
    }
}

/// Adam (Kingma & Ba) with Keras defaults: lr 0.001, β₁ 0.9, β₂ 0.999, ε 1e-7;
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ − lr·m̂/(√v̂ + ε)` with bias-corrected m̂, v̂.
/// With `weightDecay` > 0 it is AdamW (Loshchilov & Hutter): `θ ← θ − lr·(m̂/(√v̂ + ε) + wd·θ)`,
/// the decay decoupled from the gradient. `learningRate` may change between steps (a schedule).
/// The update runs in a C kernel (`mien_t_adam`) over each parameter's buffers in place.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    /// Decoupled weight decay per unit learning rate (0: plain Adam).
    public var weightDecay: Float
    public private(set) var iterations = 0
    /// A parameter's moments, held by reference so a step updates them in place.
    private final class Moments {
        var m: [Float], v: [Float]
        init(m: [Float], v: [Float]) { self.m = m; self.v = v }
    }
    private var moments: [ObjectIdentifier: Moments] = [:]

    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter]) {
        iterations += 1
        let c1 = 1 - powf(beta1, Float(iterations)), c2 = 1 - powf(beta2, Float(iterations))
        for p in parameters {
            let key = ObjectIdentifier(p)
            let state: Moments
            if let s = moments[key] { state = s } else {
                state = Moments(m: [Float](repeating: 0, count: p.value.count), v: [Float](repeating: 0, count: p.value.count))
                moments[key] = state
            }
            p.value.data.withUnsafeMutableBufferPointer { pp in
            p.grad.data.withUnsafeBufferPointer { gp in
            state.m.withUnsafeMutableBufferPointer { mp in
            state.v.withUnsafeMutableBufferPointer { vp in
                mien_t_adam(pp.baseAddress!, gp.baseAddress!, mp.baseAddress!, vp.baseAddress!, pp.count,
                            learningRate, beta1, beta2, c1, c2, epsilon, weightDecay)
            }}}}
        }
    }

    /// The optimiser's state for `parameters`: the step count and each parameter's first and
    /// second moments keyed by parameter name (zeros for a parameter not stepped yet). With
    /// `restore` this makes a checkpoint continue bit for bit.
    public func state(for parameters: [Parameter]) -> (iterations: Int, m: [String: Tensor], v: [String: Tensor]) {
        var m: [String: Tensor] = [:], v: [String: Tensor] = [:]
        for p in parameters {
            let mv = moments[ObjectIdentifier(p)]
            m[p.name] = Tensor(shape: p.value.shape, data: mv?.m ?? [Float](repeating: 0, count: p.value.count))
            v[p.name] = Tensor(shape: p.value.shape, data: mv?.v ?? [Float](repeating: 0, count: p.value.count))
        }
        return (iterations, m, v)
    }

    /// Restores a state saved by `state(for:)` onto `parameters` (matched by name).
    /// - Throws: `NNError.badInput` naming a parameter whose moments are missing or mis-shaped.
    public func restore(iterations: Int, m: [String: Tensor], v: [String: Tensor], parameters: [Parameter]) throws {
        guard iterations >= 0 else { throw NNError.badInput("Adam state: negative step count \(iterations)") }
        var restored: [ObjectIdentifier: Moments] = [:]
        for p in parameters {
            guard let pm = m[p.name], let pv = v[p.name], pm.shape == p.value.shape, pv.shape == p.value.shape else {
                throw NNError.badInput("Adam state: the moments of '\(p.name)' are missing or do not have shape \(p.value.shape)")
            }
            restored[ObjectIdentifier(p)] = Moments(m: pm.data, v: pv.data)
        }
        moments = restored
        self.iterations = iterations
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
