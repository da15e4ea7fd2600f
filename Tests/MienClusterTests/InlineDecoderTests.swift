import Foundation
import XCTest
import MienProto
import MienTransport
@testable import MienCluster

/// The coordinator's decoder thread with the real decoder, on a video of the bundled sample.
final class InlineDecoderTests: XCTestCase {
    let video = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../samples/synthetic/clip_00000.mp4").standardized.path

    func batch(_ id: UInt64, uri: String, _ range: Range<Int>, every: Int = 1) -> Mien_V1_FrameBatch {
        .with {
            $0.videoID = "v"
            $0.batchID = id
            $0.reference = .with {
                $0.uri = uri
                $0.startFrame = UInt64(range.lowerBound)
                $0.endFrame = range.upperBound == .max ? .max : UInt64(range.upperBound)
                $0.sampleEvery = UInt32(every)
            }
        }
    }

    /// Waits on the wake pipe, as the coordinator's poller does, until `count` results are in.
    func collect(_ decoder: InlineDecoder, count: Int) throws -> [InlineDecoder.Decoded] {
        var out: [InlineDecoder.Decoded] = []
        var poller = ZMQPoller()
        poller.add(fileDescriptor: decoder.wake.readFD)
        let deadline = Date().addingTimeInterval(30)
        while out.count < count && Date() < deadline {
            if try poller.poll(timeoutMs: 1_000)[0].contains(.readable) { out += decoder.collect() }
        }
        return out
    }

    /// Batches come back in submission order as GRAY8 frames with the range's indices (sampled
    /// ones only), the last batch running to the end of the file; a missing file is an error
    /// naming it, and the thread goes on with the next batch.
    func testDecodesRangesInOrderAndReportsAMissingFile() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: video), "no sample video at \(video)")
        let decoder = try InlineDecoder(capacity: 8, maxBatchBytes: 1 << 30, decoder: { VideoRangeDecoder(keepOpen: 2) })
        defer { decoder.stop() }
        decoder.submit(batch(1, uri: video, 0..<8))
        decoder.submit(batch(2, uri: video, 8..<16, every: 3))
        decoder.submit(batch(3, uri: "/nonexistent/clip.mp4", 0..<8))
        decoder.submit(batch(4, uri: video, 48..<Int.max))
        let results = try collect(decoder, count: 4)
        XCTAssertEqual(results.map(\.batch.batchID), [1, 2, 3, 4])
        XCTAssertEqual(results[0].batch.inline.frames.map(\.index), Array(0..<8))
        XCTAssertEqual(results[1].batch.inline.frames.map(\.index), [9, 12, 15], "every 3rd frame by absolute index")
        XCTAssertEqual(results[3].batch.inline.frames.map(\.index), Array(48..<55), "to the end of the file")
        for f in results[0].batch.inline.frames {
            XCTAssertEqual(f.format, .gray8)
            XCTAssertEqual([f.width, f.height, f.stride], [640, 480, 640])
            XCTAssertEqual(f.pixels.count, 640 * 480)
            XCTAssertEqual(f.timeS, Double(f.index) / 25, accuracy: 1e-6)
        }
        XCTAssertNil(results[0].error)
        XCTAssertTrue(results[2].error?.contains("decoding /nonexistent/clip.mp4 for inline frames") ?? false, "\(results[2].error ?? "no error")")
        XCTAssertTrue(results[2].error?.contains("not found") ?? false)
    }
}

/// The by-reference reader's figures (logged when a feature worker stops), on the same sample video.
final class FrameRangeReaderTests: XCTestCase {
    let video = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../samples/synthetic/clip_00000.mp4").standardized.path

    func range(_ r: Range<Int>) -> Mien_V1_FrameRange {
        .with {
            $0.uri = video
            $0.startFrame = UInt64(r.lowerBound)
            $0.endFrame = UInt64(r.upperBound)
            $0.sampleEvery = 1
        }
    }

    /// A range that starts where the last one ended continues decoding: no seek, no frame decoded
    /// in vain; one ≤ 32 frames ahead decodes the frames between only to skip them; one behind
    /// is a seek.
    func testCountsContinuationsStepsAndSeeks() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: video), "no sample video at \(video)")
        let reader = FrameRangeReader(keepOpen: 1)
        var seen: [Int] = []
        try reader.forEachFrame(range(0..<8)) { seen.append($0.index) }
        try reader.forEachFrame(range(8..<16)) { seen.append($0.index) }
        XCTAssertEqual(reader.statistics, .init(ranges: 2, opened: 1, frames: 16, decoded: 16, stepped: 0, seeks: 0))
        try reader.forEachFrame(range(24..<32)) { seen.append($0.index) }
        XCTAssertEqual(reader.statistics, .init(ranges: 3, opened: 1, frames: 24, decoded: 32, stepped: 1, seeks: 0),
                       "frames 16..<24 decoded only to be skipped")
        try reader.forEachFrame(range(0..<4)) { seen.append($0.index) }
        let s = reader.statistics
        XCTAssertEqual([s.ranges, s.opened, s.frames, s.stepped, s.seeks], [4, 1, 28, 1, 1])
        XCTAssertGreaterThanOrEqual(s.decoded, 36)
        XCTAssertEqual(seen, Array(0..<16) + Array(24..<32) + Array(0..<4))
    }

    /// A frame the decoder rejects mid-range fails the range with `.decodeFailed` naming the
    /// frame, after the frames before it were handed out — never a range silently cut short.
    func testUndecodableFrameFailsTheRange() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-range-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = dir.appendingPathComponent("clip.avi")
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ffmpeg.arguments = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1.6",
                            "-c:v", "mjpeg", "-an", clip.path]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        try XCTSkipUnless(ffmpeg.terminationStatus == 0, "ffmpeg cannot make an MJPEG clip")
        var bytes = [UInt8](try Data(contentsOf: clip))
        let starts = (0..<(bytes.count - 2)).filter { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xD8 && bytes[$0 + 2] == 0xFF }
        XCTAssertEqual(starts.count, 40)
        for i in starts[20]..<(starts[20] + 600) { bytes[i] = UInt8(truncatingIfNeeded: i &* 37) }
        try Data(bytes).write(to: clip)
        let reader = FrameRangeReader(keepOpen: 1)
        var seen: [Int] = []
        let range = Mien_V1_FrameRange.with {
            $0.uri = clip.path
            $0.startFrame = 0
            $0.endFrame = 40
            $0.sampleEvery = 1
        }
        XCTAssertThrowsError(try reader.forEachFrame(range) { seen.append($0.index) }) { error in
            XCTAssertEqual((error as? WorkError)?.code, .decodeFailed)
            XCTAssertTrue("\(error)".contains("frame 20 cannot be decoded"), "\(error)")
        }
        XCTAssertEqual(seen, Array(0..<20))
    }
}
