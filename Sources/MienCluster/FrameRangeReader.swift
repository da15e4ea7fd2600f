import Foundation
import MienProto
import MienVision

/// Decodes the frames of by-reference ranges (`FrameRange`) in gray, as the feature front end
/// takes them. Feature workers decode their by-reference batches with it, and the coordinator
/// the batches it sends inline, so both modes see the same frames (pixels, indices, timestamps).
///
/// Recently used videos stay open: a range that starts where the last one of its video ended
/// continues decoding instead of reopening the file and seeking from a keyframe (for 32-frame
/// batches of H.264 with 250-frame GOPs, seeking decoded ~4× more frames than the batch holds).
/// Not thread-safe: one reader per thread.
final class FrameRangeReader {
    /// What the reader did so far: how many ranges continued where the last one of their video
    /// ended, and how many frames were decoded for how many handed out (video files only).
    struct Statistics: Equatable, Sendable {
        /// Ranges read, and video files opened for them.
        var ranges = 0, opened = 0
        /// Frames handed to the callers.
        var frames = 0
        /// Frames the decoder grabbed (those handed out, those decoded only to skip them, seek
        /// checks; not those OpenCV's own seek decodes up to its target).
        var decoded = 0
        /// Ranges reached by decoding forward ≤ 32 frames, and by a seek (OpenCV's, verified;
        /// an earlier frame; or from the start).
        var stepped = 0, seeks = 0

        static func + (a: Statistics, b: Statistics) -> Statistics {
            Statistics(ranges: a.ranges + b.ranges, opened: a.opened + b.opened, frames: a.frames + b.frames,
                       decoded: a.decoded + b.decoded, stepped: a.stepped + b.stepped, seeks: a.seeks + b.seeks)
        }
    }

    /// Videos kept open at once (least recently used closed first).
    let keepOpen: Int
    private var open: [(uri: String, source: any FrameSource)] = []
    /// Ranges, opens and frames handed out; decoder figures of the videos closed so far.
    private var counted = Statistics()

    /// How videos are opened (their decoder's thread count).
    let sourceOptions: SourceOptions

    init(keepOpen: Int = 1, sourceOptions: SourceOptions = SourceOptions()) {
        precondition(keepOpen >= 1)
        self.keepOpen = keepOpen
        self.sourceOptions = sourceOptions
    }

    /// What the source of the range being read is (a video, a folder of frames, an image):
    /// feature workers scan stills at full resolution.
    private(set) var kind: MediaInfo.Kind = .video

    /// Calls `body` for every kept frame of the range, in order.
    /// - Throws: `WorkError` `.inputNotFound` when the video does not open, `.decodeFailed` when
    ///   decoding (or `body`) fails with a `VisionError`; other errors of `body` as they are.
    func forEachFrame(_ r: Mien_V1_FrameRange, _ body: (Frame) throws -> Void) throws {
        let source: any FrameSource
        counted.ranges += 1
        if let k = open.firstIndex(where: { $0.uri == r.uri }) {
            source = open.remove(at: k).source
        } else {
            do { source = try MediaSource.open(r.uri, options: sourceOptions) } catch {
                throw WorkError(.inputNotFound, "\(error)")
            }
            counted.opened += 1
        }
        kind = source.info.kind
        let end = r.endFrame > UInt64(Int.max) ? Int.max : Int(r.endFrame)
        do {
            try source.forEachFrame(in: Int(r.startFrame)..<end, format: .gray,
                                    sampling: r.sampleEvery > 1 ? .every(Int(r.sampleEvery)) : .all) {
                counted.frames += 1
                try body($0)
            }
        } catch let e as VisionError {
            close(source)
            throw WorkError(.decodeFailed, "\(e)")  // the source is dropped: its position is unknown
        }
        open.append((r.uri, source))
        if open.count > keepOpen { close(open.removeFirst().source) }
    }

    /// The figures so far, the open videos' included.
    var statistics: Statistics { open.reduce(counted) { $0 + Self.decoderFigures($1.source) } }

    private func close(_ source: any FrameSource) {
        counted = counted + Self.decoderFigures(source)
    }

    private static func decoderFigures(_ source: any FrameSource) -> Statistics {
        guard let video = source as? VideoFileSource else { return Statistics() }
        let s = video.seekStatistics
        return Statistics(decoded: s.decoded, stepped: s.stepped, seeks: s.direct + s.backoff + s.sequential)
    }
}

/// Decodes a range into the frames of an inline batch (the coordinator's decoder thread in
/// inline mode; tests substitute synthetic frames).
public protocol InlineFrameDecoding: AnyObject {
    /// The kept frames of `range`, GRAY8, as a feature worker would decode the by-reference batch.
    func inlineFrames(_ range: Mien_V1_FrameRange) throws -> Mien_V1_InlineFrames
}

/// The real decoder: video files, frame folders and images through `MediaSource`.
final class VideoRangeDecoder: InlineFrameDecoding {
    private let reader: FrameRangeReader

    init(keepOpen: Int) { reader = FrameRangeReader(keepOpen: keepOpen) }

    func inlineFrames(_ range: Mien_V1_FrameRange) throws -> Mien_V1_InlineFrames {
        var out = Mien_V1_InlineFrames()
        try reader.forEachFrame(range) { f in
            out.frames.append(.with {
                $0.index = UInt64(f.index)
                $0.timeS = f.timestamp
                $0.width = UInt32(f.width)
                $0.height = UInt32(f.height)
                $0.format = .gray8
                $0.stride = UInt32(f.width)
                $0.pixels = Data(f.pixels)
            })
        }
        return out
    }
}
