import ArgumentParser
import Foundation
@_spi(Reference) import MienVision

/// `mien detect`: faces, landmarks and crops for every (sampled) frame of the inputs.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Detect faces (boxes, scores, landmarks) in videos, frame folders or images.",
        discussion: """
            Text output: one line per frame with faces, then a summary per input. With --json one \
            object per processed frame: \
            {"faces":[{"h":95,"landmarks":[[x,y],…],"roll":0,"score":40,"w":95,"x":177,"y":66}],
             "frame":0,"height":512,"path":"astronaut.png","timestamp":0,"width":512}
            Boxes are pixels of the frame (x, y = top-left). score: Haar = merged neighbours, \
            HOG = SVM margin. roll: degrees the aligned crop rotated the face by (0 for fer crops). \
            --save-crops writes each face's 64×64 gray CNN crop as PNG.
            """)

    @Argument(help: "Video files, folders of frames, or images.")
    var inputs: [String]

    @Flag(name: .long, help: "Print JSON lines instead of text.")
    var json = false

    @Option(name: .long, help: "Face detector: haar (OpenCV cascade, fer's), hog (dlib) or retinaface (RetinaFace-MobileNet0.25 by OpenCV's dnn, models/retinaface; --min-size sets its working scale: a face of that size is ~20 px at the network's input).")
    var detector: String = "haar"

    @Option(name: .customLong("face-probability"), help: "RetinaFace: face probability a box needs (0-1).")
    var faceProbability: Float = RetinaFace.defaultThreshold

    @Option(name: .long, help: "Crop: fer (square box + 10 px, no rotation), aligned (fer's square rotated so the eyes are level: dlib's or RetinaFace's landmarks, --landmarks-from) or eyes (eye-anchored: scale and position from the eye centres).")
    var crop: String = CropMode.aligned.rawValue

    @Flag(name: .long, help: "Compute the landmarks (always on with --crop aligned or eyes).")
    var landmarks = false

    @Option(name: .customLong("landmarks-from"), help: "Landmarks that level the crops: dlib (the shape-predictor model, --landmark-model) or retinaface (the five points the RetinaFace detector gives each face; needs --detector retinaface).")
    var landmarksFrom: LandmarkSource = .dlib

    @Option(name: .customLong("landmark-model"), help: "dlib shape-predictor model, 68- or 5-point (default: the bundled 5-point model, models/landmarks).")
    var landmarkModel: String?

    @Option(name: .customLong("min-size"), help: "Smallest face side in pixels.")
    var minSize: Int = 30

    @Option(name: .customLong("max-side"), help: "Detect on a copy downscaled to this longer side (0 = never).")
    var maxSide: Int = 640

    @Option(name: .customLong("min-neighbors"), help: "Haar: merged detections a face needs.")
    var minNeighbors: Int = 5

    @Option(name: .customLong("scale-factor"), help: "Haar: image-pyramid step.")
    var scaleFactor: Double = 1.1

    @Option(name: .long, help: "HOG: double the image before detection (0 or 1) to find 40–80 px faces.")
    var upsample: Int = 0

    @Option(name: .long, help: "Process every k-th frame.")
    var every: Int?

    @Option(name: .customLong("detect-every"), help: "Full-frame detection every k-th processed frame; in between each face is searched for near its last box (1 = detect on every frame).")
    var detectEvery: Int = DetectionSchedule().keyframeInterval

    @Option(name: .customLong("follow-margin"), help: "Between full detections, search each face in its last box grown by this fraction of its side on every side.")
    var followMargin: Float = DetectionSchedule().searchMargin

    @Option(name: .customLong("follow-face-side"), help: "Between full detections, search at a scale where the smallest accepted face is about this many pixels (≥ 24, Haar's window).")
    var followFaceSide: Int = DetectionSchedule().workingFaceSide

    @Option(name: .customLong("full-scan-every"), help: "A keyframe scans the full frame only if the picture outside the followed faces changed, or after this many frames (≤ --detect-every: every keyframe scans).")
    var fullScanEvery: Int = DetectionSchedule().fullScanInterval

    @Option(name: .customLong("scene-change-threshold"), help: "Grey levels a ~100-px thumbnail cell must change by (mean absolute difference) to count as a change (0 = always scan).")
    var sceneChangeThreshold: Float = DetectionSchedule().sceneChangeThreshold

    @Option(name: .customLong("follow-keyframe-min-neighbors"), help: "Haar merged-neighbour threshold of the search at a keyframe that skips its full scan.")
    var followKeyframeMinNeighbors: Int = DetectionSchedule().keyframeSearchMinNeighbors

    @Option(name: .customLong("follow-scale-factor"), help: "Haar image-pyramid step of the search between full detections.")
    var followScaleFactor: Double = DetectionSchedule().searchScaleFactor

    @Option(name: .long, help: "Haar: cascade XML (e.g. an LBP cascade from /usr/share/opencv4/lbpcascades).")
    var cascade: String = FaceDetector.defaultCascadePath

    @Option(name: .customLong("follow-min-neighbors"), help: "Haar merged-neighbour threshold of the search between full detections.")
    var followMinNeighbors: Int = DetectionSchedule().searchMinNeighbors

    @Option(name: .long, help: "How faces are followed between keyframes: template (match the face's appearance at its keyframe) or haar (a cascade search around the last box).")
    var follow: DetectionSchedule.FollowMethod = DetectionSchedule().follow

    @Option(name: .customLong("template-side"), help: "follow template: the template's longer side in pixels.")
    var templateSide: Int = DetectionSchedule().templateSide

    @Option(name: .customLong("template-min-score"), help: "follow template: lowest correlation (−1…1) that still counts as the same face.")
    var templateMinScore: Float = DetectionSchedule().templateMinScore

    @Flag(name: .customLong("landmarks-every-frame"), help: "Run the landmark model on followed frames too (default: keyframes only; landmarks move with the box in between).")
    var landmarksEveryFrame = false

    @Option(name: .long, help: "Process about this many frames a second.")
    var fps: Double?

    @Option(name: .long, help: "Frame range START:END (END exclusive), e.g. 100:200.")
    var range: String?

    @Option(name: .customLong("save-crops"), help: "Folder to write the face crops into as PNG.")
    var saveCrops: String?

    @Option(name: .customLong("folder-fps"), help: "Frame rate assigned to folders of frames.")
    var folderFPS: Double = 25

    @Flag(name: .long, help: "Time decode-only and decode+detect+crop passes over each input and print frames/s (no per-frame output).")
    var benchmark = false

    @Option(name: .long, help: "Threads for OpenCV's parallel loops (1 = per-core figures; 0 = OpenCV's default).")
    var threads: Int = 0

    @Flag(name: .customLong("haar-opencv"), help: "Run the Haar cascade with OpenCV's cv::CascadeClassifier instead of Mien's evaluator (the same detections, slower: the reference).")
    var haarOpenCV = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input file or folder") }
        guard FaceDetector.Backend(rawValue: detector) != nil else { throw ValidationError("--detector must be haar, hog or retinaface, got \(detector)") }
        guard faceProbability > 0, faceProbability < 1 else { throw ValidationError("--face-probability must be in (0, 1), got \(faceProbability)") }
        guard CropMode(rawValue: crop) != nil else { throw ValidationError("--crop must be fer, aligned or eyes, got \(crop)") }
        guard landmarksFrom == .dlib || detector == FaceDetector.Backend.retinaface.rawValue else {
            throw ValidationError("--landmarks-from retinaface needs --detector retinaface (the landmarks come with its faces), got --detector \(detector)")
        }
        guard every == nil || fps == nil else { throw ValidationError("give --every or --fps, not both") }
        if let every, every < 1 { throw ValidationError("--every must be ≥ 1") }
        guard detectEvery >= 1 else { throw ValidationError("--detect-every must be ≥ 1") }
        if let fps, !(fps > 0) { throw ValidationError("--fps must be > 0") }
        guard upsample == 0 || upsample == 1 else { throw ValidationError("--upsample must be 0 or 1") }
        _ = try parsedRange()
    }

    private func parsedRange() throws -> Range<Int> {
        guard let range else { return 0..<Int.max }
        let parts = range.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int(parts[0]), let end = Int(parts[1]), start >= 0, end > start else {
            throw ValidationError("--range must be START:END with 0 ≤ START < END, got \(range)")
        }
        return start..<end
    }

    var schedule: DetectionSchedule {
        DetectionSchedule(keyframeInterval: detectEvery, searchMargin: followMargin, workingFaceSide: followFaceSide,
                          landmarksEveryFrame: landmarksEveryFrame, searchMinNeighbors: followMinNeighbors,
                          keyframeSearchMinNeighbors: followKeyframeMinNeighbors,
                          searchScaleFactor: followScaleFactor, fullScanInterval: fullScanEvery,
                          sceneChangeThreshold: sceneChangeThreshold, follow: follow,
                          templateSide: templateSide, templateMinScore: templateMinScore)
    }

    struct FaceRecord: Encodable {
        let x, y, w, h, score, roll: Float
        let landmarks: [[Float]]?
    }

    struct FrameRecord: Encodable {
        let path: String
        let frame: Int
        let timestamp: Double
        let width: Int
        let height: Int
        let faces: [FaceRecord]
    }

    func run() throws {
        let sampling: Sampling = every.map { .every($0) } ?? fps.map { .fps($0) } ?? .all
        let frameRange = try parsedRange()
        let options = FacePipeline.Options(
            detector: .init(backend: FaceDetector.Backend(rawValue: detector)!, cascadePath: cascade, scaleFactor: scaleFactor,
                            minNeighbors: minNeighbors, minSize: minSize, maxSide: maxSide, upsample: upsample,
                            minFaceProbability: faceProbability),
            cropMode: CropMode(rawValue: crop)!, landmarks: landmarks, landmarkModelPath: landmarkModel ?? Landmarker.defaultModelPath,
            landmarkSource: landmarksFrom)
        let pipeline: FacePipeline
        do {
            pipeline = try FacePipeline(options: options)
        } catch {
            FileHandle.standardError.write(Data("mien detect: \(error)\n".utf8))
            throw ExitCode(1)
        }
        pipeline.detector.usesOpenCVReference = haarOpenCV
        VisionThreads.count = threads
        if benchmark {
            try runBenchmark(pipeline: pipeline, frameRange: frameRange, sampling: sampling)
            return
        }
        if let saveCrops {
            try FileManager.default.createDirectory(atPath: saveCrops, withIntermediateDirectories: true)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var failures = 0
        for input in inputs {
            var frames = 0, framesWithFaces = 0, faces = 0
            let follower = try FaceFollower(pipeline: pipeline, schedule: schedule)
            do {
                let source = try MediaSource.open(input, options: SourceOptions(folderFPS: folderFPS))
                try source.forEachFrame(in: frameRange, format: .gray, sampling: sampling) { frame in
                    let result = try follower.process(frame, still: source.info.kind != .video)
                    frames += 1
                    faces += result.faces.count
                    if !result.faces.isEmpty { framesWithFaces += 1 }
                    if let saveCrops {
                        let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
                        for (k, face) in result.faces.enumerated() {
                            try face.crop.write(path: (saveCrops as NSString).appendingPathComponent(
                                stem + String(format: "_f%06d_%d.png", frame.index, k)))
                        }
                    }
                    if json {
                        let record = FrameRecord(
                            path: input, frame: frame.index, timestamp: (frame.timestamp * 1e6).rounded() / 1e6,
                            width: frame.width, height: frame.height,
                            faces: result.faces.map { f in
                                FaceRecord(x: round1(f.box.x), y: round1(f.box.y), w: round1(f.box.width), h: round1(f.box.height),
                                           score: (f.box.score * 1000).rounded() / 1000, roll: round1(f.rollDegrees),
                                           landmarks: f.landmarks.isEmpty ? nil : f.landmarks.map { [round1($0.x), round1($0.y)] })
                            })
                        print(String(decoding: try encoder.encode(record), as: UTF8.self))
                    } else if !result.faces.isEmpty {
                        let boxes = result.faces.map { f in
                            "(\(Int(f.box.x.rounded())),\(Int(f.box.y.rounded())) \(Int(f.box.width.rounded()))×\(Int(f.box.height.rounded())) score \(String(format: "%.2f", f.box.score)))"
                        }
                        print("\(input) frame \(frame.index) t=\(String(format: "%.3f", frame.timestamp))s: \(result.faces.count) face(s) \(boxes.joined(separator: " "))")
                    }
                }
                if !json {
                    print("\(input): \(frames) frames processed, \(framesWithFaces) with faces, \(faces) faces")
                    if schedule.keyframeInterval > 1 {
                        print("  detection: \(follower.keyframes) full-frame, \(follower.refreshes) keyframes without a full scan (scene unchanged), \(follower.followedFrames) followed, \(follower.fallbacks) template match(es) failed and searched by the cascade, \(follower.losses) face(s) lost by the search")
                    }
                }
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("mien detect: \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

extension Detect {
    /// Decode-only pass, then decode + detect + landmarks/crop pass, per input; wall-clock
    /// frames/s of each (model loading excluded).
    func runBenchmark(pipeline: FacePipeline, frameRange: Range<Int>, sampling: Sampling) throws {
        let clock = ContinuousClock()
        for input in inputs {
            let options = SourceOptions(folderFPS: folderFPS)
            let info = try MediaSource.open(input, options: options).info
            var decoded = 0
            let decodeTime = try clock.measure {
                let source = try MediaSource.open(input, options: options)
                try source.forEachFrame(in: frameRange, format: .gray, sampling: sampling) { _ in decoded += 1 }
            }
            var processed = 0, faces = 0
            let fullTime = try clock.measure {
                let source = try MediaSource.open(input, options: options)
                let follower = try FaceFollower(pipeline: pipeline, schedule: schedule)
                try source.forEachFrame(in: frameRange, format: .gray, sampling: sampling) { frame in
                    faces += try follower.process(frame).faces.count
                    processed += 1
                }
            }
            let seconds = { (d: Duration) in Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
            let decodeFPS = Double(decoded) / seconds(decodeTime), fullFPS = Double(processed) / seconds(fullTime)
            print("\(input): \(info.width)×\(info.height) \(info.codec), OpenCV threads \(VisionThreads.count)")
            print(String(format: "  decode only:                 %5d frames in %7.3f s = %8.1f frames/s", decoded, seconds(decodeTime), decodeFPS))
            print("  decode+detect(\(detector))+\(crop) crop: " + String(format: "%5d frames in %7.3f s = %8.1f frames/s, %.2f faces/frame",
                         processed, seconds(fullTime), fullFPS, processed > 0 ? Double(faces) / Double(processed) : 0))
        }
    }
}

private func round1(_ v: Float) -> Float { (v * 10).rounded() / 10 }
