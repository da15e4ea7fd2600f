/// Branch-free, call-free exp/sigmoid/tanh for Float so that gate loops vectorise.
/// `fastExp` is Cephes' `expf` (range reduction by ln 2 split in two constants, degree-6
/// polynomial), within ~2 ulp of libm `expf` on [−87, 88]; tests compare against libm.

@inline(__always)
public func fastExp(_ x: Float) -> Float {
    let x = x < -87 ? -87 : (x > 88 ? 88 : x)
    // k = round(x / ln 2) with the 1.5·2^23 trick (no rounding call).
    let magic: Float = 12_582_912
    let k = (x * 1.442_695_04 + magic) - magic
    let r = x - k * 0.693_359_375 - k * -2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    p = p * r * r + r + 1
    let scale = Float(bitPattern: UInt32(truncatingIfNeeded: Int32(k) &+ 127) << 23)
    return p * scale
}

/// Logistic sigmoid 1/(1 + e^−x) via `fastExp`.
@inline(__always)
public func fastSigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }

/// tanh(x) = 1 − 2/(e^{2x} + 1) via `fastExp`; exact ±1 in the saturated range.
@inline(__always)
public func fastTanh(_ x: Float) -> Float { 1 - 2 / (fastExp(2 * x) + 1) }
