import Foundation

/// A folder of still images read as consecutive frames in natural file-name order
/// (`frame2.png` before `frame10.png`). Files without an image extension are ignored.
/// Timestamps are index / `options.folderFPS`.
public final class ImageFolderSource: FrameSource {
    public let path: String
    public private(set) var info: MediaInfo
    /// The frame files, in frame order.
    public let files: [String]
    private let options: SourceOptions
    private var next = 0

    /// - Throws: `VisionError` naming the folder if it cannot be listed or holds no images, or
    ///   naming the first frame if it cannot be read.
    public init(path: String, options: SourceOptions = SourceOptions()) throws {
        self.path = path
        self.options = options
        guard options.folderFPS > 0 else {
            throw VisionError(.invalidArgument, path: path, message: "folder frame rate must be > 0, got \(options.folderFPS)")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw VisionError(.notFound, path: path, message: "cannot list the folder (\(error.localizedDescription))")
        }
        let images = names.filter { MediaSource.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
            .sorted(by: naturalOrder)
        guard let first = images.first else {
            throw VisionError(.empty, path: path, message: "the folder holds no image files (\(MediaSource.imageExtensions.sorted().joined(separator: ", ")))")
        }
        files = images.map { (path as NSString).appendingPathComponent($0) }
        let firstImage = try OwnedMat.read(path: files[0], channels: 1, maxPixels: options.maxPixels)
        info = MediaInfo(path: path, kind: .frames, fps: options.folderFPS, frameCount: files.count, frameCountExact: true,
                         width: firstImage.width, height: firstImage.height,
                         duration: Double(files.count) / options.folderFPS,
                         codec: (first as NSString).pathExtension.lowercased())
    }

    public func seek(to index: Int) throws {
        guard index >= 0 else { throw VisionError(.invalidArgument, path: path, message: "frame index \(index) is negative") }
        guard index < files.count else {
            throw VisionError(.endOfStream, path: path, message: "frame \(index) is past the last frame (\(files.count) frames)")
        }
        next = index
    }

    public func nextFrame(format: PixelFormat) throws -> Frame? {
        guard next < files.count else { return nil }
        let mat = try OwnedMat.read(path: files[next], channels: format.channels, maxPixels: options.maxPixels)
        let frame = Frame(index: next, timestamp: Double(next) / options.folderFPS, width: mat.width, height: mat.height,
                          format: format, pixels: mat.packedBytes())
        next += 1
        return frame
    }

    public func skipFrame() throws -> Bool {
        guard next < files.count else { return false }
        next += 1
        return true
    }
}

/// A single still image as a one-frame source (timestamp 0).
public final class ImageFileSource: FrameSource {
    public let path: String
    public private(set) var info: MediaInfo
    private let options: SourceOptions
    private var consumed = false

    /// Reads the image once to validate it. - Throws: `VisionError` naming the file.
    public init(path: String, options: SourceOptions = SourceOptions()) throws {
        self.path = path
        self.options = options
        let mat = try OwnedMat.read(path: path, channels: 1, maxPixels: options.maxPixels)
        info = MediaInfo(path: path, kind: .image, fps: 0, frameCount: 1, frameCountExact: true, width: mat.width, height: mat.height,
                         duration: 0, codec: (path as NSString).pathExtension.lowercased())
    }

    public func seek(to index: Int) throws {
        guard index >= 0 else { throw VisionError(.invalidArgument, path: path, message: "frame index \(index) is negative") }
        guard index == 0 else { throw VisionError(.endOfStream, path: path, message: "a single image has only frame 0") }
        consumed = false
    }

    public func nextFrame(format: PixelFormat) throws -> Frame? {
        guard !consumed else { return nil }
        consumed = true
        let mat = try OwnedMat.read(path: path, channels: format.channels, maxPixels: options.maxPixels)
        return Frame(index: 0, timestamp: 0, width: mat.width, height: mat.height, format: format, pixels: mat.packedBytes())
    }

    public func skipFrame() throws -> Bool {
        guard !consumed else { return false }
        consumed = true
        return true
    }
}
