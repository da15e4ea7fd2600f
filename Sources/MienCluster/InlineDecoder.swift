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

    /// Readable when results are waiting (poll `wake.readFD`).
    let wake: WakePipe
    private let requests: WorkQueue<Mien_V1_FrameBatch>
    private let results: WorkQueue<Decoded>
    private let stopped = DispatchSemaphore(value: 0)
    private let capacity: Int
    /// Submitted and not yet collected (the coordinator's thread only).
    private var pending = 0

    /// - Parameters:
    ///   - capacity: batches submitted and not yet collected, at most (the coordinator's bound).
    ///   - maxBatchBytes: pixel bytes an inline batch may carry: more would exceed the workers'
    ///     message limit (ZMQ_MAXMSGSIZE), and libzmq would drop the connection, not the batch.
    ///   - decoder: made on the decoder thread, used only there.
    init(capacity: Int, maxBatchBytes: Int, decoder: @escaping @Sendable () -> InlineFrameDecoding) throws {
        self.capacity = capacity
        wake = try WakePipe()
        requests = WorkQueue(capacity: capacity)
        results = WorkQueue(capacity: capacity)
        let (requests, results, wake, stopped) = (requests, results, wake, stopped)
        let thread = Thread {
            let decoder = decoder()
            while !requests.isClosed {
                guard let batch = requests.take(timeout: 0.5) else { continue }
                results.put(InlineDecoder.decode(batch, with: decoder, maxBatchBytes: maxBatchBytes))
                wake.wake()
            }
            stopped.signal()
        }
        thread.name = "mien.coordinator.decode"
        thread.start()
    }

    /// Queues a by-reference batch for decoding. Over `capacity` the put would block the
    /// caller's loop for good (the results it waits for are collected by that loop): a bug, so stop.
    func submit(_ batch: Mien_V1_FrameBatch) {
        precondition(pending < capacity, "inline decoder: more than \(capacity) batches submitted and not collected")
        pending += 1
        requests.put(batch)
    }

    /// The batches decoded so far, in submission order.
    func collect() -> [Decoded] {
        wake.drain()
        let out = results.drain()
        pending -= out.count
        return out
    }

    /// Ends the thread after the batch it is decoding (if any); waits for it.
    func stop() {
        requests.close()
        results.close()
        stopped.wait()
    }

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
