import Foundation
import XCTest
import MienCore
@testable import MienCluster

final class EmbeddedJobTests: XCTestCase {
    func job(_ inputs: [VideoInput], out: String, fw: Int = 2, sw: Int = 2, resume: Bool = false, windows: Bool = false,
             featureDelay: TimeInterval = 0, liveness: Liveness = Liveness(heartbeatMs: 100, expiryMs: 400),
             inline: InlineTally? = nil, log: BatchLog? = nil,
             tune: @escaping @Sendable (inout Coordinator.Config) -> Void = { _ in }) -> EmbeddedJob {
        var c = EmbeddedJob.Config(inputs: inputs, outputDirectory: out)
        c.writeWindows = windows
        c.featureWorkers = fw
        c.sequenceWorkers = sw
        c.resume = resume
        c.coordinator = {
            $0.batchFrames = 8
            $0.windowLength = 6
            $0.windowStride = 3
            $0.windowsPerBatch = 4
            $0.liveness = liveness
            $0.itemDeadlineMs = 5_000
            // Inline mode: the coordinator decodes (synthetic frames); workers have no storage.
            if let inline {
                $0.frames = .inline
                $0.inlineDecoder = { FakeInlineDecoder(tally: inline) }
            }
            tune(&$0)
        }
        return EmbeddedJob(config: c, featureCompute: { FakeFeatureCompute(delay: featureDelay, noStorage: inline != nil, tally: inline, log: log) },
                           sequenceCompute: { FakeSequenceCompute(log: log) }, probe: FakeArchive.probe)
    }

    /// Every (video, frame, track) exactly once, in order, labelled; segments and videos consistent.
    func testEveryFrameExactlyOnceWithTwoWorkersOfEachKind() throws {
        let out = temporaryDirectory("e2e")
        let inputs = FakeArchive.inputs([50, 37, 5, 64])
        let progress = try job(inputs, out: out).run(interval: 0.05)
        XCTAssertEqual(progress.videosDone, 4)
        XCTAssertEqual(progress.videosFailed, 0)
        let frames = readLines(out, "frames.jsonl")
        var expected = 0
        for (i, n) in [50, 37, 5, 64].enumerated() { expected += n + (i % 2 == 1 ? 20 : 0) }
        XCTAssertEqual(frames.count, expected)
        let keys = frames.map { "\($0["video"]!)/\($0["frame"]!)/\($0["track"]!)" }
        XCTAssertEqual(Set(keys).count, keys.count, "no frame twice")
        for f in frames {
            XCTAssertNotNil(ExpressionClass(rawValue: f["label"] as! String))
            XCTAssertEqual((f["probs"] as! [String: Double]).count, 7)
            XCTAssertEqual((f["box"] as! [Double]).count, 4)
        }
        // Track 2 of odd videos is the second face.
        XCTAssertEqual(Set(frames.filter { $0["video"] as! String == "video1" }.map { $0["track"] as! Int }), [1, 2])
        let videos = readLines(out, "videos.jsonl")
        XCTAssertEqual(videos.map { $0["video"] as! String }.sorted(), ["video0", "video1", "video2", "video3"])
        XCTAssertTrue(videos.allSatisfy { $0["status"] as! String == "ok" })
        // Segments tile each track's frames.
        let segments = readLines(out, "segments.jsonl")
        for v in 0..<4 {
            let covered = segments.filter { $0["video"] as! String == "video\(v)" && $0["track"] as! Int == 1 }
                .reduce(0) { $0 + ($1["end_frame"] as! Int) - ($1["start_frame"] as! Int) + 1 }
            XCTAssertEqual(covered, [50, 37, 5, 64][v])
        }
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        XCTAssertEqual((metrics["bilstm"] as! [String: Any])["count"] as! Int, expected)
    }

    /// With `writeWindows` (mien evaluate) every window of every track is in windows.jsonl
    /// once, as the windower cut it (a track shorter than a window has none: the CNN labels
    /// it); without it there is no such file.
    func testWindowsSinkHasEveryWindowOnce() throws {
        let out = temporaryDirectory("windows")
        _ = try job(FakeArchive.inputs([50, 37, 5]), out: out, windows: true).run(interval: 0.05)
        let frames = readLines(out, "frames.jsonl"), windows = readLines(out, "windows.jsonl")
        let tracks = Dictionary(grouping: frames, by: { "\($0["video"]!)/\($0["track"]!)" }).filter { $0.value.count >= 6 }
        XCTAssertEqual(tracks.count, 3, "video0/1, video1/1 and video1/2, not the 5 frames of video2/1")
        XCTAssertEqual(Set(windows.map { "\($0["video"]!)/\($0["track"]!)" }), Set(tracks.keys))
        for (key, fs) in tracks {
            let ws = windows.filter { "\($0["video"]!)/\($0["track"]!)" == key }
            XCTAssertEqual(ws.map { $0["window"] as! Int }, Array(0..<ws.count), "\(key): each window once, in order")
            XCTAssertEqual(ws.count, TrackWindower.windowCount(steps: fs.count, length: 6, stride: 3), key)
            let frameSet = Set(fs.map { $0["frame"] as! Int })
            var covered = Set<Int>()
            for w in ws {
                let span = Set((w["start_frame"] as! Int)...(w["end_frame"] as! Int)).intersection(frameSet)
                XCTAssertEqual(w["frames"] as? Int, span.count, key)
                covered.formUnion(span)
                let probs = w["probs"] as! [String: Double]
                XCTAssertEqual(w["label"] as? String, probs.max { $0.value < $1.value }?.key, key)
            }
            XCTAssertEqual(covered, frameSet, "\(key): the windows cover the track")
        }
        let plain = temporaryDirectory("no-windows")
        _ = try job(FakeArchive.inputs([20]), out: plain).run(interval: 0.05)
        XCTAssertFalse(FileManager.default.fileExists(atPath: plain + "/windows.jsonl"))
    }

    /// A track shorter than a window (video2: 5 frames, T = 6) is labelled by the CNN — each
    /// frame gets the mean of the track's CNN probabilities — and so are its segment and its
    /// video; longer tracks by the BiLSTM. frames.jsonl says which in `source`.
    func testTrackShorterThanAWindowIsLabelledByTheCNN() throws {
        let out = temporaryDirectory("short-tracks")
        _ = try job(FakeArchive.inputs([50, 37, 5]), out: out).run(interval: 0.05)
        let frames = readLines(out, "frames.jsonl")
        XCTAssertEqual(frames.count, 50 + 37 + 20 + 5)
        for f in frames {
            let key = "\(f["video"]!)/\(f["frame"]!)/\(f["track"]!)"
            let short = f["video"] as! String == "video2"
            XCTAssertEqual(f["source"] as? String, short ? "cnn" : "bilstm", key)
            guard short else { continue }
            XCTAssertEqual(f["label"] as? String, "fear", "\(key): the fake CNN's class for video2")
            XCTAssertEqual(f["label"] as? String, f["cnn_label"] as? String, key)
            let probs = f["probs"] as! [String: Double], cnn = f["cnn_probs"] as! [String: Double]
            XCTAssertEqual(Set(probs.keys), Set(cnn.keys), key)
            for (k, p) in probs { XCTAssertEqual(p, cnn[k]!, accuracy: 1e-6, "\(key) \(k)") }
        }
        // The BiLSTM's fake labels differ from the CNN's on the long tracks (so the check above means something).
        XCTAssertTrue(frames.contains { $0["source"] as? String == "bilstm" && $0["label"] as? String != $0["cnn_label"] as? String })
        let segments = readLines(out, "segments.jsonl").filter { $0["video"] as! String == "video2" }
        XCTAssertEqual(segments.map { $0["label"] as! String }, ["fear"])
        XCTAssertEqual(segments.map { [$0["start_frame"] as! Int, $0["end_frame"] as! Int] }, [[0, 4]])
        let video2 = readLines(out, "videos.jsonl").first { $0["video"] as! String == "video2" }!
        XCTAssertEqual(video2["label"] as? String, "fear")
        XCTAssertEqual(video2["cnn_label"] as? String, "fear")
    }

    /// Results do not depend on how many workers ran them (a short track, labelled by the CNN, included).
    func testOutputsEqualAcrossWorkerCounts() throws {
        let inputs = FakeArchive.inputs([40, 23, 33, 5])
        let a = temporaryDirectory("one"), b = temporaryDirectory("two")
        _ = try job(inputs, out: a, fw: 1, sw: 1).run(interval: 0.05)
        _ = try job(inputs, out: b, fw: 3, sw: 2).run(interval: 0.05)
        for file in ["frames.jsonl", "segments.jsonl"] {
            XCTAssertEqual(Set(Sinks.lines(a + "/" + file)), Set(Sinks.lines(b + "/" + file)), file)
        }
    }

    /// The coordinator does not run ahead of the aggregator: with many short videos (each
    /// finishes long before the aggregator has written and fsynced the previous one) no more than
    /// `maxUnacknowledgedVideos` + the active-video limit − 1 wait for their results at once (a
    /// video is only started below the bound; the active ones may all finish after that; by
    /// reference the limit is 3 for 2 feature workers), and every video still completes.
    func testCoordinatorWaitsForTheAggregator() throws {
        let inputs = FakeArchive.inputs(Array(repeating: 3, count: 24))
        let out = temporaryDirectory("backpressure")
        let progress = try job(inputs, out: out, fw: 2, sw: 1, tune: { $0.maxUnacknowledgedVideos = 1 }).run(interval: 0.05)
        XCTAssertEqual(progress.videosDone, 24)
        XCTAssertLessThanOrEqual(progress.peakVideosAwaitingResults, 3, "1 + 3 active − 1")
        XCTAssertEqual(readLines(out, "videos.jsonl").count, 24)
        let loose = try job(inputs, out: temporaryDirectory("backpressure-loose"), fw: 2, sw: 1, tune: { $0.maxUnacknowledgedVideos = 1_000 })
            .run(interval: 0.05)
        XCTAssertGreaterThan(loose.peakVideosAwaitingResults, 3, "without the bound the coordinator runs ahead (so the first assertion can fail); peak \(loose.peakVideosAwaitingResults)")
    }

    /// A bad input is reported in videos.jsonl; the other videos are unaffected. Frames by
    /// reference (the worker's decoder fails) or inline (the coordinator's does).
    func testBadInputIsReportedAndTheRestGoesOn() throws {
        for inline in [nil, InlineTally()] {
            let out = temporaryDirectory("bad")
            var inputs = FakeArchive.inputs([20, 20])
            inputs.insert(VideoInput(id: "broken", path: "fake/broken.corrupt"), at: 1)
            inputs.append(VideoInput(id: "empty", path: "fake/empty-0"))
            inputs.append(VideoInput(id: "undecodable", path: "fake/undecodable-30"))
            let progress = try job(inputs, out: out, inline: inline).run(interval: 0.05)
            XCTAssertEqual(progress.videosDone, 5)
            XCTAssertEqual(progress.videosFailed, 3)
            let videos = Dictionary(uniqueKeysWithValues: readLines(out, "videos.jsonl").map { ($0["video"] as! String, $0) })
            XCTAssertEqual(videos["broken"]?["status"] as? String, "error")
            XCTAssertTrue((videos["broken"]?["error"] as? String ?? "").contains("corrupt"))
            XCTAssertEqual(videos["empty"]?["status"] as? String, "error")
            XCTAssertTrue((videos["empty"]?["error"] as? String ?? "").contains("no frames"))
            XCTAssertEqual(videos["undecodable"]?["status"] as? String, "error")
            let decodeError = videos["undecodable"]?["error"] as? String ?? ""
            XCTAssertTrue(decodeError.contains("fake/undecodable-30: invalid data found"), decodeError)
            if inline != nil { XCTAssertTrue(decodeError.contains("for inline frames"), decodeError) }
            XCTAssertEqual(videos["video0"]?["status"] as? String, "ok")
            XCTAssertEqual(videos["video1"]?["status"] as? String, "ok")
            XCTAssertEqual(readLines(out, "frames.jsonl").count, 20 + (20 + 10), "video1 has a second face on frames 10..<20")
        }
    }

    /// A feature worker that dies mid-job (stops without a word): its batches are re-queued
    /// after the heartbeat expiry and the outputs equal a fault-free run's.
    func testFeatureWorkerDeathMidJobLosesNothing() throws {
        let inputs = FakeArchive.inputs([64, 48])
        let clean = temporaryDirectory("clean"), faulty = temporaryDirectory("faulty")
        _ = try job(inputs, out: clean, fw: 1, sw: 1).run(interval: 0.05)
        let progress = try runStoppingAFeatureWorker(job(inputs, out: faulty, fw: 2, sw: 1, featureDelay: 0.02))
        XCTAssertEqual(progress.videosDone, 2)
        XCTAssertEqual(Set(Sinks.lines(clean + "/frames.jsonl")), Set(Sinks.lines(faulty + "/frames.jsonl")))
        XCTAssertEqual(Sinks.lines(clean + "/frames.jsonl").count, Sinks.lines(faulty + "/frames.jsonl").count)
    }

    /// Runs `j`, stopping one of its feature workers without a word once 16 frames are done.
    func runStoppingAFeatureWorker(_ j: EmbeddedJob) throws -> JobProgress {
        var killed = false
        let progress = try j.run(interval: 0.02) { p in
            if !killed && p.framesDone >= 16, let victim = j.runningFeatureWorkers.first {
                victim.stop()
                killed = true
            }
        }
        XCTAssertTrue(killed, "a feature worker was stopped mid-job")
        return progress
    }

    /// The same with small chunks and a short look-ahead: the dead worker's span is given back
    /// and its batches in flight re-queued; every frame still once, as in a fault-free run.
    func testFeatureWorkerDeathWithSmallChunksLosesNothing() throws {
        let inputs = FakeArchive.inputs([120, 90])
        let clean = temporaryDirectory("clean-chunks"), faulty = temporaryDirectory("faulty-chunks")
        _ = try job(inputs, out: clean, fw: 1, sw: 1).run(interval: 0.05)
        let progress = try runStoppingAFeatureWorker(job(inputs, out: faulty, fw: 2, sw: 1, featureDelay: 0.02,
                                                         tune: { $0.chunkBatches = 3; $0.maxBatchesAhead = 5 }))
        XCTAssertEqual(progress.videosDone, 2)
        XCTAssertEqual(progress.videosFailed, 0)
        XCTAssertLessThanOrEqual(progress.peakResultsAwaitingOrder, 4, "results held for order ≤ maxBatchesAhead − 1")
        XCTAssertEqual(Sinks.lines(clean + "/frames.jsonl").sorted(), Sinks.lines(faulty + "/frames.jsonl").sorted())
    }

    // MARK: batch affinity

    /// Two feature workers on one video (frames by reference): each works through contiguous
    /// runs of batches, so nearly every batch it gets follows the one it got before (it goes on
    /// decoding instead of seeking); both do a fair share; every batch runs once; the outputs
    /// equal one worker's. With chunks of one batch they alternate, as every batch did before.
    func testTwoWorkersOnOneVideoGetConsecutiveBatches() throws {
        let inputs = FakeArchive.inputs([1_600])  // 200 batches of 8 frames
        func run(chunk: Int, out: String) throws -> (follow: Double, shares: [Int]) {
            let log = BatchLog()
            let progress = try job(inputs, out: out, fw: 2, sw: 1, featureDelay: 0.002, log: log,
                                   tune: { $0.chunkBatches = chunk }).run(interval: 0.05)
            XCTAssertEqual(progress.videosDone, 1)
            XCTAssertLessThanOrEqual(progress.peakResultsAwaitingOrder, 4 * chunk - 1, "chunk \(chunk): results held for order ≤ maxBatchesAhead − 1")
            if chunk > 1 { XCTAssertGreaterThan(progress.peakResultsAwaitingOrder, 0, "a second run's results wait for the first's (≈ a chunk)") }
            let ran = log.batches
            let starts = ran.values.flatMap { $0.map(\.start) }
            XCTAssertEqual(starts.sorted(), Array(stride(from: 0, to: 1_600, by: 8)), "chunk \(chunk): every batch once")
            var follow = 0
            for batches in ran.values {
                follow += zip(batches, batches.dropFirst()).filter { $1.start == $0.start + 8 }.count
            }
            return (Double(follow) / Double(starts.count - ran.count), ran.values.map(\.count).sorted())
        }
        let one = temporaryDirectory("affinity-one"), chunked = temporaryDirectory("affinity-chunked")
        _ = try job(inputs, out: one, fw: 1, sw: 1).run(interval: 0.05)
        let affine = try run(chunk: 16, out: chunked)
        XCTAssertGreaterThan(affine.follow, 0.8, "share of batches following their worker's previous one (≈ 0.95: a jump per chunk of 16 and a few at the end)")
        XCTAssertEqual(affine.shares.count, 2)
        XCTAssertGreaterThan(affine.shares.first ?? 0, 200 / 4, "both workers share the work: \(affine.shares)")
        for file in ["frames.jsonl", "segments.jsonl", "videos.jsonl"] {
            XCTAssertEqual(Sinks.lines(one + "/" + file).sorted(), Sinks.lines(chunked + "/" + file).sorted(), file)
        }
        let alternating = try run(chunk: 1, out: temporaryDirectory("affinity-alternating"))
        XCTAssertLessThan(alternating.follow, affine.follow - 0.3, "without chunks batches alternate between the workers")
    }

    /// Window batches go to the sequence workers as they fill, while the video's feature batches
    /// are still coming: the sequence workers work alongside the feature workers (not all at the
    /// end of the video, on one core), and the coordinator never holds a long video's windows.
    func testWindowsGoOutWhileTheVideoIsStillProcessed() throws {
        let log = BatchLog()
        // 100 batches of 8 frames, one face: windows of 6 steps every 3 → a full batch of 4
        // windows about every 12 frames.
        let progress = try job(FakeArchive.inputs([800]), out: temporaryDirectory("streamed-windows"), fw: 1, sw: 1,
                               featureDelay: 0.002, log: log).run(interval: 0.05)
        XCTAssertEqual(progress.videosDone, 1)
        let before = log.featureBatchesBeforeEachSequenceBatch
        XCTAssertEqual(before.count, (TrackWindower.windowCount(steps: 800, length: 6, stride: 3) + 3) / 4, "every window, in full batches but the last")
        // Before the fix every window batch ran after all 100 feature batches. Bounds loose enough
        // for a loaded machine, where the sequence worker may lag a few batches behind.
        XCTAssertLessThan(before.first ?? .max, 50, "the first window batch runs after a few feature batches, not after all 100")
        XCTAssertLessThan(before.filter { $0 >= 100 }.count, before.count / 4, "most window batches run while the video is processed: \(before)")
    }

    /// Window batches are cut per video, in the video's window order: the same batches whatever
    /// the workers' count and timing (the BiLSTM's float32 results depend on its batch, so the
    /// outputs then do not depend on how the job ran). They used to mix the windows of whichever
    /// videos were active, in arrival order.
    func testWindowBatchesAreTheSameWhateverTheWorkers() throws {
        let inputs = FakeArchive.inputs([90, 130, 70, 110, 50])
        var runs: [[[String]]] = []
        for (fw, sw, delay) in [(1, 1, 0.0), (3, 2, 0.001), (2, 3, 0.0)] {
            let log = BatchLog()
            let progress = try job(inputs, out: temporaryDirectory("window-batches-\(fw)"), fw: fw, sw: sw, featureDelay: delay, log: log)
                .run(interval: 0.05)
            XCTAssertEqual(progress.videosDone, 5)
            let batches = log.windowBatchContents
            for batch in batches {
                let videos = Set(batch.map { $0.split(separator: "/")[0] })
                XCTAssertEqual(videos.count, 1, "a window batch holds one video's windows: \(batch)")
            }
            runs.append(batches.sorted { $0.first! < $1.first! })
        }
        XCTAssertEqual(runs[0], runs[1], "1 worker against 3")
        XCTAssertEqual(runs[0], runs[2], "1 worker against 2 (3 sequence workers)")
    }

    /// Workers' computes are built side by side: values come back in the builders' order, and a
    /// failing builder's error (the first in order) is what the job reports.
    func testComputesBuiltInParallelKeepOrderAndErrors() throws {
        let values = try buildInParallel((0..<8).map { i in { @Sendable in Thread.sleep(forTimeInterval: Double(8 - i) / 1000); return i } })
        XCTAssertEqual(values, Array(0..<8))
        let (text, number) = try buildInParallel({ "a" }, { 2 })
        XCTAssertEqual(text, "a")
        XCTAssertEqual(number, 2)
        let failing: [@Sendable () throws -> Int] = [{ 1 }, { throw ClusterError.input("second") }, { throw ClusterError.input("third") }]
        XCTAssertThrowsError(try buildInParallel(failing)) {
            XCTAssertEqual("\($0)", "\(ClusterError.input("second"))")
        }
    }

    /// The coordinator stops mid-job; a new run with resume finishes it: every video once,
    /// frames equal to a fault-free run's (the last video's track is shorter than a window).
    func testResumeAfterCoordinatorStopRedoesNothingFinished() throws {
        let inputs = FakeArchive.inputs([40, 40, 40, 40, 5])
        let clean = temporaryDirectory("clean2"), out = temporaryDirectory("resume")
        _ = try job(inputs, out: clean, fw: 1, sw: 1).run(interval: 0.05)
        let first = job(inputs, out: out, fw: 1, sw: 1, featureDelay: 0.03)
        var stopped = false
        let p1 = try first.run(interval: 0.02) { p in
            if !stopped && p.videosDone >= 2 { first.stop(); stopped = true }
        }
        XCTAssertLessThan(p1.videosDone, 5, "stopped before the end")
        let doneBefore = Set(readLines(out, "videos.jsonl").map { $0["video"] as! String })
        XCTAssertGreaterThanOrEqual(doneBefore.count, 2)
        let p2 = try job(inputs, out: out, fw: 1, sw: 1, resume: true).run(interval: 0.05)
        XCTAssertEqual(p2.videosDone, 5)
        let videos = readLines(out, "videos.jsonl").map { $0["video"] as! String }
        XCTAssertEqual(videos.count, 5, "each video once")
        XCTAssertEqual(Set(videos).count, 5)
        XCTAssertEqual(Sinks.lines(out + "/frames.jsonl").sorted(), Sinks.lines(clean + "/frames.jsonl").sorted())
    }

    // MARK: inline frames

    /// Inline batches (decoded by the coordinator, workers without storage) give the outputs of
    /// by-reference batches: the same frames, indices and timestamps reach the same compute.
    func testInlineFramesGiveTheReferenceOutputs() throws {
        let inputs = FakeArchive.inputs([50, 37, 5, 64])
        let reference = temporaryDirectory("reference"), inline = temporaryDirectory("inline")
        _ = try job(inputs, out: reference).run(interval: 0.05)
        let tally = InlineTally()
        let progress = try job(inputs, out: inline, inline: tally).run(interval: 0.05)
        XCTAssertEqual(progress.videosDone, 4)
        XCTAssertEqual(progress.videosFailed, 0)
        XCTAssertEqual(tally.counts.reference, 0, "no by-reference batch in inline mode")
        XCTAssertEqual(tally.counts.inline, 7 + 5 + 1 + 8, "one batch of 8 frames at a time")
        for file in ["frames.jsonl", "segments.jsonl", "videos.jsonl"] {
            XCTAssertEqual(Sinks.lines(reference + "/" + file).sorted(), Sinks.lines(inline + "/" + file).sorted(), file)
        }
    }

    /// A feature worker dies mid-job in inline mode: its batches are re-queued with their
    /// frames and every frame reaches the outputs exactly once, as in a fault-free run.
    func testInlineFeatureWorkerDeathDeliversEveryFrameOnce() throws {
        let inputs = FakeArchive.inputs([64, 48])
        let clean = temporaryDirectory("clean-inline"), faulty = temporaryDirectory("faulty-inline")
        _ = try job(inputs, out: clean, fw: 1, sw: 1).run(interval: 0.05)
        let progress = try runStoppingAFeatureWorker(job(inputs, out: faulty, fw: 2, sw: 1, featureDelay: 0.02, inline: InlineTally()))
        XCTAssertEqual(progress.videosDone, 2)
        XCTAssertEqual(progress.videosFailed, 0)
        let frames = readLines(faulty, "frames.jsonl").map { "\($0["video"]!)/\($0["frame"]!)/\($0["track"]!)" }
        XCTAssertEqual(Set(frames).count, frames.count, "no frame twice")
        XCTAssertEqual(Sinks.lines(clean + "/frames.jsonl").sorted(), Sinks.lines(faulty + "/frames.jsonl").sorted())
    }

    /// Decoded batches held by the coordinator stay within `maxOutstandingBatches`, however slow the workers.
    func testInlineDecodingIsBoundedByOutstandingBatches() throws {
        let tally = InlineTally()
        let progress = try job(FakeArchive.inputs([100, 60]), out: temporaryDirectory("bounded"), fw: 1, sw: 1,
                               featureDelay: 0.01, inline: tally, tune: { $0.maxOutstandingBatches = 3 }).run(interval: 0.05)
        XCTAssertEqual(progress.videosDone, 2)
        XCTAssertEqual(tally.counts.inline, 13 + 8)
        XCTAssertLessThanOrEqual(tally.peakHeld, 3)
        XCTAssertGreaterThanOrEqual(tally.peakHeld, 2, "the decoder runs ahead of the worker")
    }

    /// An inline batch over the workers' message limit fails its video with a message that says what to do.
    func testInlineBatchOverTheMessageLimitFailsItsVideo() throws {
        // 8 frames of 2 bytes = 16 bytes a batch, over a 10-byte limit: at most 5 frames fit.
        let big = temporaryDirectory("inline-big")
        let p2 = try job(FakeArchive.inputs([20]), out: big, inline: InlineTally(), tune: { $0.maxInlineBatchBytes = 10 }).run(interval: 0.05)
        XCTAssertEqual(p2.videosFailed, 1)
        let error = readLines(big, "videos.jsonl").first?["error"] as? String ?? ""
        XCTAssertTrue(error.contains("is 16 bytes, over the 10 a worker accepts"), error)
        XCTAssertTrue(error.contains("--batch-frames 5 or less, or --frames reference"), error)
    }
}
