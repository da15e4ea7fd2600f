import XCTest
import MienProto
@testable import MienCluster

/// The coordinator checks a worker's answer against the batch it answers before the
/// tracker sees it (a stale answer of a crashed predecessor, or a buggy worker, must not
/// crash it or corrupt a video).
final class PeerDataTests: XCTestCase {
    let batch = Mien_V1_FrameBatch.with {
        $0.videoID = "a.mp4"
        $0.batchID = 7
        $0.reference = .with { $0.uri = "/a.mp4"; $0.startFrame = 32; $0.endFrame = 64 }
    }

    func result(_ video: String, _ frames: [UInt64]) -> Mien_V1_EmbeddingBatch {
        .with { r in r.videoID = video; r.batchID = 7; r.frames = frames.map { f in .with { $0.index = f } } }
    }

    func testAcceptsAnswersInsideTheRangeInOrder() {
        XCTAssertTrue(Coordinator.answers(result("a.mp4", [32, 33, 63]), batch))
        XCTAssertTrue(Coordinator.answers(result("a.mp4", []), batch), "a batch past the end of the file has no frames")
    }

    func testRejectsOtherVideosOutOfRangeAndDisorderedFrames() {
        XCTAssertFalse(Coordinator.answers(result("b.mp4", [32]), batch))
        XCTAssertFalse(Coordinator.answers(result("a.mp4", [31, 32]), batch))
        XCTAssertFalse(Coordinator.answers(result("a.mp4", [40, 64]), batch))
        XCTAssertFalse(Coordinator.answers(result("a.mp4", [40, 39]), batch))
        XCTAssertFalse(Coordinator.answers(result("a.mp4", [40, 40]), batch))
    }
}
