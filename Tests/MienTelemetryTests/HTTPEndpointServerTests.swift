import CoreMetrics
import Foundation
import XCTest
@testable import MienTelemetry

/// The endpoint over real loopback sockets: 200 with a parsable exposition whose values are
/// the instruments', 404 for other paths, 400 for a malformed request, 405 for other
/// methods, 408 for a client that never finishes its request — and a stalled client does not
/// keep others from being served afterwards.
final class HTTPEndpointServerTests: XCTestCase {
    var server: HTTPEndpointServer!
    var exposition: MetricsExposition!

    override func setUpWithError() throws {
        exposition = MetricsExposition()
        let exposition = exposition!
        server = try HTTPEndpointServer(address: "127.0.0.1:0", routes: [
            "/metrics": { _ in exposition.response() },
            "/status": { _ in HTTPResponse(status: 200, contentType: "application/json", body: Array("{\"ok\":true}\n".utf8)) },
        ], clientTimeout: 0.5)
        try server.start()
    }

    override func tearDown() {
        server.stop()
    }

    var base: String { "http://127.0.0.1:\(server.port)" }

    /// Sends raw bytes and returns everything the server answers before closing.
    func raw(_ bytes: [UInt8], thenWait: Bool = true) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = server.port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(rc, 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testMetricsAnswer200WithAParsableExpositionOfTheInstruments() throws {
        let factory = exposition.factory
        Counter(label: "mien_frames_processed_total", dimensions: [("role", "coordinator")], factory: factory).increment(by: 41)
        Counter(label: "mien_frames_processed_total", dimensions: [("role", "coordinator")], factory: factory).increment()
        Meter(label: "mien_queue_depth", dimensions: [("role", "coordinator"), ("kind", "feature")], factory: factory).set(3)
        let timer = CoreMetrics.Timer(label: "mien_feature_batch_seconds", dimensions: [("role", "feature-worker")], factory: factory)
        timer.recordMilliseconds(30)
        timer.recordMilliseconds(700)

        let r = try HTTPGet.get(base + "/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        let text = String(decoding: r.body, as: UTF8.self)
        let samples = try Exposition.parse(text)
        XCTAssertEqual(samples["mien_frames_processed_total{role=\"coordinator\"}"], 42)
        XCTAssertEqual(samples["mien_queue_depth{role=\"coordinator\",kind=\"feature\"}"], 3)
        XCTAssertEqual(samples["mien_feature_batch_seconds_count{role=\"feature-worker\"}"], 2)
        XCTAssertEqual(samples["mien_feature_batch_seconds_sum{role=\"feature-worker\"}"] ?? 0, 0.73, accuracy: 1e-9)
        XCTAssertEqual(samples["mien_feature_batch_seconds_bucket{role=\"feature-worker\",le=\"0.05\"}"], 1)
        XCTAssertEqual(samples["mien_feature_batch_seconds_bucket{role=\"feature-worker\",le=\"1.0\"}"], 2)
        XCTAssertEqual(samples["mien_feature_batch_seconds_bucket{role=\"feature-worker\",le=\"+Inf\"}"], 2)
        XCTAssertTrue(text.contains("# TYPE mien_frames_processed_total counter"))
        XCTAssertTrue(text.contains("# TYPE mien_feature_batch_seconds histogram"))
    }

    func testStatusRoute() throws {
        let r = try HTTPGet.get(base + "/status")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "{\"ok\":true}\n")
        XCTAssertEqual(r.header("connection"), "close")
    }

    func testUnknownPathIs404() throws {
        let r = try HTTPGet.get(base + "/nothing-here")
        XCTAssertEqual(r.status, 404)
        XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("/metrics"), "names what is served")
    }

    func testMalformedRequestIs400() throws {
        let answer = try raw(Array("THIS IS NOT HTTP\r\n\r\n".utf8))
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), answer)
        let noHost = try raw(Array("GET /metrics HTTP/1.1\r\n\r\n".utf8))
        XCTAssertTrue(noHost.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), noHost)
    }

    func testOtherMethodsAre405AndHeadHasNoBody() throws {
        let post = try raw(Array("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8))
        XCTAssertTrue(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"), post)
        XCTAssertTrue(post.contains("Allow: GET, HEAD\r\n"))
        let head = try raw(Array("HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertTrue(head.hasSuffix("\r\n\r\n"), "headers only: \(head.debugDescription)")
    }

    func testAStalledClientTimesOutAndOthersAreServedAfterIt() throws {
        let started = Date()
        let answer = try raw(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8))  // never ends its head
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), answer)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
        XCTAssertEqual(try HTTPGet.get(base + "/status").status, 200)
    }

    func testNothingListeningIsAClearError() throws {
        let port = server.port
        server.stop()
        XCTAssertThrowsError(try HTTPGet.get("http://127.0.0.1:\(port)/status", timeout: 2)) { error in
            XCTAssertTrue("\(error)".contains("nothing answers at http://127.0.0.1:\(port)"), "\(error)")
        }
    }

    func testBadAddressesAreRefusedWithTheirForm() {
        for bad in ["9100", "localhost", ":9100", "127.0.0.1:http", "127.0.0.1:70000", "::1:9100"] {
            XCTAssertThrowsError(try HTTPEndpointServer.split(bad), bad) { XCTAssertTrue("\($0)".contains("HOST:PORT"), "\($0)") }
        }
        XCTAssertEqual(try HTTPEndpointServer.split("[::1]:9100").host, "::1")
        XCTAssertEqual(try HTTPEndpointServer.split("0.0.0.0:9100").port, 9100)
        XCTAssertThrowsError(try HTTPGet.split(url: "https://127.0.0.1:9100"))
        XCTAssertEqual(try HTTPGet.split(url: "http://127.0.0.1:9100").path, "/")
    }

    func testPortInUseIsAClearError() throws {
        let other = try HTTPEndpointServer(address: "127.0.0.1:\(server.port)", routes: [:])
        XCTAssertThrowsError(try other.start()) { XCTAssertTrue("\($0)".contains("choose another --metrics port"), "\($0)") }
    }
}

/// An independent reader of the text exposition format 0.0.4 for the tests: every line is a
/// comment (`# HELP`, `# TYPE name counter|gauge|histogram|summary|untyped`) or a sample
/// `name{label="value",…} number`; returns samples keyed by name and labels as written.
enum Exposition {
    struct Malformed: Error { let line: String }

    static func parse(_ text: String) throws -> [String: Double] {
        var out: [String: Double] = [:]
        let name = "[a-zA-Z_:][a-zA-Z0-9_:]*"
        let label = "[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\"\\\\n])*\""
        let sample = try NSRegularExpression(pattern: "^(\(name)(?:\\{(?:\(label)(?:,\(label))*)?\\})?) (\\S+)$")
        let type = try NSRegularExpression(pattern: "^# TYPE \(name) (counter|gauge|histogram|summary|untyped)$")
        for line in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
            let range = NSRange(line.startIndex..., in: line)
            if line.hasPrefix("# TYPE") {
                guard type.firstMatch(in: line, range: range) != nil else { throw Malformed(line: line) }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let m = sample.firstMatch(in: line, range: range),
                  let key = Range(m.range(at: 1), in: line), let value = Range(m.range(at: 2), in: line) else { throw Malformed(line: line) }
            let v = String(line[value])
            guard let number = v == "+Inf" ? Double.infinity : v == "-Inf" ? -Double.infinity : Double(v) else { throw Malformed(line: line) }
            out[String(line[key])] = number
        }
        return out
    }
}
