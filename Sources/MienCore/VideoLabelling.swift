/// The video-level label rule, kept as running state over a video's face-frames (constant
/// memory however long the video): the video's dominant expression. When at least
/// `minExpressiveShare` of its face-frames are labelled other than neutral, the non-neutral
/// class with the highest summed (equivalently: mean) probability; otherwise neutral. (A
/// mostly-neutral interview with a recurring smile is "happy", which is what a user asks of a
/// video-level label.) Without a "neutral" label, or without frames, the argmax of the sums.
public struct VideoLabelling: Sendable {
    public let labels: [String]
    public let minExpressiveShare: Double
    /// Per class, the sum of the frames' probabilities (a frame's vector may be shorter: the
    /// missing classes add nothing).
    public private(set) var probabilitySums: [Double]
    public private(set) var frames = 0
    /// Frames whose label is not neutral.
    public private(set) var expressiveFrames = 0
    private let neutral: Int?

    public init(labels: [String], minExpressiveShare: Double = 0.1) {
        self.labels = labels
        self.minExpressiveShare = minExpressiveShare
        probabilitySums = [Double](repeating: 0, count: labels.count)
        neutral = labels.firstIndex(of: "neutral")
    }

    /// One face-frame: its label and class probabilities.
    public mutating func add(label: Int, probabilities: [Double]) {
        frames += 1
        if label != neutral { expressiveFrames += 1 }
        for c in 0..<min(labels.count, probabilities.count) { probabilitySums[c] += probabilities[c] }
    }

    /// The mean probabilities over the frames added (zeros without frames).
    public var meanProbabilities: [Double] { probabilitySums.map { $0 / Double(max(frames, 1)) } }

    /// The video's label by the rule above, from `probabilities` (the sums or the means: the same argmax).
    public func label(probabilities: [Double]) -> Int {
        guard let neutral, frames > 0 else { return argmax(probabilities) ?? 0 }
        guard Double(expressiveFrames) / Double(frames) >= minExpressiveShare else { return neutral }
        var p = probabilities
        p[neutral] = -1
        return argmax(p)!
    }
}
