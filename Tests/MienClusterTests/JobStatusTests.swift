import Foundation
import XCTest
@testable import MienCluster

final class JobStatusTests: XCTestCase {
    func progress() -> JobProgress {
        var p = JobProgress()
        p.videosTotal = 4; p.videosStarted = 2; p.videosDone = 1; p.videosFailed = 1
        p.framesTotal = 200; p.framesDone = 50
        p.featureWorkers = 2; p.sequenceWorkers = 1
        p.featureBatchesInFlight = 3; p.featureBatchesQueued = 5; p.sequenceBatchesInFlight = 1; p.requeuedBatches = 2
        return p
    }

    /// 50 frames in 10 s = 5 frames/s; 2 of 4 videos probed with 200 frames, so 400 expected
    /// and 350 left: 70 s.
    func testRateAndETA() {
        let s = JobStatus(job: "job-1", progress: progress(), elapsed: 10)
        XCTAssertEqual(s.framesPerSecond, 5)
        XCTAssertEqual(s.etaS!, 70, accuracy: 1e-9)
        XCTAssertEqual(s.progressLine, "videos 1/4 (1 failed)  frames 50/200  5.0 frames/s  ETA 1:10  workers 2 feature, 1 sequence")
        XCTAssertEqual(s.statusLine, "job-1 running: videos 1/4 (1 failed)  frames 50/200  5.0 frames/s  ETA 1:10  workers 2 feature, 1 sequence; batches in flight 3 feature, 1 sequence (queued 5, 0; re-queued 2)")
        XCTAssertNil(JobStatus(job: "j", progress: progress(), elapsed: 0).etaS, "no rate yet")
        var done = progress()
        done.finished = true
        XCTAssertEqual(JobStatus(job: "j", progress: done, elapsed: 10).progressLine.contains("  done  "), true)
    }

    func testJSONHasSnakeCaseKeysAndRoundTrips() throws {
        let s = JobStatus(job: "job-1", progress: progress(), elapsed: 10)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.json())) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["job", "state", "elapsed_s", "videos", "frames", "frames_per_second", "eta_s", "live_workers", "batches"])
        XCTAssertEqual((json["batches"] as? [String: Int])?["feature_in_flight"], 3)
        XCTAssertEqual((json["videos"] as? [String: Int])?["failed"], 1)
        XCTAssertEqual(try JobStatus.decode(Data(s.json())), s)
    }
}
