import Foundation
import MienCore

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
/// What is missing: the onset and offset of an expression (one photograph holds one expression).
public struct FaceSequenceGenerator: Sendable {
    /// Largest rotation (degrees), zoom (fraction), shift (fraction of the side) of a state.
    public var rotation = 10.0, zoom = 0.08, shift = 0.06
    /// Largest brightness (gray levels) and contrast (fraction) change of a state.
    public var brightness: Float = 20, contrast: Float = 0.15
    /// Per-frame box jitter (pixels, uniform ±) and noise (gray levels, uniform ±).
    public var jitter = 1.0, noise: Float = 4
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
            out.append(x.map { v in UInt8(max(0, min(255, (v + Float(symmetric()) * noise).rounded()))) })
        }
        return out
    }
}
