import CMienKernels
/// Pooling on NHWC images.

/// Max pooling with a square window, stride and Keras/TF padding; padded positions never win
/// (they count as −∞). Output `[n, outH, outW, c]`. The mini-Xception uses 3×3, stride 2, `same`.
public final class MaxPool2D: Layer {
    public let size: Int
    public let stride: Int
    public let padding: Padding
    private var cachedInputShape: [Int] = []
    private var cachedArgmax: [Int32] = []

    public init(size: Int = 3, stride: Int = 2, padding: Padding = .same) {
        self.size = size; self.stride = stride; self.padding = padding
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let g = ConvGeometry(inputShape: x.shape, kernelH: size, kernelW: size, stride: stride, padding: padding)
        var out = Tensor(uninitialized: [g.batch, g.outH, g.outW, g.inChannels])
        var argmax = [Int32](repeating: 0, count: training ? out.count : 0)
        let imageIn = g.height * g.width * g.inChannels, imageOut = g.outPixels * g.inChannels
        x.data.withUnsafeBufferPointer { xb in
        out.data.withUnsafeMutableBufferPointer { ob in
        argmax.withUnsafeMutableBufferPointer { ab in
            let xp = UncheckedSendable(xb.baseAddress!), op = UncheckedSendable(ob.baseAddress!), ap = UncheckedSendable(training ? ab.baseAddress : nil)
            BatchChunks.forEach(batch: g.batch) { _, images in
                for n in images {
                    mien_t_maxpool_forward(xp.value + n * imageIn, Int32(g.height), Int32(g.width), Int32(g.inChannels), Int32(size),
                                           Int32(stride), Int32(g.padTop), Int32(g.padLeft), Int32(g.outH), Int32(g.outW),
                                           op.value + n * imageOut, ap.value.map { $0 + n * imageOut }, Int32(n * imageIn))
                }
            }
        }}}
        if training { cachedInputShape = x.shape; cachedArgmax = argmax }
        return out
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        precondition(gradOutput.count == cachedArgmax.count, "MaxPool2D.backward called before a matching training forward")
        var dx = Tensor(shape: cachedInputShape)
        dx.data.withUnsafeMutableBufferPointer { dp in
            gradOutput.data.withUnsafeBufferPointer { gp in
                cachedArgmax.withUnsafeBufferPointer { ap in
                    for i in 0..<gp.count { dp[Int(ap[i])] += gp[i] }
                }
            }
        }
        return dx
    }

    /// Reference: direct loops (test oracle).
    public static func reference(_ x: Tensor, size: Int, stride: Int, padding: Padding) -> Tensor {
        let g = ConvGeometry(inputShape: x.shape, kernelH: size, kernelW: size, stride: stride, padding: padding)
        var out = Tensor(shape: [g.batch, g.outH, g.outW, g.inChannels])
        for n in 0..<g.batch { for oh in 0..<g.outH { for ow in 0..<g.outW { for c in 0..<g.inChannels {
            var m = -Float.infinity
            for i in 0..<size { for j in 0..<size {
                let ih = oh * stride - g.padTop + i, iw = ow * stride - g.padLeft + j
                if ih >= 0 && ih < g.height && iw >= 0 && iw < g.width { m = max(m, x[n, ih, iw, c]) }
            }}
            out[n, oh, ow, c] = m
        }}}}
        return out
    }
}

/// Max-pool kernel on raw NHWC buffers; records the flat input index of each maximum if asked.
func maxPoolForward(_ g: ConvGeometry, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                    argmax: UnsafeMutablePointer<Int32>?) {
    let c = g.inChannels
    for n in 0..<g.batch {
        for oh in 0..<g.outH {
            let h0 = max(oh * g.stride - g.padTop, 0), h1 = min(oh * g.stride - g.padTop + g.kernelH, g.height)
            for ow in 0..<g.outW {
                let w0 = max(ow * g.stride - g.padLeft, 0), w1 = min(ow * g.stride - g.padLeft + g.kernelW, g.width)
                let oIndex = ((n * g.outH + oh) * g.outW + ow) * c
                let o = out + oIndex
                o.update(repeating: -Float.infinity, count: c)
                for ih in h0..<h1 {
                    for iw in w0..<w1 {
                        let base = ((n * g.height + ih) * g.width + iw) * c
                        let xi = x + base
                        if let argmax {
                            for k in 0..<c where xi[k] > o[k] { o[k] = xi[k]; argmax[oIndex + k] = Int32(base + k) }
                        } else {
                            for k in 0..<c { o[k] = max(o[k], xi[k]) }
                        }
                    }
                }
            }
        }
    }
}

/// Global average pooling: NHWC `[n, h, w, c]` → `[n, c]`.
public final class GlobalAveragePool: Layer {
    private var cachedInputShape: [Int] = []
    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.rank == 4, "global average pool expects NHWC, got \(x.shape)")
        if training { cachedInputShape = x.shape }
        return globalAveragePool(x)
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let s = cachedInputShape
        precondition(s.count == 4 && gradOutput.shape == [s[0], s[3]], "GlobalAveragePool.backward called before a matching training forward")
        let hw = s[1] * s[2], c = s[3]
        var dx = Tensor(shape: s)
        let inv = 1 / Float(hw)
        dx.data.withUnsafeMutableBufferPointer { dp in
            gradOutput.data.withUnsafeBufferPointer { gp in
                for n in 0..<s[0] { for p in 0..<hw { for k in 0..<c { dp[(n * hw + p) * c + k] = gp[n * c + k] * inv } } }
            }
        }
        return dx
    }
}

/// Mean over height and width of an NHWC tensor: `[n, h, w, c]` → `[n, c]`.
public func globalAveragePool(_ x: Tensor) -> Tensor {
    let n = x.shape[0], hw = x.shape[1] * x.shape[2], c = x.shape[3]
    var out = Tensor(shape: [n, c])
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            for i in 0..<n {
                let o = op.baseAddress! + i * c
                for p in 0..<hw {
                    let xi = xp.baseAddress! + (i * hw + p) * c
                    for k in 0..<c { o[k] += xi[k] }
                }
                let inv = 1 / Float(hw)
                for k in 0..<c { o[k] *= inv }
            }
        }
    }
    return out
}
