/// A segment with the times of its first and last frames.
public struct TimedSegment: Sendable, Equatable {
    public var segment: Segment
    /// Seconds.
    public var startS: Double
    public var endS: Double
}

/// `Segmenter.segments` over one track's labelled frames as they come (ascending), giving the
/// same segments: a run ends at a label change or at a gap wider than the track's smallest gap
/// between frames. That smallest gap is only known at the track's end, but no gap is below 1:
/// once a gap of 1 was seen every break is certain, and only the open segment is kept. Before
/// that (a track sampled every k frames, or seen with gaps), the frames are held as (frame,
/// time, label), 24 bytes each, until a gap of 1 comes or the track ends.
public struct SegmentStream: Sendable {
    private struct Step: Sendable {
        var frame: UInt64
        var timeS: Double
        var label: Int
    }

    private var held: [Step] = []
    private var open: TimedSegment?
    private var smallestGap: UInt64?
    private var lastFrame: UInt64?

    public init() {}

    /// Frames held while the breaks are uncertain.
    public var framesHeld: Int { held.count }

    /// Adds the track's next labelled frame; returns the segments that closed for good.
    public mutating func add(frame: UInt64, timeS: Double, label: Int) -> [TimedSegment] {
        if let lastFrame {
            precondition(frame > lastFrame, "frames must be ascending")
            smallestGap = min(smallestGap ?? .max, frame - lastFrame)
        }
        lastFrame = frame
        if var o = open {
            // Settled (a gap of 1 was seen): extend the open segment or close it.
            if o.segment.label == label && frame - o.segment.endFrame <= 1 {
                o.segment.endFrame = frame
                o.endS = timeS
                open = o
                return []
            }
            open = TimedSegment(segment: Segment(startFrame: frame, endFrame: frame, label: label), startS: timeS, endS: timeS)
            return [o]
        }
        held.append(Step(frame: frame, timeS: timeS, label: label))
        guard smallestGap == 1 else { return [] }
        var closed = Self.segments(held, maxGap: 1)
        held.removeAll()
        open = closed.removeLast()
        return closed
    }

    /// The track ended: the remaining segments.
    public mutating func finish() -> [TimedSegment] {
        defer { held.removeAll(); open = nil }
        if let open { return [open] }
        return Self.segments(held, maxGap: smallestGap ?? 1)
    }

    private static func segments(_ steps: [Step], maxGap: UInt64) -> [TimedSegment] {
        var time: [UInt64: Double] = [:]
        for s in steps { time[s.frame] = s.timeS }
        return Segmenter.segments(steps.map { ($0.frame, $0.label) }, maxGap: maxGap).map {
            TimedSegment(segment: $0, startS: time[$0.startFrame] ?? 0, endS: time[$0.endFrame] ?? 0)
        }
    }
}
