import CMienVision
import Foundation

/// Writes video files through OpenCV's `cv::VideoWriter` with the FFmpeg backend.
///
/// Codec: `.h264` ("avc1", libx264 in Debian's FFmpeg) by default, `.mpeg4` ("mp4v") as the
/// fallback for FFmpeg builds without an H.264 encoder. The encoder runs single-threaded, so
/// the same frames give byte-identical files on the same FFmpeg/x264 build.
///
/// Not thread-safe: use one writer from one thread or task. `close()` finishes the file; a
/// writer dropped without `close()` is finished in `deinit` and its errors are lost.
public final class VideoWriter {
    /// Codec tags the writer knows by name.
    public enum Codec: String, Sendable, CaseIterable {
        /// H.264 / AVC ("avc1"), libx264.
        case h264 = "avc1"
        /// MPEG-4 part 2 ("mp4v"), FFmpeg's native encoder.
        case mpeg4 = "mp4v"
    }

    public let path: String
    public let width: Int
    public let height: Int
    /// 3 (BGR) or 1 (gray) bytes per pixel.
    public let channels: Int
    public let codec: Codec
    private var handle: OpaquePointer?

    /// Opens `path` for writing; the container follows the extension (`.mp4`, `.avi`, `.mkv`).
    /// - Parameters:
    ///   - channels: 3 for BGR frames, 1 for gray frames.
    /// - Throws: `VisionError` naming `path`: `.notFound` if the file cannot be created (missing
    ///   folder, no permission), `.unsupported` if FFmpeg cannot encode `codec` into the
    ///   container, `.invalidArgument` for a bad size or rate.
    public init(path: String, width: Int, height: Int, fps: Double, channels: Int = 3, codec: Codec = .h264) throws {
        guard channels == 1 || channels == 3 else {
            throw VisionError(.invalidArgument, path: path, message: "channels must be 1 (gray) or 3 (BGR), got \(channels)")
        }
        let dir = (path as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
            throw VisionError(.notFound, path: path, message: "the folder '\(dir)' does not exist; create it first")
        }
        self.path = path
        self.width = width
        self.height = height
        self.channels = channels
        self.codec = codec
        var h: OpaquePointer?
        try checked(path: path) { err, len in
            mien_video_writer_open(path, Int32(width), Int32(height), fps, codec.rawValue, channels == 3 ? 1 : 0, &h, err, len)
        }
        handle = h
    }

    /// Opens with H.264 if this FFmpeg can encode it, else MPEG-4 part 2 (`codec` tells which).
    public static func openPreferringH264(path: String, width: Int, height: Int, fps: Double, channels: Int = 3) throws -> VideoWriter {
        do {
            return try VideoWriter(path: path, width: width, height: height, fps: fps, channels: channels, codec: .h264)
        } catch let e as VisionError where e.code == .unsupported {
            return try VideoWriter(path: path, width: width, height: height, fps: fps, channels: channels, codec: .mpeg4)
        }
    }

    deinit {
        if let handle { _ = mien_video_writer_close(handle, nil, 0) }
    }

    /// Frames written so far.
    public var frameCount: Int { handle.map { Int(mien_video_writer_frames($0)) } ?? 0 }

    /// Appends one frame of `height × width × channels` bytes (BGR or gray, no row padding).
    /// - Throws: `VisionError` if the writer is closed or the buffer has the wrong size.
    public func write(_ pixels: [UInt8]) throws {
        guard let handle else { throw VisionError(.invalidArgument, path: path, message: "write after close") }
        guard pixels.count == width * height * channels else {
            throw VisionError(.invalidArgument, path: path,
                              message: "frame has \(pixels.count) bytes, expected \(width)×\(height)×\(channels) = \(width * height * channels)")
        }
        try pixels.withUnsafeBufferPointer { buf in
            try checked(path: path) { err, len in
                mien_video_writer_write(handle, buf.baseAddress, width * channels, err, len)
            }
        }
    }

    /// Finishes the file. Calling it again does nothing.
    public func close() throws {
        guard let h = handle else { return }
        handle = nil
        try checked(path: path) { err, len in mien_video_writer_close(h, err, len) }
    }
}
