import Foundation
import XCTest

@testable import MienVision

final class ModelFoldersTests: XCTestCase {
    /// The "no model bundle" error lists these folders: each should appear once, in search order,
    /// even when $MIEN_MODELS names ./models (it listed /models three times for a binary in /tmp).
    func testEachFolderIsListedOnceInSearchOrder() {
        let cwdModels = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("models")
        let saved = ProcessInfo.processInfo.environment["MIEN_MODELS"]
        setenv("MIEN_MODELS", cwdModels, 1)
        defer {
            if let saved { setenv("MIEN_MODELS", saved, 1) } else { unsetenv("MIEN_MODELS") }
        }
        let list = ModelFolders.list()
        XCTAssertEqual(list.first, cwdModels)
        XCTAssertEqual(list.filter { $0 == cwdModels }.count, 1, "\(list)")
        XCTAssertEqual(Set(list).count, list.count, "\(list)")
        XCTAssertTrue(list.dropFirst().contains { $0.hasSuffix("/models") && $0 != cwdModels }, "the build tree's models/ folders follow: \(list)")
    }
}
