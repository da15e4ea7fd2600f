import ArgumentParser
import Foundation
import MienVision

/// `mien probe`: what a video, frame folder or image is, as JSON lines.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Print fps, frame count, size, duration and codec of videos, frame folders or images (JSON lines).",
        discussion: """
            One JSON object per input on standard output: \
            {"codec":"avc1","duration":4,"fps":25,"frame_count":100,"frame_count_exact":false,
             "height":480,"kind":"video","path":"clip.mp4","width":640}
            frame_count comes from the container unless --count decodes every frame to count them \
            (frame_count_exact true). A folder of frames is read in natural file-name order at \
            --folder-fps. Inputs that cannot be read are reported on standard error, naming the file; \
            the exit status is then 1.
            """)

    @Argument(help: "Video files (mp4, avi, mkv, mov, webm, …), folders of frames, or images.")
    var inputs: [String]

    @Flag(name: .long, help: "Count a video's frames by decoding them all (exact, slower).")
    var count = false

    @Option(name: .customLong("folder-fps"), help: "Frame rate assigned to folders of frames.")
    var folderFPS: Double = 25

    @Option(name: .customLong("max-pixels"), help: "Refuse frames larger than this many pixels.")
    var maxPixels: Int = defaultMaxPixels

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input file or folder") }
        guard folderFPS > 0 else { throw ValidationError("--folder-fps must be > 0") }
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be > 0") }
    }

    func run() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var failures = 0
        for input in inputs {
            do {
                let info = try MediaSource.probe(input, exactCount: count,
                                                 options: SourceOptions(maxPixels: maxPixels, folderFPS: folderFPS))
                print(String(decoding: try encoder.encode(info), as: UTF8.self))
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("mien probe: \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
