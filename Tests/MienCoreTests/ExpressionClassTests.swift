import XCTest
@testable import MienCore

final class ExpressionClassTests: XCTestCase {
    /// The pretrained CNN's output order; every probability vector in Mien relies on it.
    func testLabelsAreInFER2013OutputOrder() {
        XCTAssertEqual(ExpressionClass.labels, ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
    }
}
