import MienCore

/// The aggregator's writers of the output records (`MienCore.OutputRecords`): one JSON line per
/// record, keys named by the record's `CodingKeys` in their declared order, numbers as
/// `JSONLine` writes them. They take probabilities as arrays in label order (the aggregator's
/// form): a video's frame lines are written without a dictionary per face.
extension FrameRecord {
    static func line(video: String, frame: UInt64, timeS: Double, track: UInt32, box: [Double], label: String,
                     probs: [Double], source: String, cnnLabel: String, cnnProbs: [Double], labels: [String]) -> String {
        var line = JSONLine()
        line.add(CodingKeys.video.rawValue, video)
        line.add(CodingKeys.frame.rawValue, frame)
        line.add(CodingKeys.timeS.rawValue, timeS)
        line.add(CodingKeys.track.rawValue, track)
        line.add(CodingKeys.box.rawValue, numbers: box)
        line.add(CodingKeys.label.rawValue, label)
        line.add(CodingKeys.probs.rawValue, probs: probs, labels: labels)
        line.add(CodingKeys.source.rawValue, source)
        line.add(CodingKeys.cnnLabel.rawValue, cnnLabel)
        line.add(CodingKeys.cnnProbs.rawValue, probs: cnnProbs, labels: labels)
        return line.string
    }
}

extension SegmentRecord {
    var jsonLine: String {
        var line = JSONLine()
        line.add(CodingKeys.video.rawValue, video)
        line.add(CodingKeys.track.rawValue, track)
        line.add(CodingKeys.startFrame.rawValue, startFrame)
        line.add(CodingKeys.endFrame.rawValue, endFrame)
        line.add(CodingKeys.startS.rawValue, startS)
        line.add(CodingKeys.endS.rawValue, endS)
        line.add(CodingKeys.label.rawValue, label)
        return line.string
    }
}

extension WindowRecord {
    static func line(video: String, track: UInt32, window: UInt32, startFrame: UInt64, endFrame: UInt64, frames: Int,
                     label: String, probs: [Double], labels: [String]) -> String {
        var line = JSONLine()
        line.add(CodingKeys.video.rawValue, video)
        line.add(CodingKeys.track.rawValue, track)
        line.add(CodingKeys.window.rawValue, window)
        line.add(CodingKeys.startFrame.rawValue, startFrame)
        line.add(CodingKeys.endFrame.rawValue, endFrame)
        line.add(CodingKeys.frames.rawValue, frames)
        line.add(CodingKeys.label.rawValue, label)
        line.add(CodingKeys.probs.rawValue, probs: probs, labels: labels)
        return line.string
    }
}

extension VideoRecord {
    /// The line, with `probs` in `labels` order (`probsArray`, when the record has them).
    func jsonLine(probs probsArray: [Double]? = nil, labels: [String]) -> String {
        var line = JSONLine()
        line.add(CodingKeys.video.rawValue, video)
        line.add(CodingKeys.status.rawValue, status)
        if let error { line.add(CodingKeys.error.rawValue, error) }
        if let label { line.add(CodingKeys.label.rawValue, label) }
        if let probsArray { line.add(CodingKeys.probs.rawValue, probs: probsArray, labels: labels) }
        if let cnnLabel { line.add(CodingKeys.cnnLabel.rawValue, cnnLabel) }
        line.add(CodingKeys.frames.rawValue, frames)
        line.add(CodingKeys.faces.rawValue, faces)
        if let tracks { line.add(CodingKeys.tracks.rawValue, tracks) }
        if let groundTruth { line.add(CodingKeys.groundTruth.rawValue, groundTruth) }
        return line.string
    }
}
