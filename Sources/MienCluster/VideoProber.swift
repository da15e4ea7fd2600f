import Foundation

/// The coordinator's video probe (libavformat: container, frame count, size) on a thread of its
/// own, so slow or stuck storage never stalls the socket loop: heartbeats, dispatch and worker
/// messages go on while a video is probed. The coordinator submits videos in input order and
/// collects the results, in the same order, after `wake` turns readable.
final class VideoProber: @unchecked Sendable {
    /// A probed video, or why it could not be probed.
    struct Probed: Sendable {
        var input: VideoInput
        var result: Result<VideoProbe, Error>
    }

    /// Readable when results are waiting (poll `wake.readFD`).
    let wake: WakePipe
    private let requests: WorkQueue<VideoInput>
    private let results: WorkQueue<Probed>
    private let capacity: Int
    /// Submitted and not yet collected (the coordinator's thread only).
    private(set) var pending = 0

    /// - Parameter capacity: videos submitted and not yet collected, at most (the job's video count).
    init(capacity: Int, probe: @escaping @Sendable (VideoInput) throws -> VideoProbe) throws {
        self.capacity = max(1, capacity)
        wake = try WakePipe()
        requests = WorkQueue(capacity: self.capacity)
        results = WorkQueue(capacity: self.capacity)
        let (requests, results, wake) = (requests, results, wake)
        let thread = Thread {
            while !requests.isClosed {
                guard let input = requests.take(timeout: 0.5) else { continue }
                results.put(Probed(input: input, result: Result { try probe(input) }))
                wake.wake()
            }
        }
        thread.name = "mien.coordinator.probe"
        thread.start()
    }

    /// Queues a video to probe. More than `capacity` uncollected would block the caller's loop
    /// for good (it is the one that collects): a bug, so stop.
    func submit(_ input: VideoInput) {
        precondition(pending < capacity, "video prober: more than \(capacity) videos submitted and not collected")
        pending += 1
        requests.put(input)
    }

    /// The videos probed so far, in submission order.
    func collect() -> [Probed] {
        wake.drain()
        let out = results.drain()
        pending -= out.count
        return out
    }

    /// Ends the thread after the probe it is running, if any (without waiting for it: a probe
    /// stuck on storage must not keep the coordinator from stopping).
    func stop() {
        requests.close()
        results.close()
    }
}
