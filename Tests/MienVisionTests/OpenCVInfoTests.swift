import XCTest
@testable import MienVision

final class OpenCVInfoTests: XCTestCase {
    /// The shim must be built against OpenCV 4 (Debian's 4.6): the C++ API it uses is OpenCV 4's.
    func testLinksAgainstOpenCV4() {
        XCTAssertTrue(OpenCVInfo.version.hasPrefix("4."), "OpenCV version \(OpenCVInfo.version)")
    }
}
