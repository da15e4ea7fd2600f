import Foundation

/// The report's plots, each one `SVG`: line charts (training curves), confusion-matrix heat
/// maps, grouped bars (per-class scores) and label timelines. Every chart draws a readable
/// "no data" message instead of failing when it gets nothing to plot.
public enum Charts {
    /// Colours for classes, by index (Okabe–Ito, distinguishable with colour-vision deficiency).
    public static let classColours = ["#D55E00", "#009E73", "#CC79A7", "#E69F00", "#0072B2", "#56B4E9", "#999999", "#F0E442", "#000000"]
    public static let modelColours = (cnn: "#E69F00", bilstm: "#0072B2", truth: "#555555")

    public static func classColour(_ i: Int) -> String { classColours[i % classColours.count] }

    /// One line of a line chart.
    public struct Series: Sendable {
        public var name: String
        public var colour: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool
        public init(name: String, colour: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.colour = colour
            self.points = points
            self.dashed = dashed
        }
    }

    static let margin = (left: 60.0, right: 16.0, top: 34.0, bottom: 48.0)

    static func noData(_ svg: inout SVG, _ message: String) {
        svg.rect(x: 0.5, y: 24, width: svg.width - 1, height: svg.height - 25, fill: "#fafafa", stroke: "#ddd")
        svg.text(message, x: svg.width / 2, y: svg.height / 2 + 8, size: 13, anchor: .middle, fill: "#777")
    }

    static func heading(_ svg: inout SVG, _ text: String) {
        svg.text(text, x: 8, y: 17, size: 13, bold: true)
    }

    static func legend(_ svg: inout SVG, _ items: [(String, String)], y: Double, right: Double) {
        var x = right
        for (name, colour) in items.reversed() {
            let w = Double(name.count) * 7 + 30  // ~7 px per character at 11 px sans-serif, then a gap
            x -= w
            svg.rect(x: x, y: y - 9, width: 12, height: 10, fill: colour)
            svg.text(name, x: x + 16, y: y, size: 11)
        }
    }

    /// A line chart of `series` (points drawn with a tooltip each). `yDomain` fixes the y range
    /// (e.g. 0…1 for accuracy); otherwise it spans the data. Non-finite points are skipped and
    /// counted in a note under the plot.
    public static func lineChart(id: String, title: String, xLabel: String, yLabel: String, series: [Series],
                                 yDomain: (Double, Double)? = nil, width: Double = 460, height: Double = 280) -> SVG {
        var svg = SVG(id: id, width: width, height: height, title: title)
        heading(&svg, title)
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let skipped = series.flatMap(\.points).count - finite.count
        guard !finite.isEmpty else {
            noData(&svg, "no data to plot")
            return svg
        }
        let xs = finite.map(\.x), ys = finite.map(\.y)
        let x = LinearScale(domain: (xs.min()!, xs.max()!), range: (margin.left, width - margin.right))
        let y = LinearScale(domain: yDomain ?? (min(0, ys.min()!), ys.max()!), range: (height - margin.bottom, margin.top))
        svg.yAxis(y, at: margin.left, gridTo: width - margin.right, label: yLabel)
        // Integer x values (epochs) get integer ticks only.
        let integral = xs.allSatisfy { $0 == $0.rounded() }
        svg.xAxis(x, at: height - margin.bottom, label: xLabel, ticks: integral ? x.ticks().filter { $0 == $0.rounded() } : nil)
        for s in series {
            let pts = s.points.map { (x: x($0.x), y: y($0.y)) }
            svg.polyline(pts, stroke: s.colour, width: 2, dash: s.dashed ? "5 3" : nil)
            for (p, raw) in zip(pts, s.points) {
                svg.circle(cx: p.x, cy: p.y, r: 2.5, fill: s.colour, tooltip: "\(s.name): \(tickLabel(raw.x)) → \(String(format: "%.4f", raw.y))")
            }
        }
        legend(&svg, series.map { ($0.name, $0.colour) }, y: 17, right: width - margin.right)
        if skipped > 0 {
            svg.text("\(skipped) non-finite value(s) not drawn", x: width - margin.right, y: height - 4, size: 10, anchor: .end, fill: "#a00")
        }
        return svg
    }

    /// A confusion matrix (`matrix[t][p]`: true class t predicted as p) as a heat map shaded by
    /// each row's share (recall per class), with the count in each cell.
    public static func confusionMatrix(id: String, title: String, labels: [String], matrix: [[Int]]) -> SVG {
        let k = labels.count
        let cell = 42.0, left = 86.0, top = 40.0, bottom = 78.0
        let width = max(left + cell * Double(k) + 20, 300), height = top + cell * Double(k) + bottom
        var svg = SVG(id: id, width: width, height: height, title: title)
        heading(&svg, title)
        guard k > 0, matrix.count == k, matrix.allSatisfy({ $0.count == k }) else {
            noData(&svg, "no confusion matrix (\(matrix.count) rows for \(k) labels)")
            return svg
        }
        let total = matrix.reduce(0) { $0 + $1.reduce(0, +) }
        guard total > 0 else {
            noData(&svg, "no samples with ground truth")
            return svg
        }
        for t in 0..<k {
            let rowSum = matrix[t].reduce(0, +)
            svg.text(labels[t], x: left - 6, y: top + cell * (Double(t) + 0.5) + 4, size: 11, anchor: .end)
            for p in 0..<k {
                let n = matrix[t][p]
                let share = rowSum > 0 ? Double(n) / Double(rowSum) : 0
                let x = left + cell * Double(p), y = top + cell * Double(t)
                let pct = String(format: "%.1f", share * 100)
                svg.rect(x: x, y: y, width: cell - 1, height: cell - 1, fill: shade(share), stroke: t == p ? "#222" : "#e6e6e6",
                         tooltip: "true \(labels[t]), predicted \(labels[p]): \(n) (\(pct) % of \(labels[t]))")
                if n > 0 {
                    svg.text(String(n), x: x + cell / 2, y: y + cell / 2 + 4, size: 11, anchor: .middle, fill: share > 0.55 ? "#fff" : "#111")
                }
            }
        }
        for p in 0..<k {
            let x = left + cell * (Double(p) + 0.5), y = top + cell * Double(k) + 8
            svg.text(labels[p], x: x, y: y, size: 11, anchor: .end, rotate: -45)
        }
        svg.text("predicted", x: left + cell * Double(k) / 2, y: height - 6, size: 11, anchor: .middle, bold: true)
        svg.text("true", x: 14, y: top + cell * Double(k) / 2, size: 11, anchor: .middle, bold: true, rotate: -90)
        return svg
    }

    /// White → dark blue by `share` in [0, 1].
    static func shade(_ share: Double) -> String {
        let s = min(max(share.isFinite ? share : 0, 0), 1)
        let (r, g, b) = (255 - s * (255 - 8), 255 - s * (255 - 69), 255 - s * (255 - 148))
        return String(format: "#%02x%02x%02x", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    /// Bars per category (x) for each group (e.g. CNN and CNN+BiLSTM), values in 0…1.
    public static func groupedBars(id: String, title: String, categories: [String], yLabel: String,
                                   groups: [(name: String, colour: String, values: [Double])],
                                   width: Double = 520, height: Double = 260) -> SVG {
        var svg = SVG(id: id, width: width, height: height, title: title)
        heading(&svg, title)
        guard !categories.isEmpty, !groups.isEmpty else {
            noData(&svg, "no classes to plot")
            return svg
        }
        let y = LinearScale(domain: (0, 1), range: (height - margin.bottom, margin.top))
        svg.yAxis(y, at: margin.left, gridTo: width - margin.right, label: yLabel)
        let plotWidth = width - margin.left - margin.right
        let slot = plotWidth / Double(categories.count)
        let bar = slot * 0.8 / Double(groups.count)
        for (c, name) in categories.enumerated() {
            let x0 = margin.left + slot * Double(c) + slot * 0.1
            for (g, group) in groups.enumerated() {
                let v = c < group.values.count ? group.values[c] : .nan
                guard v.isFinite else { continue }
                let clamped = min(max(v, 0), 1)
                svg.rect(x: x0 + bar * Double(g), y: y(clamped), width: bar - 1, height: y(0) - y(clamped), fill: group.colour,
                         tooltip: "\(name), \(group.name): \(String(format: "%.3f", v))")
            }
            svg.text(name, x: margin.left + slot * (Double(c) + 0.5), y: height - margin.bottom + 16, size: 11, anchor: .middle)
        }
        svg.line(x1: margin.left, y1: y(0), x2: width - margin.right, y2: y(0), stroke: "#444")
        legend(&svg, groups.map { ($0.name, $0.colour) }, y: 17, right: width - margin.right)
        return svg
    }

    /// A timeline frame without a label (a detection with no ground truth): pale, unlike neutral's grey.
    public static let noTruthColour = "#e4e4e4"

    /// One row of a timeline: a label (or none) per frame.
    public struct TimelineRow: Sendable {
        public var name: String
        /// Ascending frames with their class index; nil where there is no label (no truth).
        public var frames: [(frame: UInt64, label: Int?)]
        public init(name: String, frames: [(frame: UInt64, label: Int?)]) {
            self.name = name
            self.frames = frames
        }
    }

    /// Runs of one label: each frame extends to the next one when the gap is at most `maxGap`
    /// frames, so a bar is continuous where the face was seen and broken where it was not.
    static func runs(_ frames: [(frame: UInt64, label: Int?)], maxGap: UInt64) -> [(start: UInt64, end: UInt64, label: Int?)] {
        var out: [(start: UInt64, end: UInt64, label: Int?)] = []
        for (f, l) in frames {
            if let last = out.last, last.label == l, f > last.end - 1, f - (last.end - 1) <= maxGap {
                out[out.count - 1].end = f + 1
            } else {
                out.append((f, f + 1, l))
            }
        }
        return out
    }

    /// Expression over time: one band per row (e.g. truth, CNN, CNN+BiLSTM of each track),
    /// coloured by class, frames on the x axis, with a class legend.
    public static func timeline(id: String, title: String, labels: [String], rows: [TimelineRow],
                                frameCount: UInt64? = nil, fps: Double? = nil, width: Double = 900) -> SVG {
        let left = 150.0, right = 16.0, top = 30.0, rowHeight = 16.0, gap = 5.0
        let height = top + Double(rows.count) * (rowHeight + gap) + 66
        var svg = SVG(id: id, width: width, height: max(height, 120), title: title)
        heading(&svg, title)
        let all = rows.flatMap(\.frames)
        guard !all.isEmpty else {
            noData(&svg, "no labelled frames (no face was found)")
            return svg
        }
        let lo = all.map(\.frame).min()!, hi = max(all.map(\.frame).max()! + 1, frameCount ?? 0)
        let x = LinearScale(domain: (Double(min(lo, 0)), Double(hi)), range: (left, width - right))
        let step = rows.map { r in zip(r.frames.dropFirst(), r.frames).map { $0.frame - $1.frame }.min() ?? 1 }.min() ?? 1
        for (i, row) in rows.enumerated() {
            let y = top + Double(i) * (rowHeight + gap)
            svg.text(row.name, x: left - 6, y: y + rowHeight - 4, size: 11, anchor: .end)
            svg.rect(x: left, y: y, width: width - right - left, height: rowHeight, fill: "#ffffff", stroke: "#e0e0e0")
            for run in runs(row.frames, maxGap: max(step, 1)) {
                let name = run.label.map { $0 < labels.count ? labels[$0] : "class \($0)" } ?? "no ground truth"
                let span = run.start == run.end - 1 ? "frame \(run.start)" : "frames \(run.start)–\(run.end - 1)"
                svg.rect(x: x(Double(run.start)), y: y, width: x(Double(run.end)) - x(Double(run.start)), height: rowHeight,
                         fill: run.label.map(classColour) ?? noTruthColour, tooltip: "\(row.name): \(name), \(span)")
            }
        }
        let axisY = top + Double(rows.count) * (rowHeight + gap) + 2
        let label = fps.map { String(format: "frame (%.4g fps)", $0) } ?? "frame"
        svg.xAxis(x, at: axisY, label: label, ticks: x.ticks(8).filter { $0 == $0.rounded() })
        var lx = left
        for (i, name) in labels.enumerated() {
            svg.rect(x: lx, y: axisY + 40, width: 12, height: 10, fill: classColour(i))
            svg.text(name, x: lx + 16, y: axisY + 49, size: 11)
            lx += Double(name.count) * 6.5 + 30
        }
        return svg
    }
}
