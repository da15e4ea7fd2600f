/// A trainable tensor and its accumulated gradient.
///
/// `name` is the tensor's name in a weights file (Keras weight names, e.g. `conv2d_1/kernel:0`
/// style names are reduced to `conv2d_1/kernel`).
public final class Parameter {
    public var name: String
    public var value: Tensor
    public var grad: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        self.grad = Tensor(shape: value.shape)
    }

    /// Resets the accumulated gradient to zero.
    public func zeroGrad() {
        for i in 0..<grad.count { grad.data[i] = 0 }
    }
}

/// A differentiable layer.
///
/// `forward` caches what `backward` needs; `backward` takes ∂L/∂output, *accumulates* ∂L/∂θ into
/// each parameter's `grad` and returns ∂L/∂input. A layer holds the cache of its most recent
/// training-mode forward call only.
public protocol Layer: AnyObject {
    /// Computes the output; `training` selects batch statistics / dropout masks.
    func forward(_ x: Tensor, training: Bool) -> Tensor
    /// Back-propagates ∂L/∂output of the last `forward(_, training: true)`.
    func backward(_ gradOutput: Tensor) -> Tensor
    /// Trainable parameters (empty for parameter-free layers).
    var parameters: [Parameter] { get }
}

extension Layer {
    public var parameters: [Parameter] { [] }
}

/// Keras/TensorFlow padding modes.
public enum Padding: String, Sendable, Codable {
    /// No padding; output = ⌊(in − k) / s⌋ + 1.
    case valid
    /// Output = ⌈in / s⌉; the total padding max((out−1)·s + k − in, 0) is split with the
    /// smaller half before (top/left) and the larger after (bottom/right), as TensorFlow does.
    case same

    /// Output length and padding before, for an axis of length `input`, kernel `kernel`, stride `stride`.
    public func geometry(input: Int, kernel: Int, stride: Int) -> (output: Int, padBefore: Int) {
        switch self {
        case .valid:
            return (input >= kernel ? (input - kernel) / stride + 1 : 0, 0)
        case .same:
            let out = (input + stride - 1) / stride
            let total = max((out - 1) * stride + kernel - input, 0)
            return (out, total / 2)
        }
    }
}
