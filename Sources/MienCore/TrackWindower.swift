/// One step of a face track: the frame it was seen in, its embedding and the CNN's class
/// probabilities for it (empty when not known).
public struct TrackStep: Sendable, Equatable {
    public var frame: UInt64
    public var embedding: [Float]
    public var cnnProbs: [Float]

    public init(frame: UInt64, embedding: [Float], cnnProbs: [Float] = []) {
        self.frame = frame
        self.embedding = embedding
        self.cnnProbs = cnnProbs
    }
}

/// An ordered window of consecutive steps of one track.
public struct TrackWindow: Sendable, Equatable {
    /// 0-based, in start order within the track.
    public var index: UInt32
    /// Steps in ascending frame order; `length` of them unless the track is shorter.
    public var steps: [TrackStep]
    /// Number of real steps when the whole track is shorter than the window length, else 0.
    public var paddedFrom: UInt32

    public var startFrame: UInt64 { steps.first!.frame }
    public var endFrame: UInt64 { steps.last!.frame }
}

/// Cuts a track, fed step by step in frame order, into overlapping windows of `length`
/// steps every `stride` steps, holding only the last `length` steps in memory.
///
/// Every step lands in at least one window: windows start at steps 0, s, 2s, …; when the
/// track ends, a last window covering its final `length` steps is added if the regular ones
/// missed its tail; a track shorter than `length` becomes one short window (`paddedFrom` =
/// its length) rather than being dropped. (The coordinator does not send that short window:
/// such a track is labelled by the CNN, see `TrackLabelling`.)
public struct TrackWindower: Sendable {
    public let length: Int
    public let stride: Int
    private var buffer: [TrackStep] = []
    private var stepsSeen = 0
    private var lastWindowEnd = -1  // step index (exclusive end) of the last emitted window
    private var nextIndex: UInt32 = 0

    /// - Precondition: 1 ≤ stride ≤ length (a larger stride would leave steps in no window).
    public init(length: Int, stride: Int) {
        precondition(length >= 1, "window length must be at least 1")
        precondition(stride >= 1 && stride <= length, "stride must be in 1...length, got \(stride) for length \(length)")
        self.length = length
        self.stride = stride
        buffer.reserveCapacity(length)
    }

    /// Adds the next step; returns the window it completes, if any.
    public mutating func append(_ step: TrackStep) -> TrackWindow? {
        if let last = buffer.last { precondition(step.frame > last.frame, "steps must be in ascending frame order") }
        if buffer.count == length { buffer.removeFirst() }
        buffer.append(step)
        stepsSeen += 1
        let start = stepsSeen - length
        guard start >= 0, start % stride == 0 else { return nil }
        lastWindowEnd = stepsSeen
        defer { nextIndex += 1 }
        return TrackWindow(index: nextIndex, steps: buffer, paddedFrom: 0)
    }

    /// Ends the track; returns the final window if the tail (or the whole short track) is not yet covered.
    public mutating func finish() -> TrackWindow? {
        defer { buffer.removeAll(); stepsSeen = 0; lastWindowEnd = -1; nextIndex = 0 }
        guard stepsSeen > 0, lastWindowEnd < stepsSeen else { return nil }
        let padded = stepsSeen < length ? UInt32(stepsSeen) : 0
        return TrackWindow(index: nextIndex, steps: buffer, paddedFrom: padded)
    }

    /// Number of windows a track of `steps` steps yields (what a manifest promises).
    public static func windowCount(steps: Int, length: Int, stride: Int) -> Int {
        guard steps > 0 else { return 0 }
        guard steps >= length else { return 1 }
        let regular = (steps - length) / stride + 1
        let covered = (regular - 1) * stride + length
        return covered < steps ? regular + 1 : regular
    }
}
