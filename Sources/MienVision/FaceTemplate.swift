import CMienVision

/// A face's appearance where it was last detected, for following it between detections by
/// normalised cross-correlation (`FollowMethod.template`).
///
/// The template is the inner part of the detected box (the box less `inset` of its side on every
/// side: the detector's box holds background at its edges, which does not move with the face),
/// averaged over blocks of `factor`² pixels so that its longer side is about `side` pixels.
/// Following matches it in a region around the face's current box at the same scale: tens of
/// microseconds of `matchTemplate` on a ~40-px patch, where a Haar search of the same region costs
/// ~1 ms. The correlation is invariant
/// to brightness and contrast (an exposure change does not lose the face); a face that turns away,
/// is covered or leaves the region scores low and is dropped. The box keeps the detected size
/// (faces do not change size noticeably in the few frames between detections; the next detection
/// measures it again).
struct FaceTemplate {
    let pixels: [UInt8]
    let width: Int
    let height: Int
    /// Image pixels per template pixel (the template is the image averaged over factor × factor
    /// blocks).
    let factor: Int
    /// The template's top-left corner relative to the face box's, in image pixels.
    let offsetX: Float
    let offsetY: Float
    /// The face box where the template was cut.
    let cutBox: FaceBox
    /// The smallest template side (pixels) that still correlates reliably.
    static let minimumSide = 8
    /// The smallest pixel variance (grey levels²) of a template worth matching.
    static let minimumVariance = 4

    /// Cuts the template of the face in `box` of `image`; nil when too little of the box lies in
    /// the image.
    init?(image: GrayImage, box: FaceBox, side: Int, inset: Float) throws {
        let dx = box.width * inset, dy = box.height * inset
        let x0 = max(0, Int((box.x + dx).rounded())), y0 = max(0, Int((box.y + dy).rounded()))
        let x1 = min(image.width, Int((box.x + box.width - dx).rounded()))
        let y1 = min(image.height, Int((box.y + box.height - dy).rounded()))
        // An integer downscale factor (never upscale): the search region is cut on the same
        // pixel grid, so the face where it was matches its template exactly, not through two
        // differently phased resamplings.
        let factor = max(1, Int((Float(max(x1 - x0, y1 - y0)) / Float(side)).rounded()))
        let tw = (x1 - x0) / factor, th = (y1 - y0) / factor
        guard tw >= Self.minimumSide, th >= Self.minimumSide else { return nil }
        var out = [UInt8](repeating: 0, count: tw * th)
        try image.pixels.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                try checked(path: nil) { err, len in
                    mien_template_cut(src.baseAddress, Int32(image.width), Int32(image.height), image.width,
                                      Int32(x0), Int32(y0), Int32(tw * factor), Int32(th * factor), Int32(tw), Int32(th),
                                      dst.baseAddress, err, len)
                }
            }
        }
        // A template without texture correlates with nothing in particular (OpenCV scores a
        // zero-variance template 0 or ±1 anywhere): such a face is followed by the cascade.
        let mean = out.reduce(0) { $0 + Int($1) } / out.count
        let variance = out.reduce(0) { $0 + (Int($1) - mean) * (Int($1) - mean) } / out.count
        guard variance >= Self.minimumVariance else { return nil }
        pixels = out
        width = tw
        height = th
        self.factor = factor
        offsetX = Float(x0) - box.x
        offsetY = Float(y0) - box.y
        cutBox = box
    }

    /// How far `box` lies from the box the template was cut from: the larger of the horizontal
    /// and vertical offsets, in units of that box's longer side.
    func drift(to box: FaceBox) -> Float {
        max(abs(box.x - cutBox.x), abs(box.y - cutBox.y)) / max(cutBox.width, cutBox.height, 1)
    }

    /// The best match within `margin` × the box's side around `box` (the face's current box) in
    /// `image`: the box moved there (keeping this template's box size, and `box`'s score) and the
    /// correlation, or nil when the search region does not hold the template (the face left the
    /// picture).
    func find(in image: GrayImage, around box: FaceBox, margin: Float) throws -> (box: FaceBox, score: Float)? {
        // The region: where the template would be if the face had not moved, grown by the
        // margin, on the template's pixel grid (origin and size in whole blocks of `factor`).
        let k = factor
        let blocks = Int((max(cutBox.width, cutBox.height) * margin / Float(k)).rounded(.up))
        let ex = Int((box.x + offsetX).rounded()), ey = Int((box.y + offsetY).rounded())
        var x0 = ex - blocks * k, y0 = ey - blocks * k
        if x0 < 0 { x0 += (-x0 + k - 1) / k * k }
        if y0 < 0 { y0 += (-y0 + k - 1) / k * k }
        let sw = (min(image.width, ex + (width + blocks) * k) - x0) / k
        let sh = (min(image.height, ey + (height + blocks) * k) - y0) / k
        guard sw >= width, sh >= height else { return nil }
        var bx: Float = 0, by: Float = 0, score: Float = -1
        try image.pixels.withUnsafeBufferPointer { src in
            try pixels.withUnsafeBufferPointer { t in
                try checked(path: nil) { err, len in
                    mien_template_find(src.baseAddress, Int32(image.width), Int32(image.height), image.width,
                                       Int32(x0), Int32(y0), Int32(sw * k), Int32(sh * k), Int32(sw), Int32(sh),
                                       t.baseAddress, Int32(width), Int32(height), &bx, &by, &score, err, len)
                }
            }
        }
        let x = Float(x0) + bx * Float(k), y = Float(y0) + by * Float(k)
        return (FaceBox(x: x - offsetX, y: y - offsetY, width: cutBox.width, height: cutBox.height, score: box.score), score)
    }
}
