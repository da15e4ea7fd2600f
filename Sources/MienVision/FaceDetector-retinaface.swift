/// `FaceDetector`'s `.retinaface` backend: full-frame scans at the scale `minSize` asks for, and
/// the follower's searches around a face's last box.
extension FaceDetector {
    /// Longest side of the network input for a still scanned at full resolution; larger photos
    /// are scaled down to it (a 16-Mpixel photo takes ~2 s at full size on one core).
    static let retinaMaxInputSide = 4096

    /// Network input side of a follower search region: the region (the last box grown by 30 %
    /// on every side, `DetectionSchedule.searchMargin`) is scaled to fit it, so the face is ~40 px
    /// at the network's input. One fixed shape keeps cv::dnn from re-planning; 64 px costs ~1 ms,
    /// against ~3.8 ms at 128 (docs/BENCHMARKS.md, "Face detectors on real frames").
    static let retinaSearchInput = 64

    /// Face probability a box found by a search needs: the region around the last box is a
    /// strong prior, and a face cut by the region's edges or turning away scores lower there.
    static let retinaSearchThreshold: Float = 0.5

    /// The whole image: at full resolution (`fullResolution`, stills), else scaled so that a face of
    /// `minSize` px is `RetinaFace.workingFaceSide` px (never enlarged; at most `maxSide` on the
    /// longer side when that is set). Boxes in Haar's framing, smaller than `minSize` dropped
    /// (unless at full resolution), best first, each with the network's five landmarks.
    func retinaDetect(_ retina: RetinaFace, _ image: GrayImage, fullResolution: Bool) throws -> [Found] {
        let longer = Double(max(image.width, image.height))
        var scale = 1.0
        if !fullResolution {
            scale = min(1, Double(RetinaFace.workingFaceSide) / Double(max(1, options.minSize)))
            if options.maxSide > 0 { scale = min(scale, Double(options.maxSide) / longer) }
        }
        scale = min(scale, Double(Self.retinaMaxInputSide) / longer)
        let whole = RetinaFace.Region(x: 0, y: 0, width: image.width, height: image.height)
        var faces = try retina.detect(image, region: whole, scale: scale, threshold: options.minFaceProbability)
            .map { Found(box: try haarFramed($0.box, in: image), landmarks: $0.landmarks) }
        if !fullResolution { faces += try confirmedProposals(retina, image, scale: scale, besides: faces) }
        return faces.filter { f in
            (fullResolution || f.box.width + 0.5 >= Float(options.minSize)) && (options.maxSize == 0 || f.box.width - 0.5 <= Float(options.maxSize))
        }
    }

    /// Longer side of the copy the Haar cascade proposes faces on (`confirmedProposals`): the copy
    /// `--detector haar` scans video on, so the faces of the proposals' sizes that Haar's scan
    /// finds are proposed.
    static let retinaProposalSide = 320

    /// Side, in network-input pixels, from which the network finds faces in cluttered frames
    /// reliably. Real faces pasted into photographs (docs/BENCHMARKS.md, "Faces pasted into
    /// photographs"), the faces the cascade proposed and the half-scale scan missed: confirmed on
    /// regions that put them at ~40 px, 38 of 50; at ~60 px, 50 of 50 (and at ~40 px with 1.5–2×
    /// the context around them, 42: the face's size at the input is what matters, not the context).
    static let retinaReliableSide: Double = 60

    /// Network input side of a proposal's confirmation: the region (the proposal grown by 30 %
    /// on every side, 1.6× its side) fitted to it puts the face at `retinaReliableSide` px. Its
    /// own copy of the network (slot 2): ~2.2 ms a region against the follower's 64-px ~1.1 ms.
    static let retinaConfirmInput = 96

    /// Faces the network's scan at `scale` sees under `retinaReliableSide` px (at a 640-px frame's
    /// half scale, 40–120 px), not among `besides`: the Haar cascade proposes them on a copy of
    /// `retinaProposalSide` px with the scan's step and neighbours (the pyramid levels of those
    /// sizes, ~1–2 ms), and the network confirms each on the region around it scaled so that the
    /// face is `retinaReliableSide` px (`retinaConfirmInput`, at `retinaSearchThreshold`; ~2 ms,
    /// only for faces the scan did not find). A confirmed face keeps the cascade's box (Haar's
    /// framing) with the network's probability and landmarks. On the canvas video of the
    /// detection check: the scan alone 127 of 200 faces, with these proposals 177 (Haar 176), no
    /// false box (docs/BENCHMARKS.md).
    func confirmedProposals(_ retina: RetinaFace, _ image: GrayImage, scale: Double, besides: [Found]) throws -> [Found] {
        let small = Self.retinaReliableSide / scale
        guard Double(options.minSize) < small else { return [] }
        var p = params
        p.max_side = Int32(Self.retinaProposalSide)
        p.max_size = Int32(small.rounded(.up))
        if options.maxSize > 0 { p.max_size = min(p.max_size, Int32(options.maxSize)) }
        let proposals = try image.pixels.withUnsafeBufferPointer { buf in
            try detect(gray: buf.baseAddress!, width: image.width, height: image.height, rowBytes: image.width, params: p)
        }
        var out: [Found] = []
        for h in proposals where Self.isAnotherFace(h, besides: (besides + out).map(\.box)) {
            let m = max(h.width, h.height) * 0.3
            let region = FaceBox(x: h.x - m, y: h.y - m, width: h.width + 2 * m, height: h.height + 2 * m)
            let found = try retinaRegion(retina, image, region, minSide: 1, input: Self.retinaConfirmInput, slot: 2)
            guard let best = found.max(by: { RetinaFace.haarFramed($0.box).iou(h) < RetinaFace.haarFramed($1.box).iou(h) }),
                  RetinaFace.haarFramed(best.box).iou(h) > 0.3 else { continue }
            out.append(Found(box: FaceBox(x: h.x, y: h.y, width: h.width, height: h.height, score: best.box.score), landmarks: best.landmarks))
        }
        return out
    }

    /// Whether the cascade's `proposal` is a face not among `found`: not the same face (IoU > 0.3)
    /// and not mostly (> half its area) inside one — the cascade's box on part of a large face,
    /// which the network, shown the region around it, confirms as that face (a 92-px box inside a
    /// 173-px face on the canvas video: IoU 0.28).
    static func isAnotherFace(_ proposal: FaceBox, besides found: [FaceBox]) -> Bool {
        !found.contains { $0.iou(proposal) > 0.3 || proposal.fractionInside($0) > 0.5 }
    }

    /// The box the Haar cascade gives the face RetinaFace found at `box`: its search around the
    /// face (±30 %, sizes 0.75–1.33×, 3 neighbours, as the follower's keyframe search) — the box
    /// overlapping most, with RetinaFace's probability as score — or, where the cascade finds
    /// nothing (profiles, tilted heads), `RetinaFace.haarFramed`. The CNNs were trained on
    /// Haar-framed crops; on CREMA-D a calibrated RetinaFace box alone moved the CNN's accuracy by
    /// −2 and +6 points for two bundles (docs/BENCHMARKS.md, "Face detectors on real frames").
    func haarFramed(_ box: FaceBox, in image: GrayImage) throws -> FaceBox {
        let framed = RetinaFace.haarFramed(box)
        let side = framed.width, m = side * 0.3
        let region = FaceBox(x: framed.x - m, y: framed.y - m, width: side + 2 * m, height: side + 2 * m)
        let sizes = max(1, Int((side * 0.75).rounded(.down)))...max(1, Int((side * 1.33).rounded(.up)))
        let found = try cascadeSearch(image, in: region, sizes: sizes, workingFaceSide: 24, minNeighbors: 3, scaleFactor: 1.1)
        guard let best = found.max(by: { $0.iou(framed) < $1.iou(framed) }), best.iou(framed) > 0.3 else { return framed }
        return FaceBox(x: best.x, y: best.y, width: best.width, height: best.height, score: box.score)
    }

    /// Faces of side `sizes` (Haar framing, pixels of `image`) inside `region`: the Haar cascade's
    /// search first (~1 ms: the follower's search as with `.haar`), and where it finds nothing,
    /// RetinaFace on the region scaled to fit `retinaSearchInput` (at most 2× enlarged; the
    /// network's second slot), its boxes in `RetinaFace.haarFramed`.
    func retinaSearch(_ retina: RetinaFace, _ image: GrayImage, in region: FaceBox, sizes: ClosedRange<Int>, workingFaceSide: Int,
                      minNeighbors: Int?, scaleFactor: Double?) throws -> [FaceBox] {
        let cascade = try cascadeSearch(image, in: region, sizes: sizes, workingFaceSide: workingFaceSide,
                                        minNeighbors: minNeighbors, scaleFactor: scaleFactor)
        if !cascade.isEmpty { return cascade }
        return try retinaRegion(retina, image, region, minSide: max(1, sizes.lowerBound / 2)).map { RetinaFace.haarFramed($0.box) }
            .filter { $0.width + 0.5 >= Float(sizes.lowerBound) && $0.width - 0.5 <= Float(sizes.upperBound) }
    }

    /// RetinaFace's faces in `region` (clipped to `image`; nothing when the clipped region is
    /// narrower or lower than `minSide`) scaled to fit `input` (at most 2× enlarged; by default
    /// the follower's `retinaSearchInput` in the network's second slot) at the search threshold;
    /// boxes as the network drew them.
    private func retinaRegion(_ retina: RetinaFace, _ image: GrayImage, _ region: FaceBox, minSide: Int,
                              input: Int = FaceDetector.retinaSearchInput, slot: Int = 1) throws -> [RetinaFaceDetection] {
        let x0 = max(0, Int(region.x.rounded(.down))), y0 = max(0, Int(region.y.rounded(.down)))
        let x1 = min(image.width, Int((region.x + region.width).rounded(.up)))
        let y1 = min(image.height, Int((region.y + region.height).rounded(.up)))
        guard x1 - x0 >= max(1, minSide), y1 - y0 >= max(1, minSide) else { return [] }
        let scale = min(2, Double(input) / Double(max(x1 - x0, y1 - y0)))
        return try retina.detect(image, region: RetinaFace.Region(x: x0, y: y0, width: x1 - x0, height: y1 - y0), scale: scale,
                                 threshold: min(options.minFaceProbability, Self.retinaSearchThreshold), slot: slot,
                                 minInput: (input, input))
    }

    /// `.retinaface` only: RetinaFace's five landmarks (`RetinaFaceDetection`) of the face in `box`
    /// (any framing; pixels of `image`), for a face whose box the cascade drew: the network run on
    /// the box grown by 30 % on every side, as a follower search (~1 ms), its face that overlaps
    /// `box` most in Haar's framing (IoU > 0.3). Nil when it finds no such face, or for another
    /// backend.
    public func retinaLandmarks(_ image: GrayImage, box: FaceBox) throws -> [Point]? {
        guard let retina else { return nil }
        let m = max(box.width, box.height) * 0.3
        let region = FaceBox(x: box.x - m, y: box.y - m, width: box.width + 2 * m, height: box.height + 2 * m)
        let found = try retinaRegion(retina, image, region, minSide: 1)
        guard let best = found.max(by: { RetinaFace.haarFramed($0.box).iou(box) < RetinaFace.haarFramed($1.box).iou(box) }),
              RetinaFace.haarFramed(best.box).iou(box) > 0.3 else { return nil }
        return best.landmarks
    }
}
