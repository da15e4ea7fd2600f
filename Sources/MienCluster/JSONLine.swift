import CLibcExtras
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
        JSONText.appendQuoted(k, to: &text)
        text += ":"
    }

    mutating func add(_ k: String, _ v: String) { key(k); JSONText.appendQuoted(v, to: &text) }
    mutating func add(_ k: String, _ v: Int) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: UInt64) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: UInt32) { key(k); text += String(v) }
    mutating func add(_ k: String, _ v: Double) { key(k); JSONLine.append(v, to: &text) }
    mutating func add(_ k: String, numbers: [Double]) {
        key(k)
        text += "["
        for (i, v) in numbers.enumerated() {
            if i > 0 { text += "," }
            JSONLine.append(v, to: &text)
        }
        text += "]"
    }
    /// An object of label → probability, in label order.
    mutating func add(_ k: String, probs: [Double], labels: [String]) {
        key(k)
        text += "{"
        for (i, (label, p)) in zip(labels, probs).enumerated() {
            if i > 0 { text += "," }
            JSONText.appendQuoted(label, to: &text)
            text += ":"
            JSONLine.append(p, to: &text)
        }
        text += "}"
    }
    /// Inserts already-encoded JSON.
    mutating func add(_ k: String, raw: String) { key(k); text += raw }

    var string: String { text + "}" }

    /// `v` as JSON: an integer when it is one, else C's `%.6g`.
    static func number(_ v: Double) -> String {
        var s = ""
        append(v, to: &s)
        return s
    }

    /// Appends `number(v)`. Formatted by the C library's `strfromd` (`snprintf` for one double)
    /// into a stack buffer: Foundation's `String(format:)` costs ~10× more and the `va_list` route
    /// boxes each argument, and a video's frame lines carry ~20 numbers a face, written after its
    /// last batch.
    static func append(_ v: Double, to text: inout String) {
        guard v.isFinite else { text += "null"; return }
        if v == v.rounded() && abs(v) < 1e15 { text += String(Int64(v)); return }
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            let n = strfromd(buffer.baseAddress!, 32, "%.6g", v)
            text += String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(max(0, min(n, 31)))), as: UTF8.self)
        }
    }

    static func quote(_ s: String) -> String { JSONText.quote(s) }
}
