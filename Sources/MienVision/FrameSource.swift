import CMienVision
import Foundation

/// A sequence of frames that can be read in order and positioned at any frame index: a video
/// file, a folder of frames or a single image. Not thread-safe: one reader at a time.
public protocol FrameSource: AnyObject {
    /// What the source is (size, rate, count).
    var info: MediaInfo { get }
    /// Positions the source so the next `nextFrame` returns frame `index` exactly.
    /// - Throws: `VisionError` with `.endOfStream` if there is no such frame.
    func seek(to index: Int) throws
    /// Decodes and returns the next frame, or nil after the last one.
    func nextFrame(format: PixelFormat) throws -> Frame?
    /// Skips the next frame without converting its pixels; false after the last one.
    func skipFrame() throws -> Bool
}

extension FrameSource {
    /// Calls `body` for every kept frame with index in `range` (clamped at the end of the
    /// source), in order. A range past the end yields nothing.
    public func forEachFrame(in range: Range<Int>, format: PixelFormat = .bgr, sampling: Sampling = .all,
                             _ body: (Frame) throws -> Void) throws {
        try sampling.validate()
        guard range.lowerBound >= 0 else {
            throw VisionError(.invalidArgument, path: info.path, message: "frame range \(range) starts below 0")
        }
        guard !range.isEmpty else { return }
        do {
            try seek(to: range.lowerBound)
        } catch let e as VisionError where e.code == .endOfStream {
            return
        }
        var index = range.lowerBound
        while index < range.upperBound {
            if sampling.keeps(index, sourceFPS: info.fps) {
                guard let frame = try nextFrame(format: format) else { return }
                try body(frame)
            } else {
                guard try skipFrame() else { return }
            }
            index += 1
        }
    }

    /// The kept frames with index in `range` (see `forEachFrame`).
    public func frames(in range: Range<Int>, format: PixelFormat = .bgr, sampling: Sampling = .all) throws -> [Frame] {
        var out: [Frame] = []
        try forEachFrame(in: range, format: format, sampling: sampling) { out.append($0) }
        return out
    }

    /// Every kept frame from the start to the end.
    public func allFrames(format: PixelFormat = .bgr, sampling: Sampling = .all) throws -> [Frame] {
        try frames(in: 0..<Int.max, format: format, sampling: sampling)
    }
}

/// Options for opening a source.
public struct SourceOptions: Sendable, Equatable {
    /// Largest frame, in pixels, that is decoded; larger inputs fail with `.tooLarge`.
    public var maxPixels: Int
    /// Frame rate assigned to a folder of frames (timestamps are index / fps).
    public var folderFPS: Double
    /// Threads FFmpeg's decoder uses for a video file. The default, `defaultDecoderThreads`, is one
    /// per CPU, what OpenCV's backend used; 0 lets FFmpeg choose (frame threads, one more than the
    /// CPUs: slower on 2 busy CPUs, docs/BENCHMARKS.md); 1 decodes on the calling thread only, for
    /// one-core-per-worker deployments and per-core benchmarks. The frames are the same whatever
    /// the count.
    public var decoderThreads: Int

    /// One decoder thread per CPU (OpenCV's `getNumberOfCPUs()`), as OpenCV 4.6's VideoCapture.
    public static let defaultDecoderThreads = Int(mien_video_default_decoder_threads())

    public init(maxPixels: Int = defaultMaxPixels, folderFPS: Double = 25, decoderThreads: Int = SourceOptions.defaultDecoderThreads) {
        self.maxPixels = maxPixels
        self.folderFPS = folderFPS
        self.decoderThreads = decoderThreads
    }
}

/// Opens inputs of any supported kind.
public enum MediaSource {
    /// File extensions read as still images (and as frames inside folders).
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "pgm", "ppm", "pnm", "pbm", "jp2", "exr", "hdr", "sr", "ras"]

    /// Opens `path`: a directory is a folder of frames (natural order), a file with an image
    /// extension a single image, anything else a video decoded by FFmpeg (`VideoFileSource`).
    /// - Throws: `VisionError` naming the path (`.notFound`, `.empty`, `.unsupported`,
    ///   `.corrupt`, `.tooLarge`).
    public static func open(_ path: String, options: SourceOptions = SourceOptions()) throws -> any FrameSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VisionError(.notFound, path: path, message: "no such file or folder")
        }
        if isDirectory.boolValue {
            return try ImageFolderSource(path: path, options: options)
        }
        if imageExtensions.contains((path as NSString).pathExtension.lowercased()) {
            return try ImageFileSource(path: path, options: options)
        }
        return try VideoFileSource(path: path, options: options)
    }

    /// Probes `path` without decoding more than its first frame; with `exactCount` a video's
    /// frames are counted by decoding them all (grab only).
    public static func probe(_ path: String, exactCount: Bool = false, options: SourceOptions = SourceOptions()) throws -> MediaInfo {
        let source = try open(path, options: options)
        if exactCount, let video = source as? VideoFileSource {
            try video.countFrames()
        }
        return source.info
    }
}

/// Natural ("human") order of file names: digit runs compare by value, so `frame2.png` comes
/// before `frame10.png`; other characters compare case-insensitively; names equal under those rules compare exactly.
public func naturalOrder(_ a: String, _ b: String) -> Bool {
    let ca = naturalChunks(a), cb = naturalChunks(b)
    for (x, y) in zip(ca, cb) {
        switch (x, y) {
        case let (.number(p, pl), .number(q, ql)):
            if p != q { return p < q }
            if pl != ql { return pl < ql }  // "2" before "02"
        case let (.text(s), .text(t)):
            let ls = s.lowercased(), lt = t.lowercased()
            if ls != lt { return ls < lt }
        case (.number, .text):
            return true
        case (.text, .number):
            return false
        }
    }
    if ca.count != cb.count { return ca.count < cb.count }
    return a < b  // differ only in letter case or leading zeros already ordered: exact order
}

private enum NaturalChunk: Equatable {
    case text(String)
    /// Value (digits beyond 18 are compared by their leading 18) and digit count.
    case number(UInt64, Int)
}

private func naturalChunks(_ s: String) -> [NaturalChunk] {
    var chunks: [NaturalChunk] = []
    var text = ""
    var digits = ""
    func flushDigits() {
        if !digits.isEmpty {
            chunks.append(.number(UInt64(digits.prefix(18)) ?? 0, digits.count))
            digits = ""
        }
    }
    for ch in s {
        if ch.isASCII, ch.isNumber {
            if !text.isEmpty { chunks.append(.text(text)); text = "" }
            digits.append(ch)
        } else {
            flushDigits()
            text.append(ch)
        }
    }
    flushDigits()
    if !text.isEmpty { chunks.append(.text(text)) }
    return chunks
}
