import XCTest
@testable import MienNN

/// Finite-difference gradient checking for MienNN layers.
///
/// The scalar checked is `L(x, θ) = Σ r ⊙ layer(x)` for a fixed random `r`, accumulated in Double.
/// Numerical derivatives are central differences `(L(v+ε) − L(v−ε)) / 2ε` on a sample of
/// coordinates of the input and of every parameter. The check passes when the relative error
/// `‖g_num − g_ana‖ / max(‖g_num‖, ‖g_ana‖)` over the sampled coordinates is ≤ `tolerance`
/// (default 1e-3); it returns the error so tests can report it.
struct GradientCheck {
    var epsilon: Float = 1e-2
    var tolerance: Double = 1e-3
    var samplesPerTensor = 24
    var seed: UInt64 = 7

    @discardableResult
    func check(_ layer: Layer, input: Tensor, name: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        var rng = SeededRandom(seed: seed)
        let y0 = layer.forward(input, training: true)
        let r = rng.uniformTensor(y0.shape)
        func loss(_ x: Tensor) -> Double {
            let y = layer.forward(x, training: true)
            var s = 0.0
            for i in 0..<y.count { s += Double(y.data[i]) * Double(r.data[i]) }
            return s
        }
        // Analytic gradients.
        for p in layer.parameters { p.zeroGrad() }
        _ = layer.forward(input, training: true)
        let dx = layer.backward(r)
        XCTAssertEqual(dx.shape, input.shape, "\(name): input gradient shape", file: file, line: line)
        let analyticParams = layer.parameters.map { $0.grad }

        var num: [Double] = [], ana: [Double] = []
        // Input coordinates.
        var x = input
        for idx in sampleIndices(count: x.count, rng: &rng) {
            let v = x.data[idx]
            x.data[idx] = v + epsilon; let lp = loss(x)
            x.data[idx] = v - epsilon; let lm = loss(x)
            x.data[idx] = v
            num.append((lp - lm) / (2 * Double(epsilon))); ana.append(Double(dx.data[idx]))
        }
        // Parameter coordinates.
        for (p, g) in zip(layer.parameters, analyticParams) {
            for idx in sampleIndices(count: p.value.count, rng: &rng) {
                let v = p.value.data[idx]
                p.value.data[idx] = v + epsilon; let lp = loss(input)
                p.value.data[idx] = v - epsilon; let lm = loss(input)
                p.value.data[idx] = v
                num.append((lp - lm) / (2 * Double(epsilon))); ana.append(Double(g.data[idx]))
            }
        }
        let err = relativeError(num, ana)
        XCTAssertLessThanOrEqual(err, tolerance, "\(name): finite-difference relative error \(err)", file: file, line: line)
        XCTAssertGreaterThan(ana.map(abs).max() ?? 0, 0, "\(name): gradients are all zero, the check would be vacuous", file: file, line: line)
        return err
    }

    func sampleIndices(count: Int, rng: inout SeededRandom) -> [Int] {
        if count <= samplesPerTensor { return Array(0..<count) }
        return (0..<samplesPerTensor).map { _ in Int(rng.next() % UInt64(count)) }
    }
}

func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    var d = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) { d += (x - y) * (x - y); na += x * x; nb += y * y }
    let denom = max(na.squareRoot(), nb.squareRoot())
    return denom == 0 ? 0 : d.squareRoot() / denom
}

/// Values in (−1, 1) at least `gap` away from zero and from each other (no ReLU kinks or max-pool ties within ε).
func separatedTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    let n = shape.reduce(1, *)
    var rng = SeededRandom(seed: seed)
    var values = (0..<n).map { i -> Float in Float(i + 1) / Float(n + 1) * 2 - 1 }
    values = values.map { abs($0) < 0.03 ? ($0 < 0 ? -0.03 : 0.03) : $0 }
    values.shuffle(using: &rng)
    return Tensor(shape: shape, data: values)
}
