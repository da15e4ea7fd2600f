import Foundation
import XCTest
import MienCore
import MienProto
import MienTransport
import MienWire
@testable import MienCluster

/// A feature worker that grants much credit and then does not read for a while: the
/// coordinator's queue to it fills (high-water mark 1 each side, inproc), sends of work fail
/// with EAGAIN, and that work must be sent again once there is room — not lost until its
/// deadline (120 s by default; 60 s here, far beyond the test's time limit).
final class FullQueueTests: XCTestCase {
    func testWorkThatFindsTheQueueFullIsSentAgainNotLost() throws {
        let out = temporaryDirectory("fullqueue")
        let context = try ZMQContext()
        defer { context.terminate() }
        let tag = UInt32.random(in: 0...UInt32.max)
        let endpoints = ClusterEndpoints(features: "inproc://fq-features-\(tag)", sequences: "inproc://fq-sequences-\(tag)",
                                         aggregator: "inproc://fq-aggregator-\(tag)", results: "inproc://fq-results-\(tag)")
        let aggregator = Aggregator(context: context, config: Aggregator.Config(endpoints: endpoints, outputDirectory: out))
        try aggregator.start()
        var c = Coordinator.Config(endpoints: endpoints)
        c.batchFrames = 4
        c.itemDeadlineMs = 60_000
        c.liveness = Liveness(heartbeatMs: 100, expiryMs: 5_000)
        c.configureServerSocket = { try $0.setSendHighWaterMark(1) }
        let coordinator = Coordinator(context: context, config: c, inputs: FakeArchive.inputs([64]), probe: FakeArchive.probe)
        try coordinator.start()

        // The worker: hello, credit for 16 batches, 1 s without reading, then answers each batch
        // (no faces) with credit for one more.
        let peer = try ZMQSocket(context, .dealer)
        try peer.setRoutingID(Array("slow-reader".utf8))
        try peer.setReceiveHighWaterMark(1)
        try peer.connect(endpoints.features)
        var sequence: UInt64 = 0
        func send(_ body: Envelope.Payload) throws {
            sequence += 1
            XCTAssertTrue(try peer.send(try Framing.direct(Envelope(body, senderID: "slow-reader", sequence: sequence, sentUnixMs: 1)), timeoutMs: 1_000))
        }
        try send(.hello(.with { $0.role = .featureWorker; $0.workerID = "slow-reader"; $0.modelHash = "fake"; $0.softwareVersion = ProtocolConstants.softwareVersion }))
        try send(.ready(.with { $0.credit = 16 }))
        let quietUntil = Date().addingTimeInterval(1)
        var lastHeartbeat = Date.distantPast
        var answered: [UInt64] = []
        let deadline = Date().addingTimeInterval(20)
        while !coordinator.progress.finished && Date() < deadline {
            if Date().timeIntervalSince(lastHeartbeat) > 0.1 {
                try send(.heartbeat(.with { $0.sentUnixMs = 1 }))
                lastHeartbeat = Date()
            }
            guard Date() > quietUntil else { Thread.sleep(forTimeInterval: 0.02); continue }
            guard let frames = try peer.receive(timeoutMs: 20) else { continue }
            guard case .frameBatch(let b) = try Framing.decodeDirect(frames).payload else { continue }
            answered.append(b.batchID)
            try send(.embeddingBatch(.with { $0.videoID = b.videoID; $0.batchID = b.batchID }))
            try send(.ready(.with { $0.credit = 1 }))
        }
        let finished = coordinator.waitFinished(seconds: 0)
        peer.close()
        if !finished { coordinator.stop() }
        aggregator.stop()
        try coordinator.wait()
        try aggregator.wait()
        XCTAssertTrue(finished, "the job ends well before the 60 s deadline of a lost batch; \(answered.count) of 16 batches arrived")
        XCTAssertEqual(answered.count, 16, "every batch exactly once")
        XCTAssertEqual(Set(answered).count, answered.count)
        XCTAssertEqual(coordinator.progress.requeuedBatches, 0, "nothing waited for a deadline")
        XCTAssertEqual(readLines(out, "videos.jsonl").first?["status"] as? String, "error", "the fake worker found no faces")
    }
}
