import Foundation
import MienCore

/// Timing of one expression episode, in seconds: neutral → onset → apex (hold) → offset →
/// neutral. `tremorHz`/`tremorDepth` modulate the apex intensity (a sustained, trembling
/// hold); 0 depth means a steady apex.
public struct Episode: Sendable, Equatable {
    /// When the onset starts (s from the start of the clip).
    public var start: Double
    public var onset: Double
    public var hold: Double
    public var offset: Double
    /// Apex intensity in (0, 1].
    public var intensity: Double
    public var tremorHz: Double
    public var tremorDepth: Double
    public var tremorPhase: Double

    /// End of the offset (s).
    public var end: Double { start + onset + hold + offset }
}

/// Class-specific timing distributions (seconds). The pair **surprise / fear** has identical
/// apex geometry (`FaceActions.apex`) and differs only here: surprise snaps on within
/// 0.08–0.20 s, holds briefly (0.3–0.8 s) and steadily; fear builds up over 0.7–1.3 s and
/// holds long (1.2–2.6 s) with a 5–8 Hz tremor of the intensity.
public struct ExpressionDynamics: Sendable, Equatable {
    public var onset: ClosedRange<Double>
    public var hold: ClosedRange<Double>
    public var offset: ClosedRange<Double>
    /// Apex intensity multiplier: tremor depth range (0 for none).
    public var tremorDepth: ClosedRange<Double>
    /// Easing exponent of the onset: > 1 makes it snap (fast start), 1 is smoothstep.
    public var snap: Bool

    public static func of(_ c: ExpressionClass) -> ExpressionDynamics {
        switch c {
        case .surprise: return .init(onset: 0.08...0.20, hold: 0.3...0.8, offset: 0.5...1.0, tremorDepth: 0...0, snap: true)
        case .fear: return .init(onset: 0.7...1.3, hold: 1.2...2.6, offset: 0.6...1.2, tremorDepth: 0.07...0.12, snap: false)
        case .happy: return .init(onset: 0.3...0.7, hold: 0.8...2.5, offset: 0.5...1.2, tremorDepth: 0...0, snap: false)
        case .angry: return .init(onset: 0.3...0.6, hold: 1.0...3.0, offset: 0.4...0.9, tremorDepth: 0...0, snap: false)
        case .disgust: return .init(onset: 0.25...0.5, hold: 0.6...1.5, offset: 0.4...0.8, tremorDepth: 0...0, snap: false)
        case .sad: return .init(onset: 0.8...1.5, hold: 1.5...3.5, offset: 1.0...2.0, tremorDepth: 0...0, snap: false)
        case .neutral: return .init(onset: 0...0, hold: 0...0, offset: 0...0, tremorDepth: 0...0, snap: false)
        }
    }
}

/// The expression time course of one face: a class and its episodes.
public struct ExpressionTimeline: Sendable, Equatable {
    public let expression: ExpressionClass
    public let episodes: [Episode]

    /// The envelope threshold at and above which a frame is labelled with the clip's class;
    /// below it (lead-in, early onset, late offset, gaps) the frame is labelled `neutral`.
    public static let labelThreshold = 0.5

    /// Draws episodes for a clip of `duration` seconds. Neutral clips have none. The first
    /// episode starts after a 0.2–1.2 s neutral lead-in (shortened so that onset plus 0.3 s of
    /// apex always fits); further episodes follow after 0.4–1.5 s neutral gaps while a whole
    /// minimal episode still fits.
    public init(expression: ExpressionClass, duration: Double, rng: inout SeededRandom) {
        self.expression = expression
        guard expression != .neutral else { episodes = []; return }
        let d = ExpressionDynamics.of(expression)
        var list: [Episode] = []
        func draw(_ r: ClosedRange<Double>) -> Double { rng.uniform(r.lowerBound, r.upperBound + 1e-12) }
        var t = rng.uniform(0.2, 1.2)
        while true {
            let onset = draw(d.onset), hold = draw(d.hold), offset = draw(d.offset)
            if list.isEmpty {
                // The first episode must show its onset and some apex.
                t = min(t, max(0, duration - onset - 0.3))
            } else if t + onset + hold + offset > duration {
                break
            }
            let depth = draw(d.tremorDepth)
            list.append(Episode(start: t, onset: onset, hold: hold, offset: offset,
                                intensity: rng.uniform(0.7, 1.0), tremorHz: rng.uniform(5, 8),
                                tremorDepth: depth, tremorPhase: rng.uniform(0, 2 * Double.pi)))
            t = list.last!.end + rng.uniform(0.4, 1.5)
            if t >= duration { break }
        }
        episodes = list
    }

    init(expression: ExpressionClass, episodes: [Episode]) {
        self.expression = expression
        self.episodes = episodes
    }

    /// Normalised envelope e(t) ∈ [0, 1] at time `t` (s): 0 neutral, 1 apex; the shape only,
    /// without intensity or tremor.
    public func envelope(at t: Double) -> Double {
        let snap = ExpressionDynamics.of(expression).snap
        for e in episodes where t >= e.start && t < e.end {
            let u = t - e.start
            if u < e.onset {
                let x = u / e.onset
                return snap ? 1 - (1 - x) * (1 - x) * (1 - x) : smoothstep(x)
            }
            if u < e.onset + e.hold { return 1 }
            return 1 - smoothstep((u - e.onset - e.hold) / e.offset)
        }
        return 0
    }

    /// Expression strength s(t) = intensity · e(t) · tremor, what scales the apex actions.
    public func strength(at t: Double) -> Double {
        for e in episodes where t >= e.start && t < e.end {
            let env = envelope(at: t)
            let tremor = 1 - e.tremorDepth * 0.5 * (1 + sin(2 * Double.pi * e.tremorHz * t + e.tremorPhase))
            // Tremor only once the apex is reached (weighted by the envelope so it fades in/out).
            return e.intensity * env * (1 - env * (1 - tremor))
        }
        return 0
    }

    /// The per-frame ground-truth label at time `t`: the clip's class while e(t) ≥ 0.5,
    /// otherwise `neutral`.
    public func label(at t: Double) -> ExpressionClass {
        envelope(at: t) >= Self.labelThreshold ? expression : .neutral
    }
}

@inline(__always) func smoothstep(_ x: Double) -> Double {
    let c = min(1, max(0, x))
    return c * c * (3 - 2 * c)
}
