import Foundation
import XCTest
@testable import MienReport

final class ChartsTests: XCTestCase {
    let labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]

    func testLineChartDrawsEverySeriesAndSaysWhatItSkipped() {
        let chart = Charts.lineChart(id: "loss", title: "loss", xLabel: "epoch", yLabel: "nats", series: [
            .init(name: "train", colour: "#f00", points: [(1, 0.9), (2, 0.5), (3, 0.3)]),
            .init(name: "validation", colour: "#00f", points: [(1, 1.0), (2, .nan), (3, 0.6)], dashed: true),
        ])
        let parsed = XMLCheck.parse(chart.xml)
        XCTAssertTrue(parsed.wellFormed)
        XCTAssertEqual(parsed.count("polyline"), 2)
        XCTAssertEqual(parsed.count("circle"), 5, "one point per finite value")
        XCTAssertTrue(parsed.text.contains("1 non-finite value(s) not drawn"))
        XCTAssertTrue(parsed.text.contains("train") && parsed.text.contains("validation"))
        XCTAssertTrue(chart.xml.contains("stroke-dasharray=\"5 3\""))
    }

    func testEmptyChartsSayNoDataAndStayValid() {
        let charts = [
            Charts.lineChart(id: "a", title: "A", xLabel: "x", yLabel: "y", series: []),
            Charts.lineChart(id: "b", title: "B", xLabel: "x", yLabel: "y", series: [.init(name: "s", colour: "#000", points: [(1, .nan)])]),
            Charts.confusionMatrix(id: "c", title: "C", labels: labels, matrix: Array(repeating: Array(repeating: 0, count: 7), count: 7)),
            Charts.confusionMatrix(id: "d", title: "D", labels: labels, matrix: [[1, 2], [3, 4]]),
            Charts.groupedBars(id: "e", title: "E", categories: [], yLabel: "y", groups: []),
            Charts.timeline(id: "f", title: "F", labels: labels, rows: []),
        ]
        for chart in charts {
            let parsed = XMLCheck.parse(chart.xml)
            XCTAssertTrue(parsed.wellFormed, chart.id)
            XCTAssertTrue(parsed.text.contains("no "), "\(chart.id): \(parsed.text)")
            XCTAssertEqual(parsed.ids(of: "svg"), [chart.id])
        }
    }

    func testConfusionMatrixHasOneCellPerPairWithCounts() {
        var m = Array(repeating: Array(repeating: 0, count: 7), count: 7)
        m[3][3] = 40; m[3][6] = 10; m[2][5] = 7
        let chart = Charts.confusionMatrix(id: "cm", title: "CNN", labels: labels, matrix: m)
        let parsed = XMLCheck.parse(chart.xml)
        XCTAssertTrue(parsed.wellFormed)
        XCTAssertEqual(parsed.count("rect"), 49)
        XCTAssertTrue(parsed.text.contains("true happy, predicted neutral: 10 (20.0 % of happy)"), parsed.text)
        XCTAssertTrue(parsed.text.contains("true fear, predicted surprise: 7 (100.0 % of fear)"))
        XCTAssertTrue(chart.xml.contains(">40</text>"))
        XCTAssertEqual(Charts.shade(0), "#ffffff")
        XCTAssertEqual(Charts.shade(1), "#084594")
    }

    func testGroupedBarsOneBarPerClassAndModel() {
        let chart = Charts.groupedBars(id: "f1", title: "F1", categories: labels, yLabel: "F1", groups: [
            (name: "CNN", colour: "#E69F00", values: [0.1, 0.2, 0.3, 0.9, 0.5, 0.6, 0.7]),
            (name: "CNN+BiLSTM", colour: "#0072B2", values: [0.2, 0.3, 0.4, 1.0, 0.6, 0.7, .nan]),
        ])
        let parsed = XMLCheck.parse(chart.xml)
        XCTAssertTrue(parsed.wellFormed)
        // 13 finite bars + 2 legend swatches.
        XCTAssertEqual(parsed.count("rect"), 15)
        XCTAssertTrue(parsed.text.contains("happy, CNN+BiLSTM: 1.000"))
    }

    func testTimelineRunsBreakAtGapsAndLabelChanges() {
        let frames: [(frame: UInt64, label: Int?)] = [(0, 1), (1, 1), (2, 1), (3, 2), (4, 2), (8, 2), (9, nil), (10, nil)]
        let runs = Charts.runs(frames, maxGap: 1)
        XCTAssertEqual(runs.map(\.start), [0, 3, 8, 9])
        XCTAssertEqual(runs.map(\.end), [3, 5, 9, 11])
        XCTAssertEqual(runs.map(\.label), [1, 2, 2, nil])
        // Sampled every 2nd frame: a step of 2 is not a gap.
        XCTAssertEqual(Charts.runs([(0, 0), (2, 0), (4, 0)], maxGap: 2).count, 1)

        let chart = Charts.timeline(id: "timeline-0", title: "clip <0>", labels: labels, rows: [
            .init(name: "truth", frames: frames), .init(name: "CNN+BiLSTM", frames: frames.map { ($0.frame, 3) }),
        ], frameCount: 12, fps: 25)
        let parsed = XMLCheck.parse(chart.xml)
        XCTAssertTrue(parsed.wellFormed)
        XCTAssertTrue(parsed.text.contains("clip <0>"))
        XCTAssertTrue(parsed.text.contains("truth: fear, frames 3–4"), parsed.text)
        XCTAssertTrue(parsed.text.contains("truth: no ground truth, frames 9–10"))
        XCTAssertTrue(parsed.text.contains("frame (25 fps)"))
        for l in labels { XCTAssertTrue(parsed.text.contains(l), "legend has \(l)") }
    }
}
