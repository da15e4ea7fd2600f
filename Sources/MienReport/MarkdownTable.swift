/// A GitHub-flavoured Markdown table: a header row, an alignment row and body rows, with
/// cell text escaped so that it cannot break the table (`|` → `\|`, backslashes doubled,
/// line breaks → spaces).
public struct MarkdownTable: Sendable {
    public enum Alignment: Sendable { case left, right, center }

    public let header: [String]
    public let alignments: [Alignment]
    public private(set) var rows: [[String]] = []

    /// - Parameter alignments: one per column; missing ones are left-aligned.
    public init(header: [String], alignments: [Alignment] = []) {
        precondition(!header.isEmpty, "a Markdown table needs at least one column")
        self.header = header
        self.alignments = (0..<header.count).map { $0 < alignments.count ? alignments[$0] : .left }
    }

    /// Adds a row; a short row is padded with empty cells.
    /// - Precondition: at most as many cells as columns.
    public mutating func add(_ cells: [String]) {
        precondition(cells.count <= header.count, "\(cells.count) cells for \(header.count) columns")
        rows.append(cells + [String](repeating: "", count: header.count - cells.count))
    }

    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "|": out += "\\|"
            case "\n", "\r", "\r\n": out += " "
            default: out.append(ch)
            }
        }
        return out
    }

    /// The table, one line per row, ending with a newline.
    public var markdown: String {
        func line(_ cells: [String]) -> String { "| " + cells.map(MarkdownTable.escape).joined(separator: " | ") + " |" }
        let rule = "|" + alignments.map { a -> String in
            switch a {
            case .left: return " --- "
            case .right: return " ---: "
            case .center: return " :---: "
            }
        }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}
