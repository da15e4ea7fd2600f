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
            var confusion: [[Int]]
        }
        var classes: Int
        var cases: [Case]
    }

    /// Tolerance 1e-12 absolute: both sides compute in float64 from the same integer counts.
    func testAgreesWithScikitLearnIncludingZeroSupportClasses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/metrics_sklearn.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 6)
        var largest = 0.0
        for c in fixture.cases {
            let m = ClassificationMetrics(truth: c.truth, predicted: c.predicted, classes: fixture.classes)
            XCTAssertEqual(m.confusion, c.confusion, c.name)
            XCTAssertEqual(m.perClass.map(\.support), c.support, c.name)
            let pairs: [(Double, Double)] = [(m.accuracy, c.accuracy), (m.macroF1, c.macro_f1), (m.weightedF1, c.weighted_f1)]
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

    func testEmptyInputGivesZeroes() {
        let m = ClassificationMetrics(truth: [], predicted: [], classes: 3)
        XCTAssertEqual(m.accuracy, 0)
        XCTAssertEqual(m.macroF1, 0)
        XCTAssertEqual(m.confusion, [[0, 0, 0], [0, 0, 0], [0, 0, 0]])
    }
}
