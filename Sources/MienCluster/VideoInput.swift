/// One input video of a job.
public struct VideoInput: Sendable, Hashable {
    /// Job-unique id (the path relative to the input root, or the path as given).
    public var id: String
    /// Where workers read it (by-reference batches): a path every worker can open; inline
    /// batches: a path the coordinator can open.
    public var path: String
    /// Video-level ground truth label, when given (`--labels`).
    public var groundTruth: String?

    public init(id: String, path: String, groundTruth: String? = nil) {
        self.id = id
        self.path = path
        self.groundTruth = groundTruth
    }
}

/// What a probe tells the coordinator about a video.
public struct VideoProbe: Sendable {
    public var fps: Double
    public var frameCount: Int
    public var width: Int
    public var height: Int

    public init(fps: Double, frameCount: Int, width: Int, height: Int) {
        self.fps = fps
        self.frameCount = frameCount
        self.width = width
        self.height = height
    }
}
