import Foundation
import MienCore

/// Builds one JSON object with keys in the order given (stable, readable JSONL sinks),
/// faster than a general encoder for the millions of frame lines of a large archive.
struct JSONLine {
    private var text = "{"
    private var first = true

    private mutating func key(_ k: String) {
        if !first { text += "," }
        first = false
        text += JSONLine.quote(k)
        text += ":"
    }

    mutating func add(_ k: String, _ v: String) { key(k); text += JSONLine.quote(v) }
    mutating func add(_ k: String, _ v: Int) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: UInt64) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: UInt32) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: Double) { key(k); text += JSONLine.number(v) }
    mutating func add(_ k: String, numbers: [Double]) { key(k); text += "[" + numbers.map(JSONLine.number).joined(separator: ",") + "]" }
    /// An object of label → probability, in label order.
    mutating func add(_ k: String, probs: [Double], labels: [String]) {
        key(k)
        text += "{" + zip(labels, probs).map { JSONLine.quote($0) + ":" + JSONLine.number($1) }.joined(separator: ",") + "}"
    }
    /// Inserts already-encoded JSON.
    mutating func add(_ k: String, raw: String) { key(k); text += raw }

    var string: String { text + "}" }

    /// `v` as JSON: an integer when it is one, else C's `%.6g`. Formatted with the C library's
    /// vsnprintf into a stack buffer: Foundation's `String(format:)` costs ~10× more, and a
    /// video's frame lines carry ~20 numbers a face, written while the job's last batch waits.
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            let n = withVaList([v]) { vsnprintf(buffer.baseAddress!, 32, "%.6g", $0) }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(max(0, min(n, 31)))), as: UTF8.self)
        }
    }

    static func quote(_ s: String) -> String { JSONText.quote(s) }
}
