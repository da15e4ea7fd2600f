/// JSON text helpers shared by the writers that build JSON lines by hand (for speed and a
/// stable key order).
public enum JSONText {
    /// `s` as a JSON string literal: quotes, backslashes and control characters (C0 and DEL)
    /// escaped. Also the quoted form of a `key=value` log value (`KeyValueLogHandler`), where
    /// DEL must not reach a terminal raw.
    public static func quote(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    /// Appends `quote(s)` to `out`. A string with nothing to escape (every byte of its UTF-8
    /// printable ASCII other than `"` and `\`, or non-ASCII) is appended whole: the label and key
    /// names of every output line are such, and escaping them scalar by scalar was the
    /// aggregator's largest single cost (docs/BENCHMARKS.md, "Routing").
    public static func appendQuoted(_ s: String, to out: inout String) {
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) {
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

extension JSONText {
    /// `v` as a JSON number in its shortest round-trip form (`0.9047619047619048`, `1e-05`);
    /// `null` when not finite (JSON has no NaN or infinity).
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        return "\(v)"
    }
}
