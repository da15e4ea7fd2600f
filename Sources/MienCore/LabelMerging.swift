/// Merges overlapping window predictions of one track into per-frame probabilities.
///
/// Idempotent on the window index: a window delivered twice counts once. A frame's
/// probabilities are the mean of the windows that contain it (windows are given by the
/// frames they cover, which may have gaps where the face was not seen).
public struct TrackMerger: Sendable {
    public let classes: Int
    /// frame → (sum of probabilities, number of windows)
    private var sums: [UInt64: ([Double], Int)] = [:]
    private var seenWindows: Set<UInt32> = []

    public init(classes: Int) {
        precondition(classes >= 1)
        self.classes = classes
    }

    public var windowCount: Int { seenWindows.count }

    /// Adds one window's prediction over `frames`. Returns false (and ignores it) when this
    /// window index was already added.
    @discardableResult
    public mutating func add(window: UInt32, frames: [UInt64], probs: [Float]) -> Bool {
        precondition(probs.count == classes, "expected \(classes) probabilities, got \(probs.count)")
        guard seenWindows.insert(window).inserted else { return false }
        for f in frames {
            var (s, n) = sums[f] ?? ([Double](repeating: 0, count: classes), 0)
            for c in 0..<classes { s[c] += Double(probs[c]) }
            n += 1
            sums[f] = (s, n)
        }
        return true
    }

    /// Per-frame mean probabilities, ascending frame order.
    public func frameProbabilities() -> [(frame: UInt64, probs: [Double])] {
        sums.keys.sorted().map { f in
            let (s, n) = sums[f]!
            return (f, s.map { $0 / Double(n) })
        }
    }
}

/// A run of consecutive labelled frames of one track with the same label.
public struct Segment: Sendable, Equatable {
    public var startFrame: UInt64
    public var endFrame: UInt64  // inclusive
    public var label: Int
}

public enum Segmenter {
    /// Splits labelled frames (ascending) into runs of one label. A gap in frame numbers of
    /// more than `maxGap` frames (the face was not seen) also ends a run.
    public static func segments(_ frames: [(frame: UInt64, label: Int)], maxGap: UInt64 = 1) -> [Segment] {
        var out: [Segment] = []
        for (f, l) in frames {
            if var last = out.last, last.label == l, f > last.endFrame, f - last.endFrame <= maxGap {
                last.endFrame = f
                out[out.count - 1] = last
            } else {
                out.append(Segment(startFrame: f, endFrame: f, label: l))
            }
        }
        return out
    }
}

/// Index of the largest value (first one on ties); nil for an empty vector.
public func argmax<T: Comparable>(_ v: [T]) -> Int? {
    guard var best = v.indices.first else { return nil }
    for i in v.indices where v[i] > v[best] { best = i }
    return best
}
