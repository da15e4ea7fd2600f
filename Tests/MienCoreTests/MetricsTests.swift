import Foundation
import XCTest
@testable import MienCore

/// ClassificationMetrics against scikit-learn (fixture: ops/core/make_metrics_fixture.py).
final class MetricsTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var name: String
            var truth: [Int]
            var predicted: [Int]
            var accuracy: Double
            var precision: [Double]
            var recall: [Double]
            var f1: [Double]
            var support: [Int]
            var macro_f1: Double
            var weighted_f1: Double
            var macro_precision: Double
            var macro_recall: Double
            var weighted_precision: Double
            var weighted_recall: Double
            /// classification_report(output_dict=True)["macro avg"] and ["weighted avg"].
            var report: [String: [String: Double]]
            var confusion: [[Int]]
        }
        var classes: Int
        var cases: [Case]
    }

    /// Tolerance 1e-12 absolute: both sides compute in float64 from the same integer counts.
    func testAgreesWithScikitLearnIncludingZeroSupportClasses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/metrics_sklearn.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 7)
        var largest = 0.0
        for c in fixture.cases {
            let m = ClassificationMetrics(truth: c.truth, predicted: c.predicted, classes: fixture.classes)
            XCTAssertEqual(m.confusion, c.confusion, c.name)
            XCTAssertEqual(m.perClass.map(\.support), c.support, c.name)
            let macro = try XCTUnwrap(c.report["macro avg"]), weighted = try XCTUnwrap(c.report["weighted avg"])
            XCTAssertEqual(Double(m.count), try XCTUnwrap(weighted["support"]), c.name)
            let pairs: [(Double, Double)] = [(m.accuracy, c.accuracy), (m.macroF1, c.macro_f1), (m.weightedF1, c.weighted_f1),
                                             (m.macroPrecision, c.macro_precision), (m.macroRecall, c.macro_recall),
                                             (m.weightedPrecision, c.weighted_precision), (m.weightedRecall, c.weighted_recall),
                                             (m.macroPrecision, macro["precision"]!), (m.macroRecall, macro["recall"]!), (m.macroF1, macro["f1-score"]!),
                                             (m.weightedPrecision, weighted["precision"]!), (m.weightedRecall, weighted["recall"]!),
                                             (m.weightedF1, weighted["f1-score"]!)]
                + zip(m.perClass.map(\.precision), c.precision).map { ($0, $1) }
                + zip(m.perClass.map(\.recall), c.recall).map { ($0, $1) }
                + zip(m.perClass.map(\.f1), c.f1).map { ($0, $1) }
            for (ours, theirs) in pairs {
                largest = max(largest, abs(ours - theirs))
                XCTAssertEqual(ours, theirs, accuracy: 1e-12, c.name)
            }
        }
        print("metrics vs scikit-learn: largest difference \(largest)")
    }

    /// The aggregator scores from confusion counts (constant memory): the same metrics, exactly,
    /// as from the label lists the counts came from.
    func testMetricsFromCountsEqualMetricsFromLabels() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/metrics_sklearn.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        for c in fixture.cases {
            let fromLabels = ClassificationMetrics(truth: c.truth, predicted: c.predicted, classes: fixture.classes)
            XCTAssertEqual(ClassificationMetrics(confusion: fromLabels.confusion), fromLabels, c.name)
        }
    }

    /// The fixture must exercise what it claims: zero-support classes and weighted ≠ macro.
    func testFixtureCoversZeroSupportAndWeightedAverages() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/metrics_sklearn.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertTrue(fixture.cases.contains { $0.support.contains(0) })
        XCTAssertTrue(fixture.cases.contains { abs($0.weighted_f1 - $0.macro_f1) > 0.2 })
    }

    func testConfusionInitialiserEqualsLabelInitialiser() {
        let truth = [0, 1, 2, 2, 1, 0, 2], predicted = [0, 2, 2, 1, 1, 0, 0]
        let a = ClassificationMetrics(truth: truth, predicted: predicted, classes: 4)
        XCTAssertEqual(ClassificationMetrics(confusion: a.confusion), a)
        XCTAssertEqual(a.classificationError, 1 - a.accuracy, accuracy: 1e-15)
    }

    func testJSONFormParsesAndCarriesEveryAverage() throws {
        let m = ClassificationMetrics(truth: [0, 1, 1], predicted: [0, 1, 0], classes: 3)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(m.json(labels: ["a", "b\"c", "z"]).utf8)) as? [String: Any])
        XCTAssertEqual(obj["count"] as? Int, 3)
        XCTAssertEqual(try XCTUnwrap(obj["accuracy"] as? Double), 2.0 / 3, accuracy: 1e-15)
        for key in ["classification_error", "macro_precision", "macro_recall", "macro_f1", "weighted_precision", "weighted_recall", "weighted_f1"] {
            XCTAssertNotNil(obj[key] as? Double, key)
        }
        let per = try XCTUnwrap(obj["per_class"] as? [String: [String: Any]])
        XCTAssertEqual(Set(per.keys), ["a", "b\"c", "z"])
        XCTAssertEqual(per["z"]?["support"] as? Int, 0)
        XCTAssertEqual(obj["confusion"] as? [[Int]], [[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    }

    func testEmptyInputGivesZeroes() {
        let m = ClassificationMetrics(truth: [], predicted: [], classes: 3)
        XCTAssertEqual(m.accuracy, 0)
        XCTAssertEqual(m.macroF1, 0)
        XCTAssertEqual(m.confusion, [[0, 0, 0], [0, 0, 0], [0, 0, 0]])
        XCTAssertEqual(m.weightedPrecision, 0)
        XCTAssertEqual(m.weightedRecall, 0)
        XCTAssertEqual(m.classificationError, 0)
    }
}
