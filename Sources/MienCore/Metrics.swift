/// Precision, recall and F1 of one class.
public struct ClassScores: Sendable, Equatable, Codable {
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// Number of true instances of the class.
    public var support: Int
}

/// Classification metrics over a fixed label set, as scikit-learn computes them
/// (`accuracy_score`, `precision_recall_fscore_support` with `zero_division=0`,
/// `confusion_matrix`, and `classification_report`'s macro and weighted averages): a class
/// with no predictions has precision 0, with no true instances recall 0, and F1 0 when
/// precision + recall is 0. Macro averages take the unweighted mean over all `classes`
/// (zero-support classes included, as scikit-learn does with an explicit `labels=`);
/// weighted averages weight each class by its support (0 when there are no samples).
public struct ClassificationMetrics: Sendable, Equatable, Codable {
    public var classes: Int
    public var accuracy: Double
    public var perClass: [ClassScores]
    /// Unweighted mean of per-class F1 over all `classes` (including zero-support ones).
    public var macroF1: Double
    /// Per-class F1 weighted by support.
    public var weightedF1: Double
    public var macroPrecision: Double
    public var macroRecall: Double
    /// Per-class precision weighted by support.
    public var weightedPrecision: Double
    /// Per-class recall weighted by support (equals accuracy when every label is in `0..<classes`).
    public var weightedRecall: Double
    /// `confusion[t][p]`: instances of true class t predicted as p.
    public var confusion: [[Int]]
    public var count: Int

    /// The paper's "classification error": 1 − accuracy (0 when there are no samples).
    public var classificationError: Double { count > 0 ? 1 - accuracy : 0 }

    /// - Precondition: equal lengths; every label in `0..<classes`.
    public init(truth: [Int], predicted: [Int], classes: Int) {
        precondition(truth.count == predicted.count, "truth and predictions differ in length")
        precondition(classes >= 1)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (t, p) in zip(truth, predicted) {
            precondition((0..<classes).contains(t) && (0..<classes).contains(p), "label out of range: \(t), \(p)")
            confusion[t][p] += 1
        }
        self.init(confusion: confusion)
    }

    /// From counts alone (`confusion[t][p]`: instances of true class t predicted as p), so a
    /// stream of any length is scored in constant memory.
    /// - Precondition: a square matrix of non-negative counts.
    public init(confusion: [[Int]]) {
        let classes = confusion.count
        precondition(classes >= 1 && confusion.allSatisfy { $0.count == classes && $0.allSatisfy { $0 >= 0 } },
                     "confusion must be a square matrix of counts")
        let n = confusion.reduce(0) { $0 + $1.reduce(0, +) }
        let correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        var per: [ClassScores] = []
        for c in 0..<classes {
            let tp = Double(confusion[c][c])
            let predictedC = Double((0..<classes).reduce(0) { $0 + confusion[$1][c] })
            let support = confusion[c].reduce(0, +)
            let precision = predictedC > 0 ? tp / predictedC : 0
            let recall = support > 0 ? tp / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            per.append(ClassScores(precision: precision, recall: recall, f1: f1, support: support))
        }
        func weighted(_ value: KeyPath<ClassScores, Double>) -> Double {
            n > 0 ? per.reduce(0) { $0 + $1[keyPath: value] * Double($1.support) } / Double(n) : 0
        }
        self.classes = classes
        self.count = n
        self.confusion = confusion
        self.perClass = per
        self.accuracy = n > 0 ? Double(correct) / Double(n) : 0
        self.macroF1 = per.map(\.f1).reduce(0, +) / Double(classes)
        self.macroPrecision = per.map(\.precision).reduce(0, +) / Double(classes)
        self.macroRecall = per.map(\.recall).reduce(0, +) / Double(classes)
        self.weightedF1 = weighted(\.f1)
        self.weightedPrecision = weighted(\.precision)
        self.weightedRecall = weighted(\.recall)
    }

    /// The metrics as one JSON object (the form `metrics.json` uses, in the aggregator and in
    /// `mien evaluate`): `count`, `accuracy`, `classification_error`, macro and weighted
    /// precision / recall / F1, `per_class` (label → precision, recall, f1, support) and
    /// `confusion` (rows truth, columns prediction, in `labels` order).
    /// - Precondition: `labels.count == classes`.
    public func json(labels: [String]) -> String {
        precondition(labels.count == classes, "\(labels.count) labels for \(classes) classes")
        let n = JSONText.number
        var fields: [String] = [
            "\"count\":\(count)",
            "\"accuracy\":\(n(accuracy))",
            "\"classification_error\":\(n(classificationError))",
            "\"macro_precision\":\(n(macroPrecision))",
            "\"macro_recall\":\(n(macroRecall))",
            "\"macro_f1\":\(n(macroF1))",
            "\"weighted_precision\":\(n(weightedPrecision))",
            "\"weighted_recall\":\(n(weightedRecall))",
            "\"weighted_f1\":\(n(weightedF1))",
        ]
        let per = zip(labels, perClass).map { l, s in
            JSONText.quote(l) + ":{\"precision\":\(n(s.precision)),\"recall\":\(n(s.recall)),\"f1\":\(n(s.f1)),\"support\":\(s.support)}"
        }
        fields.append("\"per_class\":{" + per.joined(separator: ",") + "}")
        fields.append("\"confusion\":[" + confusion.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",") + "]")
        return "{" + fields.joined(separator: ",") + "}"
    }
}
