import XCTest
import MienProto
import MienWire
@testable import MienTransport

/// Every envelope kind through every transport and every socket pattern Mien uses.
final class SocketPatternTests: XCTestCase {
    var context: ZMQContext!
    var ipcDir: String!

    override func setUpWithError() throws {
        context = try ZMQContext()
        ipcDir = NSTemporaryDirectory() + "mien-ipc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: ipcDir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        context.terminate()
        try? FileManager.default.removeItem(atPath: ipcDir)
    }

    /// Endpoints of each transport; tcp binds a free port chosen by the kernel.
    func endpoints(_ name: String) -> [String] {
        ["inproc://\(name)", "ipc://\(ipcDir!)/\(name)", "tcp://127.0.0.1:*"]
    }

    func testDealerToRouterAndBackOnEveryTransport() throws {
        for endpoint in endpoints("dealer-router") {
            let router = try ZMQSocket(context, .router)
            try router.bind(endpoint)
            let dealer = try ZMQSocket(context, .dealer)
            try dealer.setRoutingID(Array("worker-1".utf8))
            try dealer.connect(try router.lastEndpoint())
            for e in SampleEnvelopes.all() {
                XCTAssertTrue(try dealer.send(try Framing.direct(e), timeoutMs: 2_000))
                let frames = try XCTUnwrap(try router.receive(timeoutMs: 5_000), "\(endpoint) \(e.kind)")
                let (id, got) = try Framing.decodeRouted(frames)
                XCTAssertEqual(id, Array("worker-1".utf8))
                XCTAssertEqual(got, e, "\(endpoint) \(e.kind)")
                XCTAssertTrue(try router.send(try Framing.routed(to: id, got), timeoutMs: 2_000))
                let back = try Framing.decodeDirect(try XCTUnwrap(try dealer.receive(timeoutMs: 5_000)))
                XCTAssertEqual(back, e, "\(endpoint) \(e.kind) reply")
            }
            dealer.close(); router.close()
        }
    }

    func testPushToPullOnEveryTransport() throws {
        for endpoint in endpoints("push-pull") {
            let pull = try ZMQSocket(context, .pull)
            try pull.bind(endpoint)
            let push = try ZMQSocket(context, .push)
            try push.connect(try pull.lastEndpoint())
            for e in SampleEnvelopes.all() {
                XCTAssertTrue(try push.send(try Framing.direct(e), timeoutMs: 2_000))
                XCTAssertEqual(try Framing.decodeDirect(try XCTUnwrap(try pull.receive(timeoutMs: 5_000))), e, "\(endpoint) \(e.kind)")
            }
            push.close(); pull.close()
        }
    }

    /// XPUB learns of the subscriber before publishing, so nothing is lost to the slow-joiner race.
    func testPublishToSubscriberOnEveryTransport() throws {
        for endpoint in endpoints("pub-sub") {
            let pub = try ZMQSocket(context, .xpub)
            try pub.bind(endpoint)
            let sub = try ZMQSocket(context, .sub)
            try sub.subscribe()
            try sub.connect(try pub.lastEndpoint())
            let subscription = try XCTUnwrap(try pub.receive(timeoutMs: 5_000))
            XCTAssertEqual(subscription, [[1]], "subscribe-all message is 0x01 followed by an empty prefix")
            for e in SampleEnvelopes.published() {
                XCTAssertTrue(try pub.send(try Framing.published(e), timeoutMs: 2_000))
                XCTAssertEqual(try Framing.decodePublished(try XCTUnwrap(try sub.receive(timeoutMs: 5_000))), e, "\(endpoint) \(e.kind)")
            }
            sub.close(); pub.close()
        }
    }

    func testSubscriberTopicFilterSelectsKinds() throws {
        let pub = try ZMQSocket(context, .xpub)
        try pub.bind("inproc://filter")
        let sub = try ZMQSocket(context, .sub)
        try sub.subscribe(Array("video_result".utf8))
        try sub.connect("inproc://filter")
        _ = try XCTUnwrap(try pub.receive(timeoutMs: 5_000))
        for e in SampleEnvelopes.published() { try pub.send(try Framing.published(e)) }
        let got = try Framing.decodePublished(try XCTUnwrap(try sub.receive(timeoutMs: 5_000)))
        XCTAssertEqual(got.kind, "video_result")
        XCTAssertNil(try sub.receive(timeoutMs: 100), "only the subscribed kind arrives")
    }

    func testMultipartAndLargeMessagesOnEveryTransport() throws {
        var big = [UInt8](repeating: 0, count: 8 * 1024 * 1024 + 17)
        for i in stride(from: 0, to: big.count, by: 4093) { big[i] = UInt8(truncatingIfNeeded: i / 4093) }
        let message: [[UInt8]] = [Array("a".utf8), [], big, [0xFF]]
        for endpoint in endpoints("large") {
            let pull = try ZMQSocket(context, .pull)
            try pull.bind(endpoint)
            let push = try ZMQSocket(context, .push)
            try push.connect(try pull.lastEndpoint())
            XCTAssertTrue(try push.send(message, timeoutMs: 5_000))
            let got = try XCTUnwrap(try pull.receive(timeoutMs: 10_000))
            XCTAssertEqual(got.count, 4, endpoint)
            XCTAssertEqual(got, message, endpoint)
            push.close(); pull.close()
        }
    }

    /// A large inline frame batch (≥ 8 MiB) is an ordinary envelope.
    func testLargeFrameBatchEnvelopeRoundTrips() throws {
        var e = SampleEnvelopes.all()[6]
        guard case .frameBatch(var batch) = e.payload else { return XCTFail("sample 6 is a frame batch") }
        batch.inline.frames[0].width = 1920
        batch.inline.frames[0].height = 1080
        batch.inline.frames[0].stride = 1920 * 3
        batch.inline.frames[0].pixels = Data((0..<(1920 * 1080 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 31) }) + Data(count: 2_500_000)
        e.payload = .frameBatch(batch)
        let pull = try ZMQSocket(context, .pull)
        try pull.bind("tcp://127.0.0.1:*")
        let push = try ZMQSocket(context, .push)
        try push.connect(try pull.lastEndpoint())
        let frames = try Framing.direct(e)
        XCTAssertGreaterThanOrEqual(frames[0].count, 8 * 1024 * 1024)
        XCTAssertTrue(try push.send(frames, timeoutMs: 5_000))
        XCTAssertEqual(try Framing.decodeDirect(try XCTUnwrap(try pull.receive(timeoutMs: 10_000))), e)
    }
}
