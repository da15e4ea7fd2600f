import Foundation
import MienCore

/// Ground-truth face box convention: the renderer draws the face in local units of its
/// half-width `a` (pixels); the box reported in `frames.csv` is the axis-aligned square of
/// side `GroundTruthBox.side · a` centred `GroundTruthBox.centreDown · a` below the face
/// centre (rotated with the head). The constants were fitted so that the box matches where
/// OpenCV's frontal-face Haar cascade puts its box on these faces (brow-to-chin-top, cheek to
/// cheek), see docs/SYNTH.md.
public enum GroundTruthBox {
    public static let side = 2.3
    public static let centreDown = 0.05
}

/// A face's rigid motion over time: centre (pixels), scale multiplier and roll (radians).
public struct HeadMotion: Sendable, Equatable {
    public var centreX: Double, centreY: Double
    /// Sum of two sinusoids per axis: amplitudes (px), frequencies (Hz), phases.
    public var ampX: [Double], freqX: [Double], phaseX: [Double]
    public var ampY: [Double], freqY: [Double], phaseY: [Double]
    public var roll0: Double, rollAmp: Double, rollFreq: Double, rollPhase: Double
    public var scaleAmp: Double, scaleFreq: Double, scalePhase: Double

    func at(_ t: Double) -> (x: Double, y: Double, scale: Double, roll: Double) {
        var x = centreX, y = centreY
        for i in 0..<ampX.count { x += ampX[i] * sin(2 * .pi * freqX[i] * t + phaseX[i]) }
        for i in 0..<ampY.count { y += ampY[i] * sin(2 * .pi * freqY[i] * t + phaseY[i]) }
        return (x, y, 1 + scaleAmp * sin(2 * .pi * scaleFreq * t + scalePhase),
                roll0 + rollAmp * sin(2 * .pi * rollFreq * t + rollPhase))
    }
}

/// One blink: starts at `start` (s), lasts `duration` (s); lids close in the first 40 %.
public struct Blink: Sendable, Equatable {
    public var start: Double, duration: Double
    func closure(at t: Double) -> Double {
        let u = (t - start) / duration
        if u <= 0 || u >= 1 { return 0 }
        return u < 0.4 ? smoothstep(u / 0.4) : 1 - smoothstep((u - 0.4) / 0.6)
    }
}

/// Talking: syllable-rate jaw movement between `start` and `end` (s).
public struct Talking: Sendable, Equatable {
    public var start: Double, end: Double, rateHz: Double, amplitude: Double, phase: Double
    func jaw(at t: Double) -> Double {
        guard t >= start, t < end else { return 0 }
        let fade = min(1, (t - start) / 0.15, (end - t) / 0.15)
        let syllable = abs(sin(.pi * rateHz * t + phase))
        let accent = 0.65 + 0.35 * sin(2 * .pi * 0.9 * t + 2 * phase)
        return amplitude * fade * pow(syllable, 1.5) * accent
    }
}

/// Everything about one face track in a clip.
public struct FacePlan: Sendable, Equatable {
    public var identity: FaceIdentity
    /// Half-width of the face in pixels at scale 1.
    public var halfWidth: Double
    public var motion: HeadMotion
    public var timeline: ExpressionTimeline
    public var blinks: [Blink]
    public var talking: Talking?
    /// Slow idle movements (brows, gaze): amplitude/phase pairs.
    public var idlePhase: [Double]
}

/// Something crossing in front of the faces: a bar (e.g. a pole or a passer-by's arm) or a
/// hand, sweeping horizontally across the frame.
public struct Occluder: Sendable, Equatable {
    public enum Kind: String, Sendable { case bar, hand }
    public var kind: Kind
    public var colour: RGB
    public var start: Double, duration: Double
    /// Width in pixels; top edge in pixels (it reaches down to the bottom of the frame).
    public var width: Double, top: Double
    public var leftToRight: Bool

    /// Left edge (px) at time t, nil when not in the frame.
    func left(at t: Double, frameWidth: Double) -> Double? {
        let u = (t - start) / duration
        guard u >= 0, u <= 1 else { return nil }
        let p = leftToRight ? u : 1 - u
        return -width + p * (frameWidth + width)
    }
}

/// The static scene: background, lighting, camera noise and blur.
public struct ScenePlan: Sendable, Equatable {
    public var backgroundTop: RGB, backgroundBottom: RGB
    /// Soft-edged rectangles in the background (x0, y0, x1, y1 in px) and their colours.
    public var panels: [(Double, Double, Double, Double)]
    public var panelColours: [RGB]
    /// Lighting gradient: direction (unit vector) and strength (relative brightness change
    /// from the frame centre to its edge along the direction).
    public var lightX: Double, lightY: Double, lightStrength: Double
    /// Overall exposure multiplier (auto-exposure on the faces' skin, see `ClipPlan.init`).
    public var gain: Double
    /// Sensor noise standard deviation in 8-bit levels.
    public var noiseSigma: Double
    /// Gaussian blur standard deviation in pixels (0 = sharp).
    public var blurSigma: Double

    public static func == (a: ScenePlan, b: ScenePlan) -> Bool {
        a.backgroundTop == b.backgroundTop && a.backgroundBottom == b.backgroundBottom
            && a.panels.map { [$0.0, $0.1, $0.2, $0.3] } == b.panels.map { [$0.0, $0.1, $0.2, $0.3] }
            && a.panelColours == b.panelColours && a.lightX == b.lightX && a.lightY == b.lightY
            && a.lightStrength == b.lightStrength && a.gain == b.gain && a.noiseSigma == b.noiseSigma
            && a.blurSigma == b.blurSigma
    }
}

/// The complete, deterministic description of one synthetic clip: drawn once from the
/// clip's seed, then rendered frame by frame.
public struct ClipPlan: Sendable, Equatable {
    public var config: SynthConfig
    public var expression: ExpressionClass
    public var frameCount: Int
    public var faces: [FacePlan]
    public var scene: ScenePlan
    public var occluder: Occluder?
    /// Seed of the per-frame noise streams.
    public var noiseSeed: UInt64

    public var duration: Double { Double(frameCount) / config.fps }

    /// Draws a clip showing `expression`. Everything comes from `rng`.
    public init(expression: ExpressionClass, config: SynthConfig, rng: inout SeededRandom) {
        self.config = config
        self.expression = expression
        let W = Double(config.width), H = Double(config.height)
        let seconds = rng.uniform(config.minSeconds, config.maxSeconds + 1e-9)
        frameCount = max(2, Int((seconds * config.fps).rounded()))
        let duration = Double(frameCount) / config.fps
        let unit = min(W, H) / 480
        let faceCount = config.maxFaces >= 2 && rng.chance(0.35) ? 2 : 1

        var faces: [FacePlan] = []
        for k in 0..<faceCount {
            let identity = FaceIdentity(rng: &rng)
            // Face half-width in px: one face 0.15–0.23 of the short side, two faces 0.12–0.165.
            let a = faceCount == 1 ? rng.uniform(0.15, 0.23) * min(W, H) : rng.uniform(0.12, 0.165) * min(W, H)
            let ax = [rng.uniform(0, 0.18 * a), rng.uniform(0, 0.06 * a)]
            let ay = [rng.uniform(0, 0.10 * a), rng.uniform(0, 0.04 * a)]
            let margin = ax[0] + ax[1] + 1.06 * 1.2 * a
            let top = (identity.aspect * 1.12 + 0.05) * a * 1.05 + ay[0] + ay[1]
            let bottom = (identity.aspect + 0.3) * a * 1.05 + ay[0] + ay[1]
            let xLo = faceCount == 1 ? margin : (k == 0 ? margin : W / 2 + margin)
            let xHi = faceCount == 1 ? W - margin : (k == 0 ? W / 2 - margin : W - margin)
            let cx = xLo < xHi ? rng.uniform(xLo, xHi) : (xLo + xHi) / 2
            let cy = top < H - bottom ? rng.uniform(top, H - bottom) : H / 2
            let motion = HeadMotion(
                centreX: cx, centreY: cy,
                ampX: ax, freqX: [rng.uniform(0.08, 0.35), rng.uniform(0.4, 1.0)], phaseX: [rng.uniform(0, 6.3), rng.uniform(0, 6.3)],
                ampY: ay, freqY: [rng.uniform(0.08, 0.35), rng.uniform(0.4, 1.0)], phaseY: [rng.uniform(0, 6.3), rng.uniform(0, 6.3)],
                roll0: rng.uniform(-0.05, 0.05), rollAmp: rng.uniform(0, 0.07), rollFreq: rng.uniform(0.1, 0.5),
                rollPhase: rng.uniform(0, 6.3), scaleAmp: rng.uniform(0, 0.04), scaleFreq: rng.uniform(0.05, 0.3),
                scalePhase: rng.uniform(0, 6.3))
            let timeline = ExpressionTimeline(expression: expression, duration: duration, rng: &rng)
            var blinks: [Blink] = []
            var t = rng.uniform(0.3, 3.0)
            while t < duration {
                blinks.append(Blink(start: t, duration: rng.uniform(0.10, 0.25)))
                t += rng.uniform(2.0, 5.0)
            }
            var talking: Talking? = nil
            if rng.chance(0.35) {
                let s = rng.uniform(0, duration * 0.5)
                talking = Talking(start: s, end: min(duration, s + rng.uniform(0.8, max(0.9, duration))),
                                  rateHz: rng.uniform(2.5, 4.5), amplitude: rng.uniform(0.12, 0.35), phase: rng.uniform(0, 6.3))
            }
            faces.append(FacePlan(identity: identity, halfWidth: a, motion: motion, timeline: timeline,
                                  blinks: blinks, talking: talking, idlePhase: (0..<6).map { _ in rng.uniform(0, 6.3) }))
        }
        self.faces = faces

        // Scene.
        func colour(_ lo: Double, _ hi: Double) -> RGB { RGB(rng.uniform(lo, hi), rng.uniform(lo, hi), rng.uniform(lo, hi)) }
        let bgTop = colour(0.15, 0.85)
        let bgBottom = RGB.mix(bgTop, colour(0.1, 0.9), rng.uniform(0.2, 0.7))
        var panels: [(Double, Double, Double, Double)] = [], panelColours: [RGB] = []
        for _ in 0..<rng.int(1, 5) {
            let x0 = rng.uniform(-0.2, 0.9) * W, y0 = rng.uniform(-0.2, 0.9) * H
            panels.append((x0, y0, x0 + rng.uniform(0.1, 0.5) * W, y0 + rng.uniform(0.1, 0.6) * H))
            panelColours.append(RGB.mix(bgTop, colour(0.05, 0.95), rng.uniform(0.2, 0.6)))
        }
        let angle = rng.uniform(0, 2 * .pi)
        // Auto-exposure: like a camera metering on the faces, the gain brings the mean skin
        // level to 38–72 % of full scale (so dark skin in a dark room is not left near black).
        let skinLuma = faces.map(\.identity.skin.luma).reduce(0, +) / Double(faces.count)
        let gain = min(2.2, max(0.6, rng.uniform(0.38, 0.72) / skinLuma))
        scene = ScenePlan(backgroundTop: bgTop, backgroundBottom: bgBottom, panels: panels, panelColours: panelColours,
                          lightX: cos(angle), lightY: sin(angle), lightStrength: rng.uniform(0, 0.35),
                          gain: gain, noiseSigma: rng.uniform(1, 6),
                          blurSigma: rng.chance(0.3) ? 0 : rng.uniform(0.3, 1.4) * unit)

        if rng.chance(0.3) && duration > 1.2 {
            let aMax = faces.map(\.halfWidth).max()!
            let faceTop = faces.map { $0.motion.centreY - $0.identity.aspect * $0.halfWidth }.min()!
            let hand = rng.chance(0.5)
            occluder = Occluder(kind: hand ? .hand : .bar,
                                colour: hand ? FaceIdentity(rng: &rng).skin : colour(0.05, 0.95),
                                start: rng.uniform(0.3, duration - 0.9), duration: rng.uniform(0.5, 1.0),
                                width: rng.uniform(0.5, 1.0) * aMax, top: rng.uniform(0, max(1, faceTop)),
                                leftToRight: rng.chance(0.5))
        } else {
            occluder = nil
        }
        noiseSeed = rng.next()
    }
}

/// The state of one face in one frame, what the renderer draws and the ground truth reports.
public struct FaceFrame: Sendable, Equatable {
    /// Track number (0 or 1), stable over the clip.
    public var track: Int
    public var centreX: Double, centreY: Double
    /// Half-width in pixels (after the scale motion).
    public var halfWidth: Double
    /// Roll in radians (positive = clockwise on screen).
    public var roll: Double
    public var actions: FaceActions
    /// Eyelid closure from blinking, 0 open … 1 shut.
    public var blink: Double
    /// Gaze offset of the irises in local units.
    public var gazeX: Double, gazeY: Double
    /// Per-frame label (see `ExpressionTimeline.label(at:)`).
    public var label: ExpressionClass
    /// Fraction of the ground-truth box hidden by the occluder, 0…1.
    public var occluded: Double

    /// Ground-truth face box (integer pixels, clipped to the frame): x, y of the top-left
    /// corner, width, height. See `GroundTruthBox`.
    public func box(frameWidth: Int, frameHeight: Int) -> (x: Int, y: Int, w: Int, h: Int) {
        let side = GroundTruthBox.side * halfWidth
        let d = GroundTruthBox.centreDown * halfWidth
        let bx = centreX - sin(roll) * d, by = centreY + cos(roll) * d
        let x0 = max(0, Int((bx - side / 2).rounded())), y0 = max(0, Int((by - side / 2).rounded()))
        let x1 = min(frameWidth, Int((bx + side / 2).rounded())), y1 = min(frameHeight, Int((by + side / 2).rounded()))
        return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))
    }
}

extension ClipPlan {
    /// The state of every face at frame `index` (0-based).
    public func faceFrames(at index: Int) -> [FaceFrame] {
        precondition(index >= 0 && index < frameCount, "frame \(index) outside 0..<\(frameCount)")
        let t = Double(index) / config.fps
        return faces.enumerated().map { k, f in
            let m = f.motion.at(t)
            let s = f.timeline.strength(at: t)
            var actions = FaceActions.apex(expression).scaled(s)
            // Idle movements: small slow brow and mouth drift present in every clip.
            actions.browRaise += 0.06 * sin(2 * .pi * 0.23 * t + f.idlePhase[0])
            actions.lipCornerPull += 0.04 * sin(2 * .pi * 0.17 * t + f.idlePhase[1])
            if let talk = f.talking { actions.jawDrop += talk.jaw(at: t) }
            let blink = f.blinks.map { $0.closure(at: t) }.max() ?? 0
            let a = f.halfWidth * m.scale
            var occ = 0.0
            var frame = FaceFrame(track: k, centreX: m.x, centreY: m.y, halfWidth: a, roll: m.roll, actions: actions,
                                  blink: blink,
                                  gazeX: 0.025 * sin(2 * .pi * 0.3 * t + f.idlePhase[2]) + 0.015 * sin(2 * .pi * 0.8 * t + f.idlePhase[3]),
                                  gazeY: 0.01 * sin(2 * .pi * 0.25 * t + f.idlePhase[4]),
                                  label: f.timeline.label(at: t), occluded: 0)
            if let o = occluder, let left = o.left(at: t, frameWidth: Double(config.width)) {
                let b = frame.box(frameWidth: config.width, frameHeight: config.height)
                let ix = max(0, min(Double(b.x + b.w), left + o.width) - max(Double(b.x), left))
                let iy = max(0, Double(b.y + b.h) - max(Double(b.y), o.top))
                occ = b.w > 0 && b.h > 0 ? ix * min(Double(b.h), iy) / Double(b.w * b.h) : 0
            }
            frame.occluded = occ
            return frame
        }
    }
}
