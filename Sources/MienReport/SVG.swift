import Foundation

/// A small SVG writer for the evaluation report: shapes and text in user units (pixels),
/// every piece of text and every attribute value escaped, output that parses as XML and
/// renders inline in HTML without any script, stylesheet or font from outside.
///
/// Hand-written rather than a library: the report needs rectangles, lines, polylines and text
/// only, no Swift package for SVG is in the project's allowed set, and escaping is the one
/// part that must be right (tested).
public struct SVG: Sendable {
    public enum Anchor: String, Sendable { case start, middle, end }

    public let id: String
    public let width: Double
    public let height: Double
    public let title: String
    private var parts: [String] = []

    /// - Parameters:
    ///   - id: the element id (letters, digits, `-` and `_`; other characters become `-`).
    ///   - title: the accessible name (`<title>`), shown by browsers on hover.
    public init(id: String, width: Double, height: Double, title: String) {
        precondition(width > 0 && height > 0, "an SVG needs a positive size")
        self.id = SVG.identifier(id)
        self.width = width
        self.height = height
        self.title = title
    }

    /// `s` with the five XML special characters escaped (`&`, `<`, `>`, `"`, `'`) and control
    /// characters other than tab / newline dropped (XML 1.0 cannot carry them at all); safe
    /// in element content and in quoted attribute values of both XML and HTML.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// An id safe in XML and in URLs: characters outside `[A-Za-z0-9_-]` become `-`, and a
    /// leading digit or hyphen gets an `s` prefix (ids must start with a letter in XML).
    public static func identifier(_ s: String) -> String {
        var out = String(s.unicodeScalars.map { u -> Character in
            let ok = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || u == "_" || u == "-"
            return ok ? Character(u) : "-"
        })
        if out.isEmpty || !(out.first!.isLetter || out.first! == "_") { out = "s" + out }
        return out
    }

    /// A coordinate in the compact form SVG takes: at most 2 decimals, no trailing zeros;
    /// non-finite values (which SVG cannot draw) become 0.
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        if r == r.rounded() { return String(Int64(r)) }
        var s = String(format: "%.2f", r)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    private static func attributes(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { k, v in v.map { " \(k)=\"\(escape($0))\"" } }.joined()
    }

    private static func tooltip(_ t: String?) -> String { t.map { "<title>\(escape($0))</title>" } ?? "" }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                              stroke: String? = nil, tooltip: String? = nil, className: String? = nil) {
        let n = SVG.number
        let a = SVG.attributes([("x", n(x)), ("y", n(y)), ("width", n(max(0, width))), ("height", n(max(0, height))),
                                ("fill", fill), ("stroke", stroke), ("class", className)])
        parts.append(tooltip == nil ? "<rect\(a)/>" : "<rect\(a)>\(SVG.tooltip(tooltip))</rect>")
    }

    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String,
                              width: Double = 1, dash: String? = nil) {
        let n = SVG.number
        parts.append("<line\(SVG.attributes([("x1", n(x1)), ("y1", n(y1)), ("x2", n(x2)), ("y2", n(y2)), ("stroke", stroke), ("stroke-width", n(width)), ("stroke-dasharray", dash)]))/>")
    }

    /// A polyline through `points`; non-finite points are skipped (the caller reports them).
    public mutating func polyline(_ points: [(x: Double, y: Double)], stroke: String, width: Double = 2, dash: String? = nil) {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        guard !finite.isEmpty else { return }
        let p = finite.map { SVG.number($0.x) + "," + SVG.number($0.y) }.joined(separator: " ")
        parts.append("<polyline\(SVG.attributes([("points", p), ("fill", "none"), ("stroke", stroke), ("stroke-width", SVG.number(width)), ("stroke-dasharray", dash)]))/>")
    }

    public mutating func circle(cx: Double, cy: Double, r: Double, fill: String, tooltip: String? = nil) {
        guard cx.isFinite && cy.isFinite else { return }
        let a = SVG.attributes([("cx", SVG.number(cx)), ("cy", SVG.number(cy)), ("r", SVG.number(r)), ("fill", fill)])
        parts.append(tooltip == nil ? "<circle\(a)/>" : "<circle\(a)>\(SVG.tooltip(tooltip))</circle>")
    }

    /// Text at (x, y) (the baseline), optionally rotated by `rotate` degrees about that point.
    public mutating func text(_ s: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                              fill: String = "#222", bold: Bool = false, rotate: Double? = nil) {
        let n = SVG.number
        let a = SVG.attributes([("x", n(x)), ("y", n(y)), ("font-size", n(size)), ("text-anchor", anchor.rawValue), ("fill", fill),
                                ("font-weight", bold ? "bold" : nil),
                                ("transform", rotate.map { "rotate(\(n($0)) \(n(x)) \(n(y)))" })])
        parts.append("<text\(a)>\(SVG.escape(s))</text>")
    }

    /// The document: an `<svg>` element with its id, size, view box and title, ready to be
    /// inlined in HTML or saved as an .svg file.
    public var xml: String {
        let n = SVG.number
        return "<svg xmlns=\"http://www.w3.org/2000/svg\"\(SVG.attributes([("id", id), ("class", "plot"), ("width", n(width)), ("height", n(height)), ("viewBox", "0 0 \(n(width)) \(n(height))"), ("role", "img"), ("font-family", "sans-serif")]))>"
            + "<title>\(SVG.escape(title))</title>" + parts.joined() + "</svg>"
    }

    /// Number of drawn elements so far (for tests).
    public var elementCount: Int { parts.count }
}

/// A linear map from a data interval to a pixel interval, with "nice" tick values
/// (1, 2 or 5 × a power of ten).
public struct LinearScale: Sendable, Equatable {
    public var domain: (lo: Double, hi: Double)
    public var range: (lo: Double, hi: Double)

    /// A degenerate domain (lo == hi, or non-finite) is widened to lo ± 0.5 (or [0, 1]) so
    /// that a single value or an empty series still maps to the middle, not to NaN.
    public init(domain: (Double, Double), range: (Double, Double)) {
        var (lo, hi) = domain
        if !lo.isFinite || !hi.isFinite { (lo, hi) = (0, 1) }
        if lo > hi { swap(&lo, &hi) }
        if lo == hi { (lo, hi) = (lo - 0.5, hi + 0.5) }
        self.domain = (lo, hi)
        self.range = range
    }

    public func callAsFunction(_ v: Double) -> Double {
        range.lo + (v - domain.lo) / (domain.hi - domain.lo) * (range.hi - range.lo)
    }

    /// About `count` evenly spaced round values inside the domain (both ends included when round).
    public func ticks(_ count: Int = 5) -> [Double] {
        let span = domain.hi - domain.lo
        let raw = span / Double(max(1, count))
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw * 0.999 } ?? 10 * power
        var out: [Double] = []
        let first = (domain.lo / step - 1e-9).rounded(.up)
        var i = 0.0
        while (first + i) * step <= domain.hi + step * 1e-9 {
            let v = (first + i) * step  // multiplied, not accumulated: no drift
            out.append(abs(v) < step * 1e-9 ? 0 : v)
            i += 1
        }
        return out
    }

    public static func == (a: LinearScale, b: LinearScale) -> Bool {
        a.domain == b.domain && a.range == b.range
    }
}

/// A tick value as text: no trailing zeros, at most 3 decimals.
func tickLabel(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e12 { return String(Int64(v)) }
    var s = String(format: "%.3f", v)
    while s.hasSuffix("0") { s.removeLast() }
    return s
}

extension SVG {
    /// A bottom (x) axis along y = `at`, its ticks and tick labels, and a centred label.
    public mutating func xAxis(_ scale: LinearScale, at y: Double, label: String, ticks: [Double]? = nil) {
        line(x1: scale.range.lo, y1: y, x2: scale.range.hi, y2: y, stroke: "#444")
        for t in ticks ?? scale.ticks() {
            let x = scale(t)
            line(x1: x, y1: y, x2: x, y2: y + 4, stroke: "#444")
            text(tickLabel(t), x: x, y: y + 16, size: 10, anchor: .middle, fill: "#444")
        }
        text(label, x: (scale.range.lo + scale.range.hi) / 2, y: y + 32, size: 11, anchor: .middle)
    }

    /// A left (y) axis along x = `at` with light grid lines to `gridTo`, tick labels and a
    /// rotated label.
    public mutating func yAxis(_ scale: LinearScale, at x: Double, gridTo: Double, label: String) {
        line(x1: x, y1: scale.range.lo, x2: x, y2: scale.range.hi, stroke: "#444")
        for t in scale.ticks() {
            let y = scale(t)
            line(x1: x, y1: y, x2: gridTo, y2: y, stroke: "#e3e3e3")
            line(x1: x - 4, y1: y, x2: x, y2: y, stroke: "#444")
            text(tickLabel(t), x: x - 6, y: y + 3.5, size: 10, anchor: .end, fill: "#444")
        }
        let mid = (scale.range.lo + scale.range.hi) / 2
        text(label, x: x - 38, y: mid, size: 11, anchor: .middle, rotate: -90)
    }
}
