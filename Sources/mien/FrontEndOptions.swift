import ArgumentParser
import MienCluster
import MienNN
import MienVision

/// The face front-end's speed/accuracy knobs, shared by every command that runs feature workers
/// (`run`, `feature-worker`, `extract`), so a model is trained and used with the same front end.
struct FrontEndOptions: ParsableArguments {
    @Option(name: .customLong("detect-every"),
            help: "Full-frame face detection every k-th frame; in between each face is followed near its last box (see --follow) and dropped if not found there (1 = detect on every frame: ~5× the detection CPU at 320 px).")
    var detectEvery = DetectionSchedule().keyframeInterval

    @Option(name: .customLong("full-scan-every"),
            help: "A keyframe scans the whole frame only if the picture outside the followed faces changed since the last scan, or after this many frames (≤ --detect-every: every keyframe scans).")
    var fullScanEvery = DetectionSchedule().fullScanInterval

    @Option(name: .long,
            help: "How faces are followed between full detections: template (match each face's appearance at its last detection, ~0.05 ms a face) or haar (a cascade search around the last box, ~1 ms a face).")
    var follow: DetectionSchedule.FollowMethod = DetectionSchedule().follow

    @Option(name: .long,
            help: "Face detector of videos' full scans and searches: retinaface (RetinaFace-MobileNet0.25, a CNN run by OpenCV's dnn: frontal faces and profiles, few false faces) or haar (OpenCV's frontal-face cascade, Mien's evaluator). Photographs and frame folders are scanned whole at full resolution by either.")
    var detector: FaceDetector.Backend = .retinaface

    @Option(name: .customLong("min-face"),
            help: "Smallest face side in pixels of the video frame (default: 40 for retinaface, whose frames are scaled so that such a face is ~20 px — a 1080p frame to 960 px, 640×360 to 320×180; 30 for haar, which --detect-max-side limits further).")
    var minFace: Int?

    @Option(name: .customLong("landmarks-from"),
            help: "Landmarks whose eye line levels each face's crop: dlib (the bundled 5-point shape-predictor model fitted in the face's box) or retinaface (the five points RetinaFace gives each face; --detector retinaface only).")
    var landmarksFrom: LandmarkSource = FrontEndOptions.defaultLandmarkSource

    @Option(name: .customLong("detect-max-side"),
            help: "Full-frame detection runs on a copy downscaled to at most this longer side (0 = no limit; default: 320 for haar, where faces below ~24 px at that scale are missed; none for retinaface, whose scale --min-face sets).")
    var detectMaxSide: Int?

    @Option(name: .customLong("detect-scale-factor"),
            help: "Full-frame detection: step between the Haar image-pyramid levels (1.1 = OpenCV's default, ~1.7× the CPU of 1.2; the box a scan finds is refined by the follower's finer search).")
    var detectScaleFactor = FrontEndOptions.defaultScanScaleFactor

    @Option(name: .customLong("detect-min-neighbors"),
            help: "Full-frame detection: merged Haar detections a face needs (fewer pyramid levels give fewer per face).")
    var detectMinNeighbors = FrontEndOptions.defaultScanMinNeighbors

    @Option(name: .customLong("decode-threads"),
            help: "FFmpeg decoder threads of each feature worker (0 = auto: the CPUs shared among the process's feature workers for run, extract and evaluate; 1 for feature-worker, which runs one per core).")
    var decodeThreads = 0

    func validate() throws {
        guard detectEvery >= 1 else { throw ValidationError("--detect-every must be at least 1") }
        guard fullScanEvery >= 1 else { throw ValidationError("--full-scan-every must be at least 1") }
        if let detectMaxSide { guard detectMaxSide == 0 || detectMaxSide >= 32 else { throw ValidationError("--detect-max-side must be 0 (no limit) or at least 32") } }
        if let minFace { guard minFace >= 8 else { throw ValidationError("--min-face must be at least 8 pixels, got \(minFace)") } }
        guard detector != .hog else { throw ValidationError("--detector must be retinaface or haar (hog is for mien detect)") }
        guard landmarksFrom == .dlib || detector == .retinaface else {
            throw ValidationError("--landmarks-from retinaface needs --detector retinaface (the landmarks come with its faces), got --detector \(detector.rawValue)")
        }
        guard detectScaleFactor > 1, detectScaleFactor <= 4 else { throw ValidationError("--detect-scale-factor must be in (1, 4], got \(detectScaleFactor)") }
        guard decodeThreads >= 0 else { throw ValidationError("--decode-threads must be ≥ 0 (0 = auto), got \(decodeThreads)") }
        guard detectMinNeighbors >= 0 else { throw ValidationError("--detect-min-neighbors must be ≥ 0, got \(detectMinNeighbors)") }
    }

    var schedule: DetectionSchedule { DetectionSchedule(keyframeInterval: detectEvery, fullScanInterval: fullScanEvery, follow: follow) }

    /// The full scans' pyramid step and neighbour threshold for video. Coarser than OpenCV's 1.1 / 5
    /// (which `mien detect` keeps): a full scan only has to find a face, whose box the follower's
    /// search (step 1.1) refines at the next keyframe. 13 pyramid levels instead of 24, ~57 % of
    /// the pixels scanned; on synthetic video, recall 0.983 against 0.987 and labels unchanged
    /// within noise (docs/BENCHMARKS.md, "Detection schedule").
    static let defaultScanScaleFactor = 1.2
    static let defaultScanMinNeighbors = 3

    /// Default smallest face of a video frame: RetinaFace scales a 1080p frame to 960 px and a
    /// 640-px one to 320 px so that a 40-px face is 20 px at its input; Haar keeps its 30 px.
    static let defaultMinFace: [FaceDetector.Backend: Int] = [.retinaface: 40, .haar: 30]
    static let defaultMaxSide: [FaceDetector.Backend: Int] = [.retinaface: 0, .haar: 320]

    /// Default landmarks of the crops' alignment (docs/BENCHMARKS.md, "Face detectors on real frames").
    static let defaultLandmarkSource = LandmarkSource.dlib

    var pipeline: FacePipeline.Options {
        FacePipeline.Options(detector: FaceDetector.Options(backend: detector, scaleFactor: detectScaleFactor, minNeighbors: detectMinNeighbors,
                                                            minSize: minFace ?? Self.defaultMinFace[detector] ?? 30,
                                                            maxSide: detectMaxSide ?? Self.defaultMaxSide[detector] ?? 320),
                             landmarkSource: landmarksFrom)
    }

    /// A feature worker's compute with these options (single-threaded, see `useSingleThreadedCompute`).
    /// - Parameter workersSharingCPUs: feature workers of this process, which share its CPUs
    ///   between their decoders under `--decode-threads 0`; nil for a lone worker process (one per
    ///   core by design), whose decoder then runs on its own thread.
    func featureCompute(cnnDirectory: String, workersSharingCPUs: Int?) throws -> FeatureCompute {
        useSingleThreadedCompute()
        return try FeatureCompute(modelDirectory: cnnDirectory, pipeline: pipeline, schedule: schedule,
                                  decoderThreads: decoderThreads(workersSharingCPUs: workersSharingCPUs))
    }

    /// `--decode-threads`, with 0 resolved. Decoding on one thread costs ~10 % less CPU than frame
    /// threads (docs/BENCHMARKS.md), so once every CPU has a worker, each decodes on its own.
    func decoderThreads(workersSharingCPUs: Int?) -> Int {
        if decodeThreads > 0 { return decodeThreads }
        guard let workers = workersSharingCPUs else { return 1 }
        return max(1, SourceOptions.defaultDecoderThreads / max(1, workers))
    }
}

/// Mien scales compute by running more workers (one per core), not threads inside one: each
/// worker runs its NN and vision code on one thread. OpenBLAS's default pool busy-waits
/// (sched_yield) between the CNN's many small matrix products and OpenCV's pool splits a single
/// Haar detection; once every core has a worker both cost more than they give (`perf` of
/// `mien run`: 6 % of all CPU time in sched_yield). Called by every command that runs workers.
func useSingleThreadedCompute() {
    BLASThreads.set(1)
    VisionThreads.count = 1
}

extension DetectionSchedule.FollowMethod: ExpressibleByArgument {}
extension FaceDetector.Backend: ExpressibleByArgument {}
extension LandmarkSource: ExpressibleByArgument {}
