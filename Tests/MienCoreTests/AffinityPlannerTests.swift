import XCTest
@testable import MienCore

final class AffinityPlannerTests: XCTestCase {
    typealias P = AffinityPlanner<String>

    /// Everything up to `consumed` is consumed (no look-ahead limit in effect unless small).
    func take(_ p: inout P, _ worker: String, consumed: [String: Int] = [:]) -> P.Batch? {
        p.next(for: worker, frontier: { consumed[$0] ?? 0 })
    }

    func testOneWorkerGetsEveryBatchInOrder() {
        var p = P(chunkBatches: 4, maxAhead: 1_000)
        p.add(video: "v", batchCount: 10)
        let got = (0..<10).compactMap { _ in take(&p, "a")?.index }
        XCTAssertEqual(got, Array(0..<10))
        XCTAssertNil(take(&p, "a"))
        XCTAssertEqual(p.unplannedCount, 0)
    }

    /// Two workers asking in turn work through separate chunks, each in order; a worker that
    /// finishes its chunk takes the one right after it when it is unstarted.
    func testTwoWorkersGetSeparateContiguousChunks() {
        var p = P(chunkBatches: 4, maxAhead: 1_000)
        p.add(video: "v", batchCount: 16)
        var got: [String: [Int]] = [:]
        for _ in 0..<8 { for w in ["a", "b"] { got[w, default: []].append(take(&p, w)!.index) } }
        XCTAssertEqual(got["a"], [0, 1, 2, 3, 8, 9, 10, 11])
        XCTAssertEqual(got["b"], [4, 5, 6, 7, 12, 13, 14, 15])
        // b finishing first continues into the chunk right after its own.
        var q = P(chunkBatches: 4, maxAhead: 1_000)
        q.add(video: "v", batchCount: 16)
        XCTAssertEqual(take(&q, "a")?.index, 0)
        XCTAssertEqual((0..<4).map { _ in take(&q, "b")!.index }, [4, 5, 6, 7])
        XCTAssertEqual(take(&q, "b")?.index, 8, "the chunk after b's own")
        XCTAssertEqual((0..<3).map { _ in take(&q, "a")!.index }, [1, 2, 3])
        XCTAssertEqual(take(&q, "a")?.index, 12)
    }

    /// With no chunk unstarted, a worker takes the far half of the largest span left, so it
    /// never idles while there is work and both spans stay contiguous.
    func testAnIdleWorkerTakesTheFarHalfOfTheLargestSpan() {
        var p = P(chunkBatches: 8, maxAhead: 1_000)
        p.add(video: "v", batchCount: 10)
        XCTAssertEqual(take(&p, "a")?.index, 0)  // a holds 1..<8
        XCTAssertEqual(take(&p, "b")?.index, 8)  // b holds 9..<10
        XCTAssertEqual(take(&p, "b")?.index, 9)
        XCTAssertEqual(take(&p, "b")?.index, 4, "half of a's 1..<8: 4..<8")
        XCTAssertEqual(take(&p, "a")?.index, 1)
        XCTAssertEqual((0..<2).map { _ in take(&p, "a")!.index }, [2, 3])
        XCTAssertEqual(take(&p, "a")?.index, 6, "a now takes the far half of b's 5..<8")
        XCTAssertEqual(take(&p, "b")?.index, 5)
        XCTAssertEqual(take(&p, "b")?.index, 7, "the last one, from a")
        XCTAssertNil(take(&p, "a"))
        XCTAssertNil(take(&p, "b"))
    }

    /// No batch is handed out `maxAhead` or more past the first unconsumed one; a span that
    /// reaches the bound is given back and its worker helps nearer the frontier.
    func testLookAheadBound() {
        var p = P(chunkBatches: 4, maxAhead: 6)
        p.add(video: "v", batchCount: 12)
        var consumed = ["v": 0]
        XCTAssertEqual(take(&p, "a", consumed: consumed)?.index, 0)  // a: 1..<4
        XCTAssertEqual(take(&p, "b", consumed: consumed)?.index, 4)  // b: 5..<8
        XCTAssertEqual(take(&p, "b", consumed: consumed)?.index, 5)
        XCTAssertEqual(take(&p, "b", consumed: consumed)?.index, 2, "6 is beyond 0 + 6: b helps a (far half of 1..<4)")
        XCTAssertEqual(take(&p, "b", consumed: consumed)?.index, 3)
        XCTAssertEqual(take(&p, "b", consumed: consumed)?.index, 1, "a's last one")
        XCTAssertNil(take(&p, "a", consumed: consumed), "6… wait for the frontier")
        XCTAssertNil(take(&p, "b", consumed: consumed))
        consumed["v"] = 2
        XCTAssertEqual(take(&p, "b", consumed: consumed)?.index, 6, "the given-back 6..<8")
        XCTAssertEqual(take(&p, "a", consumed: consumed)?.index, 7, "8… is still beyond 2 + 6")
        consumed["v"] = 8
        let rest = (0..<4).compactMap { _ in take(&p, "a", consumed: consumed)?.index }
        XCTAssertEqual(rest, [8, 9, 10, 11])
    }

    /// A worker that leaves gives back the rest of its span; another takes it whole.
    func testAReleasedSpanGoesToAnotherWorker() {
        var p = P(chunkBatches: 4, maxAhead: 1_000)
        p.add(video: "v", batchCount: 8)
        XCTAssertEqual(take(&p, "a")?.index, 0)
        XCTAssertEqual(take(&p, "b")?.index, 4)
        p.release(worker: "a")
        XCTAssertEqual((0..<3).map { _ in take(&p, "c")!.index }, [1, 2, 3])
        XCTAssertEqual(p.unplannedCount, 3, "b's 5..<8")
    }

    /// Videos added earlier go first; a removed video's batches are dropped.
    func testEarlierVideosFirstAndRemovedVideosDropped() {
        var p = P(chunkBatches: 2, maxAhead: 1_000)
        p.add(video: "x", batchCount: 3)
        p.add(video: "y", batchCount: 2)
        XCTAssertEqual(take(&p, "a"), .init(video: "x", index: 0))
        XCTAssertEqual(take(&p, "b"), .init(video: "x", index: 2))
        XCTAssertEqual(take(&p, "b"), .init(video: "y", index: 0))
        p.remove(video: "y")
        XCTAssertEqual(take(&p, "b"), .init(video: "x", index: 1), "y is gone: b takes a's last")
        XCTAssertNil(take(&p, "a"))
    }

    /// Random interleavings of workers asking, leaving and results being consumed: every batch
    /// is planned exactly once, within the bound, and with two steady workers most batches
    /// follow their worker's previous one.
    func testEveryBatchOnceWithinTheBound() {
        var rng = SplitMix64(seed: 7)
        for round in 0..<100 {
            let chunk = 1 + Int(rng.next() % 6), ahead = 1 + Int(rng.next() % 20), counts = (0..<3).map { _ in Int(rng.next() % 40) + 1 }
            var p = P(chunkBatches: chunk, maxAhead: ahead)
            for (k, n) in counts.enumerated() { p.add(video: "v\(k)", batchCount: n) }
            var planned: [String: Set<Int>] = [:], consumed: [String: Int] = [:]
            var workers = ["w0", "w1", "w2"], nextWorker = 3
            for _ in 0..<4_000 {
                let r = rng.next() % 10
                if r < 6, let w = workers.randomElement(using: &rng) {
                    guard let b = p.next(for: w, frontier: { consumed[$0] ?? 0 }) else { continue }
                    XCTAssertLessThan(b.index, (consumed[b.video] ?? 0) + ahead, "round \(round): beyond the bound")
                    XCTAssertTrue(planned[b.video, default: []].insert(b.index).inserted, "round \(round): \(b) twice")
                } else if r < 9 {
                    // Consume what is contiguous from the frontier of a random video.
                    let v = "v\(rng.next() % 3)"
                    var f = consumed[v] ?? 0
                    while planned[v, default: []].contains(f) { f += 1 }
                    consumed[v] = f
                } else if workers.count > 1 {
                    let w = workers.remove(at: Int(rng.next() % UInt64(workers.count)))
                    p.release(worker: w)
                    workers.append("w\(nextWorker)"); nextWorker += 1
                }
            }
            for (k, n) in counts.enumerated() {
                XCTAssertEqual(planned["v\(k)"] ?? [], Set(0..<n), "round \(round): every batch of v\(k) once (chunk \(chunk), ahead \(ahead))")
            }
        }
    }

    /// Two steady workers on one long video: nearly every batch continues its worker's last one.
    func testTwoSteadyWorkersMostlyContinue() {
        var p = P(chunkBatches: 16, maxAhead: 64)
        p.add(video: "v", batchCount: 400)
        var last: [String: Int] = [:], jumps = 0, handed = 0
        var inFlight: [(worker: String, index: Int)] = []
        var done = Set<Int>(), frontier = 0
        var rng = SplitMix64(seed: 3)
        while handed < 400 || !inFlight.isEmpty {
            // Each worker holds two; one of the in-flight batches finishes (b is a bit faster).
            for w in ["a", "b"] where inFlight.filter({ $0.worker == w }).count < 2 {
                guard let b = p.next(for: w, frontier: { _ in frontier }) else { continue }
                if let l = last[w], l + 1 != b.index { jumps += 1 }
                last[w] = b.index
                handed += 1
                inFlight.append((w, b.index))
            }
            guard !inFlight.isEmpty else { break }
            let k = inFlight.firstIndex { $0.worker == (rng.next() % 5 < 3 ? "b" : "a") } ?? 0
            done.insert(inFlight.remove(at: k).index)
            while done.contains(frontier) { frontier += 1 }
        }
        XCTAssertEqual(frontier, 400)
        XCTAssertLessThan(jumps, 400 / 10, "\(jumps) jumps in 400 batches")
    }
}
