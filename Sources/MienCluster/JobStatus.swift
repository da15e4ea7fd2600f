import Foundation

/// A job's progress as `GET /status` serves it (JSON, snake_case keys) and as the progress
/// line and `mien status` print it. Rates and the ETA are computed here once, so the
/// terminal line and the endpoint agree.
public struct JobStatus: Codable, Sendable, Equatable {
    public struct Videos: Codable, Sendable, Equatable {
        public var total: Int
        public var done: Int
        public var failed: Int
        /// Found finished in the journal by a resumed job (counted in `done`).
        public var skipped: Int
    }
    public struct Frames: Codable, Sendable, Equatable {
        public var done: Int
        /// Frames of the videos probed so far (grows as videos are taken up).
        public var total: Int
    }
    public struct Workers: Codable, Sendable, Equatable {
        public var feature: Int
        public var sequence: Int
    }
    public struct Batches: Codable, Sendable, Equatable {
        public var featureQueued: Int
        public var featureInFlight: Int
        public var sequenceQueued: Int
        public var sequenceInFlight: Int
        /// Re-queued because their worker died or their deadline passed (cumulative).
        public var requeued: Int
    }

    public var job: String
    /// `running` or `finished`.
    public var state: String
    public var elapsedS: Double
    public var videos: Videos
    public var frames: Frames
    public var framesPerSecond: Double
    /// Seconds left at the current rate (videos not probed yet counted as long as the average
    /// probed one); nil while no rate is known; 0 when finished.
    public var etaS: Double?
    public var liveWorkers: Workers
    public var batches: Batches

    public init(job: String, progress p: JobProgress, elapsed: TimeInterval) {
        self.job = job
        state = p.finished ? "finished" : "running"
        elapsedS = elapsed
        videos = Videos(total: p.videosTotal, done: p.videosDone, failed: p.videosFailed, skipped: p.videosSkipped)
        frames = Frames(done: p.framesDone, total: p.framesTotal)
        let fps = elapsed > 0 ? Double(p.framesDone) / elapsed : 0
        framesPerSecond = fps
        let unstarted = max(0, p.videosTotal - p.videosStarted - p.videosSkipped)
        let expected = p.videosStarted > 0 ? Double(p.framesTotal) * (1 + Double(unstarted) / Double(p.videosStarted)) : 0
        if p.finished {
            etaS = 0
        } else if fps > 0 {
            etaS = expected > Double(p.framesDone) ? (expected - Double(p.framesDone)) / fps : 0
        } else {
            etaS = nil
        }
        liveWorkers = Workers(feature: p.featureWorkers, sequence: p.sequenceWorkers)
        batches = Batches(featureQueued: p.featureBatchesQueued, featureInFlight: p.featureBatchesInFlight,
                          sequenceQueued: p.sequenceBatchesQueued, sequenceInFlight: p.sequenceBatchesInFlight,
                          requeued: p.requeuedBatches)
    }

    /// The progress line: videos, frames, frames/s, ETA, live workers.
    public var progressLine: String {
        let eta: String
        if state == "finished" {
            eta = "done"
        } else if let s = etaS {
            eta = String(format: "ETA %d:%02d", Int(s) / 60, Int(s) % 60)
        } else {
            eta = "ETA --"
        }
        let failed = videos.failed > 0 ? " (\(videos.failed) failed)" : ""
        return "videos \(videos.done)/\(videos.total)\(failed)  frames \(frames.done)/\(frames.total)  \(String(format: "%.1f", framesPerSecond)) frames/s  \(eta)  workers \(liveWorkers.feature) feature, \(liveWorkers.sequence) sequence"
    }

    /// `mien status`'s line: the job, its state, the progress line and the batches in flight.
    public var statusLine: String {
        "\(job) \(state): \(progressLine); batches in flight \(batches.featureInFlight) feature, \(batches.sequenceInFlight) sequence (queued \(batches.featureQueued), \(batches.sequenceQueued); re-queued \(batches.requeued))"
    }

    public func json() -> [UInt8] {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return Array((try? e.encode(self)) ?? Data("{}".utf8)) + [UInt8(ascii: "\n")]
    }

    public static func decode(_ data: Data) throws -> JobStatus {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try d.decode(JobStatus.self, from: data)
    }
}
