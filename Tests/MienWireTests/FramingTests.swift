import XCTest
import MienProto
@testable import MienWire

final class FramingTests: XCTestCase {
    let sample = SampleEnvelopes.all()[6]  // frame_batch
    let result = SampleEnvelopes.published()[0]  // frame_result

    func testDirectRoutedAndPublishedRoundTrip() throws {
        XCTAssertEqual(try Framing.decodeDirect(try Framing.direct(sample)), sample)
        let (id, e) = try Framing.decodeRouted(try Framing.routed(to: [1, 2, 3], sample))
        XCTAssertEqual(id, [1, 2, 3])
        XCTAssertEqual(e, sample)
        let published = try Framing.published(result)
        XCTAssertEqual(String(decoding: published[0], as: UTF8.self), "frame_result")
        XCTAssertEqual(try Framing.decodePublished(published), result)
    }

    func testWrongFrameCountsAreTypedErrors() throws {
        let bytes = try EnvelopeCodec.encode(sample)
        for frames in [[], [bytes, bytes], [[1], bytes, bytes]] as [[[UInt8]]] {
            XCTAssertThrowsError(try Framing.decodeDirect(frames)) { XCTAssertTrue(($0 as! WireError).isKind(.wrongFrameCount)) }
        }
        XCTAssertThrowsError(try Framing.decodeRouted([bytes])) { XCTAssertTrue(($0 as! WireError).isKind(.wrongFrameCount)) }
        XCTAssertThrowsError(try Framing.decodePublished([bytes])) { XCTAssertTrue(($0 as! WireError).isKind(.wrongFrameCount)) }
    }

    func testEmptyIdentityTopicAndPayloadFramesAreRejected() throws {
        let bytes = try EnvelopeCodec.encode(sample)
        XCTAssertThrowsError(try Framing.decodeRouted([[], bytes])) { XCTAssertTrue(($0 as! WireError).isKind(.emptyFrame)) }
        XCTAssertThrowsError(try Framing.decodePublished([[], bytes])) { XCTAssertTrue(($0 as! WireError).isKind(.emptyFrame)) }
        XCTAssertThrowsError(try Framing.decodeDirect([[]])) { XCTAssertTrue(($0 as! WireError).isKind(.emptyFrame)) }
    }

    func testTopicMustMatchBody() throws {
        let bytes = try EnvelopeCodec.encode(result)
        XCTAssertThrowsError(try Framing.decodePublished([Array("video_result".utf8), bytes])) { error in
            XCTAssertTrue((error as! WireError).isKind(.malformedProtobuf))
            XCTAssertTrue("\(error)".contains("does not match"), "\(error)")
        }
    }
}
