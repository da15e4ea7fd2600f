import XCTest
@testable import MienCore

/// The streaming label policy against the whole-video one it replaces (`TrackMerger`,
/// `TrackLabelling`, `Segmenter`, `VideoLabelling` over every frame at the video's end).
final class VideoLabellerTests: XCTestCase {
    let labels = ExpressionClass.labels
    let length = 16, stride = 8

    /// A made-up video: tracks with their frames (ascending, with gaps) and per-frame CNN
    /// probabilities; each window's BiLSTM probabilities are drawn from the seed.
    struct Track {
        var id: UInt32
        var frames: [UInt64]
        var cnn: [[Double]]
    }

    func probs(_ g: inout SplitMix64, peak: Int? = nil) -> [Double] {
        var p = (0..<7).map { _ in Double(g.next() % 1000) + 1 }
        if let peak { p[peak] += 4000 }
        let s = p.reduce(0, +)
        return p.map { $0 / s }
    }

    func makeTracks(seed: UInt64, count: Int, maxFrames: Int, gaps: Bool) -> [Track] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { t in
            let n = 1 + Int(g.next() % UInt64(maxFrames))
            var f = g.next() % 50
            var frames: [UInt64] = []
            for _ in 0..<n {
                frames.append(f)
                f += gaps && g.next() % 7 == 0 ? 2 + g.next() % 3 : 1
            }
            return Track(id: UInt32(t + 1), frames: frames, cnn: frames.map { _ in probs(&g) })
        }
    }

    /// The windows the coordinator cuts for a track (none for one shorter than a window), with
    /// their predictions.
    func windows(_ t: Track, seed: UInt64) -> [TrackLabelStream<Int>.Window] {
        guard t.frames.count >= length else { return [] }
        var g = SplitMix64(seed: seed &+ UInt64(t.id))
        var w = TrackWindower(length: length, stride: stride)
        let cut = t.frames.compactMap { w.append(TrackStep(frame: $0, embedding: [])) } + [w.finish()].compactMap { $0 }
        return cut.map { TrackLabelStream<Int>.Window(index: $0.index, startFrame: $0.startFrame, endFrame: $0.endFrame,
                                                      probs: probs(&g, peak: Int(g.next() % 7)).map(Float.init)) }
    }

    /// The old policy: every track at once, at the video's end.
    func reference(_ tracks: [Track], seed: UInt64) throws -> (frames: [String], segments: [String], label: Int, probs: [Double], cnnLabel: Int) {
        var frames: [String] = [], segments: [String] = []
        var bilstm = VideoLabelling(labels: labels), cnn = VideoLabelling(labels: labels)
        for t in tracks {
            var merger = TrackMerger(classes: 7)
            for w in windows(t, seed: seed) {
                merger.add(window: w.index, frames: t.frames.filter { $0 >= w.startFrame && $0 <= w.endFrame }, probs: w.probs)
            }
            let l = try TrackLabelling.label(frames: t.frames, cnnProbs: t.cnn, windows: merger, windowLength: length)
            var labelled: [(frame: UInt64, label: Int)] = []
            for (i, f) in t.frames.enumerated() {
                let label = argmax(l.probs[i])!
                bilstm.add(label: label, probabilities: l.probs[i])
                cnn.add(label: argmax(t.cnn[i])!, probabilities: t.cnn[i])
                frames.append("\(t.id) \(f) \(label) \(l.probs[i]) \(l.source)")
                labelled.append((f, label))
            }
            let step = zip(t.frames.dropFirst(), t.frames).map { $0 - $1 }.min() ?? 1
            segments += Segmenter.segments(labelled, maxGap: step).map { "\(t.id) \($0.startFrame)-\($0.endFrame) \($0.label) \(Double($0.startFrame) / 25)-\(Double($0.endFrame) / 25)" }
        }
        let p = bilstm.meanProbabilities
        return (frames, segments, bilstm.label(probabilities: p), p, cnn.label(probabilities: cnn.probabilitySums))
    }

    /// Streams the video as the coordinator and the sequence workers would: the tracks' frames in
    /// parts of `part` frames of video time, each track's last part saying its window count,
    /// windows delivered `lag` behind and out of order, with repeats. Checks `framesHeld`
    /// against `maxHeld` after every message.
    func stream(_ tracks: [Track], seed: UInt64, part: UInt64 = 100, lag: Int = 12, maxHeld: Int? = nil,
                file: StaticString = #filePath, line: UInt = #line) throws -> (frames: [String], segments: [String], summary: VideoLabeller<Int>.Summary) {
        var v = VideoLabeller<Int>(labels: labels)
        var g = SplitMix64(seed: seed ^ 0xABC)
        var frames: [String] = [], segments: [String] = []
        func collect(_ r: VideoLabeller<Int>.Results) {
            frames += r.frames.map { "\($0.track) \($0.frame.frame) \($0.label) \($0.probs) \($0.source)" }
            segments += r.segments.map { "\($0.track) \($0.segment.segment.startFrame)-\($0.segment.segment.endFrame) \($0.segment.segment.label) \($0.segment.startS)-\($0.segment.endS)" }
            if let maxHeld { XCTAssertLessThanOrEqual(v.framesHeld, maxHeld, "frames held", file: file, line: line) }
        }
        let cut = Dictionary(uniqueKeysWithValues: tracks.map { ($0.id, windows($0, seed: seed)) })
        var sentWindows: [UInt32: Int] = [:]
        var inFlight: [(UInt32, TrackLabelStream<Int>.Window)] = []
        let end = tracks.map { $0.frames.last! }.max()! + 1
        var from: UInt64 = 0
        while from < end || !inFlight.isEmpty {
            let to = from + part
            for t in tracks {
                let lo = t.frames.firstIndex { $0 >= from } ?? t.frames.count
                let hi = t.frames.firstIndex { $0 >= to } ?? t.frames.count
                let isLast = (from..<to).contains(t.frames.last!)
                guard lo < hi else { continue }
                let part = (lo..<hi).map { TrackLabelStream<Int>.Frame(frame: t.frames[$0], timeS: Double(t.frames[$0]) / 25, cnnProbs: t.cnn[$0], face: $0) }
                collect(try v.add(track: t.id, frames: part, lastWindows: isLast ? UInt32(cut[t.id]!.count) : nil))
                // Windows cut once their frames are in.
                while let next = cut[t.id]!.dropFirst(sentWindows[t.id, default: 0]).first, next.endFrame < to {
                    inFlight.append((t.id, next))
                    sentWindows[t.id, default: 0] += 1
                }
            }
            // Deliver all but the `lag` windows cut last, in a shuffled order, some twice.
            let keep = from + part < end ? min(lag, inFlight.count) : 0
            for (id, w) in inFlight.dropLast(keep).shuffled(using: &g) {
                collect(try v.add(track: id, window: w))
                if g.next() % 5 == 0 { collect(try v.add(track: id, window: w)) }
            }
            inFlight = Array(inFlight.suffix(keep))
            from = to
        }
        let framesPerTrack = Dictionary(uniqueKeysWithValues: tracks.map { ($0.id, UInt32($0.frames.count)) })
        let windowsPerTrack = Dictionary(uniqueKeysWithValues: tracks.map { ($0.id, UInt32(cut[$0.id]!.count)) })
        XCTAssertTrue(v.isComplete(framesPerTrack: framesPerTrack, windowsPerTrack: windowsPerTrack), file: file, line: line)
        let (last, summary) = try v.finish(windowsPerTrack: windowsPerTrack, windowLength: length)
        collect(last)
        XCTAssertEqual(v.framesHeld, 0, file: file, line: line)
        return (frames, segments, summary)
    }

    /// Same frame probabilities bit for bit, same labels, sources and segments; the video's
    /// label the same and its mean probabilities within the last bits.
    func testStreamingEqualsLabellingTheWholeVideo() throws {
        for seed in UInt64(1)...12 {
            let tracks = makeTracks(seed: seed, count: 1 + Int(seed % 4), maxFrames: seed % 3 == 0 ? 20 : 700, gaps: seed % 2 == 0)
            let want = try reference(tracks, seed: seed)
            let got = try stream(tracks, seed: seed, part: seed % 2 == 0 ? 100 : 7)
            XCTAssertEqual(got.frames.sorted(), want.frames.sorted(), "seed \(seed)")
            XCTAssertEqual(got.segments.sorted(), want.segments.sorted(), "seed \(seed)")
            XCTAssertEqual(got.summary.label, want.label, "seed \(seed)")
            XCTAssertEqual(got.summary.cnnLabel, want.cnnLabel, "seed \(seed)")
            XCTAssertEqual(got.summary.faces, want.frames.count)
            XCTAssertEqual(got.summary.tracks, tracks.count)
            for (a, b) in zip(got.summary.probs, want.probs) { XCTAssertEqual(a, b, accuracy: 1e-15 * max(1, b), "seed \(seed)") }
            if tracks.count == 1 { XCTAssertEqual(got.summary.probs, want.probs, "one track: bit for bit") }
        }
    }

    /// What the labeller holds is bounded by the window pipeline's lag, however long the video:
    /// a two-hour single-face track at 25 fps (180 000 frames) never holds more than the frames
    /// of the windows in flight and a part. Kept to the video's end, it would hold them all.
    func testFramesHeldStayBoundedOverALongVideo() throws {
        let n = 180_000
        let frames = (0..<UInt64(n)).map { $0 }
        var g = SplitMix64(seed: 7)
        let cnn = (0..<n).map { _ in probs(&g) }
        let track = Track(id: 1, frames: frames, cnn: cnn)
        let lag = 12, part: UInt64 = 100
        let bound = Int(part) + (lag + 3) * stride + 2 * length
        let got = try stream([track], seed: 7, part: part, lag: lag, maxHeld: bound)
        XCTAssertEqual(got.summary.faces, n)
    }

    /// A track without windows is the CNN's at its end when shorter than a window; a longer one
    /// without windows fails with the frame in no window (the video fails, as before).
    func testTrackWithoutWindows() throws {
        let cnn = [[0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1]]
        var v = VideoLabeller<Int>(labels: labels)
        let short = try v.add(track: 1, frames: [.init(frame: 3, timeS: 0.1, cnnProbs: cnn[0], face: 0)], lastWindows: 0)
        XCTAssertEqual(short.frames.map(\.source), [.cnn])
        XCTAssertEqual(short.frames.map(\.probs), cnn)
        XCTAssertEqual(short.segments.map(\.segment.segment), [Segment(startFrame: 3, endFrame: 3, label: 3)])
        let long = (0..<20).map { TrackLabelStream<Int>.Frame(frame: UInt64($0), timeS: 0, cnnProbs: cnn[0], face: $0) }
        XCTAssertTrue(try v.add(track: 2, frames: long, lastWindows: nil).frames.isEmpty, "held until its windows or the manifest")
        XCTAssertThrowsError(try v.finish(windowsPerTrack: [:], windowLength: 6)) {
            XCTAssertEqual("\($0)", "track 2: frame 0 is in no window: the coordinator's windows do not cover the track")
        }
        var w = VideoLabeller<Int>(labels: labels)
        _ = try w.add(track: 1, frames: Array(long.prefix(3)), lastWindows: 0)
        XCTAssertThrowsError(try w.finish(windowsPerTrack: [:], windowLength: 2), "a CNN track that fills a window") {
            XCTAssertTrue("\($0)".hasPrefix("track 1: labelled by the CNN without windows"), "\($0)")
        }
    }

    /// Bad windows fail the video with what is wrong, never a crash.
    func testBadWindowsThrow() throws {
        let frames = (0..<40).map { TrackLabelStream<Int>.Frame(frame: UInt64($0), timeS: 0, cnnProbs: [], face: $0) }
        var v = VideoLabeller<Int>(labels: labels)
        _ = try v.add(track: 1, frames: frames, lastWindows: nil)
        XCTAssertThrowsError(try v.add(track: 1, window: .init(index: 0, startFrame: 0, endFrame: 15, probs: [0.5, 0.5]))) {
            XCTAssertEqual("\($0)", "track 1: window 0 has 2 probabilities for 7 classes")
        }
        var u = VideoLabeller<Int>(labels: labels)
        _ = try u.add(track: 1, frames: frames, lastWindows: nil)
        let p = [Float](repeating: 1 / 7, count: 7)
        _ = try u.add(track: 1, window: .init(index: 0, startFrame: 0, endFrame: 15, probs: p))
        XCTAssertEqual(try u.add(track: 1, window: .init(index: 1, startFrame: 8, endFrame: 23, probs: p)).frames.count, 8)
        XCTAssertThrowsError(try u.add(track: 1, window: .init(index: 2, startFrame: 4, endFrame: 19, probs: p))) {
            XCTAssertTrue("\($0)".contains("window 2 starts at frame 4, before the window ahead of it"), "\($0)")
        }
    }

    /// Segments as they come equal `Segmenter`'s with the track's smallest gap, also when that
    /// gap shrinks late (a track sampled every 3 frames that then has a gap of 1).
    func testSegmentStreamEqualsSegmenter() {
        var g = SplitMix64(seed: 3)
        for round in 0..<200 {
            var frames: [UInt64] = []
            var f = g.next() % 5
            let step = 1 + g.next() % 3
            for _ in 0..<(1 + Int(g.next() % 60)) {
                frames.append(f)
                f += round % 3 == 0 && g.next() % 20 == 0 ? 1 : step + (g.next() % 9 == 0 ? g.next() % 4 : 0)
            }
            let labelled = frames.map { ($0, Int(g.next() % 3 == 0 ? g.next() % 3 : 1)) }
            let gap = zip(frames.dropFirst(), frames).map { $0 - $1 }.min() ?? 1
            let want = Segmenter.segments(labelled.map { (frame: $0.0, label: $0.1) }, maxGap: gap)
            var s = SegmentStream()
            var got = labelled.flatMap { s.add(frame: $0.0, timeS: Double($0.0), label: $0.1) }
            got += s.finish()
            XCTAssertEqual(got.map(\.segment), want, "round \(round)")
            XCTAssertEqual(got.map(\.startS), want.map { Double($0.startFrame) })
            XCTAssertEqual(got.map(\.endS), want.map { Double($0.endFrame) })
        }
    }
}
