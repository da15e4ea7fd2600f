/// What a probe learns about a video, a folder of frames or a single image.
public struct MediaInfo: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case video
        case frames
        case image
    }

    /// The path probed.
    public var path: String
    public var kind: Kind
    /// Frames a second: the stream's rate for video (average for variable-rate video); the
    /// configured rate for a folder of frames; 0 for a single image.
    public var fps: Double
    /// Number of frames. For video, the container's count (or duration × fps) unless
    /// `frameCountExact`, in which case it was counted by decoding every frame.
    public var frameCount: Int
    public var frameCountExact: Bool
    /// Frame size in pixels (for a folder: its first frame).
    public var width: Int
    public var height: Int
    /// Seconds: frameCount / fps (0 for a single image).
    public var duration: Double
    /// Codec four-character code for video ("avc1", "FMP4", "MJPG", "VP90", …); for frames
    /// and images the file extension of the first frame, lower-cased ("png", "jpg").
    public var codec: String

    public init(path: String, kind: Kind, fps: Double, frameCount: Int, frameCountExact: Bool,
                width: Int, height: Int, duration: Double, codec: String) {
        self.path = path
        self.kind = kind
        self.fps = fps
        self.frameCount = frameCount
        self.frameCountExact = frameCountExact
        self.width = width
        self.height = height
        self.duration = duration
        self.codec = codec
    }
}
