import XCTest
@testable import MienNN

final class BLASThreadsTests: XCTestCase {
    func testSetsOpenBLASThreadCount() {
        let before = BLASThreads.count
        BLASThreads.set(1)
        XCTAssertEqual(BLASThreads.count, 1)
        BLASThreads.set(max(before, 1))
    }
}
