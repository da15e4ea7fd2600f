import Foundation
import MienCore

/// The job's output files in `--out DIR`: frames.jsonl, segments.jsonl, videos.jsonl (and
/// metrics.json at the end; windows.jsonl when asked for). A video's frame, segment and window
/// lines are appended as they become final (so the lines of videos in progress at once
/// interleave); its videos.jsonl line comes last, after every file was flushed to disk and
/// before the video is acknowledged — so a line in videos.jsonl means the video is complete in
/// every file. (A video that failed after some of its lines were written keeps them; its
/// videos.jsonl line says `error`, and a resumed run drops them.)
final class Sinks {
    let directory: String
    private let frames: FileHandle
    private let segments: FileHandle
    private let videos: FileHandle
    private let windows: FileHandle?
    /// Videos already complete in the sinks (from an interrupted run being resumed).
    private(set) var completed: [String: VideoRecord] = [:]

    /// The one field every per-video line has.
    private struct VideoOfLine: Decodable { var video: String }

    /// - Parameter resume: keep the results of videos completed by an earlier run, dropping
    ///   any partial lines of videos that did not complete; otherwise start empty.
    /// - Parameter framesFile: the per-frame sink's name (`embeddings.jsonl` when extracting).
    /// - Parameter windowsFile: the per-window sink's name, when window predictions are kept.
    /// - Parameter keptFrameLine: on resume, called with each line of the frames file that is
    ///   kept (its video completed) and the completed videos, so the file is read once.
    init(directory: String, resume: Bool, framesFile: String = "frames.jsonl", windowsFile: String? = nil,
         keptFrameLine: ((String, [String: VideoRecord]) -> Void)? = nil) throws {
        self.directory = directory
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ClusterError.job("cannot create the output folder \(directory): \(error.localizedDescription)")
        }
        let names = [framesFile, "segments.jsonl", "videos.jsonl"] + (windowsFile.map { [$0] } ?? [])
        let paths = names.map { (directory as NSString).appendingPathComponent($0) }
        let perVideo = [paths[0], paths[1]] + paths.dropFirst(3)
        var completed: [String: VideoRecord] = [:]
        if resume {
            let decoder = JSONDecoder()
            for line in Sinks.lines(paths[2]) {
                if let record = try? decoder.decode(VideoRecord.self, from: Data(line.utf8)) { completed[record.video] = record }
            }
            // Keep only the lines of videos completed ok (a crash can leave a partial video behind,
            // a video that failed part-way its first lines).
            for p in perVideo {
                let kept = Sinks.lines(p).filter { line in
                    guard let v = try? decoder.decode(VideoOfLine.self, from: Data(line.utf8)), completed[v.video]?.isOK == true else { return false }
                    if p == paths[0] { keptFrameLine?(line, completed) }
                    return true
                }
                try Sinks.replace(p, with: kept)
            }
            try Sinks.replace(paths[2], with: Sinks.lines(paths[2]).filter { !$0.isEmpty })
        } else {
            for p in paths { try Sinks.replace(p, with: []) }
        }
        func open(_ p: String) throws -> FileHandle {
            guard let h = FileHandle(forWritingAtPath: p) else { throw ClusterError.job("cannot write \(p): check permissions") }
            try h.seekToEnd()
            return h
        }
        self.completed = completed
        frames = try open(paths[0])
        segments = try open(paths[1])
        videos = try open(paths[2])
        windows = paths.count > 3 ? try open(paths[3]) : nil
    }

    static func lines(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var lines = text.components(separatedBy: "\n")
        if !text.hasSuffix("\n") { lines.removeLast() }  // torn last line
        return lines.filter { !$0.isEmpty }
    }

    static func replace(_ path: String, with lines: [String]) throws {
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw ClusterError.job("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Appends results that became final (any video's, as they come; not flushed yet).
    func append(frames frameLines: [String], segments segmentLines: [String], windows windowLines: [String]) throws {
        if !frameLines.isEmpty { try frames.write(contentsOf: Data((frameLines.joined(separator: "\n") + "\n").utf8)) }
        if !segmentLines.isEmpty { try segments.write(contentsOf: Data((segmentLines.joined(separator: "\n") + "\n").utf8)) }
        if let windows, !windowLines.isEmpty { try windows.write(contentsOf: Data((windowLines.joined(separator: "\n") + "\n").utf8)) }
    }

    /// Ends a video durably: the per-video files flushed to disk, then its videos.jsonl line.
    func finishVideo(_ videoLine: String) throws {
        try frames.synchronize()
        try segments.synchronize()
        try windows?.synchronize()
        try videos.write(contentsOf: Data((videoLine + "\n").utf8))
        try videos.synchronize()
    }

    func writeMetrics(_ json: String) throws {
        let p = (directory as NSString).appendingPathComponent("metrics.json")
        do { try json.write(toFile: p, atomically: true, encoding: .utf8) } catch {
            throw ClusterError.job("cannot write \(p): \(error.localizedDescription)")
        }
    }

    func close() {
        try? frames.close()
        try? segments.close()
        try? videos.close()
        try? windows?.close()
    }
}
