import Foundation
import MienCore
import MienTraining

/// One point of a BiLSTM hyper-parameter search: what `mien train bilstm` takes as
/// `--units --layers --learning-rate --dropout --window --stride`.
public struct TrialParams: Sendable, Hashable, Codable {
    public var units: Int
    public var layers: Int
    public var learningRate: Double
    public var dropout: Double
    /// Window length T (frames).
    public var window: Int
    /// Window stride (frames).
    public var stride: Int

    public init(units: Int, layers: Int, learningRate: Double, dropout: Double, window: Int, stride: Int) {
        self.units = units; self.layers = layers; self.learningRate = learningRate
        self.dropout = dropout; self.window = window; self.stride = stride
    }

    /// `units=64 layers=1 lr=0.001 dropout=0.2 window=16 stride=8`
    public var summary: String {
        "units=\(units) layers=\(layers) lr=\(formatNumber(learningRate)) dropout=\(formatNumber(dropout)) window=\(window) stride=\(stride)"
    }
}

/// The values a search may take for each hyper-parameter.
///
/// Every parameter is a list of values, except the learning rate, which may instead be a
/// range sampled log-uniformly by random search (grid search needs values). The stride
/// list is optional: without it every trial uses stride = max(1, window / 2), the stride
/// `mien run` cuts windows with at inference.
public struct SearchSpace: Sendable, Equatable {
    public enum LearningRates: Sendable, Equatable {
        case values([Double])
        /// Log-uniform on [low, high]; samples are rounded to 3 significant digits so that the
        /// table shows exactly the value a trial used.
        case logUniform(low: Double, high: Double)
    }

    public var units: [Int]
    public var layers: [Int]
    public var learningRates: LearningRates
    public var dropout: [Double]
    public var window: [Int]
    public var stride: [Int]?

    public init(units: [Int], layers: [Int], learningRates: LearningRates, dropout: [Double], window: [Int], stride: [Int]? = nil) {
        self.units = units; self.layers = layers; self.learningRates = learningRates
        self.dropout = dropout; self.window = window; self.stride = stride
    }

    /// Throws if a list is empty or a value is out of range (names the option).
    /// A stride longer than a window is not an error here: that trial fails and is reported.
    public func validate() throws {
        func need(_ ok: Bool, _ message: String) throws { if !ok { throw TrainingError(message) } }
        try need(!units.isEmpty && units.allSatisfy { $0 >= 1 }, "--units needs at least one value, each ≥ 1")
        try need(!layers.isEmpty && layers.allSatisfy { $0 >= 1 }, "--layers needs at least one value, each ≥ 1")
        try need(!dropout.isEmpty && dropout.allSatisfy { $0 >= 0 && $0 < 1 }, "--dropout needs at least one value, each in [0, 1)")
        try need(!window.isEmpty && window.allSatisfy { $0 >= 1 }, "--window needs at least one value, each ≥ 1")
        if let stride { try need(!stride.isEmpty && stride.allSatisfy { $0 >= 1 }, "--stride needs at least one value, each ≥ 1") }
        switch learningRates {
        case .values(let v):
            try need(!v.isEmpty && v.allSatisfy { $0 > 0 && $0.isFinite }, "--lr needs at least one value, each > 0")
        case .logUniform(let lo, let hi):
            try need(lo > 0 && hi > lo && hi.isFinite, "--lr range LOW:HIGH needs 0 < LOW < HIGH, got \(lo):\(hi)")
        }
    }

    /// Every combination, in a fixed order: window, stride, layers, units, learning rate,
    /// dropout (the last varies fastest). Duplicated values in a list are kept once.
    public func grid() throws -> [TrialParams] {
        try validate()
        guard case .values(let lrs) = learningRates else {
            throw TrainingError("grid search needs learning-rate values (--lr 1e-3,3e-3), not a range: use --search random for LOW:HIGH")
        }
        var out: [TrialParams] = []
        for w in unique(window) {
            for s in unique(stride ?? [max(1, w / 2)]) {
                for l in unique(layers) {
                    for u in unique(units) {
                        for lr in unique(lrs) {
                            for d in unique(dropout) {
                                out.append(TrialParams(units: u, layers: l, learningRate: lr, dropout: d, window: w, stride: s))
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `trials` distinct configurations drawn with a seeded SplitMix64: each parameter
    /// uniformly from its values (the learning rate log-uniformly when it is a range).
    /// Throws when the space has fewer than `trials` distinct configurations.
    public func random(trials: Int, seed: UInt64) throws -> [TrialParams] {
        try validate()
        guard trials >= 1 else { throw TrainingError("--trials must be at least 1") }
        let grid = gridSize
        if let grid, trials > grid {
            throw TrainingError("--trials \(trials) is more than the \(grid) distinct configurations of these values: lower --trials or use --search grid")
        }
        // Hand-written draws rather than `Int.random(in:using:)`: the standard library does not
        // promise that algorithm across Swift versions, and the table must be reproducible.
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
        func uniform() -> Double { Double(rng.next() >> 11) * 0x1p-53 }
        let (u, l, d, w) = (unique(units), unique(layers), unique(dropout), unique(window))
        var seen = Set<TrialParams>(), out: [TrialParams] = []
        var attempts = 0
        while out.count < trials {
            attempts += 1
            if attempts > 1000 * trials {
                throw TrainingError("could not draw \(trials) distinct configurations (range too narrow after rounding to 3 significant digits): widen --lr or lower --trials")
            }
            let window = pick(w)
            let stride = stride.map { pick(unique($0)) } ?? max(1, window / 2)
            let lr: Double
            switch learningRates {
            case .values(let v): lr = pick(unique(v))
            case .logUniform(let lo, let hi): lr = roundSignificant(exp(log(lo) + uniform() * (log(hi) - log(lo))), digits: 3)
            }
            let p = TrialParams(units: pick(u), layers: pick(l), learningRate: lr, dropout: pick(d), window: window, stride: stride)
            if seen.insert(p).inserted { out.append(p) }
        }
        return out
    }

    /// Number of distinct configurations, or nil when the learning rate is a range.
    public var gridSize: Int? {
        guard case .values(let lr) = learningRates else { return nil }
        return unique(units).count * unique(layers).count * unique(lr).count * unique(dropout).count * unique(window).count * (stride.map { unique($0).count } ?? 1)
    }
}

/// Parses the value lists of `mien tune`: "32,64,128"; for the learning rate also "LOW:HIGH".
public enum SearchValues {
    public static func ints(_ text: String, option: String) throws -> [Int] {
        try items(text, option: option).map { s in
            guard let v = Int(s) else { throw TrainingError("\(option): \"\(s)\" is not a whole number (give a comma-separated list, e.g. 32,64)") }
            return v
        }
    }

    public static func doubles(_ text: String, option: String) throws -> [Double] {
        try items(text, option: option).map { s in
            guard let v = Double(s), v.isFinite else { throw TrainingError("\(option): \"\(s)\" is not a number (give a comma-separated list, e.g. 0,0.2)") }
            return v
        }
    }

    public static func learningRates(_ text: String) throws -> SearchSpace.LearningRates {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 2 {
            guard let lo = Double(parts[0]), let hi = Double(parts[1]) else {
                throw TrainingError("--lr: \"\(text)\" is not a range LOW:HIGH of numbers (e.g. 1e-4:1e-2)")
            }
            return .logUniform(low: lo, high: hi)
        }
        return .values(try doubles(text, option: "--lr"))
    }

    private static func items(_ text: String, option: String) throws -> [String] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.contains(where: \.isEmpty) else { throw TrainingError("\(option): \"\(text)\" has an empty item (give a comma-separated list, e.g. 32,64)") }
        return parts
    }
}

/// Values in first-seen order without repeats.
func unique<T: Hashable>(_ values: [T]) -> [T] {
    var seen = Set<T>()
    return values.filter { seen.insert($0).inserted }
}

/// `x` rounded to `digits` significant decimal digits.
func roundSignificant(_ x: Double, digits: Int) -> Double {
    guard x != 0, x.isFinite else { return x }
    return Double(String(format: "%.\(digits)g", x))!
}

/// Shortest text that reads back as the same Double ("0.001", "0.2", "0.00123").
func formatNumber(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    var s = "\(x)"
    if s.hasSuffix(".0") { s.removeLast(2) }
    return s
}
