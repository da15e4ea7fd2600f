import XCTest
@testable import MienCore

final class SplitMix64Tests: XCTestCase {
    /// Reference values for seed 1234567 from Vigna's splitmix64.c (the same values
    /// MienSynth's generator is checked against): splits and shuffles are reproducible.
    func testMatchesTheReferenceImplementation() {
        var r = SplitMix64(seed: 1_234_567)
        XCTAssertEqual((0..<5).map { _ in r.next() },
                       [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                        4_593_380_528_125_082_431, 16_408_922_859_458_223_821])
    }

    func testJSONQuoteEscapesWhatJSONRequires() {
        XCTAssertEqual(JSONText.quote("a\"b\\c\nd\u{1}é🙂"), "\"a\\\"b\\\\c\\nd\\u0001é🙂\"")
        XCTAssertEqual(JSONText.quote("x\u{7F}"), "\"x\\u007f\"", "DEL escaped too (log values share this quoting)")
    }

    /// The whole-string path (nothing to escape) and the escaping path agree with JSON's rule
    /// applied scalar by scalar, on random strings of plain, non-ASCII and escaped characters;
    /// `appendQuoted` appends exactly `quote`'s text.
    func testJSONQuoteFastPathEqualsTheEscapingRule() {
        func reference(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u.value {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0..<0x20, 0x7F: out += String(format: "\\u%04x", u.value)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        let alphabet: [Character] = ["a", "Z", "0", " ", "é", "🙂", "_", "-", "\"", "\\", "\n", "\t", "\u{1}", "\u{7F}", "/"]
        var rng = SplitMix64(seed: 9)
        for n in 0..<400 {
            let plain = n % 2 == 0   // half the strings take the whole-string path
            let pool = plain ? Array(alphabet.prefix(7)) + ["/"] : alphabet
            let s = String((0..<Int(rng.next() % 12)).map { _ in pool[Int(rng.next() % UInt64(pool.count))] })
            XCTAssertEqual(JSONText.quote(s), reference(s), "\(s.unicodeScalars.map(\.value))")
            var line = "{"
            JSONText.appendQuoted(s, to: &line)
            XCTAssertEqual(line, "{" + reference(s))
        }
        XCTAssertEqual(JSONText.quote("happy"), "\"happy\"")
    }
}
