import Foundation
import Logging
import XCTest
import MienNN
import MienProto
import MienTraining
import MienTransport
import MienTestKit
import MienWire
import MienCluster
@testable import MienTuning

/// `mien tune`'s search across local slots and remote tune workers, in one process over inproc
/// endpoints, with a fake trial that writes a small deterministic bundle.
final class TuningSearchTests: XCTestCase {
    /// A deterministic stand-in for training: figures and "weights" follow from the parameters;
    /// a stride longer than the window fails, as the real trial does.
    final class FakeTrial: TrialExecutor, @unchecked Sendable {
        let out: String
        let delay: TimeInterval
        init(out: String, delay: TimeInterval = 0) { self.out = out; self.delay = delay }

        func run(_ trial: Int, _ p: TrialParams) -> TrialResult {
            Thread.sleep(forTimeInterval: delay)
            var r = TrialResult(trial: trial, params: p, status: .ok, seconds: delay)
            r.trainWindows = 10 * p.window; r.validationWindows = p.window
            guard p.stride <= p.window else {
                r.status = .failed
                r.error = "stride \(p.stride) does not fit window \(p.window)"
                return r
            }
            r.validationAccuracy = Double(p.units) / 100; r.validationMacroF1 = p.learningRate * 10; r.validationLoss = .nan
            r.bestEpoch = p.window; r.epochsRun = p.window + 1
            let dir = TuningLayout.trialDirectory(out, trial)
            try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try! Data("weights of \(p.summary)".utf8).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
            try! Data("{\"tune_trial\": \(trial)}".utf8).write(to: URL(fileURLWithPath: dir + "/training.json"))
            return r
        }

        func interrupt() {}
    }

    let trials = [TrialParams(units: 4, layers: 1, learningRate: 0.01, dropout: 0, window: 4, stride: 6),
                  TrialParams(units: 8, layers: 1, learningRate: 0.01, dropout: 0, window: 12, stride: 6),
                  TrialParams(units: 16, layers: 2, learningRate: 0.02, dropout: 0.2, window: 12, stride: 6),
                  TrialParams(units: 32, layers: 1, learningRate: 0.03, dropout: 0, window: 8, stride: 4)]
    let cache = Data((0..<100).map { "{\"video\": \"v\($0)\"}\n" }.joined().utf8)
    let fast = Liveness(heartbeatMs: 50, expiryMs: 300)

    func folder() -> String {
        let path = NSTemporaryDirectory() + "mien-tune-search-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func remote(_ context: ZMQContext, _ endpoint: String, out: String) -> TuningSearch.Remote {
        var setup = Mien_V1_TrialSetup.with { $0.cacheName = "cache.jsonl"; $0.seed = 2; $0.epochs = 6 }
        setup.cacheSha256 = sha256Hex(Array(cache))
        setup.cacheBytes = UInt64(cache.count)
        var r = TuningSearch.Remote(context: context, endpoint: endpoint, setup: setup, cache: cache, out: out)
        r.chunkBytes = 500  // several chunks
        r.liveness = fast
        return r
    }

    /// A remote worker whose executors check the cache copy they are given.
    func worker(_ context: ZMQContext, _ endpoint: String, parallel: Int = 1, delay: TimeInterval = 0) throws -> TrialWorker {
        let expected = cache
        return try TrialWorker(context: context, endpoint: endpoint, parallel: parallel, scratch: folder(), liveness: fast) { setup, cachePath, out in
            guard (try? Data(contentsOf: URL(fileURLWithPath: cachePath))) == expected, setup.cacheName == "cache.jsonl" else {
                throw TrainingError("the cache copy differs from tune's")
            }
            return (0..<parallel).map { _ in FakeTrial(out: out, delay: delay) }
        }
    }

    func files(_ out: String) throws -> [String: Data] {
        var all: [String: Data] = [:]
        for trial in try FileManager.default.contentsOfDirectory(atPath: out + "/trials") {
            for name in try FileManager.default.contentsOfDirectory(atPath: out + "/trials/" + trial) {
                all[trial + "/" + name] = try Data(contentsOf: URL(fileURLWithPath: out + "/trials/\(trial)/\(name)"))
            }
        }
        return all
    }

    func testRemoteWorkersGiveTheLocalSearchsTableAndBundles() throws {
        let local = folder(), distributed = folder()
        let expected = try TuningSearch(trials: trials, executors: (0..<2).map { _ in FakeTrial(out: local) }).run()
        XCTAssertEqual(expected.map(\.status), [.failed, .ok, .ok, .ok])

        let context = try ZMQContext()
        defer { context.terminate() }
        let endpoint = "inproc://tune-remote-\(UUID().uuidString)"
        let workers = try (0..<2).map { k in try worker(context, endpoint, parallel: k + 1, delay: 0.05) }
        for w in workers { w.start() }
        let streamed = Collected<Int>()
        let results = try TuningSearch(trials: trials, executors: [], remote: remote(context, endpoint, out: distributed)).run { streamed.append($0.trial) }
        XCTAssertEqual(TuningTable(results).csv(seconds: false), TuningTable(expected).csv(seconds: false))
        XCTAssertEqual(streamed.all.sorted(), [1, 2, 3, 4], "every result streamed once")
        XCTAssertEqual(try files(distributed), try files(local), "the bundles written under trials/ are the local run's")
        XCTAssertEqual(try files(local).count, 6)
        for w in workers { XCTAssertNoThrow(try w.wait(), "tune's Shutdown ends the workers") }
    }

    /// A remote worker that takes a trial and vanishes (kill -9) loses it to another worker;
    /// garbled messages and a result for a trial the sender was not given are logged and ignored.
    func testALostWorkersTrialGoesToAnotherAndStrayResultsAreIgnored() throws {
        let local = folder(), distributed = folder()
        let expected = try TuningSearch(trials: trials, executors: [FakeTrial(out: local)]).run()
        let context = try ZMQContext()
        defer { context.terminate() }
        let endpoint = "inproc://tune-lost-\(UUID().uuidString)"
        let sink = LogSink()
        let search = try TuningSearch(trials: trials, executors: [], remote: remote(context, endpoint, out: distributed),
                                      logger: Logger(label: "test", factory: { _ in CapturingLogHandler(sink: sink) }))
        let results = Collected<[TrialResult]>()
        let runner = Thread { results.append(try! search.run()) }
        runner.start()

        // The ghost: hello, cache, credit, a trial — then garbage, a stray result, and silence.
        let ghost = try ZMQSocket(context, .dealer)
        try ghost.setRoutingID(Array("ghost".utf8))
        try ghost.connect(endpoint)
        func say(_ body: Envelope.Payload) throws { try ghost.send(try Framing.direct(Envelope(body, senderID: "ghost"))) }
        try say(.trialWorkerHello(.with { $0.workerID = "ghost"; $0.parallel = 1 }))
        var taken: Mien_V1_TrialRequest?
        let deadline = Date().addingTimeInterval(10)
        while taken == nil, Date() < deadline, let frames = try ghost.receive(timeoutMs: 2_000) {
            switch try Framing.decodeDirect(frames).payload {
            case .trialSetup(let s): XCTAssertEqual(s.chunks, 4)
            case .trialDataChunk(let c) where c.index == 3: try say(.ready(.with { $0.credit = 1 }))
            case .trialRequest(let r): taken = r
            default: break
            }
        }
        let given = try XCTUnwrap(taken, "the ghost got a trial")
        try ghost.send([Array("not an envelope".utf8)])
        let other = trials.indices.first { $0 + 1 != Int(given.trial) }!
        try say(.trialResult(Mien_V1_TrialResult(TrialResult(trial: other + 1, params: trials[other], status: .ok), files: [("model.safetensors", Data("forged".utf8))])))
        Thread.sleep(forTimeInterval: 0.1)
        ghost.close()

        let honest = try worker(context, endpoint)
        honest.start()
        while results.all.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertEqual(TuningTable(results.all[0]).csv(seconds: false), TuningTable(expected).csv(seconds: false), "all trials done, the ghost's included")
        XCTAssertEqual(try files(distributed), try files(local), "no forged bundle")
        let lines = sink.events.map(\.message)
        XCTAssertTrue(lines.contains { $0.contains("ghost") && ($0.contains("stopped heartbeating") || $0.contains("disconnected")) }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("ignored a result for trial \(other + 1)") && $0.contains("not given to it") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("undecodable message") }, "\(lines)")
        XCTAssertNoThrow(try honest.wait())
    }

    /// A cache that does not match the announced checksum: the worker tells tune and stops with an error.
    func testACacheFailingItsChecksumStopsTheWorkerWithAnError() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let endpoint = "inproc://tune-checksum-\(UUID().uuidString)"
        let tune = try ZMQSocket(context, .router)
        try tune.bind(endpoint)
        let w = try worker(context, endpoint)
        w.start()
        let hello = try XCTUnwrap(try tune.receive(timeoutMs: 5_000))
        let (id, envelope) = try Framing.decodeRouted(hello)
        guard case .trialWorkerHello = envelope.payload else { return XCTFail("expected a hello, got \(envelope.kind)") }
        var setup = remote(context, endpoint, out: folder()).setup
        setup.chunks = 1
        try tune.send(try Framing.routed(to: id, Envelope(.trialSetup(setup))))
        var tampered = cache
        tampered[0] = UInt8(ascii: "[")
        try tune.send(try Framing.routed(to: id, Envelope(.trialDataChunk(.with { $0.data = tampered }))))
        var reported: Mien_V1_Error?
        while reported == nil, let frames = try tune.receive(timeoutMs: 5_000) {
            if case .error(let e) = try Framing.decodeRouted(frames).envelope.payload { reported = e }
        }
        XCTAssertTrue(reported?.message.contains("checksum") == true, "\(String(describing: reported))")
        XCTAssertThrowsError(try w.wait()) { XCTAssertTrue("\($0)".contains("does not match its checksum"), "\($0)") }
        tune.close()
    }
}
