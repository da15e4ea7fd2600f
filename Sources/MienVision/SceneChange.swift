/// A coarse picture of a frame, for telling whether anything changed *outside* the faces already
/// being followed — the only place a new face can come from.
///
/// A full-frame Haar scan costs ~10–20 ms on a 320-px copy; this costs ~0.1 ms (one block-average
/// downscale to about `longSide` pixels and a pass over its cells). `FaceFollower` compares the frame at
/// each keyframe with the frame of the last full scan and skips the scan when no cell outside the
/// followed faces changed: a static interview background costs nothing, while a cut, a pan or a
/// person walking in changes cells and gets scanned at once.
///
/// A cell is `cellSide × cellSide` thumbnail pixels; it counts as changed when the mean of its
/// absolute pixel differences, after compensating a global exposure gain, exceeds `threshold`
/// grey levels. Averaging over the downscale and the cell keeps sensor noise and compression
/// flicker (a few grey levels per pixel) well below it.
struct SceneThumbnail {
    /// Thumbnail's longer side in pixels, at least (a frame smaller than this is compared at
    /// full size).
    static let longSide = 96
    /// Cell side in thumbnail pixels.
    static let cellSide = 4

    let width: Int
    let height: Int
    let pixels: [UInt8]
    /// Frame pixels per thumbnail pixel, horizontally and vertically.
    let scaleX: Float
    let scaleY: Float

    init(_ image: GrayImage) throws {
        // A whole number of frame pixels per thumbnail pixel (`GrayImage.blockAveraged`): the
        // thumbnail's longer side is `longSide`…2·`longSide` − 1 pixels (106 for 640 px).
        let factor = max(1, max(image.width, image.height) / Self.longSide)
        let small = try image.blockAveraged(by: factor)
        width = small.width
        height = small.height
        pixels = small.pixels
        scaleX = Float(factor)
        scaleY = Float(factor)
    }

    /// Whether some cell that no box of `masks` (frame pixels) touches differs from `other`'s by
    /// more than `threshold` grey levels on average. A different size counts as changed.
    func changed(from other: SceneThumbnail, outside masks: [FaceBox], threshold: Float) -> Bool {
        guard other.width == width, other.height == height else { return true }
        let side = Self.cellSide
        // Masked thumbnail pixels: every pixel a (grown) face box overlaps.
        var masked = [Bool](repeating: false, count: width * height)
        for b in masks {
            let x0 = max(0, Int((b.x / scaleX).rounded(.down))), y0 = max(0, Int((b.y / scaleY).rounded(.down)))
            let x1 = min(width, Int(((b.x + b.width) / scaleX).rounded(.up)))
            let y1 = min(height, Int(((b.y + b.height) / scaleY).rounded(.up)))
            guard x1 > x0, y1 > y0 else { continue }
            for y in y0..<y1 { for x in x0..<x1 { masked[y * width + x] = true } }
        }
        // Exposure: cameras (and the synthetic generator) meter on the faces, so a changing face
        // brightens or darkens the whole picture. Compare against the old thumbnail scaled by the
        // least-squares gain over the unmasked pixels, so that a global gain is not a change.
        var cross = 0.0, square = 0.0
        for i in 0..<pixels.count where !masked[i] {
            let a = Double(pixels[i]), b = Double(other.pixels[i])
            cross += a * b
            square += b * b
        }
        let gain = square > 0 ? Float(min(4, max(0.25, cross / square))) : 1
        let limit = threshold
        for cy in stride(from: 0, to: height, by: side) {
            for cx in stride(from: 0, to: width, by: side) {
                var sum: Float = 0, count = 0, touched = false
                for y in cy..<min(height, cy + side) {
                    for x in cx..<min(width, cx + side) {
                        let i = y * width + x
                        if masked[i] { touched = true; break }
                        sum += abs(Float(pixels[i]) - gain * Float(other.pixels[i]))
                        count += 1
                    }
                    if touched { break }
                }
                if !touched, count > 0, sum / Float(count) > limit { return true }
            }
        }
        return false
    }
}
