import MienCore
import MienProto

/// One video in progress at the coordinator, from its workers' answers to what leaves for the
/// aggregator and the sequence workers: answers (embedding batches) arrive in any order and
/// are put back in frame order (`ReorderBuffer`), faces are linked into tracks (`FaceTracker`),
/// each track's steps are cut into ordered windows (`TrackWindower`), and the windows are cut
/// into window batches of this video alone, in the video's window order — so the batches, and
/// the BiLSTM's float32 results that depend on a GEMM's batch, are the same however the job ran.
///
/// A value with no I/O, part of `CoordinatorCore`.
struct VideoTracking {
    /// What the job's settings fix for every video.
    struct Settings {
        var batchFrames: Int
        var windowLength: Int
        var windowStride: Int
        var windowsPerBatch: Int
        var extractOnly: Bool
        var tracker: FaceTracker.Config
    }

    /// What leaves after some answers were consumed.
    struct Output {
        /// Track parts for the aggregator: each open track's frames of the batches consumed, and
        /// the ended tracks' last parts (`last`, with their window counts). They go out before
        /// the same batches' windows (whose predictions find the frames there).
        var trackFrames: [Mien_V1_TrackFrames] = []
        /// Full window batches (with `force`, also the last short one), in the video's window order.
        var windowBatches: [[Mien_V1_Window]] = []
        var frames = 0
        var faces = 0
        var windowsCut = 0
    }

    let input: VideoInput
    let info: VideoProbe
    let batchCount: Int
    private let settings: Settings
    private(set) var batchesProcessed = 0
    private(set) var reorder: ReorderBuffer<Mien_V1_EmbeddingBatch>
    private var tracker: FaceTracker
    private var windowers: [UInt32: TrackWindower] = [:]
    /// Each open track's frames not sent to the aggregator yet (sent in parts, every batch: nothing
    /// here grows with a track's length), and its frames so far.
    private var trackFrames: [UInt32: [Mien_V1_TrackFrame]] = [:]
    private var trackFrameCounts: [UInt32: Int] = [:]
    private(set) var windowsPerTrack: [UInt32: UInt32] = [:]
    private(set) var framesPerTrack: [UInt32: UInt32] = [:]
    private(set) var framesDone = 0
    var manifestSent = false
    /// Windows cut and not yet in a batch.
    private var pendingWindows: [Mien_V1_Window] = []

    init(input: VideoInput, info: VideoProbe, settings: Settings) {
        self.input = input
        self.info = info
        self.settings = settings
        batchCount = (info.frameCount + settings.batchFrames - 1) / settings.batchFrames
        reorder = ReorderBuffer(first: 0, capacity: max(batchCount, 1))
        tracker = FaceTracker(config: settings.tracker)
    }

    /// Every batch consumed: the video's results are all out once `finish` ran.
    var isComplete: Bool { batchesProcessed == batchCount }

    /// Takes the answer to batch `index` and consumes the answers now in frame order. Full
    /// window batches leave as they fill, so sequence workers run alongside the feature workers
    /// and a long video's windows are never all held. `sequenceModel` goes into each window.
    mutating func take(_ result: Mien_V1_EmbeddingBatch, index: Int, sequenceModel: String) -> Output {
        _ = reorder.insert(result, sequence: UInt64(index))
        var out = Output()
        for batch in reorder.drain() {
            batchesProcessed += 1
            for frame in batch.frames { track(frame, sequenceModel: sequenceModel, into: &out) }
            for track in trackFrames.keys.sorted() { sendTrackPart(track, last: false, into: &out) }
            cutBatches(force: false, into: &out)
            out.frames += batch.frames.count
            out.faces += batch.frames.reduce(0) { $0 + $1.faces.count }
        }
        return out
    }

    /// Ends every track and cuts the last window batch (call once `isComplete`).
    mutating func finish(sequenceModel: String) -> Output {
        var out = Output()
        for t in tracker.finish() { endTrack(t, sequenceModel: sequenceModel, into: &out) }
        cutBatches(force: true, into: &out)
        return out
    }

    /// The manifest that closes the video (with `error`: the video failed, no track counts).
    func manifest(windowLength: Int, error: String?) -> Mien_V1_VideoManifest {
        .with {
            $0.videoID = input.id
            $0.uri = input.path
            $0.fps = info.fps
            $0.frameCount = UInt64(framesDone)
            $0.width = UInt32(info.width)
            $0.height = UInt32(info.height)
            $0.windowsPerTrack = error == nil ? windowsPerTrack : [:]
            $0.framesPerTrack = error == nil ? framesPerTrack : [:]
            $0.windowLength = UInt32(windowLength)
            $0.groundTruthLabel = input.groundTruth ?? ""
            $0.error = error ?? ""
        }
    }

    private mutating func track(_ frame: Mien_V1_FrameFaces, sequenceModel: String, into out: inout Output) {
        framesDone += 1
        let boxes = frame.faces.map { Box(x: Double($0.box.x), y: Double($0.box.y), width: Double($0.box.width), height: Double($0.box.height)) }
        let update = tracker.update(frame: frame.index, boxes: boxes)
        for t in update.ended { endTrack(t, sequenceModel: sequenceModel, into: &out) }
        for (face, track) in zip(frame.faces, update.trackIDs) {
            trackFrameCounts[track, default: 0] += 1
            trackFrames[track, default: []].append(.with {
                $0.frame = frame.index
                $0.timeS = frame.timeS
                $0.box = face.box
                $0.cnnProbs = face.cnnProbs
                if settings.extractOnly { $0.embedding = face.embedding }
            })
            if settings.extractOnly { continue }
            if windowers[track] == nil {
                windowers[track] = TrackWindower(length: settings.windowLength, stride: settings.windowStride)
            }
            if let w = windowers[track]!.append(TrackStep(frame: frame.index, embedding: face.embedding, cnnProbs: face.cnnProbs.probs)) {
                emit(w, track: track, sequenceModel: sequenceModel, into: &out)
            }
        }
    }

    private mutating func emit(_ w: TrackWindow, track: UInt32, sequenceModel: String, into out: inout Output) {
        windowsPerTrack[track, default: 0] += 1
        out.windowsCut += 1
        pendingWindows.append(.with {
            $0.videoID = input.id
            $0.trackID = track
            $0.windowIndex = w.index
            $0.steps = w.steps.map { st in .with { $0.frame = st.frame; $0.embedding = st.embedding; $0.cnnProbs = st.cnnProbs } }
            $0.paddedFrom = w.paddedFrom
            $0.modelHash = sequenceModel
        })
    }

    private mutating func endTrack(_ track: UInt32, sequenceModel: String, into out: inout Output) {
        let count = trackFrameCounts.removeValue(forKey: track) ?? 0
        // A track shorter than a window (its one window would be padded) is labelled by the
        // CNN, not the BiLSTM: it gets no window (TrackLabelling, the aggregator's rule).
        if var w = windowers.removeValue(forKey: track), let last = w.finish(),
           TrackLabelling.source(trackFrames: count, windowLength: settings.windowLength) == .bilstm {
            emit(last, track: track, sequenceModel: sequenceModel, into: &out)
        }
        framesPerTrack[track] = UInt32(count)
        sendTrackPart(track, last: true, into: &out)
    }

    /// The track's frames not sent yet; `last` ends the track and carries its window count.
    private mutating func sendTrackPart(_ track: UInt32, last: Bool, into out: inout Output) {
        let frames = trackFrames.removeValue(forKey: track) ?? []
        guard last || !frames.isEmpty else { return }
        out.trackFrames.append(.with {
            $0.videoID = input.id
            $0.trackID = track
            $0.frames = frames
            $0.last = last
            if last { $0.windows = windowsPerTrack[track] ?? 0 }
        })
    }

    /// Cuts full window batches, and with `force` (the video's end) the rest.
    private mutating func cutBatches(force: Bool, into out: inout Output) {
        while pendingWindows.count >= settings.windowsPerBatch || (force && !pendingWindows.isEmpty) {
            let n = min(settings.windowsPerBatch, pendingWindows.count)
            out.windowBatches.append(Array(pendingWindows.prefix(n)))
            pendingWindows.removeFirst(n)
        }
    }
}
