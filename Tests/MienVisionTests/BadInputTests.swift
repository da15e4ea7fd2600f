import Foundation
import XCTest
@testable import MienVision

/// Corrupt, truncated, empty, non-media and enormous inputs: each must throw a `VisionError`
/// of the right kind that names the file — never crash.
final class BadInputTests: XCTestCase {
    private func expectError(_ code: VisionError.Code, _ path: String, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("\(what): no error", file: file, line: line)
        } catch let e as VisionError {
            XCTAssertEqual(e.code, code, "\(what): \(e)", file: file, line: line)
            XCTAssertEqual(e.path, path, "\(what): error must name the file", file: file, line: line)
            XCTAssertTrue(e.description.contains(path), file: file, line: line)
        } catch {
            XCTFail("\(what): untyped error \(error)", file: file, line: line)
        }
    }

    private func write(_ dir: URL, _ name: String, _ bytes: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try bytes.write(to: url)
        return url.path
    }

    func testMissingAndEmptyInputs() throws {
        let dir = try makeTemporaryDirectory(self)
        let missing = dir.appendingPathComponent("nope.mp4").path
        expectError(.notFound, missing, "missing video") { _ = try MediaSource.open(missing) }
        expectError(.notFound, missing, "missing video (direct)") { _ = try VideoFileSource(path: missing) }
        let missingImage = dir.appendingPathComponent("nope.png").path
        expectError(.notFound, missingImage, "missing image") { _ = try GrayImage.read(path: missingImage) }
        let emptyVideo = try write(dir, "empty.mp4", Data())
        expectError(.empty, emptyVideo, "empty video") { _ = try MediaSource.open(emptyVideo) }
        let emptyImage = try write(dir, "empty.png", Data())
        expectError(.empty, emptyImage, "empty image") { _ = try MediaSource.open(emptyImage) }
        let emptyFolder = dir.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: emptyFolder, withIntermediateDirectories: true)
        expectError(.empty, emptyFolder.path, "folder without images") { _ = try MediaSource.open(emptyFolder.path) }
    }

    func testNonMediaFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        let text = Data(String(repeating: "this is not a video, just some text\n", count: 200).utf8)
        let textVideo = try write(dir, "notes.mp4", text)
        expectError(.unsupported, textVideo, "text named .mp4") { _ = try MediaSource.open(textVideo) }
        let textImage = try write(dir, "notes.png", text)
        expectError(.unsupported, textImage, "text named .png") { _ = try GrayImage.read(path: textImage) }
        let noExtension = try write(dir, "README", text)
        expectError(.unsupported, noExtension, "text without extension") { _ = try MediaSource.open(noExtension) }
        var state: UInt32 = 7
        let noise = Data((0..<50_000).map { _ -> UInt8 in
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        })
        let noiseVideo = try write(dir, "noise.avi", noise)
        expectError(.unsupported, noiseVideo, "random bytes named .avi") { _ = try MediaSource.open(noiseVideo) }
    }

    func testTruncatedAndCorruptFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        // MP4 without its index (the moov box comes last in ffmpeg's default output).
        let mp4 = try Data(contentsOf: URL(fileURLWithPath: try VideoFixtures.path("h264.mp4")))
        let halfMP4 = try write(dir, "half.mp4", mp4.prefix(mp4.count / 2))
        expectError(.corrupt, halfMP4, "truncated mp4") { _ = try MediaSource.open(halfMP4) }
        // MP4 whose moov box is garbled.
        var garbled = mp4
        if let range = garbled.range(of: Data("moov".utf8)) {
            for i in range.upperBound..<min(garbled.count, range.upperBound + 400) { garbled[i] = UInt8(truncatingIfNeeded: i &* 31) }
        }
        let garbledMP4 = try write(dir, "garbled.mp4", garbled)
        expectError(.corrupt, garbledMP4, "garbled mp4 index") { _ = try MediaSource.open(garbledMP4) }
        // Matroska header only.
        let mkv = try Data(contentsOf: URL(fileURLWithPath: try VideoFixtures.path("h264.mkv")))
        let headerOnly = try write(dir, "header.mkv", mkv.prefix(60))
        expectError(.corrupt, headerOnly, "mkv cut after its header") { _ = try MediaSource.open(headerOnly) }
        // Truncated and corrupt still images.
        let jpeg = try Data(contentsOf: fixturesDirectory.appendingPathComponent("astronaut.jpg"))
        let halfJPEG = try write(dir, "half.jpg", jpeg.prefix(jpeg.count / 2))
        expectError(.corrupt, halfJPEG, "truncated jpeg") { _ = try GrayImage.read(path: halfJPEG) }
        let png = try Data(contentsOf: fixturesDirectory.appendingPathComponent("fer_crop_astronaut.png"))
        let halfPNG = try write(dir, "half.png", png.prefix(png.count / 2))
        expectError(.corrupt, halfPNG, "truncated png") { _ = try GrayImage.read(path: halfPNG) }
        var badPNG = png
        for i in 60..<min(badPNG.count, 400) { badPNG[i] ^= 0x5A }
        let corruptPNG = try write(dir, "corrupt.png", badPNG)
        expectError(.corrupt, corruptPNG, "corrupt png data") { _ = try GrayImage.read(path: corruptPNG) }
        // A folder whose second frame is truncated: the folder opens, reading that frame fails naming it.
        let folder = dir.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try png.write(to: folder.appendingPathComponent("f1.png"))
        try png.prefix(png.count / 2).write(to: folder.appendingPathComponent("f2.png"))
        let source = try MediaSource.open(folder.path)
        expectError(.corrupt, folder.appendingPathComponent("f2.png").path, "truncated frame in folder") {
            _ = try source.allFrames(format: .gray)
        }
    }

    /// The errors of the OpenCV-based decoder are kept: the same kinds, and messages that start
    /// the same way (FFmpeg's reason is appended).
    func testErrorMessagesNameTheProblem() throws {
        let dir = try makeTemporaryDirectory(self)
        let mp4 = try Data(contentsOf: URL(fileURLWithPath: try VideoFixtures.path("h264.mp4")))
        let halfMP4 = try write(dir, "half.mp4", mp4.prefix(mp4.count / 2))
        let text = try write(dir, "notes.mp4", Data(String(repeating: "not a video\n", count: 300).utf8))
        for (path, code, start) in [(halfMP4, VisionError.Code.corrupt, "looks like MP4/MOV but FFmpeg cannot open it (truncated or damaged"),
                                    (text, .unsupported, "not a video FFmpeg can open")] {
            XCTAssertThrowsError(try VideoFileSource(path: path)) { error in
                let e = error as? VisionError
                XCTAssertEqual(e?.code, code, path)
                XCTAssertTrue(e?.message.hasPrefix(start) ?? false, "\(path): \(e?.message ?? "no VisionError")")
            }
        }
    }

    /// A frame the decoder cannot decode, mid-stream, is reported — `.corrupt`, naming the frame —
    /// by sequential reads and by the exact count, never skipped or taken for the end (OpenCV's
    /// backend ended the video there without a word); the frames before it decode.
    func testUndecodableFrameMidStreamIsReported() throws {
        let dir = try makeTemporaryDirectory(self)
        var avi = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try VideoFixtures.path("mjpeg.avi"))))
        // Garble the head (SOI marker and tables) of the 41st JPEG: frame 40 cannot be decoded.
        let starts = (0..<(avi.count - 2)).filter { avi[$0] == 0xFF && avi[$0 + 1] == 0xD8 && avi[$0 + 2] == 0xFF }
        XCTAssertEqual(starts.count, 80)
        for i in starts[40]..<(starts[40] + 600) { avi[i] = UInt8(truncatingIfNeeded: i &* 37) }
        let path = try write(dir, "garbled.avi", Data(avi))
        expectError(.corrupt, path, "sequential read across the bad frame") {
            _ = try VideoFileSource(path: path).allFrames(format: .gray)
        }
        XCTAssertThrowsError(try VideoFileSource(path: path).allFrames(format: .gray)) { error in
            XCTAssertTrue("\(error)".contains("frame 40 cannot be decoded"), "\(error)")
        }
        expectError(.corrupt, path, "exact count") { _ = try MediaSource.probe(path, exactCount: true) }
        XCTAssertEqual(try VideoFileSource(path: path).frames(in: 0..<40, format: .gray).count, 40)
    }

    /// A truncated stream-friendly container (Matroska cut in half) is not an error: the frames
    /// before the cut decode, and reading stops early.
    func testTruncatedMatroskaDecodesItsFirstHalf() throws {
        let dir = try makeTemporaryDirectory(self)
        let mkv = try Data(contentsOf: URL(fileURLWithPath: try VideoFixtures.path("h264.mkv")))
        let half = try write(dir, "half.mkv", mkv.prefix(mkv.count / 2))
        let frames = try VideoFileSource(path: half).allFrames(format: .gray)
        XCTAssertGreaterThan(frames.count, 10)
        XCTAssertLessThan(frames.count, 80)
    }

    func testEnormousDimensions() throws {
        let dir = try makeTemporaryDirectory(self)
        // A PNG header claiming 100000 × 100000 pixels (10^10): refused from the header, no allocation.
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
        png.append(contentsOf: Array("IHDR".utf8))
        png.append(contentsOf: [0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0, 8, 0, 0, 0, 0, 0, 0, 0, 0])
        png.append(Data(count: 64))
        let hugePNG = try write(dir, "huge.png", png)
        expectError(.tooLarge, hugePNG, "100000² png") { _ = try GrayImage.read(path: hugePNG) }
        expectError(.tooLarge, hugePNG, "100000² png as source") { _ = try MediaSource.open(hugePNG) }
        // A Y4M video header claiming 12000 × 12000 frames (144 Mpx > the 100 Mpx default).
        var y4m = Data("YUV4MPEG2 W12000 H12000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
        y4m.append(Data(count: 100_000))
        let hugeVideo = try write(dir, "huge.y4m", y4m)
        expectError(.tooLarge, hugeVideo, "12000² y4m") { _ = try MediaSource.open(hugeVideo) }
        // A real 160×120 video under a 10 000-pixel limit.
        let small = try VideoFixtures.path("h264.mp4")
        expectError(.tooLarge, small, "pixel limit") { _ = try MediaSource.open(small, options: SourceOptions(maxPixels: 10_000)) }
        let photo = fixturesDirectory.appendingPathComponent("astronaut.jpg").path
        expectError(.tooLarge, photo, "image pixel limit") { _ = try GrayImage.read(path: photo, maxPixels: 100_000) }
    }

    func testBadArguments() throws {
        let source = try VideoFileSource(path: try VideoFixtures.path("h264.mp4"))
        XCTAssertThrowsError(try source.frames(in: -3..<2))
        XCTAssertThrowsError(try source.seek(to: -1))
        XCTAssertThrowsError(try source.seek(to: 10_000)) { error in
            XCTAssertEqual((error as? VisionError)?.code, .endOfStream)
        }
        XCTAssertThrowsError(try FacePipeline(options: .init(cropSize: 0)))
        XCTAssertThrowsError(try Landmarker(modelPath: "/nonexistent/model.dat")) { error in
            XCTAssertEqual((error as? VisionError)?.path, "/nonexistent/model.dat")
        }
        let dir = try makeTemporaryDirectory(self)
        let notAModel = try write(dir, "model.dat", Data("garbage".utf8))
        XCTAssertThrowsError(try Landmarker(modelPath: notAModel)) { error in
            XCTAssertEqual((error as? VisionError)?.code, .corrupt)
        }
    }
}
