import Foundation
import XCTest
@testable import MienVision

/// The image libraries under OpenCV print to stderr themselves (libpng's and libjpeg's warnings
/// with fprintf, OpenCV's own messages on std::cerr): `LibraryLog` must hand every such line to
/// its sink, and none may reach file descriptor 2.
final class LibraryLogTests: XCTestCase {
    /// Lines the sink received, from any thread.
    private final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    /// Runs `body` with file descriptor 2 pointing at a file; returns what was written to it.
    private func stderrText(during body: () throws -> Void) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mien-stderr-\(UUID().uuidString)").path
        let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { unlink(path) }
        fflush(nil)
        let saved = dup(STDERR_FILENO)
        dup2(fd, STDERR_FILENO)
        close(fd)
        defer {
            fflush(nil)
            dup2(saved, STDERR_FILENO)
            close(saved)
        }
        try body()
        fflush(nil)
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    func testImageLibrariesWarningsGoToTheSinkNotStderr() throws {
        let dir = try makeTemporaryDirectory(self)
        let png = dir.appendingPathComponent("bad_iccp.png").path
        try Self.pngWithShortICCProfile().write(to: URL(fileURLWithPath: png))
        var jpeg = try Data(contentsOf: fixturesDirectory.appendingPathComponent("astronaut.jpg"))
        jpeg.replaceSubrange(3000..<3200, with: Data(count: 200))  // entropy-coded data zeroed
        let garbled = dir.appendingPathComponent("garbled.jpg").path
        try jpeg.write(to: URL(fileURLWithPath: garbled))
        let pgm = dir.appendingPathComponent("bad.pgm").path
        try (Data("P5\n64 x4\n255\n".utf8) + Data(count: 100)).write(to: URL(fileURLWithPath: pgm))

        let lines = Lines()
        LibraryLog.route(verbose: true, to: { lines.add($0) })
        defer { LibraryLog.route(verbose: false, to: nil) }
        let raw = try stderrText {
            XCTAssertEqual(try GrayImage.read(path: png).width, 8)  // a warning only: the image reads
            XCTAssertEqual(try GrayImage.read(path: garbled).width, 512)
            XCTAssertThrowsError(try GrayImage.read(path: pgm))
        }
        XCTAssertEqual(raw, "", "library lines printed raw on stderr")
        let got = lines.all
        XCTAssertTrue(got.contains("libpng warning: iCCP: too short"), "\(got)")
        XCTAssertTrue(got.contains { $0.hasPrefix("Corrupt JPEG data") }, "\(got)")
        XCTAssertTrue(got.contains { $0.hasPrefix("imread_('\(pgm)'): can't read header") && $0.contains("PXM") }, "\(got)")
        XCTAssertFalse(got.contains { $0.hasSuffix("\n") || $0.isEmpty }, "one line per entry, without its line break: \(got)")

        // Without a sink they are dropped, still not printed.
        LibraryLog.route(verbose: false, to: nil)
        let dropped = try stderrText { _ = try GrayImage.read(path: png) }
        XCTAssertEqual(dropped, "")
    }

    /// An 8×8 gray PNG whose iCCP chunk holds a 16-byte profile (libpng: "iCCP: too short").
    static func pngWithShortICCProfile() -> Data {
        func be32(_ v: UInt32) -> Data { Data([UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]) }
        func crc32(_ bytes: Data) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return ~c
        }
        /// A zlib stream of one stored (uncompressed) block.
        func zlibStored(_ bytes: Data) -> Data {
            var a: UInt32 = 1, b: UInt32 = 0
            for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
            let n = UInt16(bytes.count)
            return Data([0x78, 0x01, 0x01, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8(~n >> 8)]) + bytes + be32(b << 16 | a)
        }
        func chunk(_ type: String, _ body: Data) -> Data {
            let typed = Data(type.utf8) + body
            return be32(UInt32(body.count)) + typed + be32(crc32(typed))
        }
        let header = be32(8) + be32(8) + Data([8, 0, 0, 0, 0])  // 8×8, 8-bit gray
        let profile = be32(16) + Data(repeating: 0x41, count: 12)
        let rows = Data((0..<8).flatMap { y in [UInt8(0)] + (0..<8).map { UInt8(($0 + y) * 16) } })
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + chunk("IHDR", header)
            + chunk("iCCP", Data("bad".utf8) + Data([0, 0]) + zlibStored(profile))
            + chunk("IDAT", zlibStored(rows)) + chunk("IEND", Data())
    }
}
