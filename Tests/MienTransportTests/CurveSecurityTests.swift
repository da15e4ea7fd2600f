import Foundation
import XCTest
@testable import MienTransport

/// Log lines captured from a handler's thread.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.withLock { lines.append(s) } }
    var all: [String] { lock.withLock { lines } }
}

/// CURVE with Mien's ZAP handler: only allow-listed client keys get through, refusals are
/// logged with address and key, and nothing fails open.
final class CurveSecurityTests: XCTestCase {
    var context: ZMQContext!
    var log: LogLines!
    override func setUpWithError() throws {
        context = try ZMQContext()
        log = LogLines()
    }
    override func tearDown() { context.terminate() }

    /// A CURVE ROUTER served by `handler` in `domain`, bound to a free loopback port.
    private func curveRouter(_ server: CurveServer) throws -> (ZMQSocket, String) {
        let router = try ZMQSocket(context, .router)
        try server.apply(to: router)
        try router.bind("tcp://127.0.0.1:*")
        return (router, try router.lastEndpoint())
    }

    private func dealer(_ endpoint: String, client: CurveClient?) throws -> ZMQSocket {
        let d = try ZMQSocket(context, .dealer)
        try d.setReconnect(initialMs: 20, maxMs: 20)
        if let client { try client.apply(to: d) }
        try d.connect(endpoint)
        return d
    }

    func testAllowedClientExchangesMessagesBothWays() throws {
        let handler = try ZAPHandler(context: context, log: log.append)
        defer { handler.stop() }
        let serverKeys = try CurveKeyPair.generate(), clientKeys = try CurveKeyPair.generate()
        let (router, endpoint) = try curveRouter(handler.serve(domain: "test", keyPair: serverKeys, allow: [clientKeys.publicKey]))
        let d = try dealer(endpoint, client: CurveClient(serverKey: serverKeys.publicKey, keyPair: clientKeys))
        try d.send([Array("hello".utf8)])
        let got = try XCTUnwrap(router.receiveWithPeer(timeoutMs: 5_000), "the allowed client's message arrives")
        XCTAssertEqual(got.frames.last, Array("hello".utf8))
        XCTAssertEqual(got.peer.userID, clientKeys.publicKey.z85, "the ZAP handler's user id is the client's key")
        XCTAssertEqual(got.peer.address, "127.0.0.1")
        try router.send([got.frames[0], Array("welcome".utf8)])
        XCTAssertEqual(try d.receive(timeoutMs: 5_000), [Array("welcome".utf8)], "and the server's answer reaches it")
        XCTAssertEqual(handler.accepted, 1)
        XCTAssertEqual(handler.refused, 0)
        XCTAssertTrue(log.all.isEmpty, "nothing to report: \(log.all)")
    }

    /// libzmq does not reconnect a client refused by ZAP; a client that retries does so with a
    /// new socket (as Mien's workers do after the coordinator's silence), refused each time.
    private func strangerAttempts(_ n: Int, endpoint: String, client: CurveClient, router: ZMQSocket, waitMs: Int32 = 300) throws {
        for i in 0..<n {
            let bad = try dealer(endpoint, client: client)
            try bad.send([Array("let me in \(i)".utf8)], timeoutMs: 1_000)
            XCTAssertNil(try router.receive(timeoutMs: waitMs), "the stranger's message never reaches the server")
            XCTAssertNil(try bad.receive(timeoutMs: 0), "the stranger receives nothing")
            bad.close()
        }
    }

    func testUnknownKeyReceivesNothingAndIsLoggedOnceWhileRetrying() throws {
        let handler = try ZAPHandler(context: context, logIntervalMs: 60_000, log: log.append)
        defer { handler.stop() }
        let serverKeys = try CurveKeyPair.generate(), allowed = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let (router, endpoint) = try curveRouter(handler.serve(domain: "test", keyPair: serverKeys, allow: [allowed.publicKey]))
        try strangerAttempts(4, endpoint: endpoint, client: CurveClient(serverKey: serverKeys.publicKey, keyPair: stranger), router: router)
        XCTAssertEqual(handler.refused, 4, "each attempt was refused")
        let lines = log.all.filter { $0.contains(stranger.publicKey.z85) }
        XCTAssertEqual(lines.count, 1, "one line however often it retries within the interval: \(log.all)")
        XCTAssertTrue(lines[0].contains("127.0.0.1"), "the refusal names the peer's address: \(lines[0])")
        XCTAssertTrue(lines[0].contains("not on the allow-list"), lines[0])
        // The allowed client still gets through alongside.
        let good = try dealer(endpoint, client: CurveClient(serverKey: serverKeys.publicKey, keyPair: allowed))
        try good.send([Array("ok".utf8)])
        XCTAssertEqual(try router.receive(timeoutMs: 5_000)?.last, Array("ok".utf8))
    }

    func testRepeatedRefusalsAreSummarisedWithTheirCount() throws {
        let handler = try ZAPHandler(context: context, logIntervalMs: 5_000, log: log.append)
        let serverKeys = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let (router, endpoint) = try curveRouter(handler.serve(domain: "test", keyPair: serverKeys, allow: [try CurveKeyPair.generate().publicKey]))
        try strangerAttempts(6, endpoint: endpoint, client: CurveClient(serverKey: serverKeys.publicKey, keyPair: stranger), router: router, waitMs: 50)
        handler.stop()  // reports what is pending
        let lines = log.all.filter { $0.contains(stranger.publicKey.z85) }
        // Each line is either a first refusal (counts 1) or a summary "refused again N time(s)".
        let accounted = lines.map { line -> Int in
            guard let r = line.range(of: "refused again ") else { return 1 }
            return Int(line[r.upperBound...].prefix { $0.isNumber }) ?? 0
        }.reduce(0, +)
        XCTAssertTrue(lines.contains { $0.contains("refused again") }, "repeats are summarised: \(lines)")
        XCTAssertEqual(accounted, handler.refused, "every refusal is accounted for in the log: \(lines)")
        XCTAssertLessThan(lines.count, handler.refused, "fewer lines than refusals")
    }

    func testClientWithoutCurveGetsNothing() throws {
        let handler = try ZAPHandler(context: context, log: log.append)
        defer { handler.stop() }
        let serverKeys = try CurveKeyPair.generate()
        let (router, endpoint) = try curveRouter(handler.serve(domain: "test", keyPair: serverKeys, allow: [try CurveKeyPair.generate().publicKey]))
        let plain = try dealer(endpoint, client: nil)
        try plain.send([Array("plaintext".utf8)])
        XCTAssertNil(try router.receive(timeoutMs: 1_000), "a client without CURVE gets nothing through")
        XCTAssertNil(try plain.receive(timeoutMs: 100))
        XCTAssertEqual(handler.accepted, 0)
    }

    /// With the handler stopped (or never started in this context), a client whose key *is* on
    /// the allow-list is refused: enforcement does not depend on the handler being alive. The
    /// control case shows the same client is let in by a CURVE server without enforcement —
    /// libzmq's fail-open default that `CurveServer.apply` avoids.
    func testStoppedOrMissingHandlerRefusesInsteadOfFailingOpen() throws {
        let serverKeys = try CurveKeyPair.generate(), clientKeys = try CurveKeyPair.generate()
        let client = CurveClient(serverKey: serverKeys.publicKey, keyPair: clientKeys)

        let handler = try ZAPHandler(context: context, log: log.append)
        let server = handler.serve(domain: "test", keyPair: serverKeys, allow: [clientKeys.publicKey])
        handler.stop()
        let (router, endpoint) = try curveRouter(server)
        let d = try dealer(endpoint, client: client)
        try d.send([Array("in?".utf8)])
        XCTAssertNil(try router.receive(timeoutMs: 1_000), "no handler: refused, not let in")

        // A handler started later in the same context serves again.
        let again = try ZAPHandler(context: context, log: log.append)
        defer { again.stop() }
        _ = again.serve(domain: "test", keyPair: serverKeys, allow: [clientKeys.publicKey])
        XCTAssertEqual(try router.receive(timeoutMs: 5_000)?.last, Array("in?".utf8), "the retrying client gets in once a handler answers")

        // Control: no enforcement, no handler in this context → libzmq lets anyone with the server key in.
        let other = try ZMQContext()
        defer { other.terminate() }
        let open = try ZMQSocket(other, .router)
        try open.setCurveServer(secretKey: serverKeys.secretKey)
        try open.bind("tcp://127.0.0.1:*")
        let anyone = try ZMQSocket(other, .dealer)
        try anyone.setCurveClient(serverKey: serverKeys.publicKey, keyPair: try CurveKeyPair.generate())
        try anyone.connect(try open.lastEndpoint())
        try anyone.send([Array("open".utf8)])
        XCTAssertEqual(try open.receive(timeoutMs: 5_000)?.last, Array("open".utf8), "control: without enforcement the stranger is let in")
        open.close(); anyone.close()
    }

    func testPublishStreamReachesOnlyAllowedSubscribers() throws {
        let handler = try ZAPHandler(context: context, log: log.append)
        defer { handler.stop() }
        let serverKeys = try CurveKeyPair.generate(), reader = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let pub = try ZMQSocket(context, .xpub)
        try handler.serve(domain: "stream", keyPair: serverKeys, allow: [reader.publicKey]).apply(to: pub)
        try pub.bind("tcp://127.0.0.1:*")
        let endpoint = try pub.lastEndpoint()
        func subscriber(_ keys: CurveKeyPair) throws -> ZMQSocket {
            let s = try ZMQSocket(context, .sub)
            try CurveClient(serverKey: serverKeys.publicKey, keyPair: keys).apply(to: s)
            try s.subscribe()
            try s.connect(endpoint)
            return s
        }
        let good = try subscriber(reader), bad = try subscriber(stranger)
        XCTAssertEqual(try pub.receive(timeoutMs: 5_000), [[1]], "the allowed subscriber's subscription arrives")
        XCTAssertNil(try pub.receive(timeoutMs: 500), "the stranger's does not")
        try pub.send([Array("frame_result".utf8), [9]])
        XCTAssertEqual(try good.receive(timeoutMs: 5_000), [Array("frame_result".utf8), [9]])
        XCTAssertNil(try bad.receive(timeoutMs: 300))
        XCTAssertTrue(log.all.contains { $0.contains(stranger.publicKey.z85) && $0.contains("stream") })
    }

    func testHandlerAnswersMalformedAndNonCurveRequestsWithRefusals() throws {
        let handler = try ZAPHandler(context: context, log: log.append)
        defer { handler.stop() }
        let keys = try CurveKeyPair.generate()
        _ = handler.serve(domain: "d", keyPair: keys, allow: [keys.publicKey])
        func ask(_ frames: [String]) -> String { String(decoding: handler.answer(frames.map { Array($0.utf8) })[2], as: UTF8.self) }
        XCTAssertEqual(ask(["1.0", "7"]), "500", "too few frames")
        XCTAssertEqual(ask(["2.0", "7", "d", "10.0.0.1", "", "CURVE", "x"]), "500", "unknown version")
        XCTAssertEqual(ask(["1.0", "7", "d", "10.0.0.1", "", "NULL"]), "400", "NULL mechanism in a served domain")
        XCTAssertEqual(ask(["1.0", "7", "d", "10.0.0.1", "", "PLAIN", "u", "p"]), "400")
        XCTAssertEqual(ask(["1.0", "7", "other", "10.0.0.1", "", "NULL"]), "400", "unknown domain")
        XCTAssertEqual(ask(["1.0", "7", "d", "10.0.0.1", "", "CURVE", "short"]), "400", "credentials not 32 bytes")
        let ok = handler.answer([Array("1.0".utf8), [7], Array("d".utf8), Array("10.0.0.1".utf8), [], Array("CURVE".utf8), keys.publicKey.raw])
        XCTAssertEqual(ok.map { String(decoding: $0, as: UTF8.self) }, ["1.0", "\u{7}", "200", "OK", keys.publicKey.z85, ""])
        XCTAssertEqual(handler.refused, 6)
        XCTAssertTrue(log.all.contains { $0.contains("10.0.0.1") && $0.contains("NULL") })
    }

    /// A client learns why nothing arrives: refused by ZAP (status 400) versus let in.
    func testHandshakeMonitorTellsRefusalFromSuccess() throws {
        let handler = try ZAPHandler(context: context, log: log.append)
        defer { handler.stop() }
        let serverKeys = try CurveKeyPair.generate(), allowed = try CurveKeyPair.generate()
        let (router, endpoint) = try curveRouter(handler.serve(domain: "test", keyPair: serverKeys, allow: [allowed.publicKey]))
        func firstEvent(_ keys: CurveKeyPair) throws -> HandshakeMonitor.Event? {
            let d = try ZMQSocket(context, .dealer)
            try CurveClient(serverKey: serverKeys.publicKey, keyPair: keys).apply(to: d)
            let monitor = try HandshakeMonitor(context: context, watching: d)
            defer { monitor.close(); d.close() }
            try d.connect(endpoint)
            var poller = ZMQPoller()
            poller.add(monitor.socket)
            _ = try poller.poll(timeoutMs: 5_000)
            return try monitor.next()
        }
        XCTAssertEqual(try firstEvent(try CurveKeyPair.generate()), .refused(status: 400))
        XCTAssertEqual(try firstEvent(allowed), .succeeded)
        XCTAssertNil(try router.receive(timeoutMs: 0))
    }

    func testSecondHandlerInOneContextIsRefused() throws {
        let handler = try ZAPHandler(context: context, log: log.append)
        defer { handler.stop() }
        XCTAssertThrowsError(try ZAPHandler(context: context, log: log.append)) { XCTAssertTrue("\($0)".contains("ZAP handler"), "\($0)") }
    }
}
