import CMienVision
import Foundation

/// Where the messages of the libraries under the vision shim go (FFmpeg's "moov atom not found",
/// a damaged stream's details; OpenCV's warnings; libpng's and libjpeg's, e.g. "libpng warning:
/// iCCP: known incorrect sRGB profile"): never raw to stderr. By default they are dropped; a
/// command routes them to its log at debug level (`route`).
public enum LibraryLog {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var sink: (@Sendable (String) -> Void)?

    /// Sends each library line to `sink` (from any thread; nil drops them). `verbose` also turns
    /// OpenCV's own warnings on (silenced otherwise), which then reach `sink` too.
    public static func route(verbose: Bool, to sink: (@Sendable (String) -> Void)?) {
        lock.withLock { Self.sink = sink }
        mien_route_library_logs(sink == nil ? nil : { line in
            guard let line else { return }
            LibraryLog.deliver(String(cString: line))
        }, verbose ? 1 : 0)
    }

    private static func deliver(_ line: String) {
        lock.withLock { sink }?(line)
    }
}
