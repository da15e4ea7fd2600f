import Foundation
import XCTest
import MienCore
import MienProto
import MienWire
@testable import MienCluster

/// The coordinator's decisions without sockets, threads or a real clock: events in, the exact
/// commands out (`CoordinatorCore`). Each test runs in milliseconds.
final class CoordinatorCoreTests: XCTestCase {
    typealias Command = CoordinatorCore.Command

    /// A core on a fake clock, with helpers for the common exchanges.
    struct Harness {
        var core: CoordinatorCore
        var nowMs: UInt64 = 10_000
        let firstID: UInt64 = 4096

        init(videos: [Int], finished: Set<String> = [], tune: (inout Coordinator.Config) -> Void = { _ in }) {
            var c = Coordinator.Config(endpoints: ClusterEndpoints(features: "", sequences: "", aggregator: "", results: ""))
            c.batchFrames = 8
            c.windowLength = 4
            c.windowStride = 2
            c.windowsPerBatch = 2
            c.liveness = Liveness(heartbeatMs: 100, expiryMs: 1_000)
            c.itemDeadlineMs = 5_000
            c.featureModelHash = "cnn"
            c.sequenceModelHash = "bilstm"
            tune(&c)
            core = CoordinatorCore(config: c, inputs: FakeArchive.inputs(videos), finished: finished, firstBatchID: firstID, logger: .quiet("test"))
        }

        var now: CoordinatorCore.Instant { .init(ms: nowMs) }

        mutating func handle(_ e: CoordinatorCore.Event) -> [Command] { core.handle(e, now: now) }
        mutating func tick() -> [Command] { handle(.tick) }
        /// A tick in which every work send is reported delivered (`outcome`).
        mutating func tickDelivering(_ outcome: Delivery = .sent) -> [Command] {
            let out = tick()
            for case .toWorker(let kind, _, _, let item?) in out { _ = handle(.delivery(kind, itemID: item, outcome)) }
            return out
        }
        /// The aggregator accepts the coordinator; the videos allowed start and are probed.
        mutating func startAccepted() -> [Command] {
            _ = handle(.start)
            _ = tick()  // the first heartbeat turn: the hello again
            _ = handle(.fromAggregator(Envelope(.ack(.with { $0.detail = "hello accepted" }))))
            return tick()
        }
        /// The job started with video 0 of `frames` frames probed and feature worker w1 with `credit`.
        mutating func runOneVideo(frames: Int, credit: UInt32) {
            _ = startAccepted()
            probe(0, frames: frames)
            join("w1", credit: credit)
        }
        mutating func probe(_ n: Int, frames: Int) {
            let input = FakeArchive.inputs(Array(repeating: frames, count: n + 1))[n]
            _ = handle(.probed(input, .success(VideoProbe(fps: 25, frameCount: frames, width: 640, height: 480))))
        }
        mutating func join(_ name: String, _ kind: WorkKind = .feature, credit: UInt32) {
            let role: Mien_V1_Role = kind == .feature ? .featureWorker : .sequenceWorker
            let hash = kind == .feature ? "cnn" : "bilstm"
            _ = handle(.fromWorker(kind, id: Array(name.utf8), peer: nil, Envelope(.hello(.with { $0.role = role; $0.workerID = name; $0.modelHash = hash }))))
            if credit > 0 { _ = handle(.fromWorker(kind, id: Array(name.utf8), peer: nil, Envelope(.ready(.with { $0.credit = credit })))) }
        }
        mutating func from(_ name: String, _ body: Envelope.Payload, as kind: WorkKind = .feature) -> [Command] {
            handle(.fromWorker(kind, id: Array(name.utf8), peer: nil, Envelope(body)))
        }
        mutating func heartbeatFrom(_ names: [String]) {
            for n in names { _ = from(n, .heartbeat(.init())) }
        }
    }

    /// Feature batches sent: (worker, batch id, first frame).
    static func frameBatches(_ out: [Command]) -> [(worker: String, id: UInt64, start: UInt64)] {
        out.compactMap {
            guard case .toWorker(.feature, let id, .frameBatch(let b), _) = $0, case .reference(let r) = b.frames else { return nil }
            return (String(decoding: id, as: UTF8.self), b.batchID, r.startFrame)
        }
    }

    static func toAggregator(_ out: [Command]) -> [Envelope.Payload] {
        out.compactMap { if case .toAggregator(let b) = $0 { return b } else { return nil } }
    }

    /// An answer to a batch of `frames` frames from `start`, one face per frame at the same place.
    static func answer(_ video: String, id: UInt64, start: UInt64, frames: Int = 8) -> Envelope.Payload {
        .embeddingBatch(.with {
            $0.videoID = video
            $0.batchID = id
            $0.frames = (0..<UInt64(frames)).map { k in .with {
                $0.index = start + k
                $0.timeS = Double(start + k) / 25
                $0.faces = [.with {
                    $0.box = .with { $0.x = 10; $0.y = 10; $0.width = 50; $0.height = 50 }
                    $0.embedding = [Float(start + k)]
                    $0.cnnProbs = .with { $0.probs = [1, 0] }
                }]
            } }
        })
    }

    func testStartsVideosOnlyOnceTheAggregatorAcceptedThisCoordinator() {
        var h = Harness(videos: [16, 16, 16])
        XCTAssertEqual(h.handle(.start), [.toAggregator(CoordinatorCore.hello)])
        XCTAssertEqual(h.tick(), [.toAggregator(CoordinatorCore.hello)], "not accepted: the hello again at the heartbeat, nothing probed")
        _ = h.handle(.fromAggregator(Envelope(.ack(.with { $0.detail = "hello accepted" }))))
        let inputs = FakeArchive.inputs([16, 16, 16])
        XCTAssertEqual(h.tick(), [.probe(inputs[0]), .probe(inputs[1])], "two videos at once (maxActiveVideos), heartbeat not due")
        h.nowMs += 100
        XCTAssertEqual(h.tick(), [.toAggregator(.heartbeat(.with { $0.sentUnixMs = h.now.unixMs }))])
    }

    func testHandsBatchesByCreditAndTheHelloIsAnswered() {
        var h = Harness(videos: [24])
        _ = h.startAccepted()
        h.probe(0, frames: 24)
        let hello = h.from("w1", .hello(.with { $0.role = .featureWorker; $0.workerID = "w1"; $0.modelHash = "cnn" }))
        XCTAssertEqual(hello, [.toWorker(.feature, id: Array("w1".utf8), .ack(.with { $0.detail = "hello accepted" }), item: nil)])
        _ = h.from("w1", .ready(.with { $0.credit = 2 }))
        let out = h.tickDelivering()
        XCTAssertEqual(out, [
            .toWorker(.feature, id: Array("w1".utf8), .frameBatch(.with {
                $0.videoID = "video0"; $0.batchID = 4096; $0.fps = 25; $0.modelHash = "cnn"
                $0.reference = .with { $0.uri = "fake/v0-24"; $0.startFrame = 0; $0.endFrame = 8; $0.sampleEvery = 1 }
            }), item: 4096),
            .toWorker(.feature, id: Array("w1".utf8), .frameBatch(.with {
                $0.videoID = "video0"; $0.batchID = 4097; $0.fps = 25; $0.modelHash = "cnn"
                $0.reference = .with { $0.uri = "fake/v0-24"; $0.startFrame = 8; $0.endFrame = 16; $0.sampleEvery = 1 }
            }), item: 4097),
        ])
        XCTAssertEqual(h.tick(), [], "no credit left")
    }

    func testRefusesAWorkerWithAnotherModelOrRole() {
        var h = Harness(videos: [8])
        let wrongModel = h.from("w1", .hello(.with { $0.role = .featureWorker; $0.workerID = "w1"; $0.modelHash = "other" }))
        guard case .toWorker(.feature, _, .error(let e), nil)? = wrongModel.first, wrongModel.count == 1 else { return XCTFail("\(wrongModel)") }
        XCTAssertEqual(e.code, .modelMismatch)
        let wrongRole = h.from("w2", .hello(.with { $0.role = .sequenceWorker; $0.workerID = "w2"; $0.modelHash = "cnn" }))
        guard case .toWorker(.feature, _, .error(let e2), nil)? = wrongRole.first else { return XCTFail("\(wrongRole)") }
        XCTAssertEqual(e2.code, .badMessage)
        let unknown = h.from("w1", .ready(.with { $0.credit = 1 }))
        guard case .toWorker(.feature, _, .error(let e3), nil)? = unknown.first else { return XCTFail("\(unknown)") }
        XCTAssertEqual(e3.code, .unknownPeer, "a refused worker is unknown: its credit is not taken")
    }

    func testADeadWorkersBatchesGoToTheOthersInOrder() {
        var h = Harness(videos: [64])
        h.runOneVideo(frames: 64, credit: 2)
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map(\.id), [4096, 4097])
        h.join("w2", credit: 0)
        // w1 falls silent; w2 heartbeats. Past the expiry, w1 is dropped at the heartbeat.
        for _ in 0..<11 {
            h.nowMs += 100
            h.heartbeatFrom(["w2"])
            _ = h.tickDelivering()
        }
        XCTAssertEqual(h.core.progress.featureWorkers, 1)
        XCTAssertEqual(h.core.progress.requeuedBatches, 2)
        _ = h.from("w2", .ready(.with { $0.credit = 3 }))
        let resent = Self.frameBatches(h.tickDelivering())
        XCTAssertEqual(resent.map(\.worker), ["w2", "w2", "w2"])
        XCTAssertEqual(resent.map(\.id), [4096, 4097, 4098], "w1's batches first, as they were (same ids), then a new one")
        XCTAssertEqual(resent.map(\.start), [0, 8, 16])
    }

    func testABatchPastItsDeadlineIsHandedOutAgain() {
        var h = Harness(videos: [16]) { $0.itemDeadlineMs = 500 }
        h.runOneVideo(frames: 16, credit: 1)
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map(\.id), [4096])
        h.nowMs += 500
        h.heartbeatFrom(["w1"])
        _ = h.from("w1", .ready(.with { $0.credit = 1 }))
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map(\.id), [4097], "not past the deadline yet: the next batch")
        h.nowMs += 100
        h.heartbeatFrom(["w1"])
        _ = h.from("w1", .ready(.with { $0.credit = 1 }))
        _ = h.tickDelivering()  // the heartbeat turn finds 4096 past its deadline and re-queues it
        XCTAssertEqual(h.core.progress.requeuedBatches, 1)
        _ = h.from("w1", .ready(.with { $0.credit = 1 }))
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map(\.id), [4096])
    }

    func testAnswersAreTrackedInFrameOrderWhateverOrderTheyArriveIn() {
        var h = Harness(videos: [16])
        h.runOneVideo(frames: 16, credit: 2)
        _ = h.tickDelivering()
        XCTAssertEqual(h.from("w1", Self.answer("video0", id: 4097, start: 8)), [], "batch 1 waits for batch 0")
        XCTAssertEqual(h.core.progress.peakResultsAwaitingOrder, 1)
        XCTAssertEqual(h.core.progress.framesDone, 0)
        let out = h.from("w1", Self.answer("video0", id: 4096, start: 0))
        let bodies = Self.toAggregator(out)
        // The track's frames leave in parts, one per batch as it is consumed (nothing held to the
        // track's end), then its last part (no frames left, its window count), then the manifest.
        let parts = bodies.compactMap { body -> Mien_V1_TrackFrames? in if case .trackFrames(let t) = body { return t }; return nil }
        XCTAssertEqual(parts.count, 3, "two batches' parts, the last part, then the manifest: \(bodies)")
        guard let t = parts.last, case .manifest(let m) = bodies.last else { return XCTFail("\(bodies)") }
        XCTAssertEqual(parts.flatMap { $0.frames.map(\.frame) }, Array(0..<16), "one track, in frame order")
        XCTAssertEqual(parts.map(\.frames.count), [8, 8, 0])
        XCTAssertEqual(parts.map(\.last), [false, false, true])
        XCTAssertEqual(Set(parts.map(\.trackID)).count, 1)
        XCTAssertEqual(t.windows, 7, "the last part carries the track's window count")
        XCTAssertEqual(m.framesPerTrack, [t.trackID: 16])
        // 16 steps, T = 4, stride 2: 7 windows, in batches of 2 → 4 window batches queued.
        XCTAssertEqual(m.windowsPerTrack, [t.trackID: 7])
        XCTAssertEqual(h.core.progress.sequenceBatchesQueued, 0, "gauges update at the next tick")
        _ = h.tick()
        XCTAssertEqual(h.core.progress.sequenceBatchesQueued, 4)
        XCTAssertEqual(h.core.progress.framesDone, 16)
    }

    func testARepeatedOrForeignAnswerIsIgnored() {
        var h = Harness(videos: [16])
        h.runOneVideo(frames: 16, credit: 2)
        _ = h.tickDelivering()
        XCTAssertEqual(h.from("w1", Self.answer("video9", id: 4096, start: 0)), [], "another video's frames")
        XCTAssertEqual(h.from("w1", Self.answer("video0", id: 4096, start: 4)), [], "frames outside the batch")
        XCTAssertEqual(h.core.progress.framesDone, 0)
        _ = h.from("w1", Self.answer("video0", id: 4096, start: 0))
        XCTAssertEqual(h.from("w1", Self.answer("video0", id: 4096, start: 0)), [], "a repeat")
        _ = h.tick()
        XCTAssertEqual(h.core.progress.framesDone, 8)
    }

    func testAWorkSendThatFindsTheQueueFullIsSentAgainToTheSameWorker() {
        var h = Harness(videos: [32])
        h.runOneVideo(frames: 32, credit: 2)
        XCTAssertEqual(Self.frameBatches(h.tickDelivering(.full)).map(\.id), [4096, 4097])
        let again = Self.frameBatches(h.tickDelivering())
        // Each goes back to the front of the queue as its send fails: the last one first.
        XCTAssertEqual(again.map(\.id), [4097, 4096], "the same batches, at once: credit given back, not left to a deadline")
        XCTAssertEqual(again.map(\.worker), ["w1", "w1"])
        XCTAssertEqual(h.core.progress.requeuedBatches, 0)
    }

    func testAWorkSendToAPeerThatIsGoneGoesToAnotherWorker() {
        var h = Harness(videos: [32])
        h.runOneVideo(frames: 32, credit: 1)
        XCTAssertEqual(Self.frameBatches(h.tickDelivering(.failed)).map(\.id), [4096])
        XCTAssertEqual(h.tick(), [], "no credit given back to a peer that is gone")
        h.join("w2", credit: 1)
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map { "\($0.worker) \($0.id)" }, ["w2 4096"])
    }

    func testFeatureWorkWaitsWhileSequenceWorkIsBehind() {
        var h = Harness(videos: [16, 16]) { $0.maxOutstandingWindowBatches = 4 }
        _ = h.startAccepted()
        h.probe(0, frames: 16)
        h.probe(1, frames: 16)
        h.join("w1", credit: 2)
        _ = h.tickDelivering()
        _ = h.from("w1", Self.answer("video0", id: 4096, start: 0))
        _ = h.from("w1", Self.answer("video0", id: 4097, start: 8))  // video0 done: 4 window batches queued
        _ = h.from("w1", .ready(.with { $0.credit = 1 }))
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).count, 0, "4 window batches outstanding: no feature batch")
        h.join("s1", .sequence, credit: 1)
        let windows = h.tickDelivering().filter { if case .toWorker(.sequence, _, .windowBatch, _) = $0 { return true } else { return false } }
        XCTAssertEqual(windows.count, 1)
        let predictions = h.from("s1", .windowPredictionBatch(.with { $0.batchID = 4098 }), as: .sequence)
        XCTAssertEqual(predictions, [.toAggregator(.windowPredictionBatch(.with { $0.batchID = 4098 }))], "relayed to the aggregator")
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map(\.start), [0], "3 outstanding: video1's first batch goes")
    }

    func testNoNewVideoWhileTooManyWaitForTheAggregator() {
        var h = Harness(videos: [8, 8, 8]) { $0.maxUnacknowledgedVideos = 1; $0.maxActiveVideos = 1 }
        let inputs = FakeArchive.inputs([8, 8, 8])
        XCTAssertEqual(h.startAccepted(), [.probe(inputs[0])], "one video at once (no workers yet: limit max(1, 0 + 1))")
        h.probe(0, frames: 8)
        h.join("w1", credit: 1)
        let first = h.tickDelivering()
        XCTAssertTrue(first.contains(.probe(inputs[1])), "one worker: limit max(1, 1 + 1) = 2 videos")
        h.probe(1, frames: 8)
        _ = h.from("w1", Self.answer("video0", id: 4096, start: 0))
        XCTAssertEqual(h.core.progress.peakVideosAwaitingResults, 1)
        XCTAssertFalse(h.tick().contains(.probe(inputs[2])), "video0 waits for its ack: no new video though there is room")
        let ack = h.handle(.fromAggregator(Envelope(.ack(.with { $0.videoID = "video0"; $0.detail = "ok" }))))
        XCTAssertEqual(ack, [.journal(videoID: "video0")])
        XCTAssertTrue(h.tick().contains(.probe(inputs[2])))
        XCTAssertEqual(h.core.progress.videosDone, 1)
    }

    func testResumeSkipsWhatTheJournalSaysIsFinished() {
        var h = Harness(videos: [8, 8, 8], finished: ["video0", "video2"]) { $0.extractOnly = true }  // no windows to wait for
        XCTAssertEqual(h.core.progress.videosSkipped, 2)
        XCTAssertEqual(h.core.progress.videosDone, 2)
        XCTAssertEqual(h.startAccepted(), [.probe(FakeArchive.inputs([8, 8])[1])], "only video1 is taken up")
        h.probe(1, frames: 8)
        h.join("w1", credit: 1)
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map(\.id), [4096])
        _ = h.from("w1", Self.answer("video1", id: 4096, start: 0))
        XCTAssertEqual(h.handle(.fromAggregator(Envelope(.ack(.with { $0.videoID = "video1"; $0.detail = "ok" })))), [.journal(videoID: "video1")])
        XCTAssertEqual(h.handle(.fromAggregator(Envelope(.ack(.with { $0.videoID = "video1"; $0.detail = "ok" })))), [], "acknowledged once")
        let end = h.tick()
        XCTAssertEqual(Self.toAggregator(end).last, .shutdown(.with { $0.reason = "job complete"; $0.graceMs = 10_000 }))
        h.nowMs += 100
        XCTAssertEqual(Self.toAggregator(h.tick()), [], "after the shutdown no heartbeat: the aggregator acks and closes, a send to it would block")
        XCTAssertEqual(h.handle(.fromAggregator(Envelope(.ack(.with { $0.detail = "shutdown" })))), [.jobOver])
        XCTAssertEqual(h.core.finish(), [.toWorker(.feature, id: Array("w1".utf8), .shutdown(.with { $0.reason = "job complete" }), item: nil)])
        XCTAssertEqual(h.core.progress.videosDone, 3)
    }

    func testWorkerErrorsRetryThenFailTheVideo() {
        var h = Harness(videos: [8]) { $0.maxAttempts = 2 }
        h.runOneVideo(frames: 8, credit: 2)
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map(\.id), [4096])
        XCTAssertEqual(h.from("w1", .error(.with { $0.batchID = 4096; $0.code = .`internal`; $0.message = "boom" })), [])
        XCTAssertEqual(Self.frameBatches(h.tickDelivering()).map(\.id), [4096], "retried")
        let failed = Self.toAggregator(h.from("w1", .error(.with { $0.batchID = 4096; $0.code = .`internal`; $0.message = "boom" })))
        guard case .manifest(let m)? = failed.first, failed.count == 1 else { return XCTFail("\(failed)") }
        XCTAssertEqual(m.error, "boom")
        XCTAssertEqual(m.videoID, "video0")
    }

    func testAProbeFailureOrAnEmptyVideoFailsItAtOnce() {
        var h = Harness(videos: [8, 0])
        let inputs = FakeArchive.inputs([8, 0])
        _ = h.startAccepted()
        let failed = Self.toAggregator(h.handle(.probed(inputs[0], .failure(.init(message: "cannot open it")))))
        guard case .manifest(let m)? = failed.first else { return XCTFail("\(failed)") }
        XCTAssertEqual(m.error, "cannot open it")
        let empty = Self.toAggregator(h.handle(.probed(inputs[1], .success(VideoProbe(fps: 25, frameCount: 0, width: 1, height: 1)))))
        guard case .manifest(let e)? = empty.first else { return XCTFail("\(empty)") }
        XCTAssertTrue(e.error.contains("has no frames"), e.error)
    }

    func testInlineBatchesAreDecodedRoundRobinInFrameOrderAndADecodeErrorFailsTheVideo() {
        var h = Harness(videos: [16, 16]) { $0.frames = .inline; $0.maxOutstandingBatches = 3 }
        _ = h.startAccepted()
        h.probe(0, frames: 16)
        h.probe(1, frames: 16)
        let decodes = h.tick().compactMap { c -> String? in
            guard case .decode(let b) = c, case .reference(let r) = b.frames else { return nil }
            return "\(b.videoID) \(r.startFrame) \(b.batchID)"
        }
        XCTAssertEqual(decodes, ["video0 0 4096", "video1 0 4097", "video0 8 4098"], "round-robin, in order, up to the bound")
        XCTAssertEqual(h.tick().filter { if case .decode = $0 { return true } else { return false } }.count, 0, "bound reached")
        var decoded = Mien_V1_FrameBatch.with { $0.videoID = "video1"; $0.batchID = 4097 }
        decoded.inline = .with { $0.frames = [.with { $0.index = 0 }] }
        _ = h.handle(.decoded(.init(batch: decoded)))
        h.join("w1", credit: 1)
        XCTAssertEqual(h.tickDelivering(), [.toWorker(.feature, id: Array("w1".utf8), .frameBatch(decoded), item: 4097)],
                       "the decoded batch goes out as decoded")
        let failed = Self.toAggregator(h.handle(.decoded(.init(batch: .with { $0.videoID = "video0"; $0.batchID = 4096 }, error: "bad file"))))
        guard case .manifest(let m)? = failed.first else { return XCTFail("\(failed)") }
        XCTAssertEqual(m.error, "bad file")
        XCTAssertEqual(h.handle(.decoded(.init(batch: .with { $0.videoID = "video0"; $0.batchID = 4098 }))), [], "its other batch is dropped")
    }
}
