import Foundation
import MienCore

/// Image operations on square gray images held as Float pixel values in [0, 255], row-major
/// (`side × side`). Hand-written rather than called through OpenCV so that training stays in
/// pure Swift, bit-reproducible from a seed on any machine (OpenCV's warp quantises coordinates
/// to 1/32 pixel in SIMD paths that differ by CPU); `Tests/MienTrainingTests` checks them
/// against OpenCV's `warpAffine` (INTER_LINEAR, BORDER_REPLICATE) within a stated tolerance.
public enum ImageOps {
    /// Bilinear warp through the forward affine map `m` (2×3, source → destination, pixel
    /// centres at integer coordinates, the convention of OpenCV's `warpAffine`); pixels that
    /// fall outside the source take the nearest edge pixel (OpenCV `BORDER_REPLICATE`, Keras
    /// `fill_mode="nearest"`).
    public static func affineWarp(_ src: [Float], side: Int, forward m: [Double]) -> [Float] {
        precondition(src.count == side * side && m.count == 6, "affineWarp needs side² pixels and a 2×3 map")
        // Invert [a b; c d] and the translation.
        let det = m[0] * m[4] - m[1] * m[3]
        precondition(det != 0, "affine map is singular")
        let ia = m[4] / det, ib = -m[1] / det, ic = -m[3] / det, id = m[0] / det
        let itx = -(ia * m[2] + ib * m[5]), ity = -(ic * m[2] + id * m[5])
        var out = [Float](repeating: 0, count: side * side)
        let last = side - 1
        for y in 0..<side {
            for x in 0..<side {
                let sx = ia * Double(x) + ib * Double(y) + itx
                let sy = ic * Double(x) + id * Double(y) + ity
                let x0f = sx.rounded(.down), y0f = sy.rounded(.down)
                let fx = Float(sx - x0f), fy = Float(sy - y0f)
                let x0 = Int(max(-1, min(Double(side), x0f))), y0 = Int(max(-1, min(Double(side), y0f)))
                let xa = min(max(x0, 0), last), xb = min(max(x0 + 1, 0), last)
                let ya = min(max(y0, 0), last), yb = min(max(y0 + 1, 0), last)
                let top = src[ya * side + xa] * (1 - fx) + src[ya * side + xb] * fx
                let bottom = src[yb * side + xa] * (1 - fx) + src[yb * side + xb] * fx
                out[y * side + x] = top * (1 - fy) + bottom * fy
            }
        }
        return out
    }

    /// The forward map that rotates by `degrees` (counter-clockwise on screen, like OpenCV's
    /// `getRotationMatrix2D`) and scales by `scale` about the image centre.
    public static func rotationZoom(degrees: Double, scale: Double, side: Int) -> [Double] {
        let c = Double(side - 1) / 2
        let r = degrees * Double.pi / 180
        let a = scale * cos(r), b = scale * sin(r)
        return [a, b, (1 - a) * c - b * c, -b, a, b * c + (1 - a) * c]
    }

    /// Mirror left–right.
    /// Horizontal box blur of `width` pixels (odd), edges replicated: motion blur of a head turning.
    public static func horizontalBoxBlur(_ src: [Float], side: Int, width: Int) -> [Float] {
        let r = width / 2
        var out = src
        for y in 0..<side {
            let row = y * side
            for x in 0..<side {
                var sum: Float = 0
                for k in -r...r { sum += src[row + min(side - 1, max(0, x + k))] }
                out[row + x] = sum / Float(2 * r + 1)
            }
        }
        return out
    }

    public static func flipHorizontal(_ src: [Float], side: Int) -> [Float] {
        var out = src
        for y in 0..<side { for x in 0..<side { out[y * side + x] = src[y * side + side - 1 - x] } }
        return out
    }

    /// `clamp((x − mean)·contrast + mean + brightness, 0, 255)` with `mean` the image mean
    /// (the contrast adjustment of `tf.image.adjust_contrast`, then a brightness shift in gray levels).
    public static func brightnessContrast(_ src: [Float], brightness: Float, contrast: Float) -> [Float] {
        var sum = 0.0
        for v in src { sum += Double(v) }
        let mean = Float(sum / Double(max(src.count, 1)))
        return src.map { min(255, max(0, ($0 - mean) * contrast + mean + brightness)) }
    }
}

/// Seeded training-time augmentation of 64×64 gray face crops: random rotation, horizontal
/// flip, zoom, brightness and contrast (each optional). Rotation and zoom are one bilinear warp.
public struct Augmentation: Sendable, Equatable, CustomStringConvertible {
    /// Largest rotation either way, degrees (0 = off).
    public var rotationDegrees: Double = 0
    /// Mirror half the images left–right.
    public var flip = false
    /// Largest zoom either way as a fraction: scale is uniform in [1 − zoom, 1 + zoom] (0 = off).
    public var zoom: Double = 0
    /// Largest brightness shift either way, gray levels (0 = off).
    public var brightness: Float = 0
    /// Largest contrast change either way as a fraction: factor in [1 − c, 1 + c] (0 = off).
    public var contrast: Float = 0
    /// Largest shift as a fraction of the side, each axis (0: none).
    public var shift: Double = 0
    /// Probability of erasing one random rectangle (2–20 % of the image, aspect 0.3–3.3) with
    /// random gray noise (Zhong et al. 2020, random erasing); 0: never.
    public var erasing: Double = 0

    public init() {}

    /// The operations named in a comma-separated list (`rotation,flip,zoom,brightness,contrast`)
    /// at the magnitudes of the mini-Xception's original training script (rotation ±10°, zoom
    /// ±10 %, horizontal flip) plus brightness ±25 gray levels and contrast ±20 %. An empty
    /// list or `none` turns augmentation off.
    public static func parse(_ list: String) throws -> Augmentation {
        var a = Augmentation()
        for raw in list.split(separator: ",") {
            switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
            case "rotation": a.rotationDegrees = 10
            case "flip": a.flip = true
            case "zoom": a.zoom = 0.1
            case "brightness": a.brightness = 25
            case "contrast": a.contrast = 0.2
            case "shift": a.shift = 0.1
            case "erasing": a.erasing = 0.5
            case "none", "": break
            case let other:
                throw TrainingError("unknown augmentation \"\(other)\": choose from rotation, flip, zoom, brightness, contrast, shift, erasing (comma-separated) or none")
            }
        }
        return a
    }

    public var isIdentity: Bool { rotationDegrees == 0 && !flip && zoom == 0 && brightness == 0 && contrast == 0 && shift == 0 && erasing == 0 }

    public var description: String {
        var parts: [String] = []
        if rotationDegrees > 0 { parts.append("rotation ±\(rotationDegrees)°") }
        if flip { parts.append("flip") }
        if zoom > 0 { parts.append("zoom ±\(Int(zoom * 100)) %") }
        if brightness > 0 { parts.append("brightness ±\(brightness)") }
        if contrast > 0 { parts.append("contrast ±\(Int(contrast * 100)) %") }
        if shift > 0 { parts.append("shift ±\(Int(shift * 100)) %") }
        if erasing > 0 { parts.append("erasing p \(erasing)") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    /// Augments one image (pixel values in [0, 255]). Draws exactly five numbers from `rng`
    /// whatever is enabled, so the stream stays aligned when options change.
    public func apply(_ image: [Float], side: Int, rng: inout SplitMix64) -> [Float] {
        func unit() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }   // [0, 1)
        let uRot = unit(), uFlip = unit(), uZoom = unit(), uBright = unit(), uContrast = unit()
        // Draws of the later augmentations come after the first five, and only when enabled, so
        // a run without them draws exactly what it did before they existed.
        let uShiftX = shift > 0 ? unit() : 0.5, uShiftY = shift > 0 ? unit() : 0.5
        var x = image
        if rotationDegrees > 0 || zoom > 0 || shift > 0 {
            let deg = (2 * uRot - 1) * rotationDegrees
            let scale = 1 + (2 * uZoom - 1) * zoom
            var m = ImageOps.rotationZoom(degrees: deg, scale: scale, side: side)
            m[2] += (2 * uShiftX - 1) * shift * Double(side)
            m[5] += (2 * uShiftY - 1) * shift * Double(side)
            x = ImageOps.affineWarp(x, side: side, forward: m)
        }
        if flip && uFlip < 0.5 { x = ImageOps.flipHorizontal(x, side: side) }
        if brightness > 0 || contrast > 0 {
            x = ImageOps.brightnessContrast(x, brightness: Float(2 * uBright - 1) * brightness,
                                            contrast: 1 + Float(2 * uContrast - 1) * contrast)
        }
        if erasing > 0 && unit() < erasing {
            let area = (0.02 + 0.18 * unit()) * Double(side * side)
            let aspect = exp(log(0.3) + (log(3.3) - log(0.3)) * unit())
            let h = min(side, max(1, Int((area * aspect).squareRoot()))), w = min(side, max(1, Int((area / aspect).squareRoot())))
            let top = Int(unit() * Double(side - h + 1)), left = Int(unit() * Double(side - w + 1))
            for yy in top..<(top + h) { for xx in left..<(left + w) { x[yy * side + xx] = Float(unit() * 255) } }
        }
        return x
    }
}
