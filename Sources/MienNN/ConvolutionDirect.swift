import CMienKernels

/// Training's convolutions with few input channels on FoldedCNN's direct kernels
/// (`mien_conv_valid_s1`: the first convolutions of a CNN, 1–16 input channels).
///
/// im2col + GEMM is a poor fit there: a 1-channel 3×3 convolution to 8 channels is a GEMM with
/// k = 9 and n = 8 over the whole image, where OpenBLAS spends its time packing, and im2col
/// writes nine times the input. The direct kernel reads the input once. 'same' padding runs on a
/// zero-padded copy of the image. The input gradient of such a layer is the same kind of
/// convolution — of the output gradient, padded by the kernel's size − 1 − padding, with the
/// kernel turned by 180° and its channel axes swapped — so it runs on the same kernel when the
/// layer has few output channels (no GEMM, no col2im, no zeroed dx).
extension ConvGeometry {
    /// True when a convolution of this geometry to `cout` channels runs on the direct kernel.
    func hasDirectKernel(cout: Int) -> Bool {
        stride == 1 && inChannels <= 16 && cout % 8 == 0 && mien_cpu_level() >= 1
    }

    /// True when the input gradient (a convolution from `cout` channels to `inChannels`) does.
    func hasDirectInputGradient(cout: Int) -> Bool {
        stride == 1 && cout <= 16 && inChannels % 8 == 0 && mien_cpu_level() >= 1
    }

    /// True when the kernel gradient runs on the direct 3×3 kernel (no im2col, no GEMM).
    func hasDirectKernelGradient(cout: Int) -> Bool {
        kernelH == 3 && kernelW == 3 && hasDirectKernel(cout: cout)
    }

    /// Adds one image's kernel gradient into `dk` [3, 3, inChannels, cout] from its input x and dy.
    func directKernelGradient(_ x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, cout: Int,
                              into dk: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let hp = outH + 2, wp = outW + 2
        var input = x
        if hp != height || wp != width || padTop != 0 || padLeft != 0 {
            pad(x, height: height, width: width, channels: inChannels, top: padTop, left: padLeft, intoHeight: hp, width: wp, scratch)
            input = UnsafePointer(scratch)
        }
        mien_t_conv3x3_weight_grad(input, Int32(hp), Int32(wp), Int32(inChannels), dy, Int32(cout), dk)
    }

    /// Floats of scratch the direct functions need per image.
    func directScratch(cout: Int) -> Int {
        let padded = (outH + kernelH - 1) * (outW + kernelW - 1), full = (height + kernelH - 1) * (width + kernelW - 1)
        return 2 * max(padded * inChannels, full * cout) + kernelH * kernelW * inChannels * cout
    }

    /// Forward of one image (no bias) into `out` [outH, outW, cout].
    func directForward(_ x: UnsafePointer<Float>, kernel: UnsafePointer<Float>, cout: Int,
                       into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let hp = outH + kernelH - 1, wp = outW + kernelW - 1
        var input = x, planar = scratch
        if hp != height || wp != width || padTop != 0 || padLeft != 0 {
            pad(x, height: height, width: width, channels: inChannels, top: padTop, left: padLeft,
                intoHeight: hp, width: wp, scratch)
            input = UnsafePointer(scratch)
            planar = scratch + hp * wp * inChannels
        }
        mien_conv_valid_s1(input, Int32(hp), Int32(wp), Int32(inChannels), kernel, Int32(kernelH), Int32(kernelW), Int32(cout),
                           nil, 0, out, planar)
    }

    /// ∂L/∂x of one image [height, width, inChannels] (written) from dy [outH, outW, cout].
    func directInputGradient(_ dy: UnsafePointer<Float>, kernel: UnsafePointer<Float>, cout: Int,
                             into dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let kh = kernelH, kw = kernelW, cin = inChannels
        let hp = height + kh - 1, wp = width + kw - 1
        let turned = scratch, padded = scratch + kh * kw * cin * cout, planar = padded + hp * wp * cout
        // turned[i, j, co, ci] = kernel[kh − 1 − i, kw − 1 − j, ci, co]
        for i in 0..<kh { for j in 0..<kw {
            let src = kernel + ((kh - 1 - i) * kw + (kw - 1 - j)) * cin * cout, dst = turned + (i * kw + j) * cout * cin
            for ci in 0..<cin { for co in 0..<cout { dst[co * cin + ci] = src[ci * cout + co] } }
        }}
        pad(dy, height: outH, width: outW, channels: cout, top: kh - 1 - padTop, left: kw - 1 - padLeft,
            intoHeight: hp, width: wp, padded)
        mien_conv_valid_s1(padded, Int32(hp), Int32(wp), Int32(cout), turned, Int32(kh), Int32(kw), Int32(cin), nil, 0, dx, planar)
    }
}

/// Pointwise products `out [rows, n] = x [rows, k] · w [k, n]` on FoldedCNN's pointwise tiles
/// (`mien_conv1x1`), where OpenBLAS's sgemm spends more time packing and zeroing than multiplying
/// on these shapes (k, n = 8…128, rows in the tens of thousands): a 1×1 convolution's forward,
/// and its input gradient with the kernel transposed.
enum PointwiseProduct {
    /// True when n (the output channels) suits the tiles and the CPU has AVX2+FMA.
    static func applies(n: Int) -> Bool { n % 8 == 0 && mien_cpu_level() >= 1 }

    static func multiply(_ x: UnsafePointer<Float>, rows: Int, k: Int, _ w: UnsafePointer<Float>, n: Int,
                         into out: UnsafeMutablePointer<Float>) {
        mien_conv1x1(x, Int32(rows), 1, Int32(k), 1, Int32(rows), 1, w, Int32(n), nil, 0, out, nil)
    }

    /// The [k, n] matrix `w` transposed to [n, k].
    static func transposed(_ w: Tensor, k: Int, n: Int) -> [Float] {
        var t = [Float](repeating: 0, count: k * n)
        for i in 0..<k { for j in 0..<n { t[j * k + i] = w.data[i * n + j] } }
        return t
    }
}

/// Copies an NHWC image [height, width, channels] into a zeroed [ph, pw, channels] at (top, left).
private func pad(_ x: UnsafePointer<Float>, height: Int, width: Int, channels c: Int, top: Int, left: Int,
                 intoHeight ph: Int, width pw: Int, _ out: UnsafeMutablePointer<Float>) {
    out.update(repeating: 0, count: ph * pw * c)
    for r in 0..<height where r + top >= 0 && r + top < ph {
        let lo = max(0, -left), hi = min(width, pw - left)
        guard hi > lo else { continue }
        (out + ((r + top) * pw + left + lo) * c).update(from: x + (r * width + lo) * c, count: (hi - lo) * c)
    }
}
