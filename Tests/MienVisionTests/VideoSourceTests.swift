import Foundation
import XCTest
@testable import MienVision

final class VideoSourceTests: XCTestCase {
    static let containers = ["h264.mp4", "mpeg4.avi", "h264.mkv", "h264.mov", "vp9.webm", "mjpeg.avi", "ntsc.mp4", "offset.mkv"]

    /// Probe (exact count), decoded frame count and every frame's timestamp agree with ffprobe
    /// (timestamps within 1 ms) for each container and codec.
    func testProbeAndTimestampsAgreeWithFFprobe() throws {
        for name in Self.containers {
            let path = try VideoFixtures.path(name)
            let reference = try VideoFixtures.ffprobe(path)
            let info = try MediaSource.probe(path, exactCount: true)
            XCTAssertEqual(info.kind, .video)
            XCTAssertTrue(info.frameCountExact)
            XCTAssertEqual(info.frameCount, reference.frameCount, name)
            XCTAssertEqual(info.fps, reference.fps, accuracy: 1e-6, name)
            XCTAssertEqual(info.width, reference.width, name)
            XCTAssertEqual(info.height, reference.height, name)
            XCTAssertEqual(info.duration, Double(reference.frameCount) / reference.fps, accuracy: 1e-9, name)
            if !reference.codecTag.hasPrefix("[") {
                XCTAssertEqual(info.codec.lowercased(), reference.codecTag.lowercased(), name)
            }
            let frames = try VideoFileSource(path: path).allFrames(format: .gray)
            XCTAssertEqual(frames.count, reference.frameCount, name)
            XCTAssertEqual(frames.map(\.index), Array(0..<frames.count), name)
            XCTAssertEqual(reference.timestamps.count, frames.count, name)
            var worst = 0.0
            for (f, t) in zip(frames, reference.timestamps) { worst = max(worst, abs(f.timestamp - t)) }
            XCTAssertLessThan(worst, 0.001, "\(name): largest timestamp difference \(worst) s")
        }
    }

    /// Decoding a range [start, end) with seeking gives byte-identical frames, indices and
    /// timestamps to a full sequential decode at those indices, for every container, for
    /// ranges at the start, across keyframes, backwards, at the end and past the end.
    func testRangeDecodeEqualsFullDecode() throws {
        for name in Self.containers + ["vfr.mkv"] {
            let path = try VideoFixtures.path(name)
            let full = try VideoFileSource(path: path).allFrames(format: .bgr)
            let n = full.count
            XCTAssertGreaterThan(n, 60, name)
            let source = try VideoFileSource(path: path)
            for range in [40..<47, 0..<3, 59..<61, 11..<14, (n - 3)..<n, (n - 1)..<(n + 5), 70..<72, 1..<2] {
                let part = try source.frames(in: range, format: .bgr)
                let expected = Array(full[range.clamped(to: 0..<n)])
                XCTAssertEqual(part.map(\.index), expected.map(\.index), "\(name) \(range)")
                XCTAssertTrue(part == expected, "\(name) \(range): frames differ from the full decode")
            }
            XCTAssertEqual(try source.frames(in: (n + 2)..<(n + 4)), [], "\(name): range past the end")
            // Fresh sources, one seek each, straight to a far frame and to the last frame.
            for target in [n / 2 + 3, n - 1] {
                let fresh = try VideoFileSource(path: path)
                XCTAssertTrue(try fresh.frames(in: target..<(target + 1)) == [full[target]], "\(name) fresh seek to \(target)")
            }
            let stats = source.seekStatistics
            XCTAssertGreaterThan(stats.direct + stats.backoff + stats.sequential, 0, "\(name): no real seek was exercised")
        }
    }

    /// The VFR fixture's frames cannot be verified by t·fps, so seeks there must fall back to a
    /// verified earlier frame or to decoding from 0 — and still be exact (checked above).
    func testUnverifiableSeekFallsBack() throws {
        let path = try VideoFixtures.path("vfr.mkv")
        let source = try VideoFileSource(path: path)
        _ = try source.frames(in: 55..<56)
        let stats = source.seekStatistics
        XCTAssertEqual(stats.direct, 0, "a VFR seek must not be trusted without verification")
        XCTAssertEqual(stats.backoff + stats.sequential, 1)
        // Timestamps follow the real (irregular) presentation times, as ffprobe reports them.
        let reference = try VideoFixtures.ffprobe(path)
        let frames = try VideoFileSource(path: path).allFrames(format: .gray)
        XCTAssertEqual(frames.count, reference.frameCount)
        XCTAssertEqual(frames.map(\.timestamp), reference.timestamps, accuracy: 0.001)
        XCTAssertGreaterThan(frames[10].timestamp - frames[9].timestamp, 0.4, "the 0.5 s gap before frame 10")
    }

    func testSamplingEveryKAndTargetFPS() throws {
        let path = try VideoFixtures.path("h264.mp4")
        let source = try VideoFileSource(path: path)
        let every3 = try source.allFrames(format: .gray, sampling: .every(3))
        XCTAssertEqual(every3.map(\.index), Array(stride(from: 0, to: 80, by: 3)))
        let at10 = try source.allFrames(format: .gray, sampling: .fps(10))
        // 80 frames at 25 fps sampled at 10 fps: 32 frames, consecutive gaps of 2 or 3 frames.
        XCTAssertEqual(at10.count, 32)
        let gaps = zip(at10.dropFirst(), at10).map { $0.index - $1.index }
        XCTAssertEqual(Set(gaps), [2, 3])
        // A sampled range keeps exactly the full sampling's frames in that range.
        let part = try source.frames(in: 33..<61, format: .gray, sampling: .fps(10))
        XCTAssertEqual(part.map(\.index), at10.map(\.index).filter { (33..<61).contains($0) })
        XCTAssertTrue(part == at10.filter { (33..<61).contains($0.index) })
        XCTAssertThrowsError(try source.allFrames(sampling: .every(0)))
        XCTAssertThrowsError(try source.allFrames(sampling: .fps(-1)))
    }

    /// A gray frame is the same picture as the BGR frame of that index: its gray (BT.601) up to
    /// swscale's rounding and, on testsrc2's saturated bars, clipping of BGR (measured on this
    /// frame: mean 0.9 levels; VideoDecodeTests checks the luma path byte for byte against FFmpeg).
    func testGrayFramesAreBGRConverted() throws {
        let source = try VideoFileSource(path: try VideoFixtures.path("mjpeg.avi"))
        let bgr = try source.frames(in: 5..<6, format: .bgr)[0].grayImage.pixels
        let gray = try source.frames(in: 5..<6, format: .gray)[0].grayImage.pixels
        XCTAssertEqual(bgr.count, gray.count)
        let mean = Double(zip(bgr, gray).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(max(1, gray.count))
        XCTAssertLessThan(mean, 1.5)
        let neighbour = try source.frames(in: 6..<7, format: .bgr)[0].grayImage.pixels
        let neighbourMean = Double(zip(neighbour, gray).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(max(1, gray.count))
        XCTAssertGreaterThan(neighbourMean, 2 * mean, "the gray frame is frame 5, not its neighbour")
    }
}
