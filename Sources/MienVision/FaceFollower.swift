/// When full-frame detection runs, and how faces are followed between full detections.
///
/// Full-frame Haar detection costs 25–40 ms on a 640×480 frame (docs/BENCHMARKS.md, "Vision"),
/// ~100× the rest of a frame's work. Between full detections ("keyframes") each face is found
/// again near its last box: by matching its appearance at the last keyframe (`FaceTemplate`,
/// tens of µs; `FollowMethod.template`, the default) or by the cascade searching a region around
/// the last box at sizes near its last size (≈ 1 ms; `.haar`). The match is checked (correlation,
/// and drift from where the cascade last saw the face); one that fails is decided by the cascade
/// search, and a face it does not find is dropped at once (never carried forward blindly), and
/// the next frame gets a full detection. A new face is found at the next keyframe when it changes
/// the picture (see below), and within `fullScanInterval` frames at worst.
///
/// Keyframes need not scan the whole frame: a new face can only come from a part of the picture
/// that changed. At a keyframe the frame is compared, cell by cell on a ~100-px thumbnail (a whole-number block average), with the
/// frame of the last full scan, outside the followed faces (`SceneThumbnail`); if nothing changed
/// there, the keyframe only re-finds the followed faces (the search) and refreshes their
/// landmarks. A full scan still runs at least every `fullScanInterval` frames, so a face the
/// detector missed in a static scene is looked for again within that bound.
///
/// Landmarks (dlib's shape-predictor models, evaluated by `Landmarker`'s flat evaluator: ≈ 0.4 ms
/// per face with the 5-point model and 1.3 ms with the 68-point one when the model is not in the
/// caches, as between frames; dlib's own evaluation took 1.5 and 3 ms) can be measured on
/// every frame or only on keyframes (`landmarksEveryFrame` false): between keyframes a followed
/// face's landmarks are its previous ones moved and scaled with its box, so the aligned crop keeps
/// the keyframe's head roll for at most `keyframeInterval − 1` frames. With RetinaFace's landmarks
/// (`LandmarkSource.retinaface`) a full scan's faces keep the network's own, and a keyframe that
/// only re-finds its faces runs the network around each (`FaceDetector.retinaLandmarks`, ~1 ms).
public struct DetectionSchedule: Sendable, Equatable {
    /// Full-frame detection on every `keyframeInterval`-th frame of a run (1 = every frame,
    /// which is exactly `FacePipeline.process`).
    public var keyframeInterval: Int
    /// The search region is the last box grown by this fraction of its side on every side.
    public var searchMargin: Float
    /// Sides accepted in the search, relative to the last box's side.
    public var sizeRange: ClosedRange<Float>
    /// The search region is downscaled so that the smallest accepted face is about this many
    /// pixels (Haar's window is 24 px).
    public var workingFaceSide: Int
    /// Run the landmark model on followed frames too (else landmarks move with the box).
    public var landmarksEveryFrame: Bool
    /// Haar's merged-neighbour threshold in the search (the search region is a strong prior, so
    /// it can be lower than a full detection's).
    public var searchMinNeighbors: Int
    /// Merged-neighbour threshold of the search at a keyframe that skips its full scan: stricter
    /// than between keyframes, so that a search that latched onto something face-like (a turned
    /// head, hair) is dropped within one keyframe interval rather than followed until the next
    /// full scan.
    public var keyframeSearchMinNeighbors: Int
    /// Haar image-pyramid step of the search (independent of the full detection's, which can be
    /// coarser: the search refines the box on the next frame).
    public var searchScaleFactor: Double
    /// A keyframe scans the full frame only if the picture outside the followed faces changed
    /// since the last full scan, or this many frames have passed since it (≤ `keyframeInterval`:
    /// every keyframe scans).
    public var fullScanInterval: Int
    /// Mean absolute difference, in grey levels, of a thumbnail cell that counts as a change
    /// (0: every difference counts, i.e. every keyframe scans).
    public var sceneChangeThreshold: Float
    /// How a face is followed on the frames between keyframes.
    public var follow: FollowMethod
    /// `.template`: the template's longer side in pixels.
    public var templateSide: Int
    /// `.template`: the template is the box less this fraction of its side on every side.
    public var templateInset: Float
    /// `.template`: the lowest normalised cross-correlation (−1…1) that still counts as the same
    /// face; below it the face is dropped and the next frame is a keyframe.
    public var templateMinScore: Float

    /// Following a face between keyframes.
    public enum FollowMethod: String, Sendable, CaseIterable {
        /// Match the face's appearance at its last keyframe (`FaceTemplate`) around its last box:
        /// ~0.05 ms a face. Keyframes re-detect with the cascade, so a match is checked by the
        /// detector at least every `keyframeInterval` frames.
        case template
        /// Run the Haar cascade in a region around the last box at sizes near its size: ~1 ms a
        /// face, and every frame's box is the detector's.
        case haar
    }

    /// Defaults: keyframes every 5th frame (0.2 s at 25 fps), a full scan at least every 100th
    /// (4 s) and otherwise only when the picture changed outside the followed faces; at a keyframe
    /// without a full scan, a Haar search ±30 % around the last box for faces of 0.75–1.33× its
    /// side, at the Haar window's 24 px per face, with 3 merged neighbours; between keyframes the
    /// face's template (24 px, inset 15 %) matched ±30 % around the last box, dropped below a
    /// correlation of 0.6 (`.haar`: the search with 1 neighbour); landmarks on keyframes only.
    /// Chosen on synthetic video against detecting every full frame: docs/BENCHMARKS.md,
    /// "Detection schedule".
    public init(keyframeInterval: Int = 5, searchMargin: Float = 0.3, sizeRange: ClosedRange<Float> = 0.75...1.33,
                workingFaceSide: Int = 24, landmarksEveryFrame: Bool = false, searchMinNeighbors: Int = 1,
                keyframeSearchMinNeighbors: Int = 3, searchScaleFactor: Double = 1.1, fullScanInterval: Int = 100,
                sceneChangeThreshold: Float = 8, follow: FollowMethod = .template, templateSide: Int = 24,
                templateInset: Float = 0.15, templateMinScore: Float = 0.6) {
        self.keyframeInterval = keyframeInterval
        self.searchMargin = searchMargin
        self.sizeRange = sizeRange
        self.workingFaceSide = workingFaceSide
        self.landmarksEveryFrame = landmarksEveryFrame
        self.searchMinNeighbors = searchMinNeighbors
        self.keyframeSearchMinNeighbors = keyframeSearchMinNeighbors
        self.searchScaleFactor = searchScaleFactor
        self.fullScanInterval = fullScanInterval
        self.sceneChangeThreshold = sceneChangeThreshold
        self.follow = follow
        self.templateSide = templateSide
        self.templateInset = templateInset
        self.templateMinScore = templateMinScore
    }

    /// Detect on every frame: no following.
    public static let everyFrame = DetectionSchedule(keyframeInterval: 1)

    /// Whether a keyframe may skip its full scan when the scene did not change.
    var gatesScans: Bool { fullScanInterval > keyframeInterval && sceneChangeThreshold > 0 }

    func validate() throws {
        guard keyframeInterval >= 1 else {
            throw VisionError(.invalidArgument, path: nil, message: "keyframe interval must be ≥ 1, got \(keyframeInterval)")
        }
        guard searchMargin >= 0, sizeRange.lowerBound > 0, sizeRange.upperBound >= 1, sizeRange.lowerBound <= 1 else {
            throw VisionError(.invalidArgument, path: nil, message: "follow search: margin ≥ 0 and a size range around 1 needed")
        }
        guard fullScanInterval >= 1, sceneChangeThreshold >= 0, sceneChangeThreshold.isFinite else {
            throw VisionError(.invalidArgument, path: nil, message: "full-scan interval must be ≥ 1 and the scene-change threshold ≥ 0, got \(fullScanInterval), \(sceneChangeThreshold)")
        }
        guard searchScaleFactor > 1, searchScaleFactor <= 4 else {
            throw VisionError(.invalidArgument, path: nil, message: "follow search: scale factor must be in (1, 4], got \(searchScaleFactor)")
        }
        guard templateSide >= FaceTemplate.minimumSide, templateInset >= 0, templateInset < 0.4,
              templateMinScore > -1, templateMinScore <= 1 else {
            throw VisionError(.invalidArgument, path: nil, message: "follow template: side ≥ \(FaceTemplate.minimumSide) px, inset in [0, 0.4) and minimum score in (−1, 1] needed, got \(templateSide), \(templateInset), \(templateMinScore)")
        }
        guard workingFaceSide >= 24, searchMinNeighbors >= 0, keyframeSearchMinNeighbors >= 0 else {
            throw VisionError(.invalidArgument, path: nil, message: "follow search: face side ≥ 24 px (Haar's window) and min neighbours ≥ 0 needed, got \(workingFaceSide), \(searchMinNeighbors)")
        }
    }
}

/// Runs a `FacePipeline` over consecutive frames of one video with a `DetectionSchedule`:
/// full detection on keyframes, a checked search around each face's last box in between.
/// Holds per-run state; call `reset()` (or make a new follower) when frames stop being
/// consecutive (a new batch, a seek). Not thread-safe, like the pipeline it drives.
public final class FaceFollower {
    public let pipeline: FacePipeline
    public let schedule: DetectionSchedule
    /// A face of the previous frame: its box, landmarks and (`.template`) its appearance at the
    /// last keyframe.
    private struct Followed {
        var box: FaceBox
        var landmarks: [Point]
        var template: FaceTemplate?
    }
    private var followed: [Followed] = []
    private var sinceKeyframe = 0
    private var sinceScan = 0
    private var forceKeyframe = true
    /// The frame of the last full scan, for `DetectionSchedule.gatesScans`.
    private var scanned: SceneThumbnail?
    /// Followed faces at the last full scan (masked out of the change test with the current ones).
    private var scannedBoxes: [FaceBox] = []
    /// Frames that ran a full detection / were followed, since creation (for tests and benchmarks).
    public private(set) var keyframes = 0
    public private(set) var followedFrames = 0
    /// Keyframes whose full scan was skipped because nothing changed outside the followed faces
    /// (their faces were searched for and their landmarks refreshed).
    public private(set) var refreshes = 0
    /// Faces lost by the search (each caused a full detection on the next frame).
    public private(set) var losses = 0
    /// Template matches that failed their checks and fell back to the Haar search.
    public private(set) var fallbacks = 0

    public init(pipeline: FacePipeline, schedule: DetectionSchedule = DetectionSchedule()) throws {
        try schedule.validate()
        self.pipeline = pipeline
        self.schedule = schedule
    }

    /// Forgets the followed faces: the next frame runs a full detection.
    public func reset() {
        followed = []
        scanned = nil
        scannedBoxes = []
        forceKeyframe = true
    }

    /// Faces of the next frame of the run. A `still` (a photograph, a frame of a folder of
    /// images) is scanned whole at full resolution (`FaceDetector.detect(_:fullResolution:)`) and
    /// nothing is followed into or out of it: photographs of a folder need not show the same scene.
    public func process(_ image: GrayImage, frameIndex: Int = 0, timestamp: Double = 0, still: Bool = false) throws -> FrameFaces {
        if still {
            reset()
            keyframes += 1
            return try pipeline.process(image, frameIndex: frameIndex, timestamp: timestamp, fullResolution: true)
        }
        sinceScan += 1
        let keyframe = forceKeyframe || schedule.keyframeInterval == 1 || sinceKeyframe + 1 >= schedule.keyframeInterval
        if keyframe, case .scan(let thumbnail) = try keyframeKind(image) {
            let found = try pipeline.detector.detectFaces(image)
            sinceKeyframe = 0
            sinceScan = 0
            forceKeyframe = false
            keyframes += 1
            let faces = try remember(try pipeline.faces(in: image, boxes: found.map(\.box), knownLandmarks: pipeline.detectorLandmarks(found),
                                                        frameIndex: frameIndex, timestamp: timestamp),
                                     cutFrom: image)
            scanned = thumbnail
            scannedBoxes = faces.faces.map(\.box)
            return faces
        }
        let found = try follow(in: image, keyframe: keyframe)
        if keyframe {
            // Nothing new can have appeared: re-find the followed faces and measure their
            // landmarks afresh, as a full keyframe would.
            sinceKeyframe = 0
            refreshes += 1
        } else {
            sinceKeyframe += 1
            followedFrames += 1
        }
        // (A face without landmarks keeps none until the next keyframe: with dlib's model there
        // were none to measure, RetinaFace did not find its eyes.)
        let known: [[Point]?] = found.map { f in
            keyframe || schedule.landmarksEveryFrame ? nil : moved(f.previous.landmarks, from: f.previous.box, to: f.box)
        }
        let faces = try pipeline.faces(in: image, boxes: found.map(\.box), knownLandmarks: known,
                                       frameIndex: frameIndex, timestamp: timestamp)
        // A keyframe cuts new templates from the faces the cascade confirmed; in between each
        // face keeps its keyframe's template (matched against that, the box cannot drift), or the
        // one cut where the cascade re-found it after a failed match.
        return try remember(faces, cutFrom: keyframe ? image : nil,
                            templates: keyframe ? [] : found.map { ($0.box, $0.template) })
    }

    private enum KeyframeKind {
        /// Scan the full frame; remember this thumbnail of it (nil when scans are not gated).
        case scan(SceneThumbnail?)
        /// Nothing changed outside the followed faces: search for them and refresh landmarks.
        case refresh
    }

    private func keyframeKind(_ image: GrayImage) throws -> KeyframeKind {
        guard schedule.gatesScans else { return .scan(nil) }
        let thumbnail = try SceneThumbnail(image)
        if forceKeyframe || sinceScan >= schedule.fullScanInterval { return .scan(thumbnail) }
        guard let scanned else { return .scan(thumbnail) }
        // Mask the followed people, then and now: the face box grown by half its side to the
        // sides and above (hair, ears) and by 1.5 sides below (neck, shoulders), which move with
        // the head and are no sign of a new face.
        let masks = (scannedBoxes + followed.map(\.box)).map { b in
            let g = max(b.width, b.height)
            return FaceBox(x: b.x - g / 2, y: b.y - g / 2, width: b.width + g, height: b.height + 2 * g)
        }
        return thumbnail.changed(from: scanned, outside: masks, threshold: schedule.sceneChangeThreshold) ? .scan(thumbnail) : .refresh
    }

    /// Keeps `faces` for the next frame, with templates cut from `image` (when given) or carried
    /// over from `templates` (by box).
    private func remember(_ faces: FrameFaces, cutFrom image: GrayImage?,
                          templates: [(box: FaceBox, template: FaceTemplate?)] = []) throws -> FrameFaces {
        followed = try faces.faces.map { f in
            var template: FaceTemplate?
            if schedule.follow == .template {
                if let image {
                    template = try FaceTemplate(image: image, box: f.box, side: schedule.templateSide, inset: schedule.templateInset)
                } else {
                    template = templates.first { $0.box == f.box }?.template
                }
            }
            return Followed(box: f.box, landmarks: f.landmarks, template: template)
        }
        return faces
    }

    /// `points` expressed relative to `from` and placed in `to` (translation and scale).
    private func moved(_ points: [Point], from: FaceBox, to: FaceBox) -> [Point] {
        let sx = from.width > 0 ? to.width / from.width : 1, sy = from.height > 0 ? to.height / from.height : 1
        return points.map { Point(x: to.x + ($0.x - from.x) * sx, y: to.y + ($0.y - from.y) * sy) }
    }

    /// Decoded-frame convenience (converted to gray first if BGR).
    public func process(_ frame: Frame, still: Bool = false) throws -> FrameFaces {
        try process(frame.grayImage, frameIndex: frame.index, timestamp: frame.timestamp, still: still)
    }

    /// Each followed face, found again near its last box: by its template between keyframes
    /// (`.template`), by the Haar search at keyframes and with `.haar` (or when the face had no
    /// template). A template match that fails its checks — too low a correlation, or too far
    /// from where the cascade last saw the face (a template that latched onto something crossing
    /// the face, a hand, drifts off with it) — falls back to the Haar search for that face, as
    /// strict as a keyframe's, so a face that moved fast is kept (with a template cut afresh from
    /// the box the cascade found) and an occluder that moved away is not. A face not found is lost; two faces that landed
    /// on the same box (IoU > 0.5) become one. Each result carries the template to keep.
    private func follow(in image: GrayImage, keyframe: Bool) throws -> [(box: FaceBox, previous: Followed, template: FaceTemplate?)] {
        var found: [(box: FaceBox, previous: Followed, template: FaceTemplate?)] = []
        for previous in followed {
            var best: FaceBox?
            var template = previous.template
            if !keyframe, schedule.follow == .template, let t = previous.template {
                if let m = try t.find(in: image, around: previous.box, margin: schedule.searchMargin),
                   m.score >= schedule.templateMinScore, t.drift(to: m.box) <= schedule.searchMargin {
                    best = m.box
                } else {
                    fallbacks += 1
                    best = try search(in: image, near: previous.box, minNeighbors: schedule.keyframeSearchMinNeighbors)
                    template = try best.flatMap { try FaceTemplate(image: image, box: $0, side: schedule.templateSide, inset: schedule.templateInset) }
                }
            } else {
                best = try search(in: image, near: previous.box,
                                  minNeighbors: keyframe ? schedule.keyframeSearchMinNeighbors : schedule.searchMinNeighbors)
            }
            guard let best else {
                losses += 1
                forceKeyframe = true
                continue
            }
            if !found.contains(where: { $0.box.iou(best) > 0.5 }) { found.append((best, previous, template)) }
        }
        return found.sorted { $0.box.score > $1.box.score }
    }

    /// The Haar search for a face near `last`: the candidate of a size near `last`'s in a region
    /// around it that overlaps `last` most (a search region can hold a neighbour's face too).
    private func search(in image: GrayImage, near last: FaceBox, minNeighbors: Int) throws -> FaceBox? {
        let side = max(last.width, last.height)
        let m = side * schedule.searchMargin
        let region = FaceBox(x: last.x - m, y: last.y - m, width: last.width + 2 * m, height: last.height + 2 * m)
        let sizes = max(1, Int((side * schedule.sizeRange.lowerBound).rounded(.down)))...max(1, Int((side * schedule.sizeRange.upperBound).rounded(.up)))
        let candidates = try pipeline.detector.detect(image, in: region, sizes: sizes, workingFaceSide: schedule.workingFaceSide,
                                                         minNeighbors: minNeighbors, scaleFactor: schedule.searchScaleFactor)
        guard let best = candidates.max(by: { $0.iou(last) < $1.iou(last) }), best.iou(last) > 0 else { return nil }
        return best
    }
}
