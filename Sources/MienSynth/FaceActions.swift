import MienCore

/// The facial muscle activations the renderer understands, loosely after Ekman & Friesen's
/// Facial Action Coding System (FACS action units, AU). Every field is an intensity in
/// [0, 1] (0 = relaxed, 1 = the strongest the renderer draws); `upperLidRaise` may go down to
/// −1, meaning a drooping upper lid.
public struct FaceActions: Sendable, Equatable {
    /// AU1+2: whole brows up (surprise, fear).
    public var browRaise = 0.0
    /// AU1: inner brow ends up, oblique brows (sadness, fear).
    public var browInnerRaise = 0.0
    /// AU4: brows down and drawn together (anger).
    public var browLower = 0.0
    /// AU5: upper lid up, eyes wide (surprise, fear); negative = drooping lid (sadness).
    public var upperLidRaise = 0.0
    /// AU7: lids tightened, eyes narrowed (anger, disgust).
    public var lidTighten = 0.0
    /// AU6: cheeks up, lower lids pushed up (happiness).
    public var cheekRaise = 0.0
    /// AU9: nose wrinkled (disgust).
    public var noseWrinkle = 0.0
    /// AU10: upper lip raised (disgust).
    public var upperLipRaise = 0.0
    /// AU12: lip corners pulled up and out (happiness).
    public var lipCornerPull = 0.0
    /// AU15: lip corners down (sadness, disgust).
    public var lipCornerDepress = 0.0
    /// AU20: lips stretched sideways (fear).
    public var lipStretch = 0.0
    /// AU23/24: lips pressed thin (anger).
    public var lipPress = 0.0
    /// AU26/27: jaw dropped, mouth open (surprise, fear; talking).
    public var jawDrop = 0.0

    public init() {}

    /// All fields in declaration order (for arithmetic and tests).
    public var vector: [Double] {
        [browRaise, browInnerRaise, browLower, upperLidRaise, lidTighten, cheekRaise, noseWrinkle,
         upperLipRaise, lipCornerPull, lipCornerDepress, lipStretch, lipPress, jawDrop]
    }

    init(vector v: [Double]) {
        precondition(v.count == 13, "FaceActions needs 13 values, got \(v.count)")
        browRaise = v[0]; browInnerRaise = v[1]; browLower = v[2]; upperLidRaise = v[3]; lidTighten = v[4]
        cheekRaise = v[5]; noseWrinkle = v[6]; upperLipRaise = v[7]; lipCornerPull = v[8]
        lipCornerDepress = v[9]; lipStretch = v[10]; lipPress = v[11]; jawDrop = v[12]
    }

    /// Every field multiplied by `k`.
    public func scaled(_ k: Double) -> FaceActions { FaceActions(vector: vector.map { $0 * k }) }

    /// Field-wise sum.
    public static func + (a: FaceActions, b: FaceActions) -> FaceActions {
        FaceActions(vector: zip(a.vector, b.vector).map { $0 + $1 })
    }

    /// The apex (full-intensity) configuration of each class.
    ///
    /// `fear` and `surprise` share **the same apex** on purpose: a single frame of one cannot be
    /// told from a frame of the other; only their temporal dynamics differ (see
    /// `ExpressionDynamics`). That is what makes temporal modelling necessary on this data.
    public static func apex(_ c: ExpressionClass) -> FaceActions {
        var a = FaceActions()
        switch c {
        case .angry:
            a.browLower = 1; a.lidTighten = 0.55; a.upperLidRaise = 0.25; a.lipPress = 0.9; a.noseWrinkle = 0.15
        case .disgust:
            a.noseWrinkle = 1; a.upperLipRaise = 1; a.browLower = 0.45; a.lidTighten = 0.45
            a.lipCornerDepress = 0.35; a.cheekRaise = 0.3
        case .fear, .surprise:
            a.browRaise = 1; a.browInnerRaise = 0.45; a.upperLidRaise = 1; a.jawDrop = 0.8; a.lipStretch = 0.35
        case .happy:
            a.lipCornerPull = 1; a.cheekRaise = 1; a.lidTighten = 0.3; a.jawDrop = 0.22
        case .sad:
            a.browInnerRaise = 1; a.browLower = 0.25; a.upperLidRaise = -0.5; a.lipCornerDepress = 1
        case .neutral:
            break
        }
        return a
    }
}
