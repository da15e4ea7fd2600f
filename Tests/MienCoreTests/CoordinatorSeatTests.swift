import XCTest
import MienCore

final class CoordinatorSeatTests: XCTestCase {
    func testFirstHelloHoldsTheSeatWhileItIsHeardFrom() {
        var seat = CoordinatorSeat<String>(expiryMs: 100)
        XCTAssertFalse(seat.heard(from: "a", nowMs: 0), "nobody holds the seat before a hello")
        XCTAssertEqual(seat.hello(from: "a", nowMs: 0), .accepted)
        XCTAssertEqual(seat.hello(from: "b", nowMs: 50), .refused(holderHeardMsAgo: 50))
        XCTAssertTrue(seat.heard(from: "a", nowMs: 90))
        XCTAssertFalse(seat.heard(from: "b", nowMs: 90), "a refused peer's messages are not its coordinator's")
        XCTAssertEqual(seat.hello(from: "b", nowMs: 190), .refused(holderHeardMsAgo: 100), "silent exactly the expiry: still alive")
        XCTAssertEqual(seat.hello(from: "a", nowMs: 195), .accepted, "the holder may say hello again")
        XCTAssertEqual(seat.holder, "a")
    }

    func testSilentHolderIsReplacedByTheNextHello() {
        var seat = CoordinatorSeat<String>(expiryMs: 100)
        XCTAssertEqual(seat.hello(from: "a", nowMs: 1_000), .accepted)
        XCTAssertEqual(seat.hello(from: "b", nowMs: 1_101), .replaced(silentMs: 101))
        XCTAssertEqual(seat.holder, "b")
        XCTAssertFalse(seat.heard(from: "a", nowMs: 1_102), "the replaced one is a stranger now")
        XCTAssertEqual(seat.hello(from: "a", nowMs: 1_150), .refused(holderHeardMsAgo: 49))
    }
}
