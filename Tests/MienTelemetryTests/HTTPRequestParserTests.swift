import XCTest
@testable import MienTelemetry

/// The request-head parser, byte by byte: complete, split at every byte, malformed, oversize.
final class HTTPRequestParserTests: XCTestCase {
    let good = "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9100\r\nUser-Agent: Prometheus/2.0\r\nAccept:  text/plain \r\n\r\n"

    func testParsesAWellFormedHead() throws {
        guard case .request(let r) = HTTPRequestParser.parse(Array(good.utf8)) else { return XCTFail("not parsed") }
        XCTAssertEqual(r.method, "GET")
        XCTAssertEqual(r.target, "/metrics?x=1")
        XCTAssertEqual(r.path, "/metrics")
        XCTAssertEqual(r.version, "HTTP/1.1")
        XCTAssertEqual(r.header("HOST"), "127.0.0.1:9100")
        XCTAssertEqual(r.header("accept"), "text/plain", "optional whitespace around the value is dropped")
        XCTAssertEqual(r.headers.count, 3)
    }

    func testEveryPrefixIsIncompleteAndTheWholeParses() {
        let bytes = Array(good.utf8)
        for n in 0..<bytes.count {
            XCTAssertEqual(HTTPRequestParser.parse(Array(bytes[0..<n])), .incomplete, "prefix of \(n) bytes")
        }
        if case .request = HTTPRequestParser.parse(bytes) {} else { XCTFail("whole head") }
    }

    func testBareLineFeedsAndHTTP10WithoutHost() {
        guard case .request(let r) = HTTPRequestParser.parse(Array("GET /status HTTP/1.0\n\n".utf8)) else { return XCTFail("not parsed") }
        XCTAssertEqual(r.path, "/status")
        XCTAssertEqual(r.headers.count, 0)
    }

    func testMalformedHeadsAreRejectedWithTheirStatus() {
        let cases: [(String, Int)] = [
            ("GARBAGE\r\n\r\n", 400),
            ("GET /metrics\r\n\r\n", 400),
            ("GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /metrics HTTX/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("GET /metrics HTTP/1.1\r\n\r\n", 400),
            ("GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 400),
            ("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400),
            ("GET /metrics HTTP/1.1\r\nHost: x\u{1}y\r\n\r\n", 400),
            ("\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}\u{0}\u{1}\u{fc}\u{3}\u{3}\r\n\r\n", 400),  // a TLS hello's first bytes
        ]
        for (text, status) in cases {
            guard case .reject(let s, let reason) = HTTPRequestParser.parse(Array(text.utf8)) else {
                XCTFail("accepted: \(text.debugDescription)"); continue
            }
            XCTAssertEqual(s, status, text.debugDescription)
            XCTAssertFalse(reason.isEmpty)
        }
    }

    func testOversizeHeadsAreRefused() {
        let long = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + String(repeating: "a", count: HTTPRequestParser.maxHeadBytes)
        XCTAssertEqual(HTTPRequestParser.parse(Array(long.utf8)), .reject(status: 431, reason: "request head longer than \(HTTPRequestParser.maxHeadBytes) bytes"))
        XCTAssertEqual(HTTPRequestParser.parse(Array((long + "\r\n\r\n").utf8)), .reject(status: 431, reason: "request head longer than \(HTTPRequestParser.maxHeadBytes) bytes"))
    }

    /// A seeded fuzz loop: random bytes and mutations of a good head never trap, and any
    /// verdict is one of the three.
    func testRandomInputNeverTraps() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let base = Array(good.utf8)
        var accepted = 0
        for i in 0..<5_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int(next() % 200)).map { _ in UInt8(truncatingIfNeeded: next()) }
            } else {
                bytes = base
                for _ in 0..<Int(1 + next() % 4) { bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next()) }
            }
            if case .request = HTTPRequestParser.parse(bytes) { accepted += 1 }
        }
        XCTAssertGreaterThan(accepted, 0, "some mutations (e.g. inside a header value) stay valid")
    }
}
