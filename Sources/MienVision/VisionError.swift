import CMienVision

/// An error from Mien's vision front-end: which file (or thing) failed, what went wrong, and
/// what to do about it. Codes are opaque constants so new ones can be added without breaking
/// exhaustive switches (see `VisionError.Code`).
public struct VisionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case notFound, empty, unsupported, corrupt, tooLarge, invalidArgument, internalFailure, endOfStream, missingLibrary
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The path does not exist or cannot be opened.
        public static let notFound = Code(.notFound)
        /// The file has zero bytes, or a folder holds no frames.
        public static let empty = Code(.empty)
        /// Not an image OpenCV reads or a video FFmpeg reads and decodes (e.g. a text file given
        /// as a video).
        public static let unsupported = Code(.unsupported)
        /// A recognised format whose data cannot be decoded (truncated or garbled).
        public static let corrupt = Code(.corrupt)
        /// The image or video is larger than the configured pixel limit.
        public static let tooLarge = Code(.tooLarge)
        /// A caller-supplied argument is invalid (range, size, option).
        public static let invalidArgument = Code(.invalidArgument)
        /// OpenCV or dlib failed unexpectedly.
        public static let internalFailure = Code(.internalFailure)
        /// A sequential read ran past the last frame.
        public static let endOfStream = Code(.endOfStream)
        /// A system library Mien opens on first use (OpenCV's image codecs or video writer)
        /// cannot be loaded.
        public static let missingLibrary = Code(.missingLibrary)

        public var description: String {
            switch base {
            case .notFound: return "not found"
            case .empty: return "empty"
            case .unsupported: return "unsupported format"
            case .corrupt: return "corrupt"
            case .tooLarge: return "too large"
            case .invalidArgument: return "invalid argument"
            case .internalFailure: return "internal failure"
            case .endOfStream: return "end of stream"
            case .missingLibrary: return "missing library"
            }
        }

        /// What a user can do about an error of this kind.
        var fix: String {
            switch base {
            case .notFound: return "check the path exists and is readable"
            case .empty: return "the input holds no data; re-copy or re-export it"
            case .unsupported:
                return "give an image OpenCV reads (PNG, JPEG, BMP, TIFF, WebP, PNM), a video in a container FFmpeg reads (mp4, avi, mkv, mov, webm) or a folder of such images"
            case .corrupt: return "the file is damaged or truncated; re-encode it, e.g. `ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`"
            case .tooLarge: return "downscale it first, e.g. `ffmpeg -i IN -vf scale=1920:-2 OUT.mp4`, or raise the pixel limit"
            case .invalidArgument: return "correct the argument"
            case .internalFailure: return "report this with the file that caused it"
            case .endOfStream: return "stop reading at the frame count the probe reports"
            case .missingLibrary: return "install the package the message names, or run ops/setup.sh"
            }
        }

        init(status: mien_status) {
            switch status {
            case MIEN_ERR_NOT_FOUND: self = .notFound
            case MIEN_ERR_EMPTY: self = .empty
            case MIEN_ERR_UNSUPPORTED: self = .unsupported
            case MIEN_ERR_CORRUPT: self = .corrupt
            case MIEN_ERR_TOO_LARGE: self = .tooLarge
            case MIEN_ERR_ARGUMENT: self = .invalidArgument
            case MIEN_ERR_END: self = .endOfStream
            case MIEN_ERR_MISSING_LIBRARY: self = .missingLibrary
            default: self = .internalFailure
            }
        }
    }

    /// The kind of failure.
    public let code: Code
    /// The file or folder concerned, if any.
    public let path: String?
    /// What went wrong, in words.
    public let message: String

    public init(_ code: Code, path: String?, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String {
        let subject = path.map { "\($0): " } ?? ""
        return "\(subject)\(code): \(message); \(code.fix)"
    }
}

/// Size of the error buffers handed to the shim.
let errorBufferSize = 1024

/// Calls a shim function that takes (`err`, `err_len`) last, turning a non-OK status into a
/// thrown `VisionError` naming `path`.
@inline(__always)
func checked(path: String?, _ call: (UnsafeMutablePointer<CChar>, Int) -> mien_status) throws {
    var buffer = [CChar](repeating: 0, count: errorBufferSize)
    let status = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, errorBufferSize) }
    if status != MIEN_OK {
        let message = cMessage(buffer)
        throw VisionError(VisionError.Code(status: status), path: path, message: message)
    }
}

/// The NUL-terminated message in an error buffer.
func cMessage(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
