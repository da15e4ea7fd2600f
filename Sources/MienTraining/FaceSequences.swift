import Foundation
import MienCore
import MienNN

/// Labelled frame sequences made from real face photographs (the paper's step 5 with real faces):
/// each sequence is one photograph seen as a face is seen by a camera over `length` frames —
/// pose, scale and position drifting smoothly from one random state to another (a head moving),
/// lighting drifting likewise, the detector's box jittering by a pixel or so from frame to frame,
/// and sensor noise on every frame. The expression (the photograph's label) holds throughout.
///
/// Why: the BiLSTM must see the noise of the real CNN on real faces. Sequences of embeddings of
/// synthetic faces teach it a world the CNN never shows on real video (`mien evaluate` on real
/// clips: CNN+BiLSTM far below the CNN). Here every frame's embedding is the real CNN's on a real
/// face, and the frame-to-frame variation is what a tracked face in video adds to one photograph.
/// Optional episodes (off by default, so a seed's frames stay what they were): a hand or object
/// passing in front of the face (`occlusion`) and a few frames of motion blur (`blur`). The onset
/// and offset of an expression are `ExpressionDynamics`, applied to the CNN's outputs.
public struct FaceSequenceGenerator: Sendable {
    /// Largest rotation (degrees), zoom (fraction), shift (fraction of the side) of a state.
    public var rotation = 10.0, zoom = 0.08, shift = 0.06
    /// Largest brightness (gray levels) and contrast (fraction) change of a state.
    public var brightness: Float = 20, contrast: Float = 0.15
    /// Per-frame box jitter (pixels, uniform ±) and noise (gray levels, uniform ±).
    public var jitter = 1.0, noise: Float = 4
    /// Probability that a sequence has an occluder (a flat gray block 25–45 % of the side) sliding
    /// across the face over 3–8 of its frames.
    public var occlusion = 0.0
    /// Probability that a sequence has 2–5 frames of horizontal motion blur (box of 3–7 pixels).
    public var blur = 0.0
    public init() {}

    /// The `length` frames of one sequence of `image` (side × side gray, 0…255), drawn from `rng`.
    public func frames(of image: [UInt8], side: Int, length: Int, rng: inout SplitMix64) -> [[UInt8]] {
        func unit() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        func symmetric() -> Double { 2 * unit() - 1 }
        struct State { var deg, scale, dx, dy: Double; var bright, contrast: Float }
        func state() -> State {
            State(deg: symmetric() * rotation, scale: 1 + symmetric() * zoom, dx: symmetric() * shift * Double(side),
                  dy: symmetric() * shift * Double(side), bright: Float(symmetric()) * brightness, contrast: 1 + Float(symmetric()) * contrast)
        }
        let a = state(), b = state()
        let mirror = unit() < 0.5
        // Episodes are drawn only when enabled, so sequences without them keep their random stream.
        let occluder = occlusion > 0 && unit() < occlusion ? Occluder(side: side, length: length, unit: unit) : nil
        let blurred = blur > 0 && unit() < blur ? (frames: Self.episode(length: length, frames: 2...5, unit: unit), width: 3 + 2 * Int(unit() * 3)) : nil
        let source = image.map(Float.init)
        var out: [[UInt8]] = []
        out.reserveCapacity(length)
        for f in 0..<length {
            // Smooth (cosine-eased) motion from state a to state b over the sequence.
            let t = length > 1 ? 0.5 - 0.5 * cos(Double.pi * Double(f) / Double(length - 1)) : 0
            let mix = { (x: Double, y: Double) in x + (y - x) * t }
            var m = ImageOps.rotationZoom(degrees: mix(a.deg, b.deg), scale: mix(a.scale, b.scale), side: side)
            m[2] += mix(a.dx, b.dx) + symmetric() * jitter
            m[5] += mix(a.dy, b.dy) + symmetric() * jitter
            var x = ImageOps.affineWarp(source, side: side, forward: m)
            if mirror { x = ImageOps.flipHorizontal(x, side: side) }
            x = ImageOps.brightnessContrast(x, brightness: a.bright + (b.bright - a.bright) * Float(t),
                                            contrast: a.contrast + (b.contrast - a.contrast) * Float(t))
            if let occluder, occluder.frames.contains(f) { occluder.draw(on: &x, frame: f) }
            if let blurred, blurred.frames.contains(f) { x = ImageOps.horizontalBoxBlur(x, side: side, width: blurred.width) }
            out.append(x.map { v in UInt8(max(0, min(255, (v + Float(symmetric()) * noise).rounded()))) })
        }
        return out
    }

    /// A run of consecutive frames of a random length in `frames`, placed at random in the sequence.
    static func episode(length: Int, frames: ClosedRange<Int>, unit: () -> Double) -> Range<Int> {
        let n = min(length, frames.lowerBound + Int(unit() * Double(frames.count)))
        let start = Int(unit() * Double(length - n + 1))
        return start..<(start + n)
    }

    /// A flat block that slides across the face (a hand, a cup, a microphone) during `frames`.
    struct Occluder {
        let frames: Range<Int>, size: Int, gray: Float, row: Int, fromLeft: Bool, side: Int

        init(side: Int, length: Int, unit: () -> Double) {
            frames = FaceSequenceGenerator.episode(length: length, frames: 3...8, unit: unit)
            size = max(1, Int(Double(side) * (0.25 + 0.2 * unit())))
            gray = Float(40 + unit() * 170)
            row = Int(unit() * Double(side - size + 1))
            fromLeft = unit() < 0.5
            self.side = side
        }

        /// Draws the block at its place for `frame`: it enters on one side and leaves on the other.
        func draw(on x: inout [Float], frame: Int) {
            let progress = frames.count > 1 ? Double(frame - frames.lowerBound) / Double(frames.count - 1) : 0.5
            let travel = Double(side + size)
            let left = Int((fromLeft ? progress : 1 - progress) * travel) - size
            for r in row..<(row + size) {
                for c in max(0, left)..<min(side, left + size) { x[r * side + c] = gray }
            }
        }
    }
}

/// The onset and offset of an expression over a sequence, as the paper's clips show them (and as
/// `mien synth` draws them): neutral → the expression → neutral, each change eased over a few frames.
///
/// Applied in embedding space (`blend`): a frame of intensity `a` gets `a·e + (1 − a)·n`, where `e`
/// is the CNN's embedding of the expressive photograph's frame and `n` that of a neutral
/// photograph's frame, and log-probabilities mixed the same way; a frame's label is the expression
/// while `a ≥ ½`, else neutral. At `a = 0` and `a = 1` a frame is exactly the real CNN's output on a
/// real face of that label; in between it is an interpolation, not a face the CNN has seen. Why not
/// in pixels: FER2013 holds one photograph per person, so there is no neutral face of the same
/// person to morph from; a cross-fade between two people would teach identity changes instead.
public struct ExpressionDynamics: Sendable {
    /// Probability that an expressive (non-neutral) sequence gets an onset, an offset, or both.
    public var probability: Double
    /// Frames over which the expression rises or falls.
    public var ramp = 2...6

    public init(probability: Double) { self.probability = probability }

    /// Per-frame intensity (1: the expression, 0: neutral), or nil when this sequence holds its
    /// expression throughout. Draws from `rng` only when `probability > 0`.
    public func intensities(length: Int, rng: inout SplitMix64) -> [Double]? {
        guard probability > 0 else { return nil }
        func unit() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        guard unit() < probability, length >= 4 else { return nil }
        func rampLength() -> Int { ramp.lowerBound + Int(unit() * Double(ramp.count)) }
        let kind = Int(unit() * 3)   // 0: onset, 1: offset, 2: both
        let up = kind == 1 ? nil : Optional(rampLength()), down = kind == 0 ? nil : Optional(rampLength())
        // The expression is fully shown for at least a quarter of the sequence.
        let apex = max(1, length / 4)
        let free = max(0, length - apex - (up ?? 0) - (down ?? 0))
        let lead = up == nil ? 0 : Int(unit() * Double(free + 1))
        let riseStart = lead, apexStart = lead + (up ?? 0)
        let tail = down == nil ? 0 : Int(unit() * Double(free - lead + 1))
        let fallEnd = length - tail, fallStart = fallEnd - (down ?? 0)
        return (0..<length).map { f in
            func eased(_ x: Double) -> Double { 0.5 - 0.5 * cos(Double.pi * min(1, max(0, x))) }
            var a = 1.0
            if let up { a = f < riseStart ? 0 : f < apexStart ? eased(Double(f - riseStart + 1) / Double(up + 1)) : 1 }
            if let down, f >= fallStart { a = min(a, f >= fallEnd ? 0 : eased(Double(fallEnd - f) / Double(down + 1))) }
            return a
        }
    }

    /// Mixes the CNN outputs of an expressive sequence (`expression`) with those of a neutral one
    /// (`neutral`, same length) frame by frame at `intensity`: embeddings linearly, probabilities
    /// as normalised geometric means. Returns the mixed probabilities and embeddings.
    /// Per-frame labels: `label` while the expression is at least half shown, else `neutral`.
    public static func labels(_ label: String, neutral: String, intensity: [Double]) -> [String] {
        intensity.map { $0 >= 0.5 ? label : neutral }
    }

    public static func blend(expression: (probabilities: Tensor, embedding: Tensor), neutral: (probabilities: Tensor, embedding: Tensor),
                             intensity: [Double]) -> (probabilities: Tensor, embedding: Tensor) {
        precondition(expression.probabilities.shape == neutral.probabilities.shape && expression.embedding.shape == neutral.embedding.shape
                     && expression.probabilities.shape[0] == intensity.count, "blend needs two sequences of the same shape and one intensity per frame")
        var probs = expression.probabilities, emb = expression.embedding
        let k = probs.shape[1], d = emb.shape[1]
        for (f, a) in intensity.enumerated() {
            let wa = Float(a), wn = Float(1 - a)
            for j in 0..<d { emb.data[f * d + j] = wa * expression.embedding.data[f * d + j] + wn * neutral.embedding.data[f * d + j] }
            // log p = a·log p_e + (1 − a)·log p_n, renormalised (probabilities floored at 1e-12).
            let logs = (0..<k).map { j in
                Double(wa) * log(max(1e-12, Double(expression.probabilities.data[f * k + j])))
                    + Double(wn) * log(max(1e-12, Double(neutral.probabilities.data[f * k + j])))
            }
            let top = logs.max()!, e = logs.map { exp($0 - top) }, sum = e.reduce(0, +)
            for j in 0..<k { probs.data[f * k + j] = Float(e[j] / sum) }
        }
        return (probs, emb)
    }
}
