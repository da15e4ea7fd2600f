import Foundation

/// A floating-point RGB canvas: pixel (x, y) channel c (0 = R, 1 = G, 2 = B) is
/// `pixels[(y * width + x) * 3 + c]`, values nominally in [0, 1].
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [Float](repeating: 0, count: width * height * 3)
    }
}

@inline(__always) private func gauss(_ x: Double, _ y: Double) -> Double {
    let q = x * x + y * y
    return q > 9 ? 0 : exp(-q)
}

@inline(__always) private func clamp01(_ x: Double) -> Double { min(1, max(0, x)) }

/// Distance from point p to segment ab.
@inline(__always) private func segmentDistance(_ px: Double, _ py: Double, _ ax: Double, _ ay: Double,
                                               _ bx: Double, _ by: Double) -> Double {
    let dx = bx - ax, dy = by - ay
    let t = clamp01(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy))
    let ex = px - ax - t * dx, ey = py - ay - t * dy
    return (ex * ex + ey * ey).squareRoot()
}

/// Derived geometry of one face in one frame, in local units (see `FaceIdentity`).
struct FaceGeometry {
    let id: FaceIdentity
    let act: FaceActions
    let aspectLow: Double        // chin distance below centre
    let ex: Double, ey: Double, ew: Double
    let upperOpen: Double, lowerOpen: Double
    let irisX: Double, irisY: Double
    let browInnerX: Double, browOuterX: Double, browInnerY: Double, browOuterY: Double, browArch: Double
    let noseY: Double, nostrilRX: Double
    let mouthY: Double, mouthW: Double, cornerLift: Double, gap: Double, upperRaise: Double
    let upperLip: Double, lowerLip: Double
    let fold: Double

    init(_ id: FaceIdentity, _ f: FaceFrame) {
        self.id = id
        let a = f.actions
        act = a
        aspectLow = id.aspect * 0.97 + 0.10 * max(0, a.jawDrop)
        ex = id.eyeSpacing; ey = id.eyeHeight; ew = id.eyeWidth
        let uo = 0.072 * (1 + 0.55 * a.upperLidRaise - 0.5 * a.lidTighten)
        let lo = 0.045 * max(0.25, 1 - 0.45 * a.lidTighten - 0.4 * a.cheekRaise)
        let b = clamp01(f.blink)
        upperOpen = max(0.008, uo) * (1 - b) - lo * b
        lowerOpen = lo
        irisX = f.gazeX; irisY = f.gazeY + 0.008
        browInnerX = 0.10 - 0.035 * a.browLower
        browOuterX = ex + ew + 0.08
        let base = ey - id.browHeight
        browInnerY = base - 0.11 * a.browRaise - 0.11 * a.browInnerRaise + 0.10 * a.browLower
        browOuterY = base - 0.03 - 0.09 * a.browRaise + 0.015 * a.browInnerRaise + 0.045 * a.browLower
        browArch = 0.035 + 0.02 * a.browRaise
        noseY = 0.30 * id.noseLength - 0.025 * a.noseWrinkle - 0.02 * a.upperLipRaise
        nostrilRX = 0.042 * (1 + 0.3 * a.noseWrinkle)
        mouthY = id.mouthHeight + 0.03 * max(0, a.jawDrop)
        mouthW = id.mouthWidth * (1 + 0.22 * a.lipCornerPull + 0.25 * a.lipStretch - 0.15 * a.lipPress - 0.05 * a.lipCornerDepress)
        cornerLift = 0.09 * a.lipCornerPull - 0.085 * a.lipCornerDepress + 0.01 * a.lipStretch
        gap = max(0, (0.004 + 0.14 * max(0, a.jawDrop) + 0.02 * a.lipCornerPull) * (1 - 0.8 * clamp01(a.lipPress)))
        upperRaise = 0.05 * a.upperLipRaise
        upperLip = 0.042 * (1 - 0.6 * clamp01(a.lipPress))
        lowerLip = 0.058 * (1 - 0.6 * clamp01(a.lipPress))
        fold = 0.04 + 0.2 * clamp01(0.6 * a.cheekRaise + 0.5 * a.noseWrinkle + 0.4 * a.upperLipRaise + 0.3 * a.lipCornerPull)
    }
}

/// Draws faces (head, hair, neck and shoulders, and every facial feature) into a canvas.
enum FaceRenderer {
    /// Renders `face` of `identity` over `canvas`. `light(x, y)` is the scene's brightness
    /// multiplier at a pixel; `lightDir` its direction, used for the face's side shading.
    static func render(_ face: FaceFrame, identity id: FaceIdentity, into canvas: inout Canvas,
                       lightDir: (Double, Double), lightStrength: Double, light: (Double, Double) -> Double) {
        let g = FaceGeometry(id, face)
        let a = face.halfWidth
        let W = canvas.width, H = canvas.height
        let cr = cos(face.roll), sr = sin(face.roll)
        let top = face.centreY - (id.aspect * 1.15 + 0.1) * a * 1.1
        let y0 = max(0, Int(top)), x0 = max(0, Int(face.centreX - 2.3 * a)), x1 = min(W - 1, Int(face.centreX + 2.3 * a) + 1)
        guard x0 <= x1, y0 < H else { return }
        let px = 1.0 / a   // one pixel in local units
        let skin = id.skin
        let browColour = RGB.mix(id.hair.scaled(0.7), skin.scaled(0.2), 0.75)
        let (lx, ly) = lightDir
        canvas.pixels.withUnsafeMutableBufferPointer { buf in
            for y in y0..<H {
                for x in x0...x1 {
                    let dx = Double(x) + 0.5 - face.centreX, dy = Double(y) + 0.5 - face.centreY
                    let u = (cr * dx + sr * dy) / a, v = (-sr * dx + cr * dy) / a
                    guard let (col, alpha) = shade(u: u, v: v, g: g, px: px, skin: skin, brow: browColour,
                                                    lx: lx, ly: ly, ls: lightStrength), alpha > 0 else { continue }
                    let L = light(Double(x), Double(y))
                    let i = (y * W + x) * 3
                    let al = Float(alpha)
                    buf[i] = buf[i] * (1 - al) + Float(col.r * L)
                    buf[i + 1] = buf[i + 1] * (1 - al) + Float(col.g * L)
                    buf[i + 2] = buf[i + 2] * (1 - al) + Float(col.b * L)
                }
            }
        }
    }

    /// Colour (premultiplied by coverage) and coverage of the person at local point (u, v);
    /// nil where nothing is drawn.
    @inline(__always)
    static func shade(u: Double, v: Double, g: FaceGeometry, px: Double, skin: RGB, brow: RGB,
                      lx: Double, ly: Double, ls: Double) -> (RGB, Double)? {
        let id = g.id
        var col = RGB(0, 0, 0)
        var alpha = 0.0
        // `col` is premultiplied by `alpha`; each layer goes over the ones before it.
        func over(_ c: RGB, _ al: Double) {
            if al <= 0 { return }
            col = RGB(col.r * (1 - al) + c.r * al, col.g * (1 - al) + c.g * al, col.b * (1 - al) + c.b * al)
            alpha = alpha * (1 - al) + al
        }
        let side = 1 + ls * 0.6 * (lx * u / 1.2 + ly * v / 1.6)
        // Shoulders and neck.
        if v > 0.4 {
            let shoulderTop = g.aspectLow + 0.38 + 0.30 * u * u
            if abs(u) < 2.2 && v > shoulderTop {
                let edge = clamp01((v - shoulderTop) / px + 0.5) * clamp01((2.2 - abs(u)) / px + 0.5)
                over(id.clothes.scaled(0.85 * side), edge)
            }
            let nw = 0.46 + 0.06 * max(0, v - g.aspectLow)
            if abs(u) < nw + px && v < shoulderTop + 0.2 {
                let edge = clamp01((nw - abs(u)) / px + 0.5)
                let shadow = 0.62 + 0.12 * clamp01((v - g.aspectLow) / 0.5)
                over(skin.scaled(shadow * side), edge)
            }
        }
        // Hair behind the head.
        if !id.bald {
            let hu = u / 1.10, hv = (v + 0.08) / (id.aspect * 1.06 + 0.05)
            let r = (hu * hu + hv * hv).squareRoot()
            var cover = 0.0
            if v < 0.15 { cover = clamp01((1 - r) / (px / 1.1) + 0.5) }
            if id.longHair && v < id.aspect * 0.85 {
                let lr = ((u / 1.16) * (u / 1.16) + ((v + 0.05) / (id.aspect * 1.0)) * ((v + 0.05) / (id.aspect * 1.0))).squareRoot()
                cover = max(cover, clamp01((1 - lr) / px + 0.5) * clamp01((id.aspect * 0.85 - v) / 0.1))
            }
            if cover > 0 { over(id.hair.scaled(0.9 + 0.1 * side), cover) }
        }
        // Face outline: upper half an ellipse, lower half narrowing to the jaw.
        let vv = v < 0 ? v / id.aspect : v / g.aspectLow
        var w = 1.0
        if v > 0.15 {
            let t = (v - 0.15) / (g.aspectLow - 0.15)
            w = max(0.2, 1 - 0.24 * id.jaw * t * t)
        }
        let fr = ((u / w) * (u / w) + vv * vv).squareRoot()
        let faceCover = clamp01((1 - fr) / px + 0.5)
        guard faceCover > 0 || alpha > 0 else { return nil }
        if faceCover > 0 {
            let sh = faceShade(u: u, v: v, fr: fr, g: g, side: side)
            var fc = skin.scaled(sh)
            paintFeatures(&fc, u: u, v: v, g: g, px: px, skin: skin, brow: brow, side: side)
            paintMouth(&fc, u: u, v: v, g: g, px: px, skin: skin, sh: sh, side: side)
            // Hair over the forehead (fringe), with the hairline dipping at the temples.
            if !id.bald {
                let hl = id.hairline + 0.22 * u * u
                paint(&fc, id.hair.scaled(0.9 + 0.1 * side), clamp01((hl - v) / px + 0.5))
            }
            over(fc, faceCover)
        }
        return alpha > 0 ? (col, alpha) : nil
    }

    /// Paints colour `c` with coverage `al` over `fc` (the face's own layers).
    @inline(__always)
    static func paint(_ fc: inout RGB, _ c: RGB, _ al: Double) { if al > 0 { fc = RGB.mix(fc, c, min(1, al)) } }

    /// The skin's shading at (u, v) inside the face outline (`fr`: the outline's radius there):
    /// light from the side, eye sockets, nose, cheeks, folds and the action units' wrinkles.
    @inline(__always)
    static func faceShade(u: Double, v: Double, fr: Double, g: FaceGeometry, side: Double) -> Double {
        var sh = 0.58 + 0.42 * (max(0, 1 - 0.8 * fr * fr)).squareRoot()
        sh *= side
        let au = abs(u)
        let du = au - g.ex
        // Eye sockets darker than cheeks and brow ridge (the Haar "eyes band").
        sh *= 1 - 0.50 * gauss(du / 0.28, (v - g.ey + 0.02) / 0.18)
        // Upper-lid crease / brow-to-eye hollow: a darker band just above the eye.
        sh *= 1 - 0.18 * gauss(du / 0.17, (v - (g.ey - 0.075)) / 0.035)
        // Lighter nose bridge and nose tip.
        sh *= 1 + 0.16 * gauss(u / 0.075, (v - (g.ey + 0.16)) / 0.26)
        sh *= 1 + 0.07 * gauss(u / 0.07, (v - (g.noseY - 0.07)) / 0.05)
        // Nose sides.
        sh *= 1 - 0.10 * gauss((au - 0.12) / 0.045, (v - (g.ey + 0.3)) / 0.16)
        // Cheeks: raised and brighter with AU6.
        let ch = clamp01(g.act.cheekRaise)
        sh *= 1 + (0.10 + 0.06 * ch) * gauss((au - 0.44) / 0.17, (v - (0.17 - 0.08 * ch)) / 0.12)
        // Shadow under the nose, under the lower lip.
        sh *= 1 - 0.14 * gauss(u / 0.13, (v - (g.noseY + 0.065)) / 0.035)
        sh *= 1 - 0.10 * gauss(u / 0.17, (v - (g.mouthY + g.gap + g.lowerLip + 0.06)) / 0.035)
        // Nasolabial folds.
        let fd = segmentDistance(au, v, 0.15, g.noseY - 0.02, g.mouthW + 0.05, g.mouthY + 0.03 - g.cornerLift)
        sh *= 1 - g.fold * exp(-(fd / 0.02) * (fd / 0.02))
        // Forehead wrinkles (AU1+2), glabella lines (AU4), nose wrinkles (AU9).
        if g.act.browRaise > 0.05 && au < 0.5 {
            for i in 0..<3 {
                let yl = g.browInnerY - 0.13 - 0.06 * Double(i)
                let d = (v - yl) / 0.012
                sh *= 1 - 0.16 * g.act.browRaise * exp(-d * d) * clamp01((0.5 - au) / 0.15)
            }
        }
        if g.act.browLower > 0.05 && v > g.browInnerY - 0.06 && v < g.browInnerY + 0.12 {
            let d = (au - 0.04) / 0.011
            sh *= 1 - 0.28 * g.act.browLower * exp(-d * d)
        }
        if g.act.noseWrinkle > 0.05 && au < 0.12 {
            for i in 0..<3 {
                let d = (v - (g.ey + 0.03 + 0.045 * Double(i))) / 0.011
                sh *= 1 - 0.3 * g.act.noseWrinkle * exp(-d * d) * clamp01((0.12 - au) / 0.04)
            }
        }
        return sh
    }

    /// Nostrils, brows and eyes over the face's skin colour `fc`.
    @inline(__always)
    static func paintFeatures(_ fc: inout RGB, u: Double, v: Double, g: FaceGeometry, px: Double, skin: RGB, brow: RGB, side: Double) {
        let id = g.id
        let au = abs(u)
        let du = au - g.ex
        // Nostrils.
        let nu = (au - 0.075) / g.nostrilRX, nv = (v - g.noseY) / 0.024
        let nr = (nu * nu + nv * nv).squareRoot()
        if nr < 1.5 { paint(&fc, skin.scaled(0.22), 0.9 * clamp01((1 - nr) * 0.024 / px + 0.5)) }

        // Brows.
        if au > g.browInnerX - 0.06 && au < g.browOuterX + 0.06 && v > g.browInnerY - 0.25 && v < g.browOuterY + 0.2 {
            let span = g.browOuterX - g.browInnerX
            let t = (au - g.browInnerX) / span
            let tc = clamp01(t)
            let yc = g.browInnerY + (g.browOuterY - g.browInnerY) * tc - g.browArch * 4 * tc * (1 - tc)
            let th = id.browThickness * (1 - 0.35 * tc)
            var d = abs(v - yc) - th / 2
            if t < 0 { d = max(d, -t * span) } else if t > 1 { d = max(d, (t - 1) * span) }
            paint(&fc, brow, 0.92 * clamp01(-d / px + 0.5))
        }

        // Eyes: almond between the upper and lower lid curves.
        let tE = (du - g.irisX * 0) / g.ew
        if abs(tE) < 1.15 && abs(v - g.ey) < 0.2 {
            let p = max(0, 1 - tE * tE)
            let yu = g.ey - g.upperOpen * p
            let yl = g.ey + g.lowerOpen * pow(p, 0.8)
            let inside = clamp01((v - yu) / px + 0.5) * clamp01((yl - v) / px + 0.5) * clamp01((1 - abs(tE)) * g.ew / px + 0.5)
            if inside > 0 {
                // Mirror gaze for the left eye so both irises look the same way.
                let ix = (u < 0 ? -1.0 : 1.0) * du - g.irisX
                let iy = v - (g.ey + g.irisY)
                let ir = (ix * ix + iy * iy).squareRoot()
                // The eyeball sits in the socket's shadow: its white is dimmer than paper
                // white and never far above the skin's own level (else dark-skinned faces
                // get bright eye bands, the opposite of the Haar eye feature).
                var eye = RGB(0.86, 0.84, 0.82).scaled(min(0.7, 0.28 + 0.6 * skin.luma) * side)
                let irisR = 0.066
                if ir < irisR + px { eye = RGB.mix(eye, id.iris.scaled(side), clamp01((irisR - ir) / px + 0.5)) }
                if ir < 0.026 + px { eye = RGB.mix(eye, RGB(0.03, 0.03, 0.03), clamp01((0.026 - ir) / px + 0.5)) }
                // Shadow of the upper lid on the eyeball.
                eye = eye.scaled(1 - 0.5 * clamp01(1 - (v - yu) / 0.045))
                paint(&fc, eye, inside)
            }
            // Lash line along the upper lid and a fainter lower lid line.
            if abs(tE) < 1.08 {
                let dl = abs(v - (yu - 0.006)) - 0.013
                paint(&fc, RGB(0.07, 0.05, 0.05), 0.9 * clamp01(-dl / px + 0.5) * clamp01((1.08 - abs(tE)) * 4))
                let dl2 = abs(v - (yl + 0.004)) - 0.005
                paint(&fc, skin.scaled(0.45), 0.5 * clamp01(-dl2 / px + 0.5) * clamp01((1 - abs(tE)) * 4))
            }
        }
    }

    /// The mouth (lips, opening with teeth, line and corners) over `fc`; `sh` is the skin's shading there.
    @inline(__always)
    static func paintMouth(_ fc: inout RGB, u: Double, v: Double, g: FaceGeometry, px: Double, skin: RGB, sh: Double, side: Double) {
        let id = g.id
        let au = abs(u)
        // Mouth.
        let tm = u / g.mouthW
        if abs(tm) < 1.1 && abs(v - g.mouthY) < 0.35 {
            let p = (max(0, 1 - tm * tm)).squareRoot()
            let mid = g.mouthY - g.cornerLift * tm * tm
            let innerU = mid - g.gap * p - g.upperRaise * p * p
            let outerU = innerU - g.upperLip * pow(p, 0.7) - 0.004
            let innerL = mid + g.gap * p
            let outerL = innerL + g.lowerLip * pow(p, 0.7) + 0.004
            let hcov = clamp01((1 - abs(tm)) * g.mouthW / px + 0.5)
            // Lips.
            let lipCover = clamp01((v - outerU) / px + 0.5) * clamp01((outerL - v) / px + 0.5) * hcov
            if lipCover > 0 { paint(&fc, id.lip.scaled(sh * (v < mid ? 0.92 : 1.05)), lipCover) }
            // Opening: teeth at the top, dark cavity below.
            let open = clamp01((v - innerU) / px + 0.5) * clamp01((innerL - v) / px + 0.5) * hcov
            if open > 0 && innerL - innerU > 0.002 {
                let teethBottom = innerU + min(0.05, 0.55 * (innerL - innerU))
                let cavity = RGB(0.12, 0.05, 0.05)
                let teeth = RGB(0.88, 0.86, 0.80).scaled(0.9 * side)
                paint(&fc, RGB.mix(cavity, teeth, clamp01((teethBottom - v) / px + 0.5) * (g.gap > 0.01 || g.upperRaise > 0.01 ? 1 : 0)), open)
            }
            // Mouth line and corners.
            let ml = abs(v - mid) - 0.006
            paint(&fc, skin.scaled(0.3), 0.8 * clamp01(-ml / px + 0.5) * hcov)
            let cd = gauss((au - g.mouthW) / 0.03, (v - (mid - g.cornerLift)) / 0.03)
            paint(&fc, skin.scaled(0.45), 0.5 * cd)
        }
    }
}
