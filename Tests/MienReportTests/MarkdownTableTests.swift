import XCTest
@testable import MienReport
import MienCore

final class MarkdownTableTests: XCTestCase {
    func testRendersHeaderAlignmentAndRows() {
        var t = MarkdownTable(header: ["Model", "Accuracy"], alignments: [.left, .right])
        t.add(["CNN", "90.47 %"])
        t.add(["CNN+BiLSTM"])
        XCTAssertEqual(t.markdown, """
            | Model | Accuracy |
            | --- | ---: |
            | CNN | 90.47 % |
            | CNN+BiLSTM |  |

            """)
        let centred = MarkdownTable(header: ["a", "b", "c"], alignments: [.center])
        XCTAssertEqual(centred.markdown.split(separator: "\n")[1], "| :---: | --- | --- |")
    }

    func testEscapesCellsThatWouldBreakTheTable() {
        var t = MarkdownTable(header: ["video | name", "error"])
        t.add(["a|b.mp4", "line one\nline two \\ end"])
        let lines = t.markdown.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0], #"| video \| name | error |"#)
        XCTAssertEqual(lines[2], #"| a\|b.mp4 | line one line two \\ end |"#)
    }

    func testPerClassTableMatchesClassificationReportRows() {
        let m = ClassificationMetrics(truth: [0, 0, 1, 1, 1, 2], predicted: [0, 1, 1, 1, 0, 1], classes: 3)
        let t = EvaluationReport.perClassTable(m, labels: ["a", "b", "c"])
        XCTAssertEqual(t.header, ["Class", "Precision", "Recall", "F1", "Support"])
        XCTAssertEqual(t.rows.count, 5)
        XCTAssertEqual(t.rows[1], ["b", "0.5000", "0.6667", "0.5714", "3"])
        XCTAssertEqual(t.rows[2], ["c", "0.0000", "0.0000", "0.0000", "1"])
        XCTAssertEqual(t.rows[3][0], "macro avg")
        XCTAssertEqual(t.rows[3][3], String(format: "%.4f", m.macroF1))
        XCTAssertEqual(t.rows[4][0], "weighted avg")
        XCTAssertEqual(t.rows[4][1], String(format: "%.4f", m.weightedPrecision))
        XCTAssertEqual(t.rows[4][4], "6")
        let c = EvaluationReport.confusionTable(m, labels: ["a", "b", "c"])
        XCTAssertEqual(c.markdown.split(separator: "\n")[0], #"| true \\ predicted | a | b | c |"#)
        XCTAssertEqual(c.rows[1], ["b", "1", "2", "0"])
    }
}
