import Foundation
import Logging
import XCTest
import MienCore
import MienTestKit
@testable import MienCluster

/// Probing a video on slow storage does not stall the coordinator's loop: while the third
/// video's probe takes 1.5 s (several worker expiry periods), heartbeats and results of the
/// videos in progress go on — no worker is taken for dead, nothing is re-queued.
final class SlowProbeTests: XCTestCase {
    func testSlowProbeDoesNotStallHeartbeatsOrWork() throws {
        let out = temporaryDirectory("slowprobe")
        var c = EmbeddedJob.Config(inputs: FakeArchive.inputs([80, 80, 80]), outputDirectory: out)
        c.featureWorkers = 1
        c.sequenceWorkers = 1
        c.coordinator = {
            $0.batchFrames = 8
            $0.windowLength = 6
            $0.windowStride = 3
            $0.windowsPerBatch = 4
            $0.maxActiveVideos = 1  // video2 starts once one of the first two is finished: mid-job
            $0.liveness = Liveness(heartbeatMs: 100, expiryMs: 400)
        }
        let sink = LogSink()
        let job = EmbeddedJob(config: c, featureCompute: { FakeFeatureCompute(delay: 0.01) }, sequenceCompute: { FakeSequenceCompute() },
                              probe: { input in
                                  if input.id == "video2" { Thread.sleep(forTimeInterval: 1.5) }
                                  return try FakeArchive.probe(input)
                              },
                              logger: Logger(label: "test", factory: { _ in CapturingLogHandler(sink: sink) }))
        let progress = try job.run(interval: 0.05)
        XCTAssertEqual(progress.videosDone, 3)
        XCTAssertEqual(progress.videosFailed, 0)
        XCTAssertEqual(progress.requeuedBatches, 0, "no batch waited for a dead worker's expiry")
        let lost = sink.events.map(\.message).filter { $0.contains("stopped heartbeating") }
        XCTAssertEqual(lost, [], "no worker was taken for dead while a video was probed")
    }
}
