/// How envelopes sit in ZeroMQ multipart messages, per socket pattern, as pure functions.
///
/// - direct (DEALER, PUSH, PULL, PAIR): `[envelope]`
/// - routed (ROUTER side): `[peer identity, envelope]` — ROUTER prepends/strips the identity
/// - published (PUB/XPUB → SUB): `[topic, published]`, topic = `Published.kind` so that
///   subscribers filter by prefix (e.g. subscribe to `"frame_result"`).
public enum Framing {
    /// Frames for a direct send.
    public static func direct(_ envelope: Envelope) throws -> [[UInt8]] {
        [try EnvelopeCodec.encode(envelope)]
    }

    /// Frames for a ROUTER to send to the peer `identity`.
    public static func routed(to identity: [UInt8], _ envelope: Envelope) throws -> [[UInt8]] {
        [identity, try EnvelopeCodec.encode(envelope)]
    }

    /// Frames for publishing a result.
    public static func published(_ message: Published) throws -> [[UInt8]] {
        [Array(message.kind.utf8), try EnvelopeCodec.encode(message)]
    }

    /// Decodes a message received on a DEALER / PULL / PAIR socket.
    public static func decodeDirect(_ frames: [[UInt8]], limit: Int = ProtocolConstants.maxMessageBytes) throws(WireError) -> Envelope {
        guard frames.count == 1 else { throw .wrongFrameCount(expected: "1", got: frames.count) }
        return try EnvelopeCodec.decode(frames[0], limit: limit)
    }

    /// Decodes a message received on a ROUTER socket: returns the sender's identity and envelope.
    public static func decodeRouted(_ frames: [[UInt8]], limit: Int = ProtocolConstants.maxMessageBytes) throws(WireError) -> (identity: [UInt8], envelope: Envelope) {
        guard frames.count == 2 else { throw .wrongFrameCount(expected: "2 (identity, envelope)", got: frames.count) }
        guard !frames[0].isEmpty else { throw .emptyFrame("identity") }
        return (frames[0], try EnvelopeCodec.decode(frames[1], limit: limit))
    }

    /// Decodes a message received on a SUB socket; checks that the topic matches the body.
    public static func decodePublished(_ frames: [[UInt8]], limit: Int = ProtocolConstants.maxMessageBytes) throws(WireError) -> Published {
        guard frames.count == 2 else { throw .wrongFrameCount(expected: "2 (topic, published)", got: frames.count) }
        guard !frames[0].isEmpty else { throw .emptyFrame("topic") }
        let message = try EnvelopeCodec.decodePublished(frames[1], limit: limit)
        guard Array(message.kind.utf8) == frames[0] else {
            throw .malformed(bytes: frames[1].count,
                             reason: "topic \"\(String(decoding: frames[0], as: UTF8.self))\" does not match body \(message.kind)")
        }
        return message
    }
}
