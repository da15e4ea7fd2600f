import Foundation
import MienTraining

/// The ranked results of a search, as `results.csv` and `results.md`.
///
/// Ranking: finished trials by validation accuracy (higher first), then validation macro-F1
/// (higher), then validation loss (lower), then trial number; NaN figures rank last. Failed,
/// interrupted and not-run trials follow, unranked, in trial order, with their error.
public struct TuningTable: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        /// 1-based rank among finished trials; nil for the others.
        public var rank: Int?
        public var result: TrialResult
    }

    public let rows: [Row]

    public init(_ results: [TrialResult]) {
        let ok = results.filter { $0.status == .ok }.sorted(by: TuningTable.better)
        let rest = results.filter { $0.status != .ok }.sorted { $0.trial < $1.trial }
        rows = ok.enumerated().map { Row(rank: $0.offset + 1, result: $0.element) } + rest.map { Row(rank: nil, result: $0) }
    }

    /// The top-ranked finished trial.
    public var best: TrialResult? { rows.first.flatMap { $0.rank != nil ? $0.result : nil } }

    /// Whether `a` ranks above `b` (both finished).
    static func better(_ a: TrialResult, _ b: TrialResult) -> Bool {
        // Higher is better for accuracy and F1, lower for loss; NaN or missing is worst.
        func key(_ v: Double?, higherIsBetter: Bool) -> Double {
            guard let v, !v.isNaN else { return -.infinity }
            return higherIsBetter ? v : -v
        }
        let ka = [key(a.validationAccuracy, higherIsBetter: true), key(a.validationMacroF1, higherIsBetter: true), key(a.validationLoss, higherIsBetter: false)]
        let kb = [key(b.validationAccuracy, higherIsBetter: true), key(b.validationMacroF1, higherIsBetter: true), key(b.validationLoss, higherIsBetter: false)]
        for (x, y) in zip(ka, kb) where x != y { return x > y }
        return a.trial < b.trial
    }

    public static let columns = ["rank", "trial", "status", "units", "layers", "learning_rate", "dropout", "window", "stride",
                                 "val_accuracy", "val_macro_f1", "val_loss", "best_epoch", "epochs_run", "train_windows", "val_windows",
                                 "seconds", "error"]

    /// One row's cells, in `columns` order. Figures to 4 decimals, seconds to 1.
    public static func cells(_ row: Row, seconds: Bool = true) -> [String] {
        let r = row.result, p = r.params
        func f(_ v: Double?) -> String { v.map { $0.isNaN ? "nan" : String(format: "%.4f", $0) } ?? "" }
        func i(_ v: Int?) -> String { v.map(String.init) ?? "" }
        return [i(row.rank), String(r.trial), r.status.rawValue, String(p.units), String(p.layers), formatNumber(p.learningRate),
                formatNumber(p.dropout), String(p.window), String(p.stride),
                f(r.validationAccuracy), f(r.validationMacroF1), f(r.validationLoss), i(r.bestEpoch), i(r.epochsRun),
                i(r.trainWindows), i(r.validationWindows), seconds ? String(format: "%.1f", r.seconds) : "", r.error ?? ""]
    }

    /// RFC 4180 CSV: a header line, then one line per row; a field holding a comma, quote, CR
    /// or LF is quoted with its quotes doubled. Lines end with LF (Python's `csv` module and
    /// spreadsheets read it). `seconds: false` blanks the timing column (for comparisons).
    public func csv(seconds: Bool = true) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = TuningTable.columns.joined(separator: ",") + "\n"
        for row in rows { out += TuningTable.cells(row, seconds: seconds).map(field).joined(separator: ",") + "\n" }
        return out
    }

    /// A GitHub-flavoured Markdown table (pipes escaped, line breaks flattened), with a title
    /// line and the ranking rule.
    public func markdown(title: String) -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
                .replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        }
        let headers = ["rank", "trial", "status", "units", "layers", "lr", "dropout", "T", "stride",
                       "val acc", "val macro-F1", "val loss", "best epoch", "epochs", "train win", "val win", "seconds", "error"]
        var out = "\(title)\n\nRanked by validation accuracy, then macro-F1, then loss (weights of the epoch with the lowest validation loss).\n\n"
        out += "| " + headers.joined(separator: " | ") + " |\n"
        out += "|" + headers.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in rows { out += "| " + TuningTable.cells(row).map(cell).joined(separator: " | ") + " |\n" }
        return out
    }
}
