import XCTest
import Foundation
import MienVision
@testable import MienSynth

/// The video writer (MienVision's `VideoWriter`, owned by the synthesiser work) and the
/// end-to-end determinism of written clips.
final class VideoWriterTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mien-synth-writer-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func writeClip(_ path: String, seed: UInt64, codec: VideoWriter.Codec = .h264) throws -> Int {
        let cfg = SynthConfig(width: 256, height: 192, fps: 25, minSeconds: 2, maxSeconds: 2)
        let plan = SynthDataset(seed: seed, count: 1, config: cfg).plan(ofClip: 0)
        let r = ClipRenderer(plan: plan)
        let w = try VideoWriter(path: path, width: 256, height: 192, fps: 25, channels: 3, codec: codec)
        for f in 0..<20 { try w.write(r.frame(f).pixels) }
        XCTAssertEqual(w.frameCount, 20)
        try w.close()
        return 20
    }

    func testSameSeedGivesByteIdenticalMP4() throws {
        _ = try writeClip(dir + "/a.mp4", seed: 3)
        _ = try writeClip(dir + "/b.mp4", seed: 3)
        _ = try writeClip(dir + "/c.mp4", seed: 4)
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.mp4"))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/b.mp4"))
        let c = try Data(contentsOf: URL(fileURLWithPath: dir + "/c.mp4"))
        XCTAssertGreaterThan(a.count, 1000)
        XCTAssertEqual(a, b, "same frames must encode to the same bytes (single-threaded x264)")
        XCTAssertNotEqual(a, c)
        // An MP4 starts with an ftyp box.
        XCTAssertEqual(String(decoding: a[4..<8], as: UTF8.self), "ftyp")
        // x264 ran single-threaded whatever the machine (it records its settings in the stream).
        XCTAssertTrue(String(decoding: a, as: UTF8.self).contains(" threads=1 "), "x264 must be opened with one thread")
    }

    func testMPEG4FallbackCodecWrites() throws {
        _ = try writeClip(dir + "/m.mp4", seed: 3, codec: .mpeg4)
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/m.mp4")[.size] as! Int
        XCTAssertGreaterThan(size, 1000)
    }

    func testMissingFolderIsAClearError() {
        let path = dir + "/no/such/folder/x.mp4"
        XCTAssertThrowsError(try VideoWriter(path: path, width: 64, height: 64, fps: 25)) { e in
            guard let v = e as? VisionError else { return XCTFail("expected VisionError, got \(e)") }
            XCTAssertEqual(v.code, .notFound)
            XCTAssertEqual(v.path, path)
            XCTAssertTrue(v.description.contains("does not exist"), v.description)
        }
    }

    func testUnwritablePathIsAClearError() throws {
        // A path whose parent is a regular file cannot be created, whoever runs the test
        // (permission bits would not stop root).
        let file = dir + "/plain"
        FileManager.default.createFile(atPath: file, contents: Data([1]))
        let path = file + "/x.mp4"
        XCTAssertThrowsError(try VideoWriter(path: path, width: 64, height: 64, fps: 25)) { e in
            guard let v = e as? VisionError else { return XCTFail("expected VisionError, got \(e)") }
            XCTAssertEqual(v.code, .notFound)
            XCTAssertTrue(v.description.contains(path), v.description)
        }
        // /proc is not writable even by root.
        XCTAssertThrowsError(try VideoWriter(path: "/proc/mien-synth-test.mp4", width: 64, height: 64, fps: 25)) { e in
            XCTAssertTrue("\(e)".contains("cannot create the file"), "\(e)")
        }
    }

    func testBadArgumentsAndWrongFrameSize() throws {
        XCTAssertThrowsError(try VideoWriter(path: dir + "/z.mp4", width: 0, height: 64, fps: 25)) { e in
            XCTAssertEqual((e as? VisionError)?.code, .invalidArgument)
        }
        XCTAssertThrowsError(try VideoWriter(path: dir + "/z.mp4", width: 64, height: 64, fps: 25, channels: 2))
        XCTAssertThrowsError(try VideoWriter(path: dir + "/z.unknownext", width: 64, height: 64, fps: 25)) { e in
            XCTAssertEqual((e as? VisionError)?.code, .unsupported, "\(e)")
        }
        let w = try VideoWriter(path: dir + "/y.mp4", width: 64, height: 64, fps: 25)
        XCTAssertThrowsError(try w.write([UInt8](repeating: 0, count: 10))) { e in
            XCTAssertTrue("\(e)".contains("expected 64×64×3"), "\(e)")
        }
        try w.close()
        XCTAssertThrowsError(try w.write([UInt8](repeating: 0, count: 64 * 64 * 3)))
        try w.close()   // idempotent
    }
}
