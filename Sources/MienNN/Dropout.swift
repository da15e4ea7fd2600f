/// Inverted dropout: in training each element is zeroed with probability `rate` and the rest
/// scaled by 1/(1−rate); at inference it is the identity. Masks come from a seeded generator.
public final class Dropout: Layer {
    public let rate: Float
    private var rng: SeededRandom
    private var mask: [Float] = []

    public init(rate: Float, seed: UInt64 = 0) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), got \(rate)")
        self.rate = rate
        self.rng = SeededRandom(seed: seed)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        guard training, rate > 0 else { mask = []; return x }
        let keep = 1 / (1 - rate)
        mask = (0..<x.count).map { _ in rng.uniform(0, 1) < rate ? 0 : keep }
        var y = x
        for i in 0..<y.count { y.data[i] *= mask[i] }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard !mask.isEmpty else { return gradOutput }
        precondition(mask.count == gradOutput.count, "Dropout.backward shape differs from the last forward")
        var dx = gradOutput
        for i in 0..<dx.count { dx.data[i] *= mask[i] }
        return dx
    }
}
