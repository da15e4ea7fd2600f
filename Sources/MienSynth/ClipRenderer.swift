import Foundation

/// Renders the frames of a `ClipPlan`. Frame `i` depends only on the plan and `i` (its noise
/// comes from a stream seeded by the plan's noise seed and `i`), so frames can be rendered in
/// any order, or in parallel, with identical results.
public struct ClipRenderer: Sendable {
    public let plan: ClipPlan
    /// The static background with the lighting gradient applied, RGB floats.
    private let background: Canvas

    public init(plan: ClipPlan) {
        self.plan = plan
        background = Self.renderBackground(plan)
    }

    /// Scene brightness multiplier at pixel (x, y): 1 ± strength along the light direction.
    @inline(__always)
    static func light(_ s: ScenePlan, _ x: Double, _ y: Double, _ W: Double, _ H: Double) -> Double {
        let nx = (x - W / 2) / (W / 2), ny = (y - H / 2) / (H / 2)
        return 1 + s.lightStrength * (s.lightX * nx + s.lightY * ny) * 0.7
    }

    static func renderBackground(_ plan: ClipPlan) -> Canvas {
        let W = plan.config.width, H = plan.config.height
        let s = plan.scene
        var c = Canvas(width: W, height: H)
        let soft = 6.0 * min(Double(W), Double(H)) / 480
        c.pixels.withUnsafeMutableBufferPointer { buf in
            for y in 0..<H {
                let ty = Double(y) / Double(max(1, H - 1))
                let row = RGB.mix(s.backgroundTop, s.backgroundBottom, ty)
                for x in 0..<W {
                    var col = row
                    let fx = Double(x) + 0.5, fy = Double(y) + 0.5
                    for (k, p) in s.panels.enumerated() {
                        let cov = min(max(0, min(fx - p.0, p.2 - fx) / soft + 0.5), 1)
                            * min(max(0, min(fy - p.1, p.3 - fy) / soft + 0.5), 1)
                        if cov > 0 { col = RGB.mix(col, s.panelColours[k], cov) }
                    }
                    let L = light(s, fx, fy, Double(W), Double(H))
                    let i = (y * W + x) * 3
                    buf[i] = Float(col.r * L); buf[i + 1] = Float(col.g * L); buf[i + 2] = Float(col.b * L)
                }
            }
        }
        return c
    }

    /// The noise-free, unblurred scene of frame `index` (RGB floats) and its faces.
    public func renderClean(_ index: Int) -> (Canvas, [FaceFrame]) {
        let faces = plan.faceFrames(at: index)
        var canvas = background
        let s = plan.scene
        let W = Double(plan.config.width), H = Double(plan.config.height)
        // Far face first (the smaller one), so a nearer face covers it if they ever touch.
        for f in faces.sorted(by: { $0.halfWidth < $1.halfWidth }) {
            FaceRenderer.render(f, identity: plan.faces[f.track].identity, into: &canvas,
                                lightDir: (s.lightX, s.lightY), lightStrength: s.lightStrength,
                                light: { x, y in Self.light(s, x, y, W, H) })
        }
        if let o = plan.occluder, let left = o.left(at: Double(index) / plan.config.fps, frameWidth: W) {
            Self.drawOccluder(o, left: left, into: &canvas, scene: s)
        }
        return (canvas, faces)
    }

    static func drawOccluder(_ o: Occluder, left: Double, into c: inout Canvas, scene s: ScenePlan) {
        let W = c.width, H = c.height
        let x0 = max(0, Int(left)), x1 = min(W - 1, Int(left + o.width) + 1)
        guard x0 <= x1 else { return }
        let y0 = max(0, Int(o.top))
        let r = o.kind == .hand ? o.width * 0.35 : 0
        c.pixels.withUnsafeMutableBufferPointer { buf in
            for y in y0..<H {
                for x in x0...x1 {
                    let fx = Double(x) + 0.5, fy = Double(y) + 0.5
                    var cov = min(max(0, min(fx - left, left + o.width - fx) + 0.5), 1) * min(max(0, fy - o.top + 0.5), 1)
                    var shade = 1.0
                    if o.kind == .hand {
                        // Rounded top corners and four finger grooves.
                        let cy = o.top + r
                        if fy < cy {
                            let cx = min(max(fx, left + r), left + o.width - r)
                            let d = ((fx - cx) * (fx - cx) + (fy - cy) * (fy - cy)).squareRoot()
                            cov *= min(max(0, r - d + 0.5), 1)
                        }
                        let rel = (fx - left) / o.width
                        let groove = abs(sin(rel * 4 * .pi))
                        if fy < o.top + o.width * 1.1 { shade = 0.78 + 0.22 * groove }
                        shade *= 0.9 + 0.1 * sin(rel * .pi)
                    }
                    if cov <= 0 { continue }
                    let L = light(s, fx, fy, Double(W), Double(H)) * shade
                    let i = (y * W + x) * 3
                    let a = Float(cov)
                    buf[i] = buf[i] * (1 - a) + Float(o.colour.r * L) * a
                    buf[i + 1] = buf[i + 1] * (1 - a) + Float(o.colour.g * L) * a
                    buf[i + 2] = buf[i + 2] * (1 - a) + Float(o.colour.b * L) * a
                }
            }
        }
    }

    /// Frame `index` as 8-bit pixels in OpenCV order: BGR interleaved (`width × height × 3`
    /// bytes), or one gray byte per pixel when the config says grayscale (BT.601 luma of the
    /// colour render). Camera model: blur (Gaussian, `blurSigma`), exposure gain, additive
    /// Gaussian sensor noise (`noiseSigma` levels), rounding and clipping to 0…255.
    public func frame(_ index: Int) -> (pixels: [UInt8], faces: [FaceFrame]) {
        var (canvas, faces) = renderClean(index)
        if plan.scene.blurSigma > 0.05 { gaussianBlur(&canvas, sigma: plan.scene.blurSigma) }
        var rng = SeededRandom.stream(seed: plan.noiseSeed, UInt64(index))
        let gain = Float(plan.scene.gain * 255)
        let sigma = plan.scene.noiseSigma
        let n = plan.config.width * plan.config.height
        if plan.config.grayscale {
            var out = [UInt8](repeating: 0, count: n)
            canvas.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    @inline(__always) func put(_ k: Int, _ z: Double) {
                        let l = 0.299 * src[k * 3] + 0.587 * src[k * 3 + 1] + 0.114 * src[k * 3 + 2]
                        dst[k] = quantize(l * gain + Float(z * sigma))
                    }
                    var i = 0
                    while i < n {
                        let (z0, z1) = rng.gaussianPair()
                        put(i, z0)
                        if i + 1 < n { put(i + 1, z1) }
                        i += 2
                    }
                }
            }
            return (out, faces)
        }
        var out = [UInt8](repeating: 0, count: n * 3)
        canvas.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for p in 0..<n {
                    let (z0, z1) = rng.gaussianPair()
                    let z2 = (z0 + z1) * 0.5   // a little cross-channel correlation, like a Bayer demosaic
                    // src is RGB; dst is BGR.
                    dst[p * 3 + 2] = quantize(src[p * 3] * gain + Float(z0 * sigma))
                    dst[p * 3 + 1] = quantize(src[p * 3 + 1] * gain + Float(z2 * sigma))
                    dst[p * 3] = quantize(src[p * 3 + 2] * gain + Float(z1 * sigma))
                }
            }
        }
        return (out, faces)
    }
}

@inline(__always) func quantize(_ x: Float) -> UInt8 {
    let r = (x + 0.5).rounded(.down)
    return r <= 0 ? 0 : (r >= 255 ? 255 : UInt8(r))
}

/// Separable Gaussian blur of an RGB canvas with standard deviation `sigma` pixels; kernel
/// radius ⌈3σ⌉, borders replicated.
func gaussianBlur(_ c: inout Canvas, sigma: Double) {
    let r = max(1, Int((3 * sigma).rounded(.up)))
    var k = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
    let sum = k.reduce(0, +)
    k = k.map { $0 / sum }
    let W = c.width, H = c.height
    var tmp = [Float](repeating: 0, count: c.pixels.count)
    c.pixels.withUnsafeMutableBufferPointer { img in
        tmp.withUnsafeMutableBufferPointer { t in
            k.withUnsafeBufferPointer { kk in
                for y in 0..<H {
                    let row = y * W
                    for x in 0..<W {
                        var s0: Float = 0, s1: Float = 0, s2: Float = 0
                        for j in -r...r {
                            let xx = min(W - 1, max(0, x + j))
                            let w = kk[j + r], i = (row + xx) * 3
                            s0 += w * img[i]; s1 += w * img[i + 1]; s2 += w * img[i + 2]
                        }
                        let o = (row + x) * 3
                        t[o] = s0; t[o + 1] = s1; t[o + 2] = s2
                    }
                }
                for y in 0..<H {
                    for x in 0..<W {
                        var s0: Float = 0, s1: Float = 0, s2: Float = 0
                        for j in -r...r {
                            let yy = min(H - 1, max(0, y + j))
                            let w = kk[j + r], i = (yy * W + x) * 3
                            s0 += w * t[i]; s1 += w * t[i + 1]; s2 += w * t[i + 2]
                        }
                        let o = (y * W + x) * 3
                        img[o] = s0; img[o + 1] = s1; img[o + 2] = s2
                    }
                }
            }
        }
    }
}
