import XCTest
import MienProto
import MienTestKit
@testable import MienWire

final class EnvelopeCodecTests: XCTestCase {
    func testEveryBodyKindRoundTrips() throws {
        let samples = SampleEnvelopes.all()
        XCTAssertEqual(Set(samples.map(\.kind)).count, 12, "one sample per body kind, kinds distinct")
        for e in samples {
            let decoded = try EnvelopeCodec.decode(try EnvelopeCodec.encode(e))
            XCTAssertEqual(decoded, e, e.kind)
        }
        let published = SampleEnvelopes.published()
        XCTAssertEqual(Set(published.map(\.kind)), ["frame_result", "segment_result", "video_result", "job_metrics"])
        for p in published {
            XCTAssertEqual(try EnvelopeCodec.decodePublished(try EnvelopeCodec.encode(p)), p, p.kind)
        }
    }

    /// The flat `Payload` the code uses and the wire's planes: session and tuning messages go
    /// one level down, the data path stays at top level, and every payload comes back as sent.
    func testPayloadsTravelInTheirPlanes() throws {
        let tuning: [Envelope.Payload] = [
            .trialWorkerHello(.with { $0.workerID = "w" }), .trialSetup(.with { $0.chunks = 2 }),
            .trialDataChunk(.with { $0.index = 1 }), .trialRequest(.with { $0.trial = 3 }),
            .trialResult(.with { $0.trial = 3 }),
        ]
        for payload in SampleEnvelopes.all().compactMap(\.payload) + tuning {
            let e = Envelope(payload, senderID: "t")
            let decoded = try EnvelopeCodec.decode(try EnvelopeCodec.encode(e))
            XCTAssertEqual(decoded.payload, payload, payload.kind)
            let plane = switch decoded.body {
            case .session?: "session"
            case .tuning?: "tuning"
            default: "top"
            }
            let expected = switch payload {
            case .hello, .ready, .heartbeat, .ack, .error, .shutdown: "session"
            case .trialWorkerHello, .trialSetup, .trialDataChunk, .trialRequest, .trialResult: "tuning"
            default: "top"
            }
            XCTAssertEqual(plane, expected, payload.kind)
        }
    }

    /// A plane without a body (an empty Session, or one case of a newer version) has no payload
    /// this build knows: rejected as bodyless, not handed on as nil.
    func testAnEmptyPlaneIsABodylessEnvelope() throws {
        for body in [Envelope.OneOf_Body.session(.init()), .tuning(.init())] {
            var e = Envelope()
            e.protocolVersion = ProtocolConstants.version
            e.body = body
            let bytes: [UInt8] = try e.serializedBytes()
            XCTAssertThrowsError(try EnvelopeCodec.decode(bytes)) { XCTAssertTrue(($0 as! WireError).isKind(.missingBody)) }
        }
    }

    /// A peer of protocol version 1 (every body at top level; a hello was field 10) is told
    /// to run the same version, not misread.
    func testAVersionOneHelloIsRefusedByVersion() throws {
        // protocol_version = 1 (field 1, varint), then field 10 (length-delimited): an empty hello.
        let v1Hello: [UInt8] = [0x08, 0x01, 0x52, 0x00]
        XCTAssertThrowsError(try EnvelopeCodec.decode(v1Hello)) { error in
            XCTAssertTrue((error as! WireError).isKind(.unsupportedVersion))
            XCTAssertTrue("\(error)".contains("run the same Mien version"), "\(error)")
        }
    }

    func testEncodeStampsTheProtocolVersion() throws {
        var e = SampleEnvelopes.all()[0]
        e.protocolVersion = 0
        XCTAssertEqual(try EnvelopeCodec.decode(try EnvelopeCodec.encode(e)).protocolVersion, ProtocolConstants.version)
    }

    func testUnknownVersionIsRejectedWithTypedError() throws {
        var e = SampleEnvelopes.all()[1]
        e.protocolVersion = 3
        let bytes: [UInt8] = try e.serializedBytes()
        XCTAssertThrowsError(try EnvelopeCodec.decode(bytes)) { error in
            let w = error as! WireError
            XCTAssertTrue(w.isKind(.unsupportedVersion))
            XCTAssertTrue(w.message.contains("version 3"), w.message)
        }
    }

    func testAbsentVersionIsRejected() throws {
        var e = Envelope()
        e.payload = .ready(.with { $0.credit = 1 })
        let bytes: [UInt8] = try e.serializedBytes()
        XCTAssertThrowsError(try EnvelopeCodec.decode(bytes)) { XCTAssertTrue(($0 as! WireError).isKind(.unsupportedVersion)) }
    }

    func testEmptyAndBodylessMessagesAreRejected() throws {
        XCTAssertThrowsError(try EnvelopeCodec.decode([])) { XCTAssertTrue(($0 as! WireError).isKind(.emptyFrame)) }
        var e = Envelope()
        e.protocolVersion = ProtocolConstants.version
        e.jobID = "j"
        let bytes: [UInt8] = try e.serializedBytes()
        XCTAssertThrowsError(try EnvelopeCodec.decode(bytes)) { XCTAssertTrue(($0 as! WireError).isKind(.missingBody)) }
    }

    func testOversizedMessageIsRejectedBeforeParsing() throws {
        let bytes = try EnvelopeCodec.encode(SampleEnvelopes.all()[6])
        XCTAssertThrowsError(try EnvelopeCodec.decode(bytes, limit: bytes.count - 1)) { XCTAssertTrue(($0 as! WireError).isKind(.tooLarge)) }
        XCTAssertNoThrow(try EnvelopeCodec.decode(bytes, limit: bytes.count))
    }

    /// Every strict prefix of every sample either fails with a WireError or decodes to a valid
    /// envelope; none traps. (Protobuf prefixes can be valid messages: fields end on boundaries.)
    func testTruncatedMessagesNeverCrash() throws {
        var failures = 0, total = 0
        for e in SampleEnvelopes.all() {
            let bytes = try EnvelopeCodec.encode(e)
            for n in 1..<bytes.count {
                total += 1
                do {
                    let d = try EnvelopeCodec.decode(Array(bytes[..<n]))
                    XCTAssertEqual(d.protocolVersion, ProtocolConstants.version)
                    XCTAssertNotNil(d.payload)
                } catch {
                    failures += 1
                }
            }
        }
        XCTAssertGreaterThan(failures, total / 2, "most truncations must be detected")
    }

    /// Seeded fuzz loop: 12 000 inputs — random bytes, and bit-flipped / spliced / truncated
    /// real envelopes. The decoder must return a valid envelope or throw WireError, never trap.
    func testSeededFuzzNeverCrashes() throws {
        var rng = SeededGenerator(seed: 0x4D49_454E)
        let valid = try SampleEnvelopes.all().map { try EnvelopeCodec.encode($0) }
        var decoded = 0, rejected = 0
        for i in 0..<12_000 {
            var input: [UInt8]
            switch i % 4 {
            case 0:
                input = (0..<Int.random(in: 1...512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:
                input = valid[Int.random(in: 0..<valid.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let k = Int.random(in: 0..<input.count, using: &rng)
                    input[k] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                }
            case 2:
                let a = valid[Int.random(in: 0..<valid.count, using: &rng)]
                let b = valid[Int.random(in: 0..<valid.count, using: &rng)]
                input = Array(a[..<Int.random(in: 1...a.count, using: &rng)]) + Array(b[Int.random(in: 0..<b.count, using: &rng)...])
            default:
                input = valid[Int.random(in: 0..<valid.count, using: &rng)]
                input = Array(input[..<Int.random(in: 1...input.count, using: &rng)])
                input.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...input.count, using: &rng))
            }
            do {
                let e = try EnvelopeCodec.decode(input)
                XCTAssertEqual(e.protocolVersion, ProtocolConstants.version)
                XCTAssertNotNil(e.payload)
                decoded += 1
            } catch {
                rejected += 1
            }
        }
        XCTAssertEqual(decoded + rejected, 12_000)
        XCTAssertGreaterThan(rejected, 6_000)
    }

    func testReconnectBackOffDoublesAndCaps() {
        XCTAssertEqual((0..<8).map { ProtocolConstants.reconnectDelayMs(attempt: $0) },
                       [250, 500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000])
        XCTAssertEqual(ProtocolConstants.reconnectDelayMs(attempt: 1_000), ProtocolConstants.reconnectMaxMs)
    }
}
