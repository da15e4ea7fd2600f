import XCTest
import MienTestKit
@testable import MienCore

final class ReorderBufferTests: XCTestCase {
    /// Any arrival order, with duplicates, leaves in order, each item once.
    func testRestoresOrderFromSeededShuffles() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            var arrivals = Array(0..<UInt64(40))
            arrivals.shuffle(using: &rng)
            arrivals += (0..<5).map { _ in UInt64.random(in: 0..<40, using: &rng) }  // re-sent
            var b = ReorderBuffer<UInt64>(capacity: 64)
            var out: [UInt64] = []
            for s in arrivals {
                _ = b.insert(s, sequence: s)
                out += b.drain()
            }
            XCTAssertEqual(out, Array(0..<40))
            XCTAssertEqual(b.duplicates, 5)
            XCTAssertEqual(b.waitingCount, 0)
        }
    }

    func testBoundRefusesItemsTooFarAheadButAlwaysTakesTheNextOne() {
        var b = ReorderBuffer<Int>(capacity: 2)
        XCTAssertEqual(b.insert(1, sequence: 1), .accepted)
        XCTAssertEqual(b.insert(2, sequence: 2), .accepted)
        XCTAssertEqual(b.insert(3, sequence: 3), .full)
        XCTAssertEqual(b.insert(0, sequence: 0), .accepted)
        XCTAssertEqual(b.drain(), [0, 1, 2])
        XCTAssertEqual(b.insert(3, sequence: 3), .accepted)
        XCTAssertEqual(b.drain(), [3])
    }
}

final class MergingTests: XCTestCase {
    func testOverlappingWindowsAverageAndRepeatsCountOnce() {
        var m = TrackMerger(classes: 2)
        XCTAssertTrue(m.add(window: 0, frames: [0, 1, 2, 3], probs: [1, 0]))
        XCTAssertTrue(m.add(window: 1, frames: [2, 3, 4, 5], probs: [0, 1]))
        XCTAssertFalse(m.add(window: 1, frames: [2, 3, 4, 5], probs: [0, 1]), "re-sent window ignored")
        let p = m.frameProbabilities()
        XCTAssertEqual(p.map(\.frame), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(p.map(\.probs), [[1, 0], [1, 0], [0.5, 0.5], [0.5, 0.5], [0, 1], [0, 1]])
        XCTAssertEqual(m.windowCount, 2)
    }

    func testSegmentsAreRunsOfOneLabelBrokenByGaps() {
        let s = Segmenter.segments([(0, 1), (1, 1), (2, 3), (3, 3), (4, 3), (9, 3), (10, 1)])
        XCTAssertEqual(s, [Segment(startFrame: 0, endFrame: 1, label: 1), Segment(startFrame: 2, endFrame: 4, label: 3),
                           Segment(startFrame: 9, endFrame: 9, label: 3), Segment(startFrame: 10, endFrame: 10, label: 1)])
        XCTAssertEqual(Segmenter.segments([]), [])
    }

    func testArgmaxTakesFirstOfTies() {
        XCTAssertEqual(argmax([0.2, 0.5, 0.5]), 1)
        XCTAssertNil(argmax([Double]()))
    }
}

final class WorkDispatcherTests: XCTestCase {
    typealias D = WorkDispatcher<String>

    func testCreditLimitsWhatEachWorkerGets() {
        var d = D()
        d.join(worker: "a", nowMs: 0); d.join(worker: "b", nowMs: 0)
        d.grant(worker: "a", credit: 1, nowMs: 0)
        d.grant(worker: "b", credit: 3, nowMs: 0)
        for i in 0..<10 { d.enqueue(id: UInt64(i), item: "item\(i)") }
        let a = d.assign(nowMs: 1)
        XCTAssertEqual(a.count, 4, "only as many as credit granted")
        XCTAssertEqual(a.filter { $0.worker == "a" }.count, 1)
        XCTAssertEqual(a.filter { $0.worker == "b" }.count, 3)
        XCTAssertEqual(a.map(\.itemID), [0, 1, 2, 3], "queue order")
        XCTAssertEqual(d.queuedCount, 6)
        XCTAssertEqual(d.inFlightCount, 4)
    }

    /// Items handed out and answered are released, not kept behind the queue's head while
    /// work goes on (inline frame batches are megabytes each).
    func testAnsweredItemsAreReleasedWhileTheQueueIsNonEmpty() {
        final class Payload: Sendable {}
        var d = WorkDispatcher<Payload>()
        d.join(worker: "a", nowMs: 0)
        var released: [() -> Payload?] = []
        for i in 0..<400 {
            let p = Payload()
            released.append({ [weak p] in p })
            d.enqueue(id: UInt64(i), item: p)
        }
        for round in 0..<30 {  // 10 a round, the queue never empties
            d.grant(worker: "a", credit: 10, nowMs: 0)
            for a in d.assign(nowMs: 0) { _ = d.complete(itemID: a.itemID, from: "a", nowMs: 0) }
            let kept = released.prefix((round + 1) * 10).filter { $0() != nil }.count
            XCTAssertLessThanOrEqual(kept, 400 - (round + 1) * 10, "round \(round): handed-out items kept ≤ items queued")
        }
        XCTAssertEqual(d.queuedCount, 100)
        XCTAssertEqual(released.prefix(300).filter { $0() != nil }.count, 0, "once most are handed out, none is kept")
    }

    func testUnknownWorkerGetsNothing() {
        var d = D()
        XCTAssertFalse(d.grant(worker: "stranger", credit: 5, nowMs: 0))
        d.enqueue(id: 1, item: "x")
        XCTAssertTrue(d.assign(nowMs: 0).isEmpty)
    }

    /// A fast worker that returns credit sooner gets more of the work.
    func testFastWorkerGetsMore() {
        var done = ["fast": 0, "slow": 0]
        var d = D()
        d.join(worker: "fast", nowMs: 0); d.join(worker: "slow", nowMs: 0)
        d.grant(worker: "fast", credit: 1, nowMs: 0); d.grant(worker: "slow", credit: 1, nowMs: 0)
        for i in 0..<100 { d.enqueue(id: UInt64(i), item: "") }
        var holding: [String: UInt64] = [:]
        for now in 0..<UInt64(1_000) where d.queuedCount + d.inFlightCount > 0 {
            for a in d.assign(nowMs: now) { holding[a.worker] = a.itemID }
            for w in ["fast", "slow"] where w == "fast" || now % 4 == 3 {
                if let id = holding.removeValue(forKey: w), case .completed = d.complete(itemID: id, from: w, nowMs: now) {
                    done[w, default: 0] += 1
                    d.grant(worker: w, credit: 1, nowMs: now)
                }
            }
        }
        XCTAssertEqual(done["fast"]! + done["slow"]!, 100)
        XCTAssertGreaterThan(done["fast"]!, 3 * done["slow"]!, "\(done)")
    }

    /// A worker that stops heartbeating loses its items to the front of the queue; each item completes once.
    func testDeadWorkerItemsAreRequeuedAndCompleteExactlyOnce() {
        var d = D(config: .init(workerExpiryMs: 100, itemDeadlineMs: 10_000))
        d.join(worker: "a", nowMs: 0); d.join(worker: "b", nowMs: 0)
        d.grant(worker: "a", credit: 2, nowMs: 0)
        for i in 0..<4 { d.enqueue(id: UInt64(i), item: "i\(i)") }
        XCTAssertEqual(d.assign(nowMs: 0).map(\.itemID), [0, 1])
        d.heard(from: "b", nowMs: 150)
        XCTAssertEqual(d.expire(nowMs: 150), ["a"])
        XCTAssertEqual(d.requeued, 2)
        XCTAssertFalse(d.isKnown(worker: "a"))
        d.grant(worker: "b", credit: 4, nowMs: 150)
        XCTAssertEqual(d.assign(nowMs: 150).map(\.itemID), [0, 1, 2, 3], "re-queued items first, in order")
        // The dead worker's late result for item 0 still counts once; b's result is then a duplicate.
        if case .completed = d.complete(itemID: 0, from: "a", nowMs: 160) {} else { XCTFail("first result completes") }
        if case .duplicate = d.complete(itemID: 0, from: "b", nowMs: 170) {} else { XCTFail("second result is a duplicate") }
    }

    /// `holder(of:)` names the worker an item is in flight to, so a result from anyone else can be refused.
    func testHolderIsTheWorkerAnItemIsInFlightTo() {
        var d = D(config: .init(workerExpiryMs: 100, itemDeadlineMs: 10_000))
        d.join(worker: "a", nowMs: 0); d.join(worker: "b", nowMs: 0)
        d.grant(worker: "b", credit: 1, nowMs: 0)
        d.enqueue(id: 1, item: "one"); d.enqueue(id: 2, item: "two")
        XCTAssertNil(d.holder(of: 1), "queued: nobody holds it")
        _ = d.assign(nowMs: 0)
        XCTAssertEqual(d.holder(of: 1), "b")
        XCTAssertNil(d.holder(of: 2))
        d.leave(worker: "b")
        XCTAssertNil(d.holder(of: 1), "back in the queue when its worker leaves")
        d.grant(worker: "a", credit: 1, nowMs: 1)
        XCTAssertEqual(d.assign(nowMs: 1).map(\.itemID), [1], "re-queued first")
        XCTAssertEqual(d.holder(of: 1), "a")
        _ = d.complete(itemID: 1, from: "a", nowMs: 2)
        XCTAssertNil(d.holder(of: 1), "done")
    }

    /// Items made on demand: only once the queue is empty, for the worker whose turn it is
    /// (least recently served), within its credit; a worker with nothing to make for is skipped,
    /// not the others; a made item is in flight and re-queued like a queued one.
    func testProducedItemsFollowTheQueueAndTheCredit() {
        var d = D(config: .init(workerExpiryMs: 100, itemDeadlineMs: 10_000))
        d.join(worker: "a", nowMs: 0); d.join(worker: "b", nowMs: 0)
        d.grant(worker: "a", credit: 2, nowMs: 0); d.grant(worker: "b", credit: 2, nowMs: 0)
        d.enqueue(id: 1, item: "queued")
        var asked: [String] = [], next: UInt64 = 100
        let out = d.assign(nowMs: 0) { w in
            asked.append(w)
            guard w == "b" else { return nil }  // nothing for a
            next += 1
            return (next, "\(w)-made")
        }
        XCTAssertEqual(out.map(\.itemID), [1, 101, 102], "the queue first, then items made")
        XCTAssertEqual(out.map(\.worker), ["a", "b", "b"])
        XCTAssertEqual(out.dropFirst().map(\.item), ["b-made", "b-made"])
        XCTAssertEqual(asked, ["b", "a", "b"], "in turn; a, once it had nothing, not again; b still served")
        XCTAssertEqual(d.inFlightCount, 3)
        XCTAssertEqual(d.credit(of: "a"), 1)
        XCTAssertEqual(d.credit(of: "b"), 0)
        XCTAssertEqual(d.holder(of: 102), "b")
        // b dies: its made items go back to the queue and a gets one before anything is made.
        d.heard(from: "a", nowMs: 150)
        XCTAssertEqual(d.expire(nowMs: 150), ["b"])
        XCTAssertEqual(d.queuedCount, 2)
        let again = d.assign(nowMs: 150) { _ in XCTFail("the queue is not empty"); return nil }
        XCTAssertEqual(again.map(\.itemID), [101])
        XCTAssertEqual(again.map(\.worker), ["a"])
        if case .completed(let item) = d.complete(itemID: 101, from: "a", nowMs: 160) { XCTAssertEqual(item, "b-made") } else { XCTFail() }
    }

    func testDeadlinePassedItemIsRequeuedAndLateResultWithdrawsTheCopy() {
        var d = D(config: .init(workerExpiryMs: 1_000_000, itemDeadlineMs: 50))
        d.join(worker: "a", nowMs: 0)
        d.grant(worker: "a", credit: 1, nowMs: 0)
        d.enqueue(id: 9, item: "nine")
        _ = d.assign(nowMs: 0)
        XCTAssertEqual(d.expire(nowMs: 51), [])
        XCTAssertEqual(d.queuedCount, 1)
        if case .completed(let item) = d.complete(itemID: 9, from: "a", nowMs: 60) { XCTAssertEqual(item, "nine") } else { XCTFail() }
        XCTAssertEqual(d.queuedCount, 0, "the queued copy is withdrawn")
        if case .duplicate = d.complete(itemID: 9, from: "a", nowMs: 61) {} else { XCTFail() }
    }

    /// A send that could not be queued (the worker's queue is full) gives the item back: first
    /// in line again, the credit restored, the item never counted as lost or re-queued.
    func testWithdrawnItemIsHandedOutFirstWithItsCredit() {
        var d = D()
        d.join(worker: "a", nowMs: 0)
        d.grant(worker: "a", credit: 2, nowMs: 0)
        for i in 0..<3 { d.enqueue(id: UInt64(i), item: "item\(i)") }
        XCTAssertEqual(d.assign(nowMs: 0).map(\.itemID), [0, 1])
        XCTAssertTrue(d.withdraw(itemID: 1, restoreCredit: true))
        XCTAssertEqual(d.credit(of: "a"), 1)
        XCTAssertEqual(d.inFlightCount, 1)
        XCTAssertEqual(d.queuedCount, 2)
        XCTAssertEqual(d.assign(nowMs: 1).map(\.itemID), [1], "the withdrawn item goes out again before item 2")
        XCTAssertEqual(d.requeued, 0)
        XCTAssertFalse(d.withdraw(itemID: 7, restoreCredit: true), "an item not in flight")
        // A worker that is gone keeps no credit: its item goes to the next one.
        d.join(worker: "b", nowMs: 2)
        d.grant(worker: "b", credit: 1, nowMs: 2)
        XCTAssertEqual(d.assign(nowMs: 2).map(\.worker), ["b"])
        XCTAssertTrue(d.withdraw(itemID: 2, restoreCredit: false))
        XCTAssertEqual(d.credit(of: "b"), 0)
        XCTAssertEqual(d.queuedCount, 1)
        if case .completed(let item) = d.complete(itemID: 1, from: "a", nowMs: 3) { XCTAssertEqual(item, "item1") } else { XCTFail() }
    }
}
