import Foundation
import XCTest
import MienCore
import MienProto
import MienWire
@testable import MienCluster

/// The aggregator's job fed a long video message by message, as the coordinator sends it: what
/// it holds stays bounded by the window pipeline's lag, and its frames leave for the sinks
/// before the video ends.
final class AggregatorMemoryTests: XCTestCase {
    /// One face seen for 100 000 frames (about 67 minutes at 25 fps), sent in parts of 100
    /// frames with its windows' predictions a part behind: the job never holds more than a few
    /// hundred frames, and frames.jsonl has them all before the manifest comes. (Kept to the
    /// video's end, as before, the job held every frame: 100 000.)
    func testFramesHeldStayBoundedWhileALongVideoStreams() throws {
        let out = temporaryDirectory("aggmemory")
        var config = Aggregator.Config(endpoints: ClusterEndpoints(features: "", sequences: "", aggregator: "", results: ""), outputDirectory: out)
        config.labels = ExpressionClass.labels
        let sinks = try Sinks(directory: out, resume: false)
        var published = 0, replies: [String] = []
        let job = AggregatorJob(config: config, sinks: sinks, restored: RestoredScores(labels: config.labels, frameTruth: [:]),
                                output: .init(publish: { _ in published += 1 }, reply: { if case .ack(let a) = $0 { replies.append(a.detail) } }),
                                logger: .quiet("test"))
        let n: UInt64 = 100_000, part: UInt64 = 100, length = 16
        var windower = TrackWindower(length: length, stride: 8)
        var maxHeld = 0
        var cut = 0
        func predictions(_ ws: [TrackWindow]) -> Mien_V1_WindowPredictionBatch {
            .with { $0.predictions = ws.map { w in .with {
                $0.videoID = "long"; $0.trackID = 1; $0.windowIndex = w.index; $0.startFrame = w.startFrame; $0.endFrame = w.endFrame
                $0.probs = .with { $0.probs = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4] }
            } } }
        }
        var behind: [TrackWindow] = []
        for start in stride(from: 0, to: n, by: Int(part)) {
            let frames = (start..<start + part).map { f in Mien_V1_TrackFrame.with {
                $0.frame = f; $0.timeS = Double(f) / 25
                $0.box = .with { $0.x = 10; $0.y = 10; $0.width = 50; $0.height = 50 }
                $0.cnnProbs = .with { $0.probs = [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1] }
            } }
            let cutNow = frames.compactMap { windower.append(TrackStep(frame: $0.frame, embedding: [])) }
            let last = start + part == n
            let tail = last ? [windower.finish()].compactMap { $0 } : []
            cut += cutNow.count + tail.count
            XCTAssertFalse(try job.handle(.trackFrames(.with {
                $0.videoID = "long"; $0.trackID = 1; $0.frames = frames; $0.last = last; $0.windows = last ? UInt32(cut) : 0
            })))
            // The previous part's windows come back now (a part behind), the rest at the end.
            XCTAssertFalse(try job.handle(.windowPredictionBatch(predictions(behind))))
            behind = cutNow + tail
            maxHeld = max(maxHeld, job.framesHeld)
        }
        XCTAssertFalse(try job.handle(.windowPredictionBatch(predictions(behind))))
        XCTAssertEqual(job.framesHeld, 0)
        XCTAssertLessThanOrEqual(maxHeld, 3 * Int(part) + length, "frames held at most")
        XCTAssertEqual(Sinks.lines((out as NSString).appendingPathComponent("frames.jsonl")).count, Int(n), "every frame written before the manifest")
        XCTAssertEqual(replies, [], "not finalised before its manifest")
        XCTAssertFalse(try job.handle(.manifest(.with {
            $0.videoID = "long"; $0.frameCount = n; $0.framesPerTrack = [1: UInt32(n)]; $0.windowsPerTrack = [1: UInt32(cut)]; $0.windowLength = UInt32(length)
        })))
        XCTAssertEqual(replies, ["ok"])
        XCTAssertTrue(job.videos.isEmpty)
        sinks.close()
        let videos = readLines(out, "videos.jsonl")
        XCTAssertEqual(videos.first?["faces"] as? Int, Int(n))
        XCTAssertEqual(videos.first?["label"] as? String, "neutral")
        XCTAssertEqual(readLines(out, "segments.jsonl").count, 1)
        XCTAssertEqual(published, Int(n) + 2, "every frame, the segment and the video")
    }
}
