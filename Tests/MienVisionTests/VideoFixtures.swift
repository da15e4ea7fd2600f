import Foundation
import XCTest

/// Runs a command-line tool (ffmpeg, ffprobe) and returns its standard output.
@discardableResult
func runTool(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "runTool", code: Int(process.terminationStatus), userInfo: [
            NSLocalizedDescriptionKey: "\(arguments.joined(separator: " ")) failed: \(String(decoding: errData, as: UTF8.self))",
        ])
    }
    return String(decoding: data, as: UTF8.self)
}

/// Small test videos made with ffmpeg's `testsrc2` pattern (moving, so every frame differs),
/// once per test process, in a temporary folder. Keys name container and codec.
enum VideoFixtures {
    struct Spec {
        let name: String
        let arguments: [String]
    }

    /// 80 frames (3.2 s at 25 fps) of 160×120 unless stated; GOP 12 so seeks cross keyframes.
    static let specs: [Spec] = {
        let src = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=3.2"]
        return [
            Spec(name: "h264.mp4", arguments: src + ["-c:v", "libx264", "-g", "12", "-bf", "2", "-pix_fmt", "yuv420p"]),
            Spec(name: "mpeg4.avi", arguments: src + ["-c:v", "mpeg4", "-g", "12", "-q:v", "4"]),
            Spec(name: "h264.mkv", arguments: src + ["-c:v", "libx264", "-g", "12", "-pix_fmt", "yuv420p"]),
            Spec(name: "h264.mov", arguments: src + ["-c:v", "libx264", "-g", "12", "-pix_fmt", "yuv420p"]),
            Spec(name: "vp9.webm", arguments: src + ["-c:v", "libvpx-vp9", "-g", "12", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"]),
            Spec(name: "mjpeg.avi", arguments: src + ["-c:v", "mjpeg", "-q:v", "5"]),
            // 29.97 fps (NTSC rational rate), 90 frames.
            Spec(name: "ntsc.mp4", arguments: ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30000/1001:duration=3.003",
                                               "-c:v", "libx264", "-g", "15", "-pix_fmt", "yuv420p"]),
            // Stream that starts at 1.5 s (container start offset).
            Spec(name: "offset.mkv", arguments: src + ["-c:v", "libx264", "-g", "12", "-pix_fmt", "yuv420p", "-output_ts_offset", "1.5"]),
            // Variable frame rate: every 10th frame follows a 0.5 s gap, so index ≠ round(t · fps).
            Spec(name: "vfr.mkv", arguments: src + ["-vf", "setpts='(N+floor(N/10)*12.5)/25/TB'", "-fps_mode", "vfr",
                                                    "-c:v", "libx264", "-g", "12", "-pix_fmt", "yuv420p"]),
        ]
    }()

    nonisolated(unsafe) private static var directory: URL?

    /// Path of the fixture `name`, generating all fixtures on first use.
    static func path(_ name: String) throws -> String {
        if directory == nil {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-vision-videos-\(getpid())")
            try? FileManager.default.removeItem(at: dir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for spec in specs {
                try runTool(["ffmpeg", "-v", "error", "-y"] + spec.arguments + ["-an", dir.appendingPathComponent(spec.name).path])
            }
            directory = dir
            atexit {
                if let dir = VideoFixtures.directory { try? FileManager.default.removeItem(at: dir) }
            }
        }
        return directory!.appendingPathComponent(name).path
    }

    /// What ffprobe says: frames counted by decoding, rate, size, start time and each frame's
    /// best-effort timestamp minus the stream start (seconds).
    struct Probe {
        let frameCount: Int
        let fps: Double
        let width: Int
        let height: Int
        let codecTag: String
        let timestamps: [Double]
    }

    static func ffprobe(_ path: String) throws -> Probe {
        let stream = try runTool(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                  "stream=nb_read_frames,r_frame_rate,width,height,start_time,codec_tag_string", "-of", "default=nw=0", path])
        var fields: [String: String] = [:]
        for line in stream.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { fields[kv[0]] = kv[1] }
        }
        let rate = (fields["r_frame_rate"] ?? "0/1").split(separator: "/").compactMap { Double($0) }
        let start = Double(fields["start_time"] ?? "0") ?? 0
        let frames = try runTool(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                  "frame=best_effort_timestamp_time", "-of", "csv=p=0", path])
        let ts = frames.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
        return Probe(frameCount: Int(fields["nb_read_frames"] ?? "") ?? -1,
                     fps: rate.count == 2 && rate[1] != 0 ? rate[0] / rate[1] : 0,
                     width: Int(fields["width"] ?? "") ?? 0, height: Int(fields["height"] ?? "") ?? 0,
                     codecTag: fields["codec_tag_string"] ?? "",
                     timestamps: ts.map { $0 - start })
    }
}
