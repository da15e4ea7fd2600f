import XCTest
@testable import MienCore

final class PeerRateLimiterTests: XCTestCase {
    func testBurstThenSustainedRatePerPeer() {
        var limiter = PeerRateLimiter<String>(config: .init(ratePerSecond: 10, burst: 5))
        // A burst of 5 passes, the 6th at the same instant does not.
        XCTAssertEqual((0..<8).map { _ in limiter.admit("a", nowMs: 1_000) }, [true, true, true, true, true, false, false, false])
        XCTAssertEqual(limiter.dropped, 3)
        // Another peer has its own bucket.
        XCTAssertTrue(limiter.admit("b", nowMs: 1_000))
        // 10/s: one token per 100 ms.
        XCTAssertFalse(limiter.admit("a", nowMs: 1_050))
        XCTAssertTrue(limiter.admit("a", nowMs: 1_150))
        XCTAssertFalse(limiter.admit("a", nowMs: 1_160))
        // Over a long flood the admitted count matches the rate (± the burst).
        var admitted = 0
        for ms in stride(from: UInt64(2_000), to: 12_000, by: 1) where limiter.admit("a", nowMs: ms) { admitted += 1 }
        XCTAssertEqual(Double(admitted), 10 * 10, accuracy: 5 + 1, "10 s at 10/s, flooding every ms")
        // Quiet time refills to the burst, not beyond.
        XCTAssertEqual((0..<7).filter { _ in limiter.admit("a", nowMs: 100_000) }.count, 5)
    }

    func testPeerTableStaysBounded() {
        var limiter = PeerRateLimiter<Int>(config: .init(ratePerSecond: 1, burst: 2, maxPeers: 100))
        for p in 0..<10_000 { XCTAssertTrue(limiter.admit(p, nowMs: UInt64(p)), "a new peer starts with a full bucket") }
        XCTAssertLessThanOrEqual(limiter.trackedPeers, 100)
        // A peer that keeps flooding keeps its (empty) bucket while new peers force pruning.
        _ = limiter.admit(-1, nowMs: 20_000); _ = limiter.admit(-1, nowMs: 20_000)
        XCTAssertFalse(limiter.admit(-1, nowMs: 20_000))
        for (i, p) in (10_000..<10_300).enumerated() {
            _ = limiter.admit(p, nowMs: 20_000 + UInt64(i))
            XCTAssertFalse(limiter.admit(-1, nowMs: 20_000 + UInt64(i)), "the flooder's empty bucket was not forgotten (new peer \(i))")
        }
        XCTAssertLessThanOrEqual(limiter.trackedPeers, 100)
    }

    func testLogThrottleOneLinePerIntervalWithCounts() {
        var t = LogThrottle<String>(intervalMs: 1_000)
        XCTAssertEqual(t.record("p", nowMs: 0), 0, "first event logged")
        XCTAssertNil(t.record("p", nowMs: 10))
        XCTAssertNil(t.record("p", nowMs: 999))
        XCTAssertEqual(t.record("q", nowMs: 500), 0, "another key is independent")
        XCTAssertEqual(t.record("p", nowMs: 1_000), 2, "next line carries the 2 not logged")
        XCTAssertNil(t.record("p", nowMs: 1_500))
        XCTAssertTrue(t.due(nowMs: 1_999).isEmpty, "interval not over")
        let due = t.due(nowMs: 2_000)
        XCTAssertEqual(due.map(\.key), ["p"])
        XCTAssertEqual(due.map(\.suppressed), [1])
        XCTAssertTrue(t.due(nowMs: 5_000).isEmpty, "reported once")
        XCTAssertEqual(t.suppressedTotal, 3)
        // A flood of 100 000 events over 10 s gives about 10 lines.
        var lines = 0, accounted = 0
        for ms in 10_000..<20_000 { for _ in 0..<10 { if let n = t.record("flood", nowMs: UInt64(ms)) { lines += 1; accounted += 1 + n } } }
        accounted += t.due(nowMs: 30_000).filter { $0.key == "flood" }.map(\.suppressed).reduce(0, +)
        XCTAssertEqual(lines, 10)
        XCTAssertEqual(accounted, 100_000, "every event is logged or counted in a later line")
    }
}
