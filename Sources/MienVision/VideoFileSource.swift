import CMienVision

/// A video file decoded by FFmpeg (libavformat + libavcodec: mp4, avi, mkv, mov, webm, …), with
/// frame-exact seeking (see `seek(to:)`). Gray frames are the decoded luma plane expanded to full
/// range (no colour conversion); BGR frames come from swscale, as OpenCV's VideoCapture made
/// them. Frames are turned upright by the stream's rotation metadata.
public final class VideoFileSource: FrameSource {
    public private(set) var info: MediaInfo
    public let path: String
    private let handle: OpaquePointer

    /// Opens the video and decodes its first frame (so a file that cannot be decoded fails here),
    /// with `options.decoderThreads` decoder threads.
    /// - Throws: `VisionError` naming `path`.
    public init(path: String, options: SourceOptions = SourceOptions()) throws {
        self.path = path
        var out: OpaquePointer?
        try checked(path: path) { err, len in
            mien_video_open(path, UInt64(max(0, options.maxPixels)), Int32(clamping: options.decoderThreads), &out, err, len)
        }
        guard let out else { throw VisionError(.internalFailure, path: path, message: "shim returned no video") }
        handle = out
        info = MediaInfo(path: path, kind: .video, fps: 0, frameCount: 0, frameCountExact: false, width: 0, height: 0, duration: 0, codec: "")
        refreshInfo()
    }

    deinit { mien_video_destroy(handle) }

    private func refreshInfo() {
        var i = mien_video_info()
        mien_video_get_info(handle, &i)
        let codec = withUnsafeBytes(of: i.fourcc) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        info = MediaInfo(path: path, kind: .video, fps: i.fps, frameCount: Int(i.frame_count),
                         frameCountExact: i.frame_count_exact != 0, width: Int(i.width), height: Int(i.height),
                         duration: i.duration, codec: codec)
    }

    /// Counts the frames by decoding the whole stream once (every frame, no colour conversion, on
    /// a decoder of its own: the position does not change); afterwards `info.frameCount` is exact
    /// and seeks past the end fail at once.
    /// - Throws: `VisionError` `.corrupt` naming the frame if one cannot be decoded.
    @discardableResult
    public func countFrames() throws -> Int {
        var n: Int64 = 0
        try checked(path: path) { err, len in mien_video_count_frames(handle, &n, err, len) }
        refreshInfo()
        return Int(n)
    }

    /// Positions the video so the next frame read is `index`: decodes forward when the target is
    /// ≤ 32 frames ahead; otherwise seeks to the keyframe before it and decodes forward to the
    /// frame whose timestamp says it is `index` (round((t − t₀) · fps) = index, the frames on the
    /// way 1/fps apart), backing off 16 or 64 frames when that check fails, and reopening and
    /// decoding from frame 0 as a last resort. The frame returned equals the one a full sequential
    /// decode gives at `index` wherever timestamps identify indices (constant-rate video; see
    /// mien_video.h for the variable-rate caveat).
    public func seek(to index: Int) throws {
        try checked(path: path) { err, len in mien_video_seek(handle, Int64(index), err, len) }
    }

    public func nextFrame(format: PixelFormat) throws -> Frame? {
        var index: Int64 = 0
        var ts: Double = 0
        var err = [CChar](repeating: 0, count: errorBufferSize)
        let status = err.withUnsafeMutableBufferPointer { mien_video_grab(handle, &index, &ts, $0.baseAddress, errorBufferSize) }
        if status == MIEN_ERR_END { return nil }
        if status != MIEN_OK {
            throw VisionError(VisionError.Code(status: status), path: path, message: cMessage(err))
        }
        // mien_video_retrieve writes every byte on success: no zero-fill first (it was ~0.3 % of
        // a job's CPU, a 300 KB memset per 640×480 frame).
        let count = info.width * info.height * format.channels
        let pixels = try [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            try checked(path: path) { err, len in
                mien_video_retrieve(handle, Int32(format.channels), buf.baseAddress, buf.count, err, len)
            }
            initialized = count
        }
        return Frame(index: Int(index), timestamp: ts, width: info.width, height: info.height, format: format, pixels: pixels)
    }

    public func skipFrame() throws -> Bool {
        var index: Int64 = 0
        var ts: Double = 0
        var err = [CChar](repeating: 0, count: errorBufferSize)
        let status = err.withUnsafeMutableBufferPointer { mien_video_grab(handle, &index, &ts, $0.baseAddress, errorBufferSize) }
        if status == MIEN_ERR_END { return false }
        if status != MIEN_OK {
            throw VisionError(VisionError.Code(status: status), path: path, message: cMessage(err))
        }
        return true
    }

    /// How seeks were satisfied so far, and how many frames were decoded in all, including those
    /// decoded only to be skipped and those decoded from a seek's keyframe up to its target (for
    /// tests and diagnostics).
    public var seekStatistics: (direct: Int, stepped: Int, backoff: Int, sequential: Int, decoded: Int) {
        var s = mien_video_seek_stats()
        mien_video_get_seek_stats(handle, &s)
        return (Int(s.direct), Int(s.stepped), Int(s.backoff), Int(s.sequential), Int(s.decoded))
    }
}

/// Threads OpenCV's own parallel loops (resize, colour conversion, cascade detection) use in
/// this process. Set 1 for one-core-per-worker deployments and per-core benchmarks.
public enum VisionThreads {
    public static var count: Int {
        get { Int(mien_get_num_threads()) }
        set { mien_set_num_threads(Int32(newValue)) }
    }
}
