/// The lines of the job's output files, one type per file (the schema): the aggregator writes
/// them (`MienCluster`'s `jsonLine`, keys in the order below, numbers as `%.6g`), and resume,
/// `mien evaluate` and the tests read them back with `JSONDecoder` — no dictionaries parsed by
/// hand. Probabilities are objects of label → probability in the model's label order; readers
/// turn them into arrays with `probabilities(_:labels:)`.

/// One face in one frame (`frames.jsonl`), in frame order within a track (a video's tracks, and
/// the videos in progress at once, interleave: its lines are written as they become final).
public struct FrameRecord: Codable, Sendable, Equatable {
    public var video: String
    public var frame: UInt64
    public var timeS: Double
    public var track: UInt32
    /// x, y, width, height in pixels of the video.
    public var box: [Double]
    /// The frame's label: the BiLSTM's (merged windows), or the CNN's for a short track (`source`).
    public var label: String
    public var probs: [String: Double]
    /// `bilstm` or `cnn` (`LabelSource`).
    public var source: String
    public var cnnLabel: String
    public var cnnProbs: [String: Double]

    public enum CodingKeys: String, CodingKey {
        case video, frame, timeS = "time_s", track, box, label, probs, source, cnnLabel = "cnn_label", cnnProbs = "cnn_probs"
    }

    public init(video: String, frame: UInt64, timeS: Double, track: UInt32, box: [Double], label: String,
                probs: [String: Double], source: String, cnnLabel: String, cnnProbs: [String: Double]) {
        self.video = video; self.frame = frame; self.timeS = timeS; self.track = track; self.box = box
        self.label = label; self.probs = probs; self.source = source; self.cnnLabel = cnnLabel; self.cnnProbs = cnnProbs
    }

    public var boxValue: Box? { box.count == 4 ? Box(x: box[0], y: box[1], width: box[2], height: box[3]) : nil }
}

/// A run of one label on one track (`segments.jsonl`).
public struct SegmentRecord: Codable, Sendable, Equatable {
    public var video: String
    public var track: UInt32
    public var startFrame: UInt64
    public var endFrame: UInt64
    public var startS: Double
    public var endS: Double
    public var label: String

    public enum CodingKeys: String, CodingKey {
        case video, track, startFrame = "start_frame", endFrame = "end_frame", startS = "start_s", endS = "end_s", label
    }

    public init(video: String, track: UInt32, startFrame: UInt64, endFrame: UInt64, startS: Double, endS: Double, label: String) {
        self.video = video; self.track = track; self.startFrame = startFrame; self.endFrame = endFrame
        self.startS = startS; self.endS = endS; self.label = label
    }
}

/// One BiLSTM window's prediction (`windows.jsonl`, `mien evaluate`).
public struct WindowRecord: Codable, Sendable, Equatable {
    public var video: String
    public var track: UInt32
    public var window: UInt32
    public var startFrame: UInt64
    public var endFrame: UInt64
    /// Face-frames of the track the window covers.
    public var frames: Int
    public var label: String
    public var probs: [String: Double]

    public enum CodingKeys: String, CodingKey {
        case video, track, window, startFrame = "start_frame", endFrame = "end_frame", frames, label, probs
    }
}

/// One video's result (`videos.jsonl`), written last for the video: its presence marks the
/// video complete (resume keeps the lines of completed videos only).
public struct VideoRecord: Codable, Sendable, Equatable {
    public var video: String
    /// `ok` or `error`.
    public var status: String
    /// Why the video failed (status `error`).
    public var error: String?
    /// The video's label and mean probabilities, and the CNN's label (status `ok`, labelling jobs).
    public var label: String?
    public var probs: [String: Double]?
    public var cnnLabel: String?
    public var frames: UInt64
    public var faces: Int
    public var tracks: Int?
    public var groundTruth: String?

    public enum CodingKeys: String, CodingKey {
        case video, status, error, label, probs, cnnLabel = "cnn_label", frames, faces, tracks, groundTruth = "ground_truth"
    }

    public init(video: String, status: String, error: String? = nil, label: String? = nil, probs: [String: Double]? = nil,
                cnnLabel: String? = nil, frames: UInt64, faces: Int, tracks: Int? = nil, groundTruth: String? = nil) {
        self.video = video; self.status = status; self.error = error; self.label = label; self.probs = probs
        self.cnnLabel = cnnLabel; self.frames = frames; self.faces = faces; self.tracks = tracks; self.groundTruth = groundTruth
    }

    public var isOK: Bool { status == "ok" }
}

public enum OutputRecords {
    /// `probs` (label → probability) as an array in `labels` order; nil when a label is missing.
    public static func probabilities(_ probs: [String: Double], labels: [String]) -> [Double]? {
        var out: [Double] = []
        out.reserveCapacity(labels.count)
        for l in labels {
            guard let p = probs[l] else { return nil }
            out.append(p)
        }
        return out
    }
}
