import Foundation
import XCTest
@testable import MienReport

final class SVGTests: XCTestCase {
    func testEscapesTextAndAttributes() {
        XCTAssertEqual(SVG.escape(#"<script>alert("x") & 'y'</script>"#),
                       "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;")
        XCTAssertEqual(SVG.escape("a\u{1}b\u{7}c\td"), "abc\td")  // control characters cannot appear in XML 1.0
        XCTAssertEqual(SVG.escape("é ✓ 表情"), "é ✓ 表情")

        var svg = SVG(id: "t", width: 100, height: 50, title: "title <&>")
        let hostile = #"</text><script>alert(1)</script> & "quoted" 'single'"#
        svg.text(hostile, x: 1, y: 2)
        svg.rect(x: 0, y: 0, width: 10, height: 10, fill: #"red" onclick="x"#, tooltip: "<b>tip</b>")
        let xml = svg.xml
        XCTAssertFalse(xml.contains("<script"), xml)
        XCTAssertFalse(xml.contains(#"" onclick"#), xml)
        let parsed = XMLCheck.parse(xml)
        XCTAssertTrue(parsed.wellFormed, "\(String(describing: parsed.error)): \(xml)")
        // The text survives the round trip exactly.
        XCTAssertTrue(parsed.text.contains(hostile), parsed.text)
        XCTAssertTrue(parsed.text.contains("title <&>"))
        XCTAssertTrue(parsed.text.contains("<b>tip</b>"))
        XCTAssertEqual(parsed.count("script"), 0)
        XCTAssertEqual(parsed.count("text"), 1)
        XCTAssertEqual(parsed.ids(of: "svg"), ["t"])
    }

    func testIdentifiersAreSanitised() {
        XCTAssertEqual(SVG.identifier("timeline-3"), "timeline-3")
        XCTAssertEqual(SVG.identifier("a b/\"c\""), "a-b--c-")
        XCTAssertEqual(SVG.identifier("3d"), "s3d")
        XCTAssertEqual(SVG.identifier(""), "s")
        XCTAssertEqual(SVG(id: "x<y", width: 1, height: 1, title: "").id, "x-y")
    }

    func testNumbersAreCompactAndFinite() {
        XCTAssertEqual(SVG.number(3), "3")
        XCTAssertEqual(SVG.number(3.14159), "3.14")
        XCTAssertEqual(SVG.number(-0.5), "-0.5")
        XCTAssertEqual(SVG.number(2.999), "3")
        XCTAssertEqual(SVG.number(.nan), "0")
        XCTAssertEqual(SVG.number(.infinity), "0")
    }

    func testScaleMapsEndsAndTicksAreRound() {
        let s = LinearScale(domain: (0, 1), range: (300, 20))
        XCTAssertEqual(s(0), 300)
        XCTAssertEqual(s(1), 20)
        XCTAssertEqual(s(0.5), 160)
        let t = s.ticks()
        XCTAssertEqual(t.count, 6)
        for (a, b) in zip(t, [0, 0.2, 0.4, 0.6, 0.8, 1.0]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        XCTAssertEqual(LinearScale(domain: (3, 47), range: (0, 1)).ticks(), [10, 20, 30, 40])
        XCTAssertEqual(LinearScale(domain: (1, 30), range: (0, 1)).ticks(), [10, 20, 30])
        XCTAssertEqual(LinearScale(domain: (1, 30), range: (0, 1)).ticks(10), [5, 10, 15, 20, 25, 30])
        let small = LinearScale(domain: (0.0012, 0.0031), range: (0, 1)).ticks()
        XCTAssertFalse(small.isEmpty)
        XCTAssertTrue(small.allSatisfy { $0 >= 0.0012 && $0 <= 0.0031 }, "\(small)")
        // A single value (one epoch) still maps inside the range, not to NaN.
        let one = LinearScale(domain: (5, 5), range: (0, 100))
        XCTAssertEqual(one(5), 50)
        XCTAssertFalse(one.ticks().isEmpty)
        let broken = LinearScale(domain: (.nan, 1), range: (0, 10))
        XCTAssertTrue(broken(0.5).isFinite)
    }

    func testAxesDrawTicksWithLabels() {
        var svg = SVG(id: "axes", width: 300, height: 200, title: "axes")
        let x = LinearScale(domain: (0, 10), range: (40, 290))
        let y = LinearScale(domain: (0, 1), range: (160, 20))
        svg.xAxis(x, at: 160, label: "epoch")
        svg.yAxis(y, at: 40, gridTo: 290, label: "accuracy")
        let parsed = XMLCheck.parse(svg.xml)
        XCTAssertTrue(parsed.wellFormed)
        // x: 0, 2, …, 10 (6 labels + axis label); y: 0, 0.2, …, 1 (6 labels + axis label).
        XCTAssertEqual(parsed.count("text"), 14)
        for label in ["0", "2", "10", "0.2", "0.8", "1", "epoch", "accuracy"] {
            XCTAssertTrue(svg.xml.contains(">\(label)</text>"), label)
        }
        XCTAssertTrue(svg.xml.contains("rotate(-90"), "the y label is rotated")
    }
}
