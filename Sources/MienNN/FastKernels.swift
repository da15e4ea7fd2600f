/// Inference kernels on raw NHWC buffers, vectorised over channels with `SIMD8<Float>`.
/// Each has a plain reference beside it (`depthwiseForward`, `im2col`, `DepthwiseConv2D.reference`)
/// and tests compare them.

/// Depthwise convolution, multiplier 1, any stride/padding, channels a multiple of 8: for each
/// output pixel and block of 8 channels, the kh·kw taps accumulate in one vector register and the
/// result is written once (no zero-fill pass, no per-tap loop overhead).
/// `x` is `[n, h, w, c]`, `w` is `[kh, kw, c]`, `out` is `[n, outH, outW, c]` (overwritten).
func depthwiseForwardSIMD8(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
    let c = g.inChannels
    precondition(c % 8 == 0, "depthwiseForwardSIMD8 needs channels divisible by 8, got \(c)")
    let blocks = c / 8
    let xr = UnsafeRawPointer(x), wr = UnsafeRawPointer(w)
    let outr = UnsafeMutableRawPointer(out)
    for n in 0..<g.batch {
        let xBase = n &* g.height &* g.width &* c
        for oh in 0..<g.outH {
            let ih0 = oh &* g.stride &- g.padTop
            let i0 = max(0, -ih0), i1 = min(g.kernelH, g.height &- ih0)
            for ow in 0..<g.outW {
                let iw0 = ow &* g.stride &- g.padLeft
                let j0 = max(0, -iw0), j1 = min(g.kernelW, g.width &- iw0)
                let oBase = ((n &* g.outH &+ oh) &* g.outW &+ ow) &* c
                for b in 0..<blocks {
                    var acc = SIMD8<Float>()
                    var i = i0
                    while i < i1 {
                        var j = j0
                        let rowX = xBase &+ ((ih0 &+ i) &* g.width &+ iw0) &* c &+ b &* 8
                        let rowW = (i &* g.kernelW) &* c &+ b &* 8
                        while j < j1 {
                            let xv = xr.loadUnaligned(fromByteOffset: (rowX &+ j &* c) &* 4, as: SIMD8<Float>.self)
                            let wv = wr.loadUnaligned(fromByteOffset: (rowW &+ j &* c) &* 4, as: SIMD8<Float>.self)
                            acc = acc + xv * wv
                            j &+= 1
                        }
                        i &+= 1
                    }
                    outr.storeBytes(of: acc, toByteOffset: (oBase &+ b &* 8) &* 4, as: SIMD8<Float>.self)
                }
            }
        }
    }
}

/// im2col for one image without per-tap library calls (see `im2col`, the reference it equals).
func im2colFast(_ g: ConvGeometry, image x: UnsafePointer<Float>, cols: UnsafeMutablePointer<Float>) {
    let cin = g.inChannels
    var row = cols
    for oh in 0..<g.outH {
        for ow in 0..<g.outW {
            var dst = row
            for kh in 0..<g.kernelH {
                let ih = oh &* g.stride &- g.padTop &+ kh
                for kw in 0..<g.kernelW {
                    let iw = ow &* g.stride &- g.padLeft &+ kw
                    if ih >= 0 && ih < g.height && iw >= 0 && iw < g.width {
                        let src = x + (ih &* g.width &+ iw) &* cin
                        for k in 0..<cin { dst[k] = src[k] }
                    } else {
                        for k in 0..<cin { dst[k] = 0 }
                    }
                    dst += cin
                }
            }
            row += g.patchSize
        }
    }
}

/// `out[r, j] = max(out[r, j] + bias[j], 0)` (or without the max) over `rows × c`.
@inline(__always)
func biasActivation(_ out: UnsafeMutablePointer<Float>, rows: Int, c: Int, bias: UnsafePointer<Float>?, relu: Bool) {
    if let bias {
        for r in 0..<rows {
            let o = out + r &* c
            if relu { for j in 0..<c { o[j] = max(o[j] + bias[j], 0) } } else { for j in 0..<c { o[j] += bias[j] } }
        }
    } else if relu {
        for i in 0..<(rows &* c) { out[i] = max(out[i], 0) }
    }
}
