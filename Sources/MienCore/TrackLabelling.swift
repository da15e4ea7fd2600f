/// Which model gave a face's label and probabilities (`source` in frames.jsonl).
public enum LabelSource: String, Sendable, CaseIterable {
    /// The BiLSTM over the track's windows, merged per frame.
    case bilstm
    /// The per-frame CNN: the track is shorter than one window.
    case cnn
}

/// What is wrong with a track's inputs (the aggregator turns it into a protocol violation).
public struct TrackLabellingError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A track's frames, labelled: where the labels come from and each frame's probabilities.
public struct LabelledTrack: Sendable, Equatable {
    public var source: LabelSource
    /// Per frame, in the order the frames were given: class probabilities in label order.
    public var probs: [[Double]]
    /// Per frame: the argmax of its probabilities.
    public var labels: [Int] { probs.map { argmax($0) ?? 0 } }
}

/// How the frames of one face track are labelled — the same rule in `mien run` and the cluster.
///
/// The BiLSTM labels a track only when the track fills at least one whole window (`T` =
/// `windowLength` frames, the BiLSTM bundle's window). A shorter track — a photo, a face seen
/// for a few frames — would be one padded window, which the BiLSTM labels close to its prior
/// (on a photo of a clearly smiling face, `neutral`), so the coordinator cuts no window for it
/// and it is labelled by the CNN: every frame of the track gets the mean of the track's
/// per-frame CNN probabilities (one label per short track, as one BiLSTM window would give it;
/// for a photo, a one-frame track, exactly the CNN's probabilities).
public enum TrackLabelling {
    /// `.cnn` when the track has fewer than `windowLength` frames; `.bilstm` otherwise (also
    /// when `windowLength` is 0, unknown).
    public static func source(trackFrames: Int, windowLength: Int) -> LabelSource {
        trackFrames < windowLength ? .cnn : .bilstm
    }

    /// The CNN fallback's probabilities for a track: the mean of its frames' CNN probabilities.
    ///
    /// - Throws: `TrackLabellingError` when there are no frames or a frame does not have
    ///   `classes` probabilities.
    public static func cnnProbabilities(_ perFrame: [[Double]], classes: Int) throws -> [Double] {
        guard !perFrame.isEmpty else { throw TrackLabellingError(description: "the track has no frames") }
        var sum = [Double](repeating: 0, count: classes)
        for (i, p) in perFrame.enumerated() {
            guard p.count == classes else {
                throw TrackLabellingError(description: "frame \(i) of the track has \(p.count) CNN probabilities for \(classes) classes")
            }
            for c in 0..<classes { sum[c] += p[c] }
        }
        return sum.map { $0 / Double(perFrame.count) }
    }

    /// Labels one track's frames (ascending `frames`, with their CNN probabilities in the same
    /// order): by the CNN when the track is shorter than `windowLength`, else by the BiLSTM
    /// windows merged in `windows` (the windows of a short track, if any, are not used).
    ///
    /// - Throws: `TrackLabellingError` when a frame of a BiLSTM-labelled track is in no window,
    ///   or the CNN probabilities of a CNN-labelled track do not fit.
    public static func label(frames: [UInt64], cnnProbs: [[Double]], windows: TrackMerger, windowLength: Int) throws -> LabelledTrack {
        precondition(frames.count == cnnProbs.count, "one CNN probability vector per frame")
        switch source(trackFrames: frames.count, windowLength: windowLength) {
        case .cnn:
            let mean = try cnnProbabilities(cnnProbs, classes: windows.classes)
            return LabelledTrack(source: .cnn, probs: Array(repeating: mean, count: frames.count))
        case .bilstm:
            let merged = Dictionary(uniqueKeysWithValues: windows.frameProbabilities().map { ($0.frame, $0.probs) })
            let probs = try frames.map { f in
                guard let p = merged[f] else {
                    throw TrackLabellingError(description: "frame \(f) is in no window: the coordinator's windows do not cover the track")
                }
                return p
            }
            return LabelledTrack(source: .bilstm, probs: probs)
        }
    }
}
