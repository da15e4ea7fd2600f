import Foundation
import Logging
import MetricsTestKit
import MienProto
import MienWire
import XCTest
import MienTestKit
@testable import MienCluster

/// The roles' instruments after a small in-process job equal the job's own counts, read from
/// its output files and from the inputs (a metric that drifts from what happened fails here).
final class RoleMetricsTests: XCTestCase {
    func runJob(_ inputs: [VideoInput], out: String, metrics: TestMetrics, featureCompute: @escaping @Sendable () -> WorkerCompute = { FakeFeatureCompute() }) throws -> JobProgress {
        var c = EmbeddedJob.Config(inputs: inputs, outputDirectory: out)
        c.featureWorkers = 2
        c.sequenceWorkers = 2
        c.metricsFactory = metrics
        c.coordinator = {
            $0.batchFrames = 8
            $0.windowLength = 6
            $0.windowStride = 3
            $0.windowsPerBatch = 4
            $0.liveness = Liveness(heartbeatMs: 100, expiryMs: 400)
            $0.itemDeadlineMs = 5_000
        }
        return try EmbeddedJob(config: c, featureCompute: featureCompute, sequenceCompute: { FakeSequenceCompute() },
                               probe: FakeArchive.probe).run(interval: 0.05)
    }

    let coordinator = [("role", "coordinator")]
    func kind(_ role: String, _ kind: String) -> [(String, String)] { [("role", role), ("kind", kind)] }

    func testCountersEqualTheJobsCounts() throws {
        let out = temporaryDirectory("metrics")
        let counts = [30, 17, 9]
        var inputs = FakeArchive.inputs(counts)
        inputs.append(VideoInput(id: "broken", path: "fake/broken.corrupt"))
        let m = TestMetrics()
        let progress = try runJob(inputs, out: out, metrics: m)
        XCTAssertEqual(progress.videosDone, 4)
        XCTAssertEqual(progress.videosFailed, 1)

        let frames = readLines(out, "frames.jsonl")
        let segments = readLines(out, "segments.jsonl")
        let videos = readLines(out, "videos.jsonl")
        let framesExamined = videos.reduce(0) { $0 + ($1["frames"] as! Int) }
        XCTAssertEqual(framesExamined, counts.reduce(0, +))
        let batches = counts.reduce(0) { $0 + ($1 + 7) / 8 }

        // Coordinator.
        XCTAssertEqual(try m.expectCounter(MetricName.framesProcessed, coordinator).totalValue, Int64(framesExamined))
        XCTAssertEqual(try m.expectCounter(MetricName.facesTracked, coordinator).totalValue, Int64(frames.count))
        XCTAssertEqual(try m.expectCounter(MetricName.videosDone, coordinator).totalValue, 4)
        XCTAssertEqual(try m.expectCounter(MetricName.videosFailed, coordinator).totalValue, 1)
        XCTAssertEqual(try m.expectMeter(MetricName.videos, coordinator).lastValue, 4)
        XCTAssertEqual(try m.expectMeter(MetricName.framesExpected, coordinator).lastValue, Double(counts.reduce(0, +)))
        XCTAssertEqual(try m.expectCounter(MetricName.batchesCompleted, kind("coordinator", "feature")).totalValue, Int64(batches))
        XCTAssertEqual(try m.expectCounter(MetricName.batchesDispatched, kind("coordinator", "feature")).totalValue, Int64(batches), "no faults: each batch handed out once")
        XCTAssertEqual(try m.expectCounter(MetricName.batchesRequeued, kind("coordinator", "feature")).totalValue, 0)
        XCTAssertEqual(try m.expectTimer(MetricName.batchRoundTrip, kind("coordinator", "feature")).values.count, batches)
        XCTAssertEqual(try m.expectTimer(MetricName.handOffToResult, coordinator).values.count, 4, "one hand-off per video")
        XCTAssertEqual(try m.expectMeter(MetricName.batchesInFlight, kind("coordinator", "feature")).lastValue, 0)
        XCTAssertEqual(try m.expectMeter(MetricName.queueDepth, kind("coordinator", "sequence")).lastValue, 0)
        XCTAssertEqual(try m.expectMeter(MetricName.workersLive, kind("coordinator", "feature")).lastValue, 2)
        XCTAssertEqual(try m.expectMeter(MetricName.workersLive, kind("coordinator", "sequence")).lastValue, 2)

        // Windows: cut by the coordinator = classified by sequence workers = merged by the aggregator.
        let windowsCut = try m.expectCounter(MetricName.windowsCut, coordinator).totalValue
        XCTAssertGreaterThan(windowsCut, 0)
        XCTAssertEqual(try m.expectCounter(MetricName.windowsProcessed, [("role", "sequence-worker")]).totalValue, windowsCut)
        XCTAssertEqual(try m.expectCounter(MetricName.windowsMerged, [("role", "aggregator")]).totalValue, windowsCut)
        let windowBatches = try m.expectCounter(MetricName.batchesCompleted, kind("coordinator", "sequence")).totalValue
        // At most 4 windows a batch; a batch is cut short only when a video ends.
        XCTAssertTrue(((windowsCut + 3) / 4...(windowsCut + 3) / 4 + Int64(counts.count)).contains(windowBatches), "\(windowBatches) batches for \(windowsCut) windows")
        XCTAssertEqual(try m.expectCounter(MetricName.batchesProcessed, kind("sequence-worker", "sequence")).totalValue, windowBatches)
        XCTAssertEqual(try m.expectTimer(MetricName.windowBatchSeconds, [("role", "sequence-worker")]).values.count, Int(windowBatches))

        // Feature workers (two in this process share one series).
        XCTAssertEqual(try m.expectCounter(MetricName.batchesProcessed, kind("feature-worker", "feature")).totalValue, Int64(batches))
        XCTAssertEqual(try m.expectCounter(MetricName.framesProcessed, [("role", "feature-worker")]).totalValue, Int64(framesExamined))
        let featureSeconds = try m.expectTimer(MetricName.featureBatchSeconds, [("role", "feature-worker")]).values
        XCTAssertEqual(featureSeconds.count, batches)
        XCTAssertTrue(featureSeconds.allSatisfy { $0 >= 0 })
        XCTAssertEqual(try m.expectMeter(MetricName.itemsHeld, [("role", "feature-worker")]).lastValue, 0, "every item held was answered")

        // Aggregator: one published envelope per output line.
        XCTAssertEqual(try m.expectCounter(MetricName.resultsPublished, kind("aggregator", "frame")).totalValue, Int64(frames.count))
        XCTAssertEqual(try m.expectCounter(MetricName.resultsPublished, kind("aggregator", "segment")).totalValue, Int64(segments.count))
        XCTAssertEqual(try m.expectCounter(MetricName.resultsPublished, kind("aggregator", "video")).totalValue, Int64(videos.count))
        XCTAssertEqual(try m.expectCounter(MetricName.resultsPublished, kind("aggregator", "job_metrics")).totalValue, 1)
        XCTAssertEqual(try m.expectCounter(MetricName.videosFinalised, [("role", "aggregator"), ("status", "ok")]).totalValue, 3)
        XCTAssertEqual(try m.expectCounter(MetricName.videosFinalised, [("role", "aggregator"), ("status", "error")]).totalValue, 1)
        XCTAssertEqual(try m.expectMeter(MetricName.videosPending, [("role", "aggregator")]).lastValue, 0)

        // No errors of any kind in a clean job.
        XCTAssertTrue(m.counters.filter { $0.label == MetricName.errors }.allSatisfy { $0.totalValue == 0 },
                      "\(m.counters.filter { $0.label == MetricName.errors }.map { ($0.dimensions, $0.totalValue) })")
    }

    /// A worker error is counted by kind on both sides, the batch retried, and the job still completes.
    func testWorkerErrorsAreCountedByKindAndRetried() throws {
        let out = temporaryDirectory("metrics-errors")
        let m = TestMetrics()
        let flaky = FailOnceFeatureCompute(failing: 2)
        let progress = try runJob(FakeArchive.inputs([24, 16]), out: out, metrics: m, featureCompute: { flaky })
        XCTAssertEqual(progress.videosDone, 2)
        XCTAssertEqual(progress.videosFailed, 0)
        XCTAssertEqual(try m.expectCounter(MetricName.errors, kind("feature-worker", "work_failed")).totalValue, 2)
        XCTAssertEqual(try m.expectCounter(MetricName.errors, kind("coordinator", "worker_error")).totalValue, 2)
        XCTAssertEqual(try m.expectCounter(MetricName.batchesRetried, kind("coordinator", "feature")).totalValue, 2)
        let batches = Int64(3 + 2)
        XCTAssertEqual(try m.expectCounter(MetricName.batchesCompleted, kind("coordinator", "feature")).totalValue, batches)
        XCTAssertEqual(try m.expectCounter(MetricName.batchesDispatched, kind("coordinator", "feature")).totalValue, batches + 2)
        XCTAssertEqual(try m.expectCounter(MetricName.batchesProcessed, kind("feature-worker", "feature")).totalValue, batches)
        XCTAssertEqual(try m.expectCounter(MetricName.framesProcessed, coordinator).totalValue, 40)
    }

    /// Role logs carry the ids as metadata (role, job, video, worker).
    func testLogsCarryIdsAsMetadata() throws {
        let out = temporaryDirectory("logs")
        let sink = LogSink()
        var c = EmbeddedJob.Config(inputs: [VideoInput(id: "broken", path: "fake/broken.corrupt")] + FakeArchive.inputs([8]), outputDirectory: out)
        c.coordinator = { $0.batchFrames = 8; $0.windowLength = 6; $0.windowStride = 3 }
        let logger = Logger(label: "test", factory: { _ in CapturingLogHandler(sink: sink) })
        _ = try EmbeddedJob(config: c, featureCompute: { FakeFeatureCompute() }, sequenceCompute: { FakeSequenceCompute() },
                            probe: FakeArchive.probe, logger: logger).run(interval: 0.05)
        let events = sink.events
        let failed = try XCTUnwrap(events.first { $0.message.hasPrefix("video failed") })
        XCTAssertEqual(failed.level, .warning)
        XCTAssertEqual(failed.metadata["video"], "broken")
        XCTAssertEqual(failed.metadata["role"], "coordinator")
        XCTAssertTrue(failed.metadata["job"]?.hasPrefix("job-") ?? false)
        let finalised = try XCTUnwrap(events.first { $0.message == "video finalised" })
        XCTAssertEqual(finalised.metadata["video"], "video0")
        XCTAssertEqual(finalised.metadata["role"], "aggregator")
        let joined = events.filter { $0.message.hasSuffix("worker joined") }
        XCTAssertEqual(joined.count, 2)
        XCTAssertTrue(joined.allSatisfy { ($0.metadata["worker"] ?? "").contains("#") }, "the worker's connection id")
    }
}

/// Fails the first `failing` batches it is given (an internal error: retried), then computes.
final class FailOnceFeatureCompute: WorkerCompute, @unchecked Sendable {
    let inner = FakeFeatureCompute()
    let lock = NSLock()
    var left: Int
    init(failing: Int) { left = failing }
    var role: Mien_V1_Role { inner.role }
    var modelHash: String { inner.modelHash }
    var capabilities: [String] { inner.capabilities }
    func process(_ work: Envelope.Payload) throws -> Envelope.Payload {
        let fail = lock.withLock { () -> Bool in
            guard left > 0 else { return false }
            left -= 1
            return true
        }
        if fail { throw WorkError(.internal, "injected failure (test)") }
        return try inner.process(work)
    }
}
