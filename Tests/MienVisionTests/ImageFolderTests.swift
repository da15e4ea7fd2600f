import Foundation
import XCTest
@testable import MienVision

final class ImageFolderTests: XCTestCase {
    func testNaturalOrder() {
        let names = ["frame10.png", "frame2.png", "frame1.png", "Frame3.png", "frame02.png", "a.png", "frame100.png", "frame9b.png", "frame9a.png"]
        XCTAssertEqual(names.sorted(by: naturalOrder),
                       ["a.png", "frame1.png", "frame2.png", "frame02.png", "Frame3.png", "frame9a.png", "frame9b.png", "frame10.png", "frame100.png"])
    }

    /// A folder written with distinct frames reads back in natural order with index / fps
    /// timestamps; non-image files are ignored; seeking and sampling work.
    func testFolderOfFrames() throws {
        let dir = try makeTemporaryDirectory(self)
        for i in [1, 2, 10, 11, 3] {
            let image = GrayImage(width: 8, height: 6, pixels: [UInt8](repeating: UInt8(i * 10), count: 48))
            try image.write(path: dir.appendingPathComponent("frame\(i).png").path)
        }
        try Data("not a frame".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let source = try MediaSource.open(dir.path, options: SourceOptions(folderFPS: 10))
        XCTAssertEqual(source.info.kind, .frames)
        XCTAssertEqual(source.info.frameCount, 5)
        XCTAssertEqual(source.info.width, 8)
        XCTAssertEqual(source.info.duration, 0.5, accuracy: 1e-12)
        let frames = try source.allFrames(format: .gray)
        XCTAssertEqual(frames.map { $0.pixels[0] }, [10, 20, 30, 100, 110])
        XCTAssertEqual(frames.map(\.timestamp), [0, 0.1, 0.2, 0.3, 0.4].map { $0 })
        XCTAssertEqual(try source.frames(in: 3..<9, format: .gray).map { $0.pixels[0] }, [100, 110])
        XCTAssertEqual(try source.allFrames(format: .gray, sampling: .every(2)).map(\.index), [0, 2, 4])
    }

    func testSingleImageSource() throws {
        let path = fixturesDirectory.appendingPathComponent("astronaut.jpg").path
        let source = try MediaSource.open(path)
        XCTAssertEqual(source.info.kind, .image)
        XCTAssertEqual(source.info.frameCount, 1)
        let frames = try source.allFrames(format: .bgr)
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames[0].bgrImage, try BGRImage.read(path: path))
    }
}
