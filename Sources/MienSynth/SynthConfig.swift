/// Settings of a synthetic data set. All lengths in pixels, times in seconds.
public struct SynthConfig: Sendable, Equatable {
    /// Frame size in pixels (both ≥ 64).
    public var width: Int
    public var height: Int
    /// Frames per second (> 0).
    public var fps: Double
    /// Clip length is drawn uniformly from [minSeconds, maxSeconds].
    public var minSeconds: Double
    public var maxSeconds: Double
    /// Render grayscale (all channels equal) instead of colour.
    public var grayscale: Bool
    /// Largest number of faces per clip (1 or 2); with 2, 35 % of clips show two people.
    public var maxFaces: Int

    public init(width: Int = 640, height: Int = 480, fps: Double = 25, minSeconds: Double = 2,
                maxSeconds: Double = 10, grayscale: Bool = false, maxFaces: Int = 2) {
        self.width = width
        self.height = height
        self.fps = fps
        self.minSeconds = minSeconds
        self.maxSeconds = maxSeconds
        self.grayscale = grayscale
        self.maxFaces = maxFaces
    }

    /// Checks the settings, returning a message naming the bad setting and its fix, or nil.
    public func problem() -> String? {
        if width < 64 || height < 64 { return "frame size \(width)×\(height) is too small: width and height must be at least 64" }
        if width > 4096 || height > 4096 { return "frame size \(width)×\(height) is too large: width and height must be at most 4096" }
        if width % 2 != 0 || height % 2 != 0 { return "frame size \(width)×\(height) must be even in both directions (H.264 4:2:0 needs it)" }
        if !(fps > 0 && fps <= 240) { return "fps \(fps) must be in (0, 240]" }
        if !(minSeconds > 0) { return "min-seconds \(minSeconds) must be positive" }
        if !(maxSeconds >= minSeconds) { return "max-seconds \(maxSeconds) must be ≥ min-seconds \(minSeconds)" }
        if maxSeconds > 600 { return "max-seconds \(maxSeconds) is longer than the 600 s limit" }
        if Double(Int(minSeconds * fps)) < 2 { return "min-seconds × fps must give at least 2 frames" }
        if !(1...2).contains(maxFaces) { return "max-faces \(maxFaces) must be 1 or 2" }
        return nil
    }
}
