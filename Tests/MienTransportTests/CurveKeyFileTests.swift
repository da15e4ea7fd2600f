import Foundation
import XCTest
@testable import MienTransport

/// Key files as `mien keys generate` writes them, and every way a key file can be unusable:
/// each error names the file.
final class CurveKeyFileTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mien-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func file(_ name: String, _ text: String) -> String {
        let p = "\(dir!)/\(name)"
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }

    private func assertError(_ expression: @autoclosure () throws -> Any, names path: String, mentions: String, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(path), "error names the file: \(text)", line: line)
            XCTAssertTrue(text.contains(mentions), "error says '\(mentions)': \(text)", line: line)
        }
    }

    func testWriteThenLoadRoundTripsWithPrivateSecretFile() throws {
        let pair = try CurveKeyPair.generate()
        let (pub, key) = try CurveKeyFile.write(pair, directory: "\(dir!)/new", name: "worker1")
        XCTAssertEqual(pub, "\(dir!)/new/worker1.pub")
        XCTAssertEqual(key, "\(dir!)/new/worker1.key")
        XCTAssertEqual(try CurveKeyFile.loadKeyPair(key), pair)
        XCTAssertEqual(try CurveKeyFile.loadPublicKey(pub), pair.publicKey)
        XCTAssertEqual(try CurveKeyFile.loadPublicKey(key), pair.publicKey, "a .key file gives its public key too")
        XCTAssertEqual(try String(contentsOfFile: pub, encoding: .utf8), pair.publicKey.z85 + "\n", "the .pub is one line")
        let keyText = try String(contentsOfFile: key, encoding: .utf8)
        XCTAssertTrue(keyText.contains("public-key = \"\(pair.publicKey.z85)\""))
        XCTAssertTrue(keyText.contains("secret-key = \"\(pair.secretKey.z85)\""))
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int)
        XCTAssertEqual(mode & 0o777, 0o600, "the secret key file is readable by its owner only")
        assertError(try CurveKeyFile.write(try CurveKeyPair.generate(), directory: "\(dir!)/new", name: "worker1"), names: pub, mentions: "never overwritten")
        XCTAssertEqual(try CurveKeyFile.loadKeyPair(key), pair, "the existing key is untouched")
    }

    func testPublicKeyDerivedFromSecretMatchesGeneratedPair() throws {
        let pair = try CurveKeyPair.generate()
        XCTAssertEqual(try CurveKeyPair.publicKey(of: pair.secretKey), pair.publicKey)
        XCTAssertEqual(try CurveKey(raw: pair.publicKey.raw), pair.publicKey)
    }

    func testBadKeyFilesAreErrorsNamingTheFile() throws {
        let pair = try CurveKeyPair.generate(), other = try CurveKeyPair.generate()
        let missing = "\(dir!)/nope.key"
        assertError(try CurveKeyFile.loadKeyPair(missing), names: missing, mentions: "no such file")
        assertError(try CurveKeyFile.loadPublicKey(missing), names: missing, mentions: "no such file")
        assertError(try CurveKeyFile.loadKeyPair(dir!), names: dir!, mentions: "folder")

        let short = file("short.pub", "abc123\n")
        assertError(try CurveKeyFile.loadPublicKey(short), names: short, mentions: "40")
        let long = file("long.pub", pair.publicKey.z85 + "x\n")
        assertError(try CurveKeyFile.loadPublicKey(long), names: long, mentions: "41 characters")
        let notZ85 = file("tilde.pub", String(repeating: "~", count: 40))
        assertError(try CurveKeyFile.loadPublicKey(notZ85), names: notZ85, mentions: "not valid Z85")
        let twoLines = file("two.pub", pair.publicKey.z85 + "\n" + other.publicKey.z85 + "\n")
        assertError(try CurveKeyFile.loadPublicKey(twoLines), names: twoLines, mentions: "2 lines")
        let binary = "\(dir!)/binary.pub"
        _ = FileManager.default.createFile(atPath: binary, contents: Data([0xFF, 0xFE, 0x00, 0x81]))
        assertError(try CurveKeyFile.loadPublicKey(binary), names: binary, mentions: "not text")

        let pubAsKey = file("given.pub", pair.publicKey.z85)
        assertError(try CurveKeyFile.loadKeyPair(pubAsKey), names: pubAsKey, mentions: "secret-key")
        let badSecret = file("bad.key", "curve\n    public-key = \"\(pair.publicKey.z85)\"\n    secret-key = \"\(String(repeating: "~", count: 40))\"\n")
        assertError(try CurveKeyFile.loadKeyPair(badSecret), names: badSecret, mentions: "secret-key is not valid Z85")
        let mismatched = file("mixed.key", "curve\n    public-key = \"\(other.publicKey.z85)\"\n    secret-key = \"\(pair.secretKey.z85)\"\n")
        assertError(try CurveKeyFile.loadKeyPair(mismatched), names: mismatched, mentions: "does not belong")
    }

    func testAllowListFromFileOrFolder() throws {
        let a = try CurveKeyPair.generate(), b = try CurveKeyPair.generate()
        let folder = "\(dir!)/allow"
        try CurveKeyFile.write(a, directory: folder, name: "a")
        try CurveKeyFile.write(b, directory: folder, name: "b")
        XCTAssertEqual(try CurveKeyFile.loadAllowList(folder), [a.publicKey, b.publicKey], ".pub files only; the .key files are not read")
        XCTAssertEqual(try CurveKeyFile.loadAllowList("\(folder)/a.pub"), [a.publicKey])

        let empty = "\(dir!)/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        assertError(try CurveKeyFile.loadAllowList(empty), names: empty, mentions: "no .pub files")
        assertError(try CurveKeyFile.loadAllowList("\(dir!)/absent"), names: "\(dir!)/absent", mentions: "no such file")
        let broken = "\(folder)/zz-broken.pub"
        _ = FileManager.default.createFile(atPath: broken, contents: Data("not a key\n".utf8))
        assertError(try CurveKeyFile.loadAllowList(folder), names: broken, mentions: "40")
    }
}
