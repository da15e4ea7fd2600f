import Foundation
import Logging
import XCTest
import MienCore
import MienProto
import MienTransport
import MienWire
import MienTestKit
@testable import MienCluster

/// The aggregator driven by a hand-written coordinator over inproc: what it acknowledges, in
/// which order, and what it writes.
final class AggregatorBadInputTests: XCTestCase {
    /// A test coordinator: a DEALER that says hello as coordinator.
    final class FakeCoordinator {
        let socket: ZMQSocket
        private var sequence: UInt64 = 0

        init(context: ZMQContext, endpoint: String, name: String = "coordinator", curve: CurveClient? = nil) throws {
            socket = try ZMQSocket(context, .dealer)
            try socket.setRoutingID(Array(name.utf8))
            try curve?.apply(to: socket)
            try socket.connect(endpoint)
        }

        /// Sends (fails the test when the message cannot be queued, unless `mayStay`).
        func send(_ body: Envelope.Payload, mayStay: Bool = false) throws {
            sequence += 1
            let queued = try socket.send(try Framing.direct(Envelope(body, senderID: "coordinator", sequence: sequence, sentUnixMs: 1)), timeoutMs: 1_000)
            if !mayStay { XCTAssertTrue(queued, "sent") }
        }

        /// The next message's body, or nil after `seconds`.
        func next(seconds: Double = 5) throws -> Envelope.Payload? {
            guard let frames = try socket.receive(timeoutMs: Int32(seconds * 1_000)) else { return nil }
            return try Framing.decodeDirect(frames).payload
        }

        func close() { socket.close() }
    }

    static func endpoints() -> ClusterEndpoints {
        let tag = UInt32.random(in: 0...UInt32.max)
        return ClusterEndpoints(features: "", sequences: "", aggregator: "inproc://agg-\(tag)", results: "inproc://agg-results-\(tag)")
    }

    static func track(_ video: String, _ track: UInt32, frames: Range<UInt64>) -> Mien_V1_TrackFrames {
        .with {
            $0.videoID = video
            $0.trackID = track
            $0.frames = frames.map { f in .with {
                $0.frame = f
                $0.timeS = Double(f) / 25
                $0.box = .with { $0.x = 10; $0.y = 10; $0.width = 50; $0.height = 50 }
                $0.cnnProbs = .with { $0.probs = [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1] }
            } }
        }
    }

    static func manifest(_ video: String, frames: UInt64, framesPerTrack: [UInt32: UInt32], windowsPerTrack: [UInt32: UInt32]) -> Mien_V1_VideoManifest {
        .with {
            $0.videoID = video
            $0.uri = "fake/\(video)"
            $0.fps = 25
            $0.frameCount = frames
            $0.framesPerTrack = framesPerTrack
            $0.windowsPerTrack = windowsPerTrack
            $0.windowLength = 6
        }
    }

    /// A manifest whose windows do not cover a track (20 frames, no window: the BiLSTM should
    /// have labelled it) fails that video with the reason; the next video and the job's end
    /// are handled as usual, and the aggregator stops without a fatal error.
    func testBadManifestFailsItsVideoAndTheAggregatorGoesOn() throws {
        let out = temporaryDirectory("badmanifest")
        let context = try ZMQContext()
        defer { context.terminate() }
        let endpoints = Self.endpoints()
        let aggregator = Aggregator(context: context, config: Aggregator.Config(endpoints: endpoints, outputDirectory: out))
        try aggregator.start()
        let c = try FakeCoordinator(context: context, endpoint: endpoints.aggregator)
        defer { c.close() }
        try c.send(.hello(.with { $0.role = .coordinator; $0.workerID = "coordinator" }))
        try c.send(.trackFrames(Self.track("bad", 1, frames: 0..<20)))
        try c.send(.manifest(Self.manifest("bad", frames: 20, framesPerTrack: [1: 20], windowsPerTrack: [:])))
        try c.send(.trackFrames(Self.track("good", 1, frames: 0..<3)))
        try c.send(.manifest(Self.manifest("good", frames: 3, framesPerTrack: [1: 3], windowsPerTrack: [:])))
        try c.send(.shutdown(.with { $0.reason = "job complete" }))

        var acks: [String] = []
        while let body = try c.next() {
            guard case .ack(let a) = body else { continue }
            acks.append(a.videoID.isEmpty ? a.detail : "\(a.videoID): \(a.detail)")
            if a.detail == "shutdown" { break }
        }
        XCTAssertEqual(acks, ["hello accepted", "bad: error: track 1: frame 0 is in no window: the coordinator's windows do not cover the track",
                              "good: ok", "shutdown"])
        aggregator.stop()
        XCTAssertNoThrow(try aggregator.wait(), "no fatal error")
        let videos = readLines(out, "videos.jsonl")
        XCTAssertEqual(videos.map { $0["video"] as? String }, ["bad", "good"])
        XCTAssertEqual(videos.map { $0["status"] as? String }, ["error", "ok"])
        XCTAssertEqual(readLines(out, "frames.jsonl").count, 3, "only the good video's frames")
    }

    /// A second peer saying hello as coordinator while the first is alive is refused (with an
    /// error it can read, and a log line); the first goes on undisturbed; once the first has been
    /// silent for the expiry, a new hello takes over (a coordinator restarted with --resume).
    func testSecondCoordinatorIsRefusedWhileTheFirstIsAlive() throws {
        let out = temporaryDirectory("secondcoordinator")
        let context = try ZMQContext()
        defer { context.terminate() }
        let endpoints = Self.endpoints()
        var config = Aggregator.Config(endpoints: endpoints, outputDirectory: out)
        config.coordinatorExpiryMs = 400
        let sink = LogSink()
        let aggregator = Aggregator(context: context, config: config, logger: Logger(label: "test", factory: { _ in CapturingLogHandler(sink: sink) }))
        try aggregator.start()
        let first = try FakeCoordinator(context: context, endpoint: endpoints.aggregator, name: "first")
        let second = try FakeCoordinator(context: context, endpoint: endpoints.aggregator, name: "second")
        defer { first.close(); second.close() }
        func ackDetail(_ body: Envelope.Payload?) -> String {
            switch body {
            case .ack(let a)?: return a.videoID.isEmpty ? "ack: \(a.detail)" : "ack \(a.videoID): \(a.detail)"
            case .error(let e)?: return "error: \(e.message.prefix(60))"
            default: return "nothing"
            }
        }
        try first.send(.hello(.with { $0.role = .coordinator }))
        XCTAssertEqual(ackDetail(try first.next()), "ack: hello accepted")
        try second.send(.hello(.with { $0.role = .coordinator }))
        XCTAssertEqual(ackDetail(try second.next()), "error: refused: this aggregator serves another coordinator, alive (")
        // The second's data is not taken; the first's is.
        try second.send(.manifest(Self.manifest("intruder", frames: 1, framesPerTrack: [:], windowsPerTrack: [:])))
        XCTAssertEqual(ackDetail(try second.next()), "error: the aggregator takes messages from its coordinator only: say")
        try first.send(.trackFrames(Self.track("v", 1, frames: 0..<3)))
        try first.send(.manifest(Self.manifest("v", frames: 3, framesPerTrack: [1: 3], windowsPerTrack: [:])))
        XCTAssertEqual(ackDetail(try first.next()), "ack v: ok")
        // Heartbeats keep the first in its seat past the expiry.
        for _ in 0..<6 {
            try first.send(.heartbeat(.with { $0.sentUnixMs = 1 }))
            Thread.sleep(forTimeInterval: 0.1)
        }
        try second.send(.hello(.with { $0.role = .coordinator }))
        XCTAssertTrue(ackDetail(try second.next()).hasPrefix("error: refused"), "still refused: the first heartbeats")
        // The first falls silent: the second takes over.
        Thread.sleep(forTimeInterval: 0.6)
        try second.send(.hello(.with { $0.role = .coordinator }))
        XCTAssertEqual(ackDetail(try second.next()), "ack: hello accepted")
        try second.send(.shutdown(.with { $0.reason = "job complete" }))
        XCTAssertEqual(ackDetail(try second.next()), "ack: shutdown")
        XCTAssertNil(try first.next(seconds: 0.2), "the replaced coordinator gets nothing more")
        try aggregator.wait()
        let lines = sink.events.map(\.message)
        XCTAssertEqual(lines.filter { $0.contains("refused a coordinator hello from second") }.count, 1, "logged once per peer and interval: \(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("coordinator replaced: the previous one was silent for") })
        XCTAssertEqual(readLines(out, "videos.jsonl").map { $0["video"] as? String }, ["v"])
    }

    /// With CURVE, the intake lets in the coordinator's key only and the result stream the
    /// consumers' keys only: a consumer's key saying hello as coordinator on the intake is
    /// refused at the handshake (nothing reaches the aggregator, the job goes on), while the same
    /// key receives the results on the stream.
    func testConsumerKeyCannotJoinTheIntake() throws {
        let out = temporaryDirectory("consumerkey")
        let context = try ZMQContext()
        defer { context.terminate() }
        let zapLog = Collected<String>()
        let zap = try ZAPHandler(context: context, log: zapLog.append)
        defer { zap.stop() }
        let aggregatorKeys = try CurveKeyPair.generate(), coordinatorKeys = try CurveKeyPair.generate(), consumerKeys = try CurveKeyPair.generate()
        // CURVE needs a real transport (inproc has no handshake); ipc in the test's folder, because a
        // random TCP port is often taken on a busy machine (ports in the ephemeral range in use).
        let endpoints = ClusterEndpoints(features: "", sequences: "", aggregator: "ipc://\(out)/intake.ipc", results: "ipc://\(out)/results.ipc")
        var config = Aggregator.Config(endpoints: endpoints, outputDirectory: out)
        config.security.server = zap.serve(domain: "test.intake", keyPair: aggregatorKeys, allow: [coordinatorKeys.publicKey])
        config.streamSecurity = zap.serve(domain: "test.results", keyPair: aggregatorKeys, allow: [consumerKeys.publicKey])
        let aggregator = Aggregator(context: context, config: config)
        try aggregator.start()

        func curveDealer(_ keys: CurveKeyPair, name: String) throws -> FakeCoordinator {
            try FakeCoordinator(context: context, endpoint: endpoints.aggregator, name: name,
                                curve: CurveClient(serverKey: aggregatorKeys.publicKey, keyPair: keys))
        }
        let subscriber = try ZMQSocket(context, .sub)
        try CurveClient(serverKey: aggregatorKeys.publicKey, keyPair: consumerKeys).apply(to: subscriber)
        try subscriber.subscribe()
        try subscriber.connect(endpoints.results)
        defer { subscriber.close() }
        let intruder = try curveDealer(consumerKeys, name: "intruder")
        defer { intruder.close() }
        try intruder.send(.hello(.with { $0.role = .coordinator }), mayStay: true)
        XCTAssertNil(try intruder.next(seconds: 1), "the consumer's key gets no answer on the intake")
        XCTAssertTrue(zapLog.all.contains { $0.contains("refused CURVE client key \(consumerKeys.publicKey.z85)") && $0.contains("in test.intake") }, "\(zapLog.all)")

        let coordinator = try curveDealer(coordinatorKeys, name: "coordinator")
        defer { coordinator.close() }
        try coordinator.send(.hello(.with { $0.role = .coordinator }))
        guard case .ack(let hello)? = try coordinator.next() else { return XCTFail("the coordinator's key is let in") }
        XCTAssertEqual(hello.detail, "hello accepted")
        try intruder.send(.hello(.with { $0.role = .coordinator }), mayStay: true)  // refused: its connection is gone
        try coordinator.send(.trackFrames(Self.track("v", 1, frames: 0..<3)))
        try coordinator.send(.manifest(Self.manifest("v", frames: 3, framesPerTrack: [1: 3], windowsPerTrack: [:])))
        guard case .ack(let done)? = try coordinator.next() else { return XCTFail("the video is acknowledged to the coordinator") }
        XCTAssertEqual(done.videoID, "v")
        var published: [String] = []
        while let frames = try subscriber.receive(timeoutMs: 1_000) {
            if case .videoResult(let r) = try Framing.decodePublished(frames).body { published.append(r.videoID); break }
        }
        XCTAssertEqual(published, ["v"], "the consumer's key receives the results on the stream")
        try coordinator.send(.shutdown(.with { $0.reason = "job complete" }))
        aggregator.stop()
        try aggregator.wait()
    }

    /// A CURVE intake without a consumer allow-list for the stream is refused at start: the
    /// stream never falls back to the intake's list.
    func testCurveIntakeNeedsAStreamAllowListOfItsOwn() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let zap = try ZAPHandler(context: context, log: { _ in })
        defer { zap.stop() }
        var config = Aggregator.Config(endpoints: Self.endpoints(), outputDirectory: temporaryDirectory("nostreamkeys"))
        config.security.server = zap.serve(domain: "test.intake", keyPair: try CurveKeyPair.generate(), allow: [])
        XCTAssertThrowsError(try Aggregator(context: context, config: config).start()) { error in
            XCTAssertTrue("\(error)".contains("--curve-allow-consumers"), "\(error)")
        }
    }
}
