import XCTest
import MienWire
@testable import MienTransport

final class SocketThreadTests: XCTestCase {
    var context: ZMQContext!
    override func setUpWithError() throws { context = try ZMQContext() }
    override func tearDown() { context.terminate() }

    /// 2 000 messages through two socket threads with tiny queues: all arrive, in order,
    /// though the receiver is slower than the sender (backpressure, nothing dropped).
    func testOrderedDeliveryUnderBackpressure() async throws {
        let pull = try SocketThread(context: context, kind: .pull, name: "pull", inboundCapacity: 3) {
            try $0.setReceiveHighWaterMark(5)
            try $0.bind("inproc://threads")
        }
        let push = try SocketThread(context: context, kind: .push, name: "push", outboundCapacity: 2) {
            try $0.setSendHighWaterMark(5)
            try $0.connect("inproc://threads")
        }
        let n = 2_000
        let sender = Task {
            for i in 0..<n { try await push.send([withUnsafeBytes(of: UInt32(i).littleEndian, Array.init)]) }
        }
        for i in 0..<n {
            let frames = try await XCTUnwrapAsync(await pull.receive())
            XCTAssertEqual(frames[0].withUnsafeBytes { $0.load(as: UInt32.self) }, UInt32(i))
            if i % 500 == 0 { try await Task.sleep(nanoseconds: 2_000_000) }
        }
        try await sender.value
        push.close()
        pull.close()
    }

    func testCloseEndsReceiversAndRefusesSends() async throws {
        let pull = try SocketThread(context: context, kind: .pull, name: "closing") { try $0.bind("inproc://closing") }
        let waiting = Task { try await pull.receive() }
        try await Task.sleep(nanoseconds: 20_000_000)
        pull.close()
        let result = try await waiting.value
        XCTAssertNil(result, "a receiver waiting at close gets nil")
        do {
            try await pull.send([[1]])
            XCTFail("send after close must throw")
        } catch let e as ZMQError {
            XCTAssertTrue(e.description.contains("closed socket closing"), e.description)
        }
        pull.close()  // idempotent
    }

    func testSetupErrorIsThrownFromInit() {
        XCTAssertThrowsError(try SocketThread(context: context, kind: .pull, name: "bad") { try $0.bind("tcp://256.0.0.1:1") }) {
            XCTAssertTrue("\($0)".contains("bind tcp://256.0.0.1:1"), "\($0)")
        }
    }

    /// A message the socket refuses (ROUTER to an unknown peer) fails its own send; the socket goes on.
    func testRefusedMessageFailsOnlyItsSender() async throws {
        let router = try SocketThread(context: context, kind: .router, name: "router") {
            try $0.setRouterMandatory(true)
            try $0.bind("inproc://refuse")
        }
        let dealer = try SocketThread(context: context, kind: .dealer, name: "dealer") {
            try $0.setRoutingID(Array("w1".utf8))
            try $0.connect("inproc://refuse")
        }
        do {
            try await router.send([Array("nobody".utf8), [1]])
            XCTFail("unroutable message must throw")
        } catch let e as ZMQError {
            XCTAssertEqual(e.code, EHOSTUNREACH)
        }
        try await dealer.send([[9]])
        let got = try await XCTUnwrapAsync(await router.receive())
        XCTAssertEqual(got, [Array("w1".utf8), [9]])
        try await router.send([Array("w1".utf8), [10]])
        let reply = try await XCTUnwrapAsync(await dealer.receive())
        XCTAssertEqual(reply, [[10]])
        dealer.close(); router.close()
    }
}

func XCTUnwrapAsync<T>(_ value: T?, file: StaticString = #filePath, line: UInt = #line) async throws -> T {
    try XCTUnwrap(value, file: file, line: line)
}
