import XCTest
import MienProto
import MienTestKit
@testable import MienWire

final class EnvelopeCodecTests: XCTestCase {
    func testEveryBodyKindRoundTrips() throws {
        let samples = SampleEnvelopes.all()
        XCTAssertEqual(Set(samples.map(\.kind)).count, 18, "one sample per body kind, kinds distinct")
        for e in samples {
            let decoded = try EnvelopeCodec.decode(try EnvelopeCodec.encode(e))
            XCTAssertEqual(decoded, e, e.kind)
        }
    }

    func testEncodeStampsTheProtocolVersion() throws {
        var e = SampleEnvelopes.all()[0]
        e.protocolVersion = 0
        XCTAssertEqual(try EnvelopeCodec.decode(try EnvelopeCodec.encode(e)).protocolVersion, ProtocolConstants.version)
    }

    func testUnknownVersionIsRejectedWithTypedError() throws {
        var e = SampleEnvelopes.all()[1]
        e.protocolVersion = 2
        let bytes: [UInt8] = try e.serializedBytes()
        XCTAssertThrowsError(try EnvelopeCodec.decode(bytes)) { error in
            let w = error as! WireError
            XCTAssertTrue(w.isKind(.unsupportedVersion))
            XCTAssertTrue(w.message.contains("version 2"), w.message)
        }
    }

    func testAbsentVersionIsRejected() throws {
        var e = Envelope()
        e.body = .ready(.with { $0.credit = 1 })
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
                    XCTAssertNotNil(d.body)
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
                XCTAssertNotNil(e.body)
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
