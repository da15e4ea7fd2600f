import Foundation

/// An RGB colour, each channel in [0, 1] (linear scale of the final 8-bit value / 255).
public struct RGB: Sendable, Equatable {
    public var r: Double, g: Double, b: Double
    public init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }
    static func mix(_ a: RGB, _ b: RGB, _ t: Double) -> RGB {
        RGB(a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t)
    }
    func scaled(_ k: Double) -> RGB { RGB(r * k, g * k, b * k) }
    /// BT.601 luma, what a grayscale conversion would give.
    public var luma: Double { 0.299 * r + 0.587 * g + 0.114 * b }
}

/// What makes one synthetic person look different from another. Lengths are in units of the
/// face's half-width (the renderer's local coordinates, `u` right, `v` down, origin at the
/// face centre).
public struct FaceIdentity: Sendable, Equatable {
    /// Face half-height above the centre / half-width (1.22–1.40).
    public var aspect: Double
    /// Jaw narrowing towards the chin (0.6–1.3; larger = more pointed chin).
    public var jaw: Double
    public var skin: RGB
    public var hair: RGB
    /// Hairline height (v, −0.95 … −0.68); `bald` people have none.
    public var hairline: Double
    public var bald: Bool
    /// Hair falls down the sides of the face (long hair).
    public var longHair: Bool
    public var iris: RGB
    public var lip: RGB
    public var clothes: RGB
    /// Feature geometry: eye centres at (±eyeSpacing, eyeHeight), eye half-width, brow
    /// thickness, mouth half-width, mouth height, nose length multiplier.
    public var eyeSpacing: Double
    public var eyeHeight: Double
    public var eyeWidth: Double
    public var browThickness: Double
    public var browHeight: Double
    public var mouthWidth: Double
    public var mouthHeight: Double
    public var noseLength: Double

    /// Skin tones from light to dark (sRGB / 255 of typical renders), interpolated between
    /// neighbours.
    static let skinTones: [RGB] = [
        RGB(0.95, 0.80, 0.70), RGB(0.88, 0.70, 0.58), RGB(0.78, 0.58, 0.44),
        RGB(0.66, 0.47, 0.33), RGB(0.52, 0.35, 0.24), RGB(0.40, 0.27, 0.19),
    ]
    static let hairColours: [RGB] = [
        RGB(0.06, 0.05, 0.05), RGB(0.16, 0.11, 0.08), RGB(0.30, 0.20, 0.12),
        RGB(0.55, 0.42, 0.25), RGB(0.50, 0.49, 0.48), RGB(0.40, 0.18, 0.10),
    ]

    /// Draws a random identity.
    public init(rng: inout SeededRandom) {
        aspect = rng.uniform(1.22, 1.40)
        jaw = rng.uniform(0.6, 1.3)
        let s = rng.uniform(0, Double(Self.skinTones.count - 1))
        let i = min(Int(s), Self.skinTones.count - 2)
        skin = RGB.mix(Self.skinTones[i], Self.skinTones[i + 1], s - Double(i))
        hair = Self.hairColours[rng.int(0, Self.hairColours.count - 1)].scaled(rng.uniform(0.85, 1.15))
        hairline = rng.uniform(-0.95, -0.68)
        bald = rng.chance(0.08)
        longHair = !bald && rng.chance(0.35)
        iris = [RGB(0.25, 0.15, 0.08), RGB(0.15, 0.10, 0.06), RGB(0.20, 0.30, 0.40), RGB(0.25, 0.32, 0.20)][rng.int(0, 3)]
        lip = RGB(skin.r * rng.uniform(0.78, 0.90), skin.g * rng.uniform(0.55, 0.66), skin.b * rng.uniform(0.58, 0.70))
        clothes = RGB(rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9))
        eyeSpacing = rng.uniform(0.34, 0.41)
        eyeHeight = rng.uniform(-0.21, -0.13)
        eyeWidth = rng.uniform(0.145, 0.18)
        browThickness = rng.uniform(0.055, 0.085)
        browHeight = rng.uniform(0.19, 0.24)
        mouthWidth = rng.uniform(0.25, 0.32)
        mouthHeight = rng.uniform(0.56, 0.64)
        noseLength = rng.uniform(0.9, 1.1)
    }
}
