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

    /// Adds the frames counted in `other` (one track's, when a video's tracks are labelled
    /// apart): the sums are added class by class, so a video summed track by track may differ
    /// from one summed frame by frame in the last bits of a double.
    public mutating func add(_ other: VideoLabelling) {
        precondition(other.labels == labels, "the same labels")
        frames += other.frames
        expressiveFrames += other.expressiveFrames
        for c in probabilitySums.indices { probabilitySums[c] += other.probabilitySums[c] }
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
