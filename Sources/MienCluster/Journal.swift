import Foundation

/// An append-only record of finished videos on disk, so a restarted coordinator resumes a
/// job without redoing or duplicating work. One line per finished video id; each append is
/// flushed to disk (fsync) before the video counts as done. A torn last line (crash mid-write)
/// is ignored on reading.
public final class Journal {
    public let path: String
    private let handle: FileHandle
    public private(set) var finished: Set<String>

    /// Opens (creating if needed) the journal at `path` and reads what it holds.
    public init(path: String) throws {
        self.path = path
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard fm.createFile(atPath: path, contents: nil) else {
                throw ClusterError.job("cannot create the journal \(path): check that its folder exists and is writable")
            }
        }
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var ids = Set<String>()
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if !text.hasSuffix("\n") { lines.removeLast() }  // torn or empty last line
        for line in lines where line.hasPrefix("done\t") {
            ids.insert(String(line.dropFirst(5)))
        }
        finished = ids
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw ClusterError.job("cannot open the journal \(path) for writing: check its permissions")
        }
        handle = h
        if !text.isEmpty && !text.hasSuffix("\n") {
            // Cut the torn line so the next record starts on a line of its own.
            let keep = text.utf8.count - (text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).last?.count ?? 0)
            try handle.truncate(atOffset: UInt64(keep))
        }
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Records a finished video durably.
    public func markFinished(_ videoID: String) throws {
        precondition(!videoID.contains("\n"), "video ids are single lines")
        guard !finished.contains(videoID) else { return }
        try handle.write(contentsOf: Data("done\t\(videoID)\n".utf8))
        try handle.synchronize()
        finished.insert(videoID)
    }
}
