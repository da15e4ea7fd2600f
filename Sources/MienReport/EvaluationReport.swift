import Foundation
import MienCore

/// What `mien evaluate` writes: `metrics.json`, `metrics.md` (Markdown tables) and a
/// self-contained `report.html` (inline CSS and SVG; no script, stylesheet, font or image
/// from anywhere else), built from one `Evaluation` and the model's training reports.
///
/// The HTML is also well-formed XML (every element closed, only XML entities), so it can be
/// checked with an XML parser. Plot ids, by section:
/// - `training`: `training-<model>-loss`, `training-<model>-accuracy` per training report;
/// - `confusion`: `confusion-<level>-cnn`, `confusion-<level>-cnn-bilstm` for frame, window, video;
/// - `per-class`: `per-class-precision`, `per-class-recall`, `per-class-f1` (per frame);
/// - `timelines`: `timeline-<n>` for the n-th labelled video (0-based, input order).
public struct EvaluationReport: Sendable {
    /// The model bundle evaluated.
    public struct Model: Sendable {
        public var name: String
        public var directory: String
        public var trainedOn: String
        public var cnnDirectory: String
        public var bilstmDirectory: String
        public init(name: String, directory: String, trainedOn: String, cnnDirectory: String, bilstmDirectory: String) {
            self.name = name
            self.directory = directory
            self.trainedOn = trainedOn
            self.cnnDirectory = cnnDirectory
            self.bilstmDirectory = bilstmDirectory
        }
    }

    /// One labelled video's frames, for its timeline.
    public struct Video: Sendable {
        public var video: String
        public var frameCount: UInt64?
        public var fps: Double?
        public var truth: Int?
        public var bilstm: Int
        public var cnn: Int
        public var frames: [EvaluatedFrame]
        public init(video: String, frameCount: UInt64?, fps: Double?, truth: Int?, bilstm: Int, cnn: Int, frames: [EvaluatedFrame]) {
            self.video = video
            self.frameCount = frameCount
            self.fps = fps
            self.truth = truth
            self.bilstm = bilstm
            self.cnn = cnn
            self.frames = frames
        }
    }

    public var evaluation: Evaluation
    public var model: Model
    /// What the test data is (e.g. "synthetic: mien synth --seed 202 …"), shown beside every figure.
    public var data: String
    /// The command that produced the report.
    public var command: String
    public var training: [TrainingHistory]
    /// Why a training report is missing, and similar remarks shown in the training section.
    public var trainingNotes: [String]
    public var videos: [Video]

    public init(evaluation: Evaluation, model: Model, data: String, command: String, training: [TrainingHistory],
                trainingNotes: [String], videos: [Video]) {
        self.evaluation = evaluation
        self.model = model
        self.data = data
        self.command = command
        self.training = training
        self.trainingNotes = trainingNotes
        self.videos = videos
    }

    /// The three levels in report order, with their names.
    var levels: [(key: String, name: String, items: String, level: Evaluation.Level)] {
        [("frame", "per frame", "face-frames", evaluation.frame),
         ("window", "per window", "windows", evaluation.window),
         ("video", "per video", "videos", evaluation.video)]
    }

    static func percent(_ v: Double) -> String { String(format: "%.2f %%", v * 100) }
    static func fixed(_ v: Double) -> String { String(format: "%.4f", v) }
    static func points(_ v: Double) -> String { String(format: "%+.2f", v * 100) }

    /// The id of a training plot of `model` ("BiLSTM" → `training-bilstm-loss`).
    public static func trainingPlotID(_ model: String, _ kind: String) -> String {
        SVG.identifier("training-" + model.lowercased() + "-" + kind)
    }

    // MARK: metrics.json

    public func metricsJSON() -> String {
        let q = JSONText.quote, n = JSONText.number
        let labels = evaluation.labels
        let f = evaluation.frame
        var out: [String] = []
        out.append("\"data\":" + q(data))
        out.append("\"command\":" + q(command))
        out.append("\"model\":{\"name\":\(q(model.name)),\"directory\":\(q(model.directory)),\"trained_on\":\(q(model.trainedOn)),\"cnn\":\(q(model.cnnDirectory)),\"bilstm\":\(q(model.bilstmDirectory))}")
        out.append("\"labels\":[" + labels.map(q).joined(separator: ",") + "]")
        let failed = evaluation.failedVideos.map { "{\"video\":\(q($0.video)),\"error\":\(q($0.error))}" }
        out.append("\"videos\":{\"labelled\":\(videos.count),\"failed\":[" + failed.joined(separator: ",") + "]}")
        out.append("\"table1\":{\"level\":\"frame\",\"cnn\":{\"accuracy\":\(n(f.cnn.accuracy)),\"classification_error\":\(n(f.cnn.classificationError))},"
                   + "\"cnn_bilstm\":{\"accuracy\":\(n(f.bilstm.accuracy)),\"classification_error\":\(n(f.bilstm.classificationError))},"
                   + "\"accuracy_margin\":\(n(f.bilstm.accuracy - f.cnn.accuracy)),\"macro_f1_margin\":\(n(f.bilstm.macroF1 - f.cnn.macroF1))}")
        for l in levels {
            out.append(q(l.key) + ":{\"without_truth\":\(l.level.withoutTruth),\"cnn\":\(l.level.cnn.json(labels: labels)),\"cnn_bilstm\":\(l.level.bilstm.json(labels: labels))}")
        }
        let tr = training.map { "{\"model\":\(q($0.model)),\"source\":\(q($0.source)),\"epochs\":\($0.epochs.count)}" }
        out.append("\"training\":[" + tr.joined(separator: ",") + "]")
        out.append("\"training_notes\":[" + trainingNotes.map(q).joined(separator: ",") + "]")
        return "{\n" + out.map { "  " + $0 }.joined(separator: ",\n") + "\n}\n"
    }

    // MARK: metrics.md

    /// Table 1 of the paper on this data: accuracy and classification error per frame.
    public func table1() -> MarkdownTable {
        var t = MarkdownTable(header: ["Model", "Accuracy", "Classification error"], alignments: [.left, .right, .right])
        let f = evaluation.frame
        t.add(["CNN (per frame)", EvaluationReport.percent(f.cnn.accuracy), EvaluationReport.percent(f.cnn.classificationError)])
        t.add(["CNN+BiLSTM", EvaluationReport.percent(f.bilstm.accuracy), EvaluationReport.percent(f.bilstm.classificationError)])
        return t
    }

    /// Accuracy, macro and weighted F1 of both models at each level.
    public func levelsTable() -> MarkdownTable {
        var t = MarkdownTable(header: ["Level", "Scored", "Without truth", "CNN accuracy", "CNN+BiLSTM accuracy",
                                       "CNN macro-F1", "CNN+BiLSTM macro-F1", "CNN weighted-F1", "CNN+BiLSTM weighted-F1"],
                              alignments: [.left] + [MarkdownTable.Alignment](repeating: .right, count: 8))
        for l in levels {
            let (c, b) = (l.level.cnn, l.level.bilstm)
            t.add([l.name, "\(c.count) \(l.items)", String(l.level.withoutTruth),
                   EvaluationReport.percent(c.accuracy), EvaluationReport.percent(b.accuracy),
                   EvaluationReport.fixed(c.macroF1), EvaluationReport.fixed(b.macroF1),
                   EvaluationReport.fixed(c.weightedF1), EvaluationReport.fixed(b.weightedF1)])
        }
        return t
    }

    /// Per-class precision, recall, F1 and support with macro and weighted averages (the rows
    /// of scikit-learn's classification_report).
    public static func perClassTable(_ m: ClassificationMetrics, labels: [String]) -> MarkdownTable {
        var t = MarkdownTable(header: ["Class", "Precision", "Recall", "F1", "Support"], alignments: [.left, .right, .right, .right, .right])
        for (l, s) in zip(labels, m.perClass) {
            t.add([l, fixed(s.precision), fixed(s.recall), fixed(s.f1), String(s.support)])
        }
        t.add(["macro avg", fixed(m.macroPrecision), fixed(m.macroRecall), fixed(m.macroF1), String(m.count)])
        t.add(["weighted avg", fixed(m.weightedPrecision), fixed(m.weightedRecall), fixed(m.weightedF1), String(m.count)])
        return t
    }

    /// The confusion matrix: rows truth, columns prediction.
    public static func confusionTable(_ m: ClassificationMetrics, labels: [String]) -> MarkdownTable {
        var t = MarkdownTable(header: ["true \\ predicted"] + labels, alignments: [.left] + labels.map { _ in .right })
        for (l, row) in zip(labels, m.confusion) { t.add([l] + row.map(String.init)) }
        return t
    }

    var marginSentence: String {
        let f = evaluation.frame
        return "CNN+BiLSTM − CNN per frame: accuracy \(EvaluationReport.points(f.bilstm.accuracy - f.cnn.accuracy)) points, "
            + "macro-F1 \(String(format: "%+.4f", f.bilstm.macroF1 - f.cnn.macroF1)) (over \(f.cnn.count) face-frames with ground truth)."
    }

    public func markdown() -> String {
        let labels = evaluation.labels
        var md = "# Mien evaluation\n\n"
        md += "- Data: \(data)\n"
        md += "- Model: `\(model.name)` (\(model.directory)): \(model.trainedOn.isEmpty ? "see its bundle.json" : model.trainedOn)\n"
        md += "- Command: `\(command.replacingOccurrences(of: "`", with: "'"))`\n"
        md += "- Videos labelled: \(videos.count); failed: \(evaluation.failedVideos.count)\n\n"
        md += "## Table 1: accuracy and classification error (per frame)\n\n"
        md += "The paper reports 90.47 % (CNN) and 95.47 % (CNN+BiLSTM) on its own data; these figures are on the data above.\n\n"
        md += table1().markdown + "\n" + marginSentence + "\n\n"
        md += "## All levels\n\n" + levelsTable().markdown + "\n"
        md += "A window's truth is the most frequent truth of its frames; the CNN's window label is the argmax of its mean per-frame probabilities over the window.\n\n"
        for l in levels {
            for (name, m) in [("CNN", l.level.cnn), ("CNN+BiLSTM", l.level.bilstm)] {
                md += "## \(name), \(l.name): per-class scores\n\n" + EvaluationReport.perClassTable(m, labels: labels).markdown + "\n"
                md += "### \(name), \(l.name): confusion matrix (rows truth, columns prediction)\n\n" + EvaluationReport.confusionTable(m, labels: labels).markdown + "\n"
            }
        }
        if !evaluation.failedVideos.isEmpty {
            var t = MarkdownTable(header: ["Video", "Error"])
            for v in evaluation.failedVideos { t.add([v.video, v.error]) }
            md += "## Videos that failed (not scored)\n\n" + t.markdown + "\n"
        }
        if !training.isEmpty || !trainingNotes.isEmpty {
            md += "## Training\n\n"
            for h in training {
                let best = zip(h.epochs, h.validationLoss).compactMap { e, v in v.map { (e, $0) } }.min { $0.1 < $1.1 }
                md += "- \(h.model): \(h.epochs.count) epochs (\(h.source))"
                if let best { md += ", best validation loss \(String(format: "%.4f", best.1)) at epoch \(tickLabel(best.0))" }
                md += "\n"
            }
            for note in trainingNotes { md += "- \(note)\n" }
        }
        return md
    }

    // MARK: report.html

    static func h(_ s: String) -> String { SVG.escape(s) }

    static func htmlTable(_ t: MarkdownTable, id: String? = nil) -> String {
        var out = "<table" + (id.map { " id=\"\(h($0))\"" } ?? "") + "><thead><tr>"
        for (c, a) in zip(t.header, t.alignments) { out += "<th class=\"\(a == .right ? "num" : "txt")\">\(h(c))</th>" }
        out += "</tr></thead><tbody>"
        for row in t.rows {
            out += "<tr>" + zip(row, t.alignments).map { "<td class=\"\($1 == .right ? "num" : "txt")\">\(h($0))</td>" }.joined() + "</tr>"
        }
        return out + "</tbody></table>"
    }

    /// The plots of each section, in order (what report.html contains).
    public func plots() -> [(section: String, svgs: [SVG])] {
        let labels = evaluation.labels
        var trainingPlots: [SVG] = []
        for t in training {
            trainingPlots.append(t.lossChart(id: EvaluationReport.trainingPlotID(t.model, "loss")))
            trainingPlots.append(t.accuracyChart(id: EvaluationReport.trainingPlotID(t.model, "accuracy")))
        }
        var confusion: [SVG] = []
        for l in levels {
            confusion.append(Charts.confusionMatrix(id: "confusion-\(l.key)-cnn", title: "CNN, \(l.name) (accuracy \(EvaluationReport.percent(l.level.cnn.accuracy)))",
                                                    labels: labels, matrix: l.level.cnn.confusion))
            confusion.append(Charts.confusionMatrix(id: "confusion-\(l.key)-cnn-bilstm", title: "CNN+BiLSTM, \(l.name) (accuracy \(EvaluationReport.percent(l.level.bilstm.accuracy)))",
                                                    labels: labels, matrix: l.level.bilstm.confusion))
        }
        let f = evaluation.frame
        let perClass = [("precision", \ClassScores.precision), ("recall", \ClassScores.recall), ("f1", \ClassScores.f1)].map { name, key in
            Charts.groupedBars(id: "per-class-\(name)", title: "\(name == "f1" ? "F1" : name.capitalized) per class, per frame", categories: labels,
                               yLabel: name == "f1" ? "F1" : name, groups: [
                                   (name: "CNN", colour: Charts.modelColours.cnn, values: f.cnn.perClass.map { $0[keyPath: key] }),
                                   (name: "CNN+BiLSTM", colour: Charts.modelColours.bilstm, values: f.bilstm.perClass.map { $0[keyPath: key] }),
                               ])
        }
        let timelines = videos.enumerated().map { i, v in timeline(i, v) }
        return [("training", trainingPlots), ("confusion", confusion), ("per-class", perClass), ("timelines", timelines)]
    }

    func timeline(_ i: Int, _ v: Video) -> SVG {
        let labels = evaluation.labels
        func name(_ c: Int?) -> String { c.map { $0 < labels.count ? labels[$0] : "class \($0)" } ?? "none" }
        var rows: [Charts.TimelineRow] = []
        let byTrack = Dictionary(grouping: v.frames, by: \.track)
        for track in byTrack.keys.sorted() {
            let fs = byTrack[track]!.sorted { $0.frame < $1.frame }
            let prefix = byTrack.count > 1 ? "track \(track): " : ""
            rows.append(.init(name: prefix + "truth", frames: fs.map { ($0.frame, $0.truth) }))
            rows.append(.init(name: prefix + "CNN", frames: fs.map { ($0.frame, $0.cnn) }))
            rows.append(.init(name: prefix + "CNN+BiLSTM", frames: fs.map { ($0.frame, $0.bilstm) }))
        }
        let title = "\(v.video): truth \(name(v.truth)), CNN+BiLSTM \(name(v.bilstm)), CNN \(name(v.cnn))"
        return Charts.timeline(id: "timeline-\(i)", title: title, labels: labels, rows: rows, frameCount: v.frameCount, fps: v.fps)
    }

    static let css = """
        body{font-family:sans-serif;margin:24px;color:#222;background:#fff;max-width:1400px}
        h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
        table{border-collapse:collapse;margin:8px 0 16px 0;font-size:13px}
        th,td{border:1px solid #ccc;padding:3px 8px}th{background:#f0f0f0}
        td.num,th.num{text-align:right}td.txt,th.txt{text-align:left}
        .note{color:#555;font-size:13px}.data{background:#fff7e0;border:1px solid #e6c870;padding:6px 10px;display:inline-block}
        .plots{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
        svg.plot{border:1px solid #e4e4e4;background:#fff}
        code{background:#f4f4f4;padding:1px 4px}
        """

    public func html() -> String {
        let h = EvaluationReport.h
        let labels = evaluation.labels
        let plots = self.plots()
        func section(_ id: String) -> [SVG] { plots.first { $0.section == id }?.svgs ?? [] }
        var b = "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>"
        b += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
        b += "<title>Mien evaluation: \(h(model.name))</title><style>\(EvaluationReport.css)</style></head><body>"
        b += "<h1>Mien evaluation</h1>"
        b += "<section id=\"summary\"><p class=\"data\"><b>Data:</b> \(h(data))</p>"
        b += "<p><b>Model:</b> <code>\(h(model.name))</code> (\(h(model.directory))): \(h(model.trainedOn.isEmpty ? "see its bundle.json" : model.trainedOn))</p>"
        b += "<p><b>Command:</b> <code>\(h(command))</code></p>"
        b += "<p>Videos labelled: \(videos.count); failed: \(evaluation.failedVideos.count).</p></section>"

        b += "<section id=\"table1\"><h2>Table 1: accuracy and classification error (per frame)</h2>"
        b += "<p class=\"note\">The paper reports 90.47 % (CNN) and 95.47 % (CNN+BiLSTM) on its own data; these figures are on the data named above.</p>"
        b += EvaluationReport.htmlTable(table1(), id: "table1-figures") + "<p>\(h(marginSentence))</p></section>"

        b += "<section id=\"levels\"><h2>All levels</h2>" + EvaluationReport.htmlTable(levelsTable(), id: "levels-figures")
        b += "<p class=\"note\">A window's truth is the most frequent truth of its frames; the CNN's window label is the argmax of its mean per-frame probabilities over the window. A detection that matches no true face has no truth and is not scored.</p>"
        for (name, m) in [("CNN", evaluation.frame.cnn), ("CNN+BiLSTM", evaluation.frame.bilstm)] {
            b += "<h3>\(h(name)), per frame: per-class scores</h3>" + EvaluationReport.htmlTable(EvaluationReport.perClassTable(m, labels: labels))
        }
        b += "</section>"

        b += "<section id=\"training\"><h2>Training curves</h2>"
        for t in training {
            b += "<p class=\"note\">\(h(t.model)): \(t.epochs.count) epochs, from <code>\(h(t.source))</code>"
            let keys = ["window", "stride", "units", "layers", "dropout", "learning_rate", "batch_size", "seed"]
            let shown = t.settings.filter { keys.contains($0.key) }
            if !shown.isEmpty { b += " (" + h(shown.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) + ")" }
            b += "</p>"
        }
        for note in trainingNotes { b += "<p class=\"note\">\(h(note))</p>" }
        b += "<div class=\"plots\">" + section("training").map(\.xml).joined() + "</div></section>"

        b += "<section id=\"confusion\"><h2>Confusion matrices</h2><p class=\"note\">Rows: true class; columns: predicted class; shade: share of the row.</p>"
        b += "<div class=\"plots\">" + section("confusion").map(\.xml).joined() + "</div></section>"

        b += "<section id=\"per-class\"><h2>Per-class precision, recall and F1 (per frame)</h2>"
        b += "<div class=\"plots\">" + section("per-class").map(\.xml).joined() + "</div></section>"

        b += "<section id=\"timelines\"><h2>Expression timelines</h2><p class=\"note\">Per video and face track: the true label of each frame, the CNN's and CNN+BiLSTM's. Pale grey: no ground truth for that detection (neutral is the darker grey); white gaps: no face detected.</p>"
        b += section("timelines").map { "<div>\($0.xml)</div>" }.joined() + "</section>"

        if !evaluation.failedVideos.isEmpty {
            var t = MarkdownTable(header: ["Video", "Error"])
            for v in evaluation.failedVideos { t.add([v.video, v.error]) }
            b += "<section id=\"failed\"><h2>Videos that failed (not scored)</h2>" + EvaluationReport.htmlTable(t) + "</section>"
        }
        b += "</body></html>\n"
        return b
    }
}
