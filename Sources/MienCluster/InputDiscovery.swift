import Foundation
import MienCore

/// Turns the paths a user gives (`mien run INPUT…`) into the job's videos.
///
/// - A file is one video (whatever its extension: the probe decides, and a file that is
///   not a video is reported as a failed input, not skipped silently).
/// - A folder is walked recursively: video files are inputs; a folder holding only images
///   (a CK+-style frame folder) is one input; sidecar files (csv, json, txt, md, …) and
///   hidden files are not inputs; any other file is an input (reported if it is no video).
/// Ids are paths relative to the folder given (or the path as given for files); order is
/// natural sort order, so the job is deterministic.
public enum InputDiscovery {
    public static let videoExtensions: Set<String> = ["mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg", "wmv", "flv", "3gp", "ts"]
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "pgm", "ppm"]
    static let sidecarExtensions: Set<String> = ["csv", "json", "jsonl", "txt", "md", "log", "yaml", "yml", "xml", "srt", "vtt"]

    public static func discover(_ paths: [String]) throws -> [VideoInput] {
        var out: [VideoInput] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                throw ClusterError.input("input \(path) does not exist: check the path")
            }
            if !isDir.boolValue {
                out.append(VideoInput(id: path, path: absolute(path)))
                continue
            }
            out += try walk(root: path, relative: "")
        }
        var seen = Set<String>()
        for v in out where !seen.insert(v.id).inserted {
            throw ClusterError.input("input \(v.id) is given twice: list each video once")
        }
        return out
    }

    private static func walk(root: String, relative: String) throws -> [VideoInput] {
        let fm = FileManager.default
        let dir = relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") } } catch {
            throw ClusterError.input("cannot list \(dir): \(error.localizedDescription)")
        }
        var files: [String] = [], dirs: [String] = []
        for n in names.sorted(by: naturalOrder) {
            var isDir: ObjCBool = false
            fm.fileExists(atPath: (dir as NSString).appendingPathComponent(n), isDirectory: &isDir)
            if isDir.boolValue { dirs.append(n) } else { files.append(n) }
        }
        let ext = { (n: String) in (n as NSString).pathExtension.lowercased() }
        let images = files.filter { imageExtensions.contains(ext($0)) }
        var out: [VideoInput] = []
        if !images.isEmpty && images.count == files.filter({ !sidecarExtensions.contains(ext($0)) }).count && dirs.isEmpty && !relative.isEmpty {
            return [VideoInput(id: relative, path: absolute(dir))]  // a frame folder
        }
        for f in files where !sidecarExtensions.contains(ext(f)) && !(imageExtensions.contains(ext(f))) {
            let rel = relative.isEmpty ? f : (relative as NSString).appendingPathComponent(f)
            out.append(VideoInput(id: rel, path: absolute((root as NSString).appendingPathComponent(rel))))
        }
        for d in dirs {
            out += try walk(root: root, relative: relative.isEmpty ? d : (relative as NSString).appendingPathComponent(d))
        }
        return out
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    }

    /// "clip2" before "clip10".
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: [.numeric]) == .orderedAscending
    }
}

/// Ground truth files `mien synth` writes (and users can write): `labels.csv` (`video,label`)
/// and `frames.csv` (`video,frame,track,label,x,y,w,h`). Videos match by id or file name.
public enum GroundTruth {
    public static func videoLabels(csv path: String, labels: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for (n, row) in try rows(path).enumerated() {
            guard row.count >= 2 else { throw ClusterError.input("\(path) line \(n + 2): expected video,label") }
            guard labels.contains(row[1]) else {
                throw ClusterError.input("\(path) line \(n + 2): unknown label \"\(row[1])\" (labels are \(labels.joined(separator: ", ")))")
            }
            out[row[0]] = row[1]
        }
        return out
    }

    /// video → frame → the faces of that frame with their label and, when the file gives
    /// `x,y,w,h`, their box (pixels).
    public static func frameLabels(csv path: String, labels: [String]) throws -> [String: [UInt64: [FaceTruth]]] {
        var out: [String: [UInt64: [FaceTruth]]] = [:]
        for (n, row) in try rows(path).enumerated() {
            guard row.count >= 4, let frame = UInt64(row[1]), labels.contains(row[3]) else {
                throw ClusterError.input("\(path) line \(n + 2): expected video,frame,track,label,… with a known label")
            }
            var box: Box?
            if row.count >= 8, let x = Double(row[4]), let y = Double(row[5]), let w = Double(row[6]), let h = Double(row[7]) {
                box = Box(x: x, y: y, width: w, height: h)
            }
            out[row[0], default: [:]][frame, default: []].append(FaceTruth(label: row[3], box: box))
        }
        return out
    }

    /// Looks a video up by its id, then by its file name.
    public static func lookup<T>(_ table: [String: T], _ input: VideoInput) -> T? {
        table[input.id] ?? table[(input.id as NSString).lastPathComponent]
    }

    static func rows(_ path: String) throws -> [[String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ClusterError.input("cannot read \(path): check the path")
        }
        return text.split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
    }
}
