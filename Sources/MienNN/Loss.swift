#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Categorical cross-entropy of softmax(logits) against one-hot or soft targets, both `[n, c]`,
/// averaged over the batch (Keras `categorical_crossentropy` on a softmax output).
public enum SoftmaxCrossEntropy {
    /// Mean loss (nats) and ∂loss/∂logits = (softmax(logits) − targets)/n.
    public static func lossAndGradient(logits: Tensor, targets: Tensor) -> (loss: Float, gradient: Tensor, probabilities: Tensor) {
        precondition(logits.shape == targets.shape && logits.rank == 2, "logits \(logits.shape) and targets \(targets.shape) must both be [n, c]")
        let n = logits.shape[0], c = logits.shape[1]
        let p = softmax(logits)
        var loss = 0.0
        var g = Tensor(shape: logits.shape)
        for r in 0..<n { for j in 0..<c {
            let t = targets.data[r * c + j]
            if t != 0 { loss -= Double(t) * log(Double(max(p.data[r * c + j], 1e-30))) }
            g.data[r * c + j] = (p.data[r * c + j] - t) / Float(n)
        }}
        return (Float(loss / Double(n)), g, p)
    }

    /// One-hot targets `[labels.count, classes]` from class indices.
    public static func oneHot(_ labels: [Int], classes: Int) -> Tensor {
        var t = Tensor(shape: [labels.count, classes])
        for (i, l) in labels.enumerated() {
            precondition(l >= 0 && l < classes, "label \(l) is outside 0..<\(classes)")
            t.data[i * classes + l] = 1
        }
        return t
    }
}

/// Cross-entropy of given probabilities `[n, c]` against targets (mean over the batch); its
/// gradient with respect to the probabilities is `−t/(n·p)`. Used to check `Softmax` + loss.
public func crossEntropy(probabilities p: Tensor, targets: Tensor) -> (loss: Float, gradient: Tensor) {
    precondition(p.shape == targets.shape && p.rank == 2, "probabilities \(p.shape) and targets \(targets.shape) must both be [n, c]")
    let n = p.shape[0]
    var loss = 0.0
    var g = Tensor(shape: p.shape)
    for i in 0..<p.count {
        let t = targets.data[i], q = max(p.data[i], 1e-30)
        if t != 0 { loss -= Double(t) * log(Double(q)) }
        g.data[i] = -t / (Float(n) * q)
    }
    return (Float(loss / Double(n)), g)
}

/// Index of the largest value in each row of `[n, c]`.
public func argmaxRows(_ x: Tensor) -> [Int] {
    let c = x.shape.last!
    return (0..<(x.count / c)).map { r in
        var best = 0
        for j in 1..<c where x.data[r * c + j] > x.data[r * c + best] { best = j }
        return best
    }
}
