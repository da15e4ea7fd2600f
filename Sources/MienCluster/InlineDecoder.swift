import Foundation
import MienProto

/// The coordinator's decoder for inline mode: turns by-reference frame batches into inline
/// ones on a thread of its own, so the coordinator's poll loop never waits on a video decoder.
///
/// The coordinator submits batches in the order it wants them (in frame order within each
/// video, so the decoder's open videos continue decoding instead of seeking) and collects the
/// results after `wake` turns readable. It submits no more than its outstanding-batch bound
/// allows, so the queues below never fill and the decoded frames held stay bounded.
final class InlineDecoder: @unchecked Sendable {
    /// A decoded batch (`.inline` frames), or why the batch could not be decoded.
    struct Decoded: Sendable {
        var batch: Mien_V1_FrameBatch
        var error: String?
    }

    private let helper: LoopHelper<Mien_V1_FrameBatch, Decoded>

    /// - Parameters:
    ///   - capacity: batches submitted and not yet collected, at most (the coordinator's bound).
    ///   - maxBatchBytes: pixel bytes an inline batch may carry: more would exceed the workers'
    ///     message limit (ZMQ_MAXMSGSIZE), and libzmq would drop the connection, not the batch.
    ///   - decoder: made on the decoder thread, used only there.
    init(capacity: Int, maxBatchBytes: Int, decoder: @escaping @Sendable () -> InlineFrameDecoding) throws {
        helper = try LoopHelper(name: "mien.coordinator.decode", capacity: capacity) {
            let decoder = decoder()
            return { batch in InlineDecoder.decode(batch, with: decoder, maxBatchBytes: maxBatchBytes) }
        }
    }

    /// Readable when results are waiting (poll `wake.readFD`).
    var wake: WakePipe { helper.wake }

    /// Queues a by-reference batch for decoding (at most `capacity` uncollected).
    func submit(_ batch: Mien_V1_FrameBatch) { helper.submit(batch) }

    /// The batches decoded so far, in submission order.
    func collect() -> [Decoded] { helper.collect() }

    /// Ends the thread after the batch it is decoding (if any); waits for it.
    func stop() { helper.stop(wait: true) }

    static func decode(_ batch: Mien_V1_FrameBatch, with decoder: InlineFrameDecoding, maxBatchBytes: Int) -> Decoded {
        guard case .reference(let range) = batch.frames else { return Decoded(batch: batch) }
        var out = batch
        do {
            let frames = try decoder.inlineFrames(range)
            let bytes = frames.frames.reduce(0) { $0 + $1.pixels.count }
            if bytes > maxBatchBytes, let f = frames.frames.first {
                let perFrame = max(1, bytes / frames.frames.count)
                return Decoded(batch: batch, error: "an inline batch of \(frames.frames.count) frames of \(f.width)×\(f.height) "
                    + "is \(bytes) bytes, over the \(maxBatchBytes) a worker accepts in one message: use --batch-frames "
                    + "\(max(1, maxBatchBytes / perFrame * max(1, Int(range.sampleEvery)))) or less, or --frames reference")
            }
            out.inline = frames
        } catch {
            return Decoded(batch: batch, error: "decoding \(range.uri) for inline frames: \(error)")
        }
        return Decoded(batch: out)
    }
}
