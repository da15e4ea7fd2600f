import Foundation

/// The coordinator's video probe (libavformat: container, frame count, size) on a thread of its
/// own (`LoopHelper`), so slow or stuck storage never stalls the socket loop: heartbeats,
/// dispatch and worker messages go on while a video is probed. The coordinator submits videos
/// in input order and collects the results, in the same order, after `wake` turns readable.
final class VideoProber: @unchecked Sendable {
    /// A probed video, or why it could not be probed.
    struct Probed: Sendable {
        var input: VideoInput
        var result: Result<VideoProbe, Error>
    }

    private let helper: LoopHelper<VideoInput, Probed>

    /// - Parameter capacity: videos submitted and not yet collected, at most (the job's video count).
    init(capacity: Int, probe: @escaping @Sendable (VideoInput) throws -> VideoProbe) throws {
        helper = try LoopHelper(name: "mien.coordinator.probe", capacity: capacity) {
            { input in Probed(input: input, result: Result { try probe(input) }) }
        }
    }

    /// Readable when results are waiting (poll `wake.readFD`).
    var wake: WakePipe { helper.wake }
    /// Submitted and not yet collected.
    var pending: Int { helper.pending }
    func submit(_ input: VideoInput) { helper.submit(input) }
    /// The videos probed so far, in submission order.
    func collect() -> [Probed] { helper.collect() }
    /// Ends the thread after the probe it is running, if any, without waiting for it: a probe
    /// stuck on storage must not keep the coordinator from stopping.
    func stop() { helper.stop(wait: false) }
}
