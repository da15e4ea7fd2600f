import MienCore

/// A small, platform-independent, seedable random number generator (SplitMix64, Steele,
/// Lea & Flood 2014). Swift's `SystemRandomNumberGenerator` cannot be seeded and the
/// standard library's `Double.random(in:using:)` is not specified to be stable across Swift
/// versions, so every draw the synthesiser makes goes through the explicit conversions
/// below: same seed → same numbers on every platform and toolchain.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var base: SplitMix64

    /// Creates a generator whose whole future output is determined by `seed`.
    public init(seed: UInt64) { base = SplitMix64(seed: seed) }

    /// Next 64 random bits (SplitMix64 step).
    public mutating func next() -> UInt64 { base.next() }

    /// Uniform in [0, 1), 53 random mantissa bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * unit()
    }

    /// Uniform integer in the closed range [lo, hi] (rejection sampling: no modulo bias).
    public mutating func int(_ lo: Int, _ hi: Int) -> Int {
        precondition(hi >= lo, "int(\(lo), \(hi)): empty range")
        let span = UInt64(hi - lo) &+ 1
        if span == 0 { return lo &+ Int(truncatingIfNeeded: next()) }
        let limit = UInt64.max - UInt64.max % span
        var x = next()
        while x >= limit { x = next() }
        return lo + Int(x % span)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Standard normal draw (Box–Muller, one value per call).
    public mutating func gaussian() -> Double {
        var u1 = unit()
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = unit()
        return (-2.0 * _log(u1)).squareRoot() * _cos(2.0 * Double.pi * u2)
    }

    /// A generator for an independent sub-stream, e.g. one per video, so that video `i` is the
    /// same whatever the total count: derived from this generator's seed and `stream` only.
    public static func stream(seed: UInt64, _ stream: UInt64) -> SeededRandom {
        var mixer = SeededRandom(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        return SeededRandom(seed: mixer.next())
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
#endif

extension SeededRandom {
    /// Two independent standard normal draws (both outputs of one Box–Muller transform).
    public mutating func gaussianPair() -> (Double, Double) {
        var u1 = unit()
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = unit()
        let r = (-2.0 * _log(u1)).squareRoot()
        let th = 2.0 * Double.pi * u2
        return (r * _cos(th), r * _sin(th))
    }
}

#if canImport(Glibc)
@inline(__always) private func _sin(_ x: Double) -> Double { Glibc.sin(x) }
#else
@inline(__always) private func _sin(_ x: Double) -> Double { Foundation.sin(x) }
#endif
