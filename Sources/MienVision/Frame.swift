/// Byte layout of decoded pixels.
public enum PixelFormat: String, Sendable, Codable, CaseIterable {
    /// 1 byte a pixel, full range (0–255). Video: the decoder's luma plane, expanded from 16–235
    /// for limited-range video — within ~1.3 grey levels on average of the BT.601 gray of the BGR
    /// frame (see mien_video.h). Images and frame folders: OpenCV `COLOR_BGR2GRAY` of the colour decode.
    case gray
    /// 3 bytes a pixel in OpenCV's blue, green, red order.
    case bgr

    public var channels: Int { self == .gray ? 1 : 3 }
}

/// One decoded frame: its 0-based index in the source (decode order, as a full sequential decode
/// numbers it), its timestamp in seconds from the start of the stream, and its pixels
/// (row-major, `width × height × format.channels` bytes, no padding).
public struct Frame: Sendable, Equatable {
    public let index: Int
    /// Seconds from the stream's start (video: the frame's presentation time; folders: index / fps).
    public let timestamp: Double
    public let width: Int
    public let height: Int
    public let format: PixelFormat
    public var pixels: [UInt8]

    public init(index: Int, timestamp: Double, width: Int, height: Int, format: PixelFormat, pixels: [UInt8]) {
        precondition(pixels.count == width * height * format.channels,
                     "frame \(width)×\(height) \(format) needs \(width * height * format.channels) bytes, got \(pixels.count)")
        self.index = index
        self.timestamp = timestamp
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// The frame as a grayscale image (converted with `COLOR_BGR2GRAY` if it is BGR).
    public var grayImage: GrayImage {
        switch format {
        case .gray: return GrayImage(width: width, height: height, pixels: pixels)
        case .bgr: return BGRImage(width: width, height: height, pixels: pixels).gray()
        }
    }

    /// The frame as a BGR image, or nil for a gray frame.
    public var bgrImage: BGRImage? {
        format == .bgr ? BGRImage(width: width, height: height, pixels: pixels) : nil
    }
}

/// Which frames of a source to keep.
public enum Sampling: Sendable, Equatable {
    /// Every frame.
    case all
    /// Frames whose index is a multiple of k (0, k, 2k, …); k ≥ 1.
    case every(Int)
    /// About `fps` frames a second: frame i is kept when ⌊i·fps/sourceFPS⌋ > ⌊(i−1)·fps/sourceFPS⌋
    /// (frame 0 always). Selection depends on the absolute index only, so a range decode keeps
    /// exactly the frames a full decode keeps in that range. A target at or above the source's
    /// rate keeps every frame.
    case fps(Double)

    /// Whether frame `index` is kept from a source running at `sourceFPS` (0 if unknown: keep all).
    public func keeps(_ index: Int, sourceFPS: Double) -> Bool {
        switch self {
        case .all:
            return true
        case .every(let k):
            return index % max(1, k) == 0
        case .fps(let target):
            guard sourceFPS > 0, target > 0, target < sourceFPS else { return true }
            if index == 0 { return true }
            let ratio = target / sourceFPS
            return (Double(index) * ratio).rounded(.down) > (Double(index - 1) * ratio).rounded(.down)
        }
    }

    /// Checks the parameters.
    func validate() throws {
        switch self {
        case .all: return
        case .every(let k):
            guard k >= 1 else { throw VisionError(.invalidArgument, path: nil, message: "sampling every \(k) frames: k must be ≥ 1") }
        case .fps(let f):
            guard f > 0, f.isFinite else { throw VisionError(.invalidArgument, path: nil, message: "sampling at \(f) fps: the rate must be > 0") }
        }
    }
}
