import CMienKernels

/// Convolutions on NHWC images: standard (im2col + GEMM), depthwise and separable.
/// Each has a naive direct-loop reference beside it (`reference(...)`), the test oracle.

/// Geometry of a 2-D convolution or pooling window on NHWC input.
public struct ConvGeometry: Sendable, Equatable {
    public internal(set) var batch: Int
    public let height, width, inChannels: Int
    public let kernelH, kernelW, stride: Int
    public let outH, outW, padTop, padLeft: Int

    public init(inputShape: [Int], kernelH: Int, kernelW: Int, stride: Int, padding: Padding) {
        precondition(inputShape.count == 4, "expected an NHWC input, got shape \(inputShape)")
        precondition(stride >= 1 && kernelH >= 1 && kernelW >= 1, "kernel and stride must be ≥ 1")
        batch = inputShape[0]; height = inputShape[1]; width = inputShape[2]; inChannels = inputShape[3]
        self.kernelH = kernelH; self.kernelW = kernelW; self.stride = stride
        let gh = padding.geometry(input: height, kernel: kernelH, stride: stride)
        let gw = padding.geometry(input: width, kernel: kernelW, stride: stride)
        outH = gh.output; padTop = gh.padBefore
        outW = gw.output; padLeft = gw.padBefore
    }

    /// Columns of one image's im2col matrix: kh·kw·cin, ordered (kh, kw, cin) like an HWIO kernel.
    public var patchSize: Int { kernelH * kernelW * inChannels }
    /// Rows of one image's im2col matrix: outH·outW.
    public var outPixels: Int { outH * outW }
    /// True when the im2col matrix is the input itself (1×1, stride 1).
    public var isPointwiseIdentity: Bool { kernelH == 1 && kernelW == 1 && stride == 1 }

    /// im2col of one image (`outPixels × patchSize`, the C kernel equal to `im2col` below).
    @inline(__always)
    func im2col(_ x: UnsafePointer<Float>, into cols: UnsafeMutablePointer<Float>) {
        mien_t_im2col(x, Int32(height), Int32(width), Int32(inChannels), Int32(kernelH), Int32(kernelW), Int32(stride),
                      Int32(padTop), Int32(padLeft), Int32(outH), Int32(outW), cols)
    }

    /// Adds one image's im2col-shaped gradient back into its NHWC gradient (`col2imAdd` below).
    @inline(__always)
    func col2imAdd(_ cols: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        mien_t_col2im_add(cols, Int32(height), Int32(width), Int32(inChannels), Int32(kernelH), Int32(kernelW), Int32(stride),
                          Int32(padTop), Int32(padLeft), Int32(outH), Int32(outW), dx)
    }
}

/// im2col for one NHWC image: writes `outH·outW` rows of `kh·kw·cin` values (zeros where the
/// window hangs over the padding).
@inline(__always)
func im2col(_ g: ConvGeometry, image x: UnsafePointer<Float>, cols: UnsafeMutablePointer<Float>) {
    let cin = g.inChannels
    var row = cols
    for oh in 0..<g.outH {
        for ow in 0..<g.outW {
            var dst = row
            for kh in 0..<g.kernelH {
                let ih = oh * g.stride - g.padTop + kh
                for kw in 0..<g.kernelW {
                    let iw = ow * g.stride - g.padLeft + kw
                    if ih >= 0 && ih < g.height && iw >= 0 && iw < g.width {
                        dst.update(from: x + (ih * g.width + iw) * cin, count: cin)
                    } else {
                        dst.update(repeating: 0, count: cin)
                    }
                    dst += cin
                }
            }
            row += g.patchSize
        }
    }
}

/// 2-D convolution, NHWC input `[n, h, w, cin]`, HWIO kernel `[kh, kw, cin, cout]`, optional
/// bias `[cout]`, output `[n, outH, outW, cout]`. Computed as im2col + `cblas_sgemm`, one GEMM per
/// chunk of images (`BatchChunks`; the 1×1 stride-1 case multiplies the input itself). A 1×1 convolution is this
/// layer with `kh = kw = 1`.
public final class Conv2D: Layer {
    public let kernel: Parameter
    public let bias: Parameter?
    public let stride: Int
    public let padding: Padding
    private var cachedInput: Tensor?

    /// A layer with given weights (`kernel` HWIO, `bias` `[cout]` or nil).
    public init(kernel: Tensor, bias: Tensor?, stride: Int = 1, padding: Padding = .valid, name: String = "conv2d") {
        precondition(kernel.rank == 4, "conv kernel must be HWIO, got \(kernel.shape)")
        if let bias { precondition(bias.shape == [kernel.shape[3]], "conv bias must be [\(kernel.shape[3])], got \(bias.shape)") }
        self.kernel = Parameter(name: "\(name)/kernel", value: kernel)
        self.bias = bias.map { Parameter(name: "\(name)/bias", value: $0) }
        self.stride = stride
        self.padding = padding
    }

    /// A Glorot-uniform initialised layer (Keras defaults), bias zero.
    public convenience init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1,
                            padding: Padding = .valid, useBias: Bool = true, name: String = "conv2d",
                            rng: inout SeededRandom) {
        let k = kernelSize
        let w = rng.glorotUniform([k, k, inChannels, outChannels], fanIn: k * k * inChannels, fanOut: k * k * outChannels)
        self.init(kernel: w, bias: useBias ? Tensor(shape: [outChannels]) : nil, stride: stride, padding: padding, name: name)
    }

    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { cachedInput = x }
        return Conv2D.compute(x, kernel: kernel.value, bias: bias?.value, stride: stride, padding: padding)
    }

    /// The convolution as a pure function: im2col + one GEMM per chunk of images (`BatchChunks`,
    /// chunks in parallel); the 1×1 stride-1 case multiplies the input itself.
    public static func compute(_ x: Tensor, kernel: Tensor, bias: Tensor?, stride: Int, padding: Padding) -> Tensor {
        let kh = kernel.shape[0], kw = kernel.shape[1], cout = kernel.shape[3]
        precondition(x.rank == 4 && x.shape[3] == kernel.shape[2],
                     "conv input \(x.shape) does not match kernel \(kernel.shape) (NHWC vs HWIO)")
        let g = ConvGeometry(inputShape: x.shape, kernelH: kh, kernelW: kw, stride: stride, padding: padding)
        var out = Tensor(uninitialized: [g.batch, g.outH, g.outW, cout])
        let P = g.outPixels, K = g.patchSize, imageIn = g.height * g.width * g.inChannels
        let direct = !g.isPointwiseIdentity && g.hasDirectKernel(cout: cout)
        x.data.withUnsafeBufferPointer { xb in
        kernel.data.withUnsafeBufferPointer { wb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = UncheckedSendable(xb.baseAddress!), wp = wb.baseAddress!, op = UncheckedSendable(ob.baseAddress!)
            let bias = bias?.data
            BatchChunks.forEach(batch: g.batch) { _, images in
                let rows = images.count * P
                let o = op.value + images.lowerBound * P * cout
                if g.isPointwiseIdentity && PointwiseProduct.applies(n: cout) {
                    PointwiseProduct.multiply(xp.value + images.lowerBound * imageIn, rows: rows, k: K, wp, n: cout, into: o)
                } else if g.isPointwiseIdentity {
                    GEMM.blas(m: rows, n: cout, k: K, a: xp.value + images.lowerBound * imageIn, lda: K, b: wp, ldb: cout, c: o, ldc: cout)
                } else if direct {
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: g.directScratch(cout: cout))
                    defer { scratch.deallocate() }
                    for (i, n) in images.enumerated() {
                        g.directForward(xp.value + n * imageIn, kernel: wp, cout: cout, into: o + i * P * cout, scratch: scratch)
                    }
                } else {
                    let cols = UnsafeMutablePointer<Float>.allocate(capacity: rows * K)
                    defer { cols.deallocate() }
                    for (i, n) in images.enumerated() { g.im2col(xp.value + n * imageIn, into: cols + i * P * K) }
                    GEMM.blas(m: rows, n: cout, k: K, a: cols, lda: K, b: wp, ldb: cout, c: o, ldc: cout)
                }
                if let bias {
                    bias.withUnsafeBufferPointer { bp in
                        for r in 0..<rows { mien_t_add(o + r * cout, bp.baseAddress!, cout) }
                    }
                }
            }
        }}}
        return out
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        backward(gradOutput, inputGradient: true)
    }

    /// Back-propagation, per chunk of images (`ConvBackward`): dW += colsᵀ·dOut (the chunks'
    /// partials summed in order) and, when `inputGradient`, dx = col2im(dOut·Wᵀ), each on the
    /// fastest kernel for the layer's shape. Without it the returned tensor is empty (the layer
    /// reads the network's input).
    public func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor {
        guard let x = cachedInput else { preconditionFailure("Conv2D.backward called before a training forward") }
        let kh = kernel.value.shape[0], kw = kernel.value.shape[1], cout = kernel.value.shape[3]
        let g = ConvGeometry(inputShape: x.shape, kernelH: kh, kernelW: kw, stride: stride, padding: padding)
        precondition(gradOutput.shape == [g.batch, g.outH, g.outW, cout], "Conv2D gradient shape \(gradOutput.shape) is wrong")
        let plan = ConvBackward(g, kernel: kernel.value, bias: bias != nil, inputGradient: inputGradient)
        var dx = plan.inputGradientTensor()
        let grads = x.data.withUnsafeBufferPointer { xb in
        gradOutput.data.withUnsafeBufferPointer { gb in
        kernel.value.data.withUnsafeBufferPointer { wb in
        dx.data.withUnsafeMutableBufferPointer { dxb in
            let p = UncheckedSendable((x: xb.baseAddress!, dy: gb.baseAddress!, w: wb.baseAddress!, dx: dxb.baseAddress))
            return BatchChunks.sum(batch: g.batch, size: plan.partialSize) { images, partial in
                plan.chunk(images, x: p.value.x, dy: p.value.dy, w: p.value.w, partial: partial, dx: p.value.dx)
            }
        }}}}
        let K = g.patchSize
        kernel.grad.data.withUnsafeMutableBufferPointer { mien_t_add($0.baseAddress!, grads, K * cout) }
        if let bias {
            grads.withUnsafeBufferPointer { gp in
                bias.grad.data.withUnsafeMutableBufferPointer { mien_t_add($0.baseAddress!, gp.baseAddress! + K * cout, cout) }
            }
        }
        return dx
    }

    /// Reference: direct seven-loop convolution accumulating in Double (test oracle).
    public static func reference(_ x: Tensor, kernel: Tensor, bias: Tensor?, stride: Int, padding: Padding) -> Tensor {
        let kh = kernel.shape[0], kw = kernel.shape[1], cin = kernel.shape[2], cout = kernel.shape[3]
        let g = ConvGeometry(inputShape: x.shape, kernelH: kh, kernelW: kw, stride: stride, padding: padding)
        var out = Tensor(shape: [g.batch, g.outH, g.outW, cout])
        for n in 0..<g.batch { for oh in 0..<g.outH { for ow in 0..<g.outW { for co in 0..<cout {
            var s = Double(bias?.data[co] ?? 0)
            for i in 0..<kh { for j in 0..<kw {
                let ih = oh * stride - g.padTop + i, iw = ow * stride - g.padLeft + j
                guard ih >= 0, ih < g.height, iw >= 0, iw < g.width else { continue }
                for ci in 0..<cin {
                    s += Double(x[n, ih, iw, ci]) * Double(kernel[i, j, ci, co])
                }
            }}
            out[n, oh, ow, co] = Float(s)
        }}}}
        return out
    }
}

/// Forward convolution kernel on raw buffers (NHWC in, HWIO weights, NHWC out).
/// `scratch` is one image's im2col matrix (`outPixels × patchSize`), allocated if nil.
func convForward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 cout: Int, out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>? = nil) {
    let P = g.outPixels, K = g.patchSize
    if g.isPointwiseIdentity {
        GEMM.blas(m: g.batch * P, n: cout, k: K, a: x, lda: K, b: w, ldb: cout, c: out, ldc: cout)
    } else {
        let cols = scratch ?? UnsafeMutablePointer<Float>.allocate(capacity: P * K)
        defer { if scratch == nil { cols.deallocate() } }
        let imageIn = g.height * g.width * g.inChannels
        for n in 0..<g.batch {
            im2col(g, image: x + n * imageIn, cols: cols)
            GEMM.blas(m: P, n: cout, k: K, a: cols, lda: K, b: w, ldb: cout, c: out + n * P * cout, ldc: cout)
        }
    }
    if let bias {
        let rows = g.batch * P
        for r in 0..<rows {
            let o = out + r * cout
            for c in 0..<cout { o[c] += bias[c] }
        }
    }
}

/// Depthwise 2-D convolution: NHWC input `[n, h, w, cin]`, kernel `[kh, kw, cin, m]` (Keras
/// `depthwise_kernel`, depth multiplier m), output `[n, outH, outW, cin·m]` with output channel
/// `c·m + j` = input channel `c` filtered by `kernel[:, :, c, j]`. Optional bias `[cin·m]`.
public final class DepthwiseConv2D: Layer {
    public let kernel: Parameter
    public let bias: Parameter?
    public let stride: Int
    public let padding: Padding
    private var cachedInput: Tensor?

    public init(kernel: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Padding = .same, name: String = "depthwise_conv2d") {
        precondition(kernel.rank == 4, "depthwise kernel must be [kh, kw, cin, multiplier], got \(kernel.shape)")
        self.kernel = Parameter(name: "\(name)/depthwise_kernel", value: kernel)
        self.bias = bias.map { Parameter(name: "\(name)/bias", value: $0) }
        self.stride = stride
        self.padding = padding
    }

    public convenience init(channels: Int, kernelSize: Int, multiplier: Int = 1, stride: Int = 1, padding: Padding = .same,
                            name: String = "depthwise_conv2d", rng: inout SeededRandom) {
        let k = kernelSize
        let w = rng.glorotUniform([k, k, channels, multiplier], fanIn: k * k, fanOut: k * k * multiplier)
        self.init(kernel: w, bias: nil, stride: stride, padding: padding, name: name)
    }

    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { cachedInput = x }
        return DepthwiseConv2D.compute(x, kernel: kernel.value, bias: bias?.value, stride: stride, padding: padding)
    }

    /// The depthwise convolution as a pure function, chunks of images in parallel (the C kernel
    /// for multiplier 1, `depthwiseForward` otherwise).
    public static func compute(_ x: Tensor, kernel: Tensor, bias: Tensor?, stride: Int, padding: Padding) -> Tensor {
        precondition(x.rank == 4 && x.shape[3] == kernel.shape[2],
                     "depthwise input \(x.shape) does not match kernel \(kernel.shape)")
        let g = ConvGeometry(inputShape: x.shape, kernelH: kernel.shape[0], kernelW: kernel.shape[1], stride: stride, padding: padding)
        let m = kernel.shape[3], cout = g.inChannels * m
        var out = Tensor(uninitialized: [g.batch, g.outH, g.outW, cout])
        let imageIn = g.height * g.width * g.inChannels, imageOut = g.outPixels * cout
        x.data.withUnsafeBufferPointer { xb in
        kernel.data.withUnsafeBufferPointer { wb in
        out.data.withUnsafeMutableBufferPointer { ob in
            let xp = UncheckedSendable(xb.baseAddress!), wp = UncheckedSendable(wb.baseAddress!), op = UncheckedSendable(ob.baseAddress!)
            BatchChunks.forEach(batch: g.batch) { _, images in
                for n in images {
                    if m == 1 {
                        g.depthwiseForward(xp.value + n * imageIn, kernel: wp.value, into: op.value + n * imageOut)
                    } else {
                        depthwiseForward(g.single, multiplier: m, x: xp.value + n * imageIn, w: wp.value, out: op.value + n * imageOut)
                    }
                }
            }
        }}}
        if let bias {
            out.data.withUnsafeMutableBufferPointer { ob in
                bias.data.withUnsafeBufferPointer { bp in
                    for r in 0..<(ob.count / cout) { mien_t_add(ob.baseAddress! + r * cout, bp.baseAddress!, cout) }
                }
            }
        }
        return out
    }

    /// Back-propagation per chunk of images (the kernel gradient summed per chunk, then over
    /// the chunks in order).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let x = cachedInput else { preconditionFailure("DepthwiseConv2D.backward called before a training forward") }
        let g = ConvGeometry(inputShape: x.shape, kernelH: kernel.value.shape[0], kernelW: kernel.value.shape[1],
                             stride: stride, padding: padding)
        let m = kernel.value.shape[3], cin = g.inChannels, cout = cin * m
        precondition(gradOutput.shape == [g.batch, g.outH, g.outW, cout], "DepthwiseConv2D gradient shape \(gradOutput.shape) is wrong")
        // The 3×3 stride-1 kernel writes dx; the others accumulate into it.
        let rowKernels = m == 1 && g.hasDepthwise3x3Kernels
        var dx = rowKernels ? Tensor(uninitialized: x.shape) : Tensor(shape: x.shape)
        let taps = g.kernelH * g.kernelW * cout, wantsBias = bias != nil
        let imageIn = g.height * g.width * cin, imageOut = g.outPixels * cout
        let grads = x.data.withUnsafeBufferPointer { xb in
        gradOutput.data.withUnsafeBufferPointer { gb in
        kernel.value.data.withUnsafeBufferPointer { wb in
        dx.data.withUnsafeMutableBufferPointer { dxb in
            let xp = UncheckedSendable(xb.baseAddress!), gp = UncheckedSendable(gb.baseAddress!)
            let wp = UncheckedSendable(wb.baseAddress!), dxp = UncheckedSendable(dxb.baseAddress!)
            return BatchChunks.sum(batch: g.batch, size: taps + (wantsBias ? cout : 0)) { images, partial in
                let scratch = rowKernels ? UnsafeMutablePointer<Float>.allocate(capacity: (9 + g.width) * cin) : nil
                defer { scratch?.deallocate() }
                for n in images {
                    let xi = xp.value + n * imageIn, go = gp.value + n * imageOut, dxi = dxp.value + n * imageIn
                    if let scratch {
                        mien_t_dw3x3s1_backward(xi, go, Int32(g.height), Int32(g.width), Int32(cin), wp.value, Int32(g.padTop),
                                                Int32(g.padLeft), Int32(g.outH), Int32(g.outW), partial, dxi, scratch)
                    } else if m == 1 {
                        g.depthwiseBackward(xi, gradOutput: go, kernel: wp.value, kernelGrad: partial, inputGrad: dxi)
                    } else {
                        depthwiseBackwardMultiplier(g.single, multiplier: m, x: xi, dy: go, w: wp.value, dw: partial, dx: dxi)
                    }
                    if wantsBias { for r in 0..<g.outPixels { mien_t_add(partial + taps, go + r * cout, cout) } }
                }
            }
        }}}}
        kernel.grad.data.withUnsafeMutableBufferPointer { mien_t_add($0.baseAddress!, grads, taps) }
        if let bias {
            grads.withUnsafeBufferPointer { gp in
                bias.grad.data.withUnsafeMutableBufferPointer { mien_t_add($0.baseAddress!, gp.baseAddress! + taps, cout) }
            }
        }
        return dx
    }

    /// Reference: direct loops in Double (test oracle).
    public static func reference(_ x: Tensor, kernel: Tensor, stride: Int, padding: Padding) -> Tensor {
        let g = ConvGeometry(inputShape: x.shape, kernelH: kernel.shape[0], kernelW: kernel.shape[1], stride: stride, padding: padding)
        let m = kernel.shape[3]
        var out = Tensor(shape: [g.batch, g.outH, g.outW, g.inChannels * m])
        for n in 0..<g.batch { for oh in 0..<g.outH { for ow in 0..<g.outW { for c in 0..<g.inChannels { for q in 0..<m {
            var s = 0.0
            for i in 0..<g.kernelH { for j in 0..<g.kernelW {
                let ih = oh * stride - g.padTop + i, iw = ow * stride - g.padLeft + j
                guard ih >= 0, ih < g.height, iw >= 0, iw < g.width else { continue }
                s += Double(x[n, ih, iw, c]) * Double(kernel[i, j, c, q])
            }}
            out[n, oh, ow, c * m + q] = Float(s)
        }}}}}
        return out
    }
}

extension ConvGeometry {
    /// The same geometry for one image.
    var single: ConvGeometry {
        var g = self
        g.batch = 1
        return g
    }

    /// True when a multiplier-1 depthwise convolution of this geometry runs on the 3×3 stride-1
    /// row kernels (FoldedCNN's, AVX2 or AVX-512; channels a multiple of 8).
    var hasDepthwise3x3Kernels: Bool {
        kernelH == 3 && kernelW == 3 && stride == 1 && inChannels > 0 && inChannels % 8 == 0 && mien_cpu_level() >= 1
    }

    /// Depthwise forward of one image, multiplier 1 (C kernels; `depthwiseForward` is their reference).
    @inline(__always)
    func depthwiseForward(_ x: UnsafePointer<Float>, kernel: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        if hasDepthwise3x3Kernels {
            mien_t_dw3x3s1_forward(x, Int32(height), Int32(width), Int32(inChannels), kernel, Int32(padTop), Int32(padLeft),
                                   Int32(outH), Int32(outW), out)
            return
        }
        mien_t_depthwise_forward(x, Int32(height), Int32(width), Int32(inChannels), kernel, Int32(kernelH), Int32(kernelW),
                                 Int32(stride), Int32(padTop), Int32(padLeft), Int32(outH), Int32(outW), out)
    }

    /// Depthwise gradients of one image, multiplier 1 (C kernel): accumulates into both.
    @inline(__always)
    func depthwiseBackward(_ x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
                           kernelGrad dk: UnsafeMutablePointer<Float>, inputGrad dx: UnsafeMutablePointer<Float>) {
        mien_t_depthwise_backward(x, dy, Int32(height), Int32(width), Int32(inChannels), kernel, Int32(kernelH), Int32(kernelW),
                                  Int32(stride), Int32(padTop), Int32(padLeft), Int32(outH), Int32(outW), dk, dx)
    }
}

/// Depthwise gradients of one image with depth multiplier m (plain loops; accumulates into dw and dx).
func depthwiseBackwardMultiplier(_ g: ConvGeometry, multiplier m: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                 w: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>) {
    let cin = g.inChannels, cout = cin * m
    for oh in 0..<g.outH { for ow in 0..<g.outW {
        let go = dy + (oh * g.outW + ow) * cout
        for i in 0..<g.kernelH {
            let ih = oh * g.stride - g.padTop + i
            if ih < 0 || ih >= g.height { continue }
            for j in 0..<g.kernelW {
                let iw = ow * g.stride - g.padLeft + j
                if iw < 0 || iw >= g.width { continue }
                let off = (ih * g.width + iw) * cin
                let wk = w + (i * g.kernelW + j) * cout, dwk = dw + (i * g.kernelW + j) * cout
                for c in 0..<cin { for q in 0..<m {
                    let o = c * m + q
                    dwk[o] += x[off + c] * go[o]
                    dx[off + c] += wk[o] * go[o]
                }}
            }
        }
    }}
}

/// Depthwise forward on raw buffers; the multiplier-1 case is a channel-contiguous
/// multiply-add that the compiler vectorises.
func depthwiseForward(_ g: ConvGeometry, multiplier m: Int, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                      out: UnsafeMutablePointer<Float>) {
    let cin = g.inChannels, cout = cin * m
    for n in 0..<g.batch {
        let xn = x + n * g.height * g.width * cin
        for oh in 0..<g.outH {
            for ow in 0..<g.outW {
                let o = out + ((n * g.outH + oh) * g.outW + ow) * cout
                o.update(repeating: 0, count: cout)
                for i in 0..<g.kernelH {
                    let ih = oh * g.stride - g.padTop + i
                    if ih < 0 || ih >= g.height { continue }
                    for j in 0..<g.kernelW {
                        let iw = ow * g.stride - g.padLeft + j
                        if iw < 0 || iw >= g.width { continue }
                        let xi = xn + (ih * g.width + iw) * cin
                        let wk = w + (i * g.kernelW + j) * cout
                        if m == 1 {
                            for c in 0..<cin { o[c] += xi[c] * wk[c] }
                        } else {
                            for c in 0..<cin { for q in 0..<m { o[c * m + q] += xi[c] * wk[c * m + q] } }
                        }
                    }
                }
            }
        }
    }
}

/// Separable convolution with Keras `SeparableConv2D` semantics: a depthwise convolution
/// (`depthwise_kernel` `[kh, kw, cin, m]`, stride and padding of the layer, no bias) followed by a
/// 1×1 pointwise convolution (`pointwise_kernel` `[1, 1, cin·m, cout]`, optional `bias` `[cout]`).
/// NHWC in and out.
public final class SeparableConv2D: Layer {
    public let depthwise: DepthwiseConv2D
    public let pointwise: Conv2D

    public init(depthwiseKernel: Tensor, pointwiseKernel: Tensor, bias: Tensor?, stride: Int = 1,
                padding: Padding = .same, name: String = "separable_conv2d") {
        precondition(pointwiseKernel.rank == 4 && pointwiseKernel.shape[0] == 1 && pointwiseKernel.shape[1] == 1
                     && pointwiseKernel.shape[2] == depthwiseKernel.shape[2] * depthwiseKernel.shape[3],
                     "pointwise kernel \(pointwiseKernel.shape) does not follow depthwise kernel \(depthwiseKernel.shape)")
        depthwise = DepthwiseConv2D(kernel: depthwiseKernel, bias: nil, stride: stride, padding: padding, name: name)
        pointwise = Conv2D(kernel: pointwiseKernel, bias: bias, stride: 1, padding: .valid, name: name)
        pointwise.kernel.name = "\(name)/pointwise_kernel"
    }

    public convenience init(inChannels: Int, outChannels: Int, kernelSize: Int, useBias: Bool = true,
                            padding: Padding = .same, name: String = "separable_conv2d", rng: inout SeededRandom) {
        let k = kernelSize
        let dw = rng.glorotUniform([k, k, inChannels, 1], fanIn: k * k, fanOut: k * k)
        let pw = rng.glorotUniform([1, 1, inChannels, outChannels], fanIn: inChannels, fanOut: outChannels)
        self.init(depthwiseKernel: dw, pointwiseKernel: pw, bias: useBias ? Tensor(shape: [outChannels]) : nil,
                  padding: padding, name: name)
    }

    public var parameters: [Parameter] { depthwise.parameters + pointwise.parameters }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        pointwise.forward(depthwise.forward(x, training: training), training: training)
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        depthwise.backward(pointwise.backward(gradOutput))
    }
}
