import Foundation
import MienCore

/// A whole synthetic data set: `count` clips drawn from `seed`. Clip `i` depends only on
/// (`seed`, `i`, `config`), never on `count`, so a larger set extends a smaller one.
public struct SynthDataset: Sendable {
    public let seed: UInt64
    public let count: Int
    public let config: SynthConfig

    public init(seed: UInt64, count: Int, config: SynthConfig) {
        precondition(count >= 0, "clip count must be ≥ 0")
        self.seed = seed
        self.count = count
        self.config = config
    }

    /// The class of clip `i`. Classes are dealt in blocks of seven: each block of clips
    /// 7b…7b+6 holds every class exactly once, in an order shuffled by the seed. So any
    /// prefix of N clips has each class ⌊N/7⌋ or ⌈N/7⌉ times.
    public func expression(ofClip i: Int) -> ExpressionClass {
        precondition(i >= 0, "clip index must be ≥ 0")
        var rng = SeededRandom.stream(seed: seed ^ 0x5EED_C1A5_5E5B_A1A7, UInt64(i / 7))
        var order = ExpressionClass.allCases
        for k in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(k, rng.int(0, k))
        }
        return order[i % 7]
    }

    /// The full plan of clip `i`.
    public func plan(ofClip i: Int) -> ClipPlan {
        var rng = SeededRandom.stream(seed: seed, UInt64(i))
        return ClipPlan(expression: expression(ofClip: i), config: config, rng: &rng)
    }

    /// File name of clip `i`, e.g. `clip_00007.mp4`.
    public static func clipName(_ i: Int, extension ext: String = "mp4") -> String {
        "clip_" + String(format: "%05d", i) + "." + ext
    }
}

/// Ground-truth files of a synthetic set (CSV, comma-separated, `\n` line ends, header line
/// first, no quoting needed: names and labels never contain commas).
public enum GroundTruthCSV {
    /// `labels.csv`: one line per clip, the clip's expression.
    public static let labelsHeader = "video,label"
    /// `frames.csv`: one line per face per frame. `frame` is 0-based; `track` is 0 or 1;
    /// `label` is the per-frame label (the clip's class while the expression envelope is at
    /// least half way to its apex, `neutral` otherwise); x, y, w, h is the face box in pixels
    /// (top-left corner, width, height; see `GroundTruthBox`).
    public static let framesHeader = "video,frame,track,label,x,y,w,h"

    public static func labelRow(video: String, label: ExpressionClass) -> String {
        "\(video),\(label.rawValue)"
    }

    public static func frameRow(video: String, frame: Int, face: FaceFrame, width: Int, height: Int) -> String {
        let b = face.box(frameWidth: width, frameHeight: height)
        return "\(video),\(frame),\(face.track),\(face.label.rawValue),\(b.x),\(b.y),\(b.w),\(b.h)"
    }

    /// Parses a `labels.csv` text into (video, label) pairs.
    /// - Throws: `SynthError` naming the line that is malformed or holds an unknown label.
    public static func parseLabels(_ text: String) throws -> [(video: String, label: ExpressionClass)] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.first == labelsHeader else {
            throw SynthError("labels.csv must start with the header '\(labelsHeader)', found '\(lines.first ?? "")'")
        }
        lines.removeFirst()
        return try lines.enumerated().map { n, line in
            let parts = line.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2, let label = ExpressionClass(rawValue: String(parts[1])) else {
                throw SynthError("labels.csv line \(n + 2): expected 'video,label' with label one of \(ExpressionClass.labels.joined(separator: "|")), found '\(line)'")
            }
            return (String(parts[0]), label)
        }
    }
}

/// Counts of clips per class, and a one-line summary of them.
public struct ClassBalance: Sendable, Equatable {
    public private(set) var counts: [ExpressionClass: Int] = [:]

    public init<S: Sequence>(_ labels: S) where S.Element == ExpressionClass {
        for l in labels { counts[l, default: 0] += 1 }
    }

    public var total: Int { counts.values.reduce(0, +) }

    /// Largest minus smallest count over all seven classes (missing classes count 0).
    public var spread: Int {
        let c = ExpressionClass.allCases.map { counts[$0, default: 0] }
        return c.max()! - c.min()!
    }

    /// e.g. "angry 2, disgust 2, fear 1, happy 1, sad 1, surprise 1, neutral 1 (total 9)".
    public var summary: String {
        ExpressionClass.allCases.map { "\($0.rawValue) \(counts[$0, default: 0])" }.joined(separator: ", ")
            + " (total \(total))"
    }
}

/// An error of the synthesiser: what went wrong and what to do.
public struct SynthError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}
