import MienCore

/// A small seeded pseudo-random generator (SplitMix64) so that weight initialisation,
/// dropout masks and test data are reproducible run to run.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var base: SplitMix64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { base = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { base.next() }

    /// A uniform Float in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        let u = Float(next() >> 40) / Float(1 << 24)
        return low + (high - low) * u
    }

    /// A standard normal Float (Box–Muller).
    public mutating func normal() -> Float {
        var u1 = Double(next() >> 11) / Double(1 << 53)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// A tensor of `shape` with elements uniform in [low, high).
    public mutating func uniformTensor(_ shape: [Int], _ low: Float = -1, _ high: Float = 1) -> Tensor {
        var t = Tensor(shape: shape)
        for i in 0..<t.count { t.data[i] = uniform(low, high) }
        return t
    }

    /// Glorot-uniform initialisation for a kernel with the given fan-in and fan-out (Keras default).
    public mutating func glorotUniform(_ shape: [Int], fanIn: Int, fanOut: Int) -> Tensor {
        let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
        return uniformTensor(shape, -limit, limit)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
