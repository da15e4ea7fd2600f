import Foundation
import XCTest
import MienWire
@testable import MienTransport

final class SocketBehaviourTests: XCTestCase {
    var context: ZMQContext!
    override func setUpWithError() throws { context = try ZMQContext() }
    override func tearDown() { context.terminate() }

    /// A context's thread-name prefix names its I/O thread, so crash reports tell contexts apart.
    func testThreadNamePrefixNamesTheContextsIOThread() throws {
        let named = try ZMQContext(threadNamePrefix: 42)
        defer { named.terminate() }
        let socket = try ZMQSocket(named, .dealer)
        defer { socket.close() }
        try socket.bind("tcp://127.0.0.1:*")
        // libzmq's threads name themselves once running: look for up to 2 s (seen in CI: only the
        // reaper named yet when /proc was read right after the bind).
        func threadNames() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
                try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        var names = try threadNames()
        for _ in 0..<200 where !names.contains("42/ZMQbg/IO/0") {
            Thread.sleep(forTimeInterval: 0.01)
            names = try threadNames()
        }
        XCTAssertTrue(names.contains("42/ZMQbg/IO/0"), "threads: \(names.filter { $0.contains("ZMQ") })")
    }

    func testPollerTimesOutWhenNothingArrives() throws {
        let pull = try ZMQSocket(context, .pull)
        try pull.bind("inproc://idle")
        var poller = ZMQPoller()
        poller.add(pull)
        let start = DispatchTime.now()
        let events = try poller.poll(timeoutMs: 80)
        let elapsedMs = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        XCTAssertEqual(events, [[]])
        XCTAssertGreaterThanOrEqual(elapsedMs, 70, "poll must wait for its timeout")
        XCTAssertNil(try pull.receive(timeoutMs: 30), "receive with timeout returns nil")
    }

    func testPollerReportsReadableSocketAmongSeveral() throws {
        let a = try ZMQSocket(context, .pull), b = try ZMQSocket(context, .pull)
        try a.bind("inproc://a"); try b.bind("inproc://b")
        let push = try ZMQSocket(context, .push)
        try push.connect("inproc://b")
        try push.send([[42]])
        var poller = ZMQPoller()
        poller.add(a); poller.add(b)
        let events = try poller.poll(timeoutMs: 2_000)
        XCTAssertEqual(events, [[], .readable])
        XCTAssertEqual(try b.receive(timeoutMs: 0), [[42]])
    }

    /// With a high-water mark of 4 on both sides and a reader that does not read, a sender
    /// is pushed back after a bounded number of messages, and resumes once the reader reads.
    func testHighWaterMarkPushesBackAndReleases() throws {
        let pull = try ZMQSocket(context, .pull)
        try pull.setReceiveHighWaterMark(4)
        try pull.bind("inproc://hwm")
        let push = try ZMQSocket(context, .push)
        try push.setSendHighWaterMark(4)
        try push.connect("inproc://hwm")
        var accepted = 0
        while try push.send([[UInt8(accepted & 0xFF)]], timeoutMs: 0) {
            accepted += 1
            XCTAssertLessThan(accepted, 100, "the high-water mark must stop the sender")
            if accepted >= 100 { break }
        }
        XCTAssertGreaterThanOrEqual(accepted, 4)
        XCTAssertLessThanOrEqual(accepted, 16, "inproc queues hold at most send + receive HWM")
        XCTAssertFalse(try push.send([[0]], timeoutMs: 20), "still full after a 20 ms wait")
        for i in 0..<accepted { XCTAssertEqual(try pull.receive(timeoutMs: 1_000), [[UInt8(i & 0xFF)]], "order kept") }
        XCTAssertTrue(try push.send([[7]], timeoutMs: 1_000), "room again after the reader read")
    }

    /// A peer that sends more than the receiver's max message size is cut off; the message never arrives.
    func testMaxMessageSizeDropsOversizedPeer() throws {
        let pull = try ZMQSocket(context, .pull)
        try pull.setMaxMessageSize(1_024)
        try pull.bind("tcp://127.0.0.1:*")
        let push = try ZMQSocket(context, .push)
        try push.connect(try pull.lastEndpoint())
        try push.send([[UInt8](repeating: 1, count: 4_096)])
        XCTAssertNil(try pull.receive(timeoutMs: 300))
        let honest = try ZMQSocket(context, .push)
        try honest.connect(try pull.lastEndpoint())
        try honest.send([[UInt8](repeating: 2, count: 512)])
        XCTAssertEqual(try pull.receive(timeoutMs: 5_000)?.first?.count, 512, "other peers are unaffected")
    }

    func testLibzmqErrorsCarryErrnoText() throws {
        let s = try ZMQSocket(context, .pull)
        XCTAssertThrowsError(try s.bind("bogus://nowhere")) { error in
            let e = error as! ZMQError
            XCTAssertEqual(e.code, EPROTONOSUPPORT)
            XCTAssertTrue(e.description.contains("bind bogus://nowhere"), e.description)
            XCTAssertTrue(e.description.contains("Protocol not supported"), e.description)
        }
        s.close()
        XCTAssertThrowsError(try s.send([[1]])) { XCTAssertTrue("\($0)".contains("closed PULL socket")) }
    }

    func testRouterMandatoryReportsUnknownPeer() throws {
        let router = try ZMQSocket(context, .router)
        try router.setRouterMandatory(true)
        try router.bind("inproc://mandatory")
        XCTAssertThrowsError(try router.send([Array("ghost".utf8), [1]], timeoutMs: 0)) {
            XCTAssertEqual(($0 as! ZMQError).code, EHOSTUNREACH)
        }
    }

    func testCurveEncryptedRoundTripAndWrongServerKeyIsRefused() throws {
        let server = try CurveKeyPair.generate()
        let client = try CurveKeyPair.generate()
        XCTAssertEqual(server.publicKey.z85.count, 40)
        XCTAssertNotEqual(server.publicKey, client.publicKey)

        let router = try ZMQSocket(context, .router)
        try router.setCurveServer(secretKey: server.secretKey)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint()

        let good = try ZMQSocket(context, .dealer)
        try good.setCurveClient(serverKey: server.publicKey, keyPair: client)
        try good.connect(endpoint)
        try good.send([Array("secret".utf8)])
        XCTAssertEqual(try router.receive(timeoutMs: 5_000)?.last, Array("secret".utf8))

        let impostor = try ZMQSocket(context, .dealer)
        try impostor.setCurveClient(serverKey: client.publicKey, keyPair: try CurveKeyPair.generate())
        try impostor.connect(endpoint)
        try impostor.send([Array("let me in".utf8)])
        XCTAssertNil(try router.receive(timeoutMs: 300), "a client with the wrong server key gets no message through")
    }

    func testCurveKeyRejectsMalformedText() {
        XCTAssertThrowsError(try CurveKey(z85: "short")) { XCTAssertTrue("\($0)".contains("40 Z85 characters")) }
    }
}
