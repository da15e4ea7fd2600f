import ArgumentParser
import Foundation
import MienCore
import MienSynth
import MienVision

/// `mien synth`: writes a labelled synthetic facial-expression video set (see docs/SYNTH.md).
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate labelled synthetic facial-expression videos (deterministic by seed).",
        discussion: """
            Writes DIR/clip_NNNNN.mp4, DIR/labels.csv (video,label) and DIR/frames.csv \
            (video,frame,track,label,x,y,w,h: per-frame label and face box in pixels). With \
            --frames-layout also DIR/frames/clip_NNNNN/clip_NNNNN_FFFFFF.png (one folder of \
            PNG frames per clip, CK+ style). The same seed and options give byte-identical CSV \
            files and identical frames. The generative model is described in docs/SYNTH.md.
            """)

    @Option(name: .long, help: "Output folder (created if missing).")
    var out: String

    @Option(name: .long, help: "Number of clips.")
    var videos: Int = 14

    @Option(name: .long, help: "Random seed (unsigned 64-bit).")
    var seed: UInt64 = 1

    @Option(name: .customLong("min-seconds"), help: "Shortest clip, seconds.")
    var minSeconds: Double = 2

    @Option(name: .customLong("max-seconds"), help: "Longest clip, seconds.")
    var maxSeconds: Double = 10

    @Option(name: .long, help: "Frame width in pixels (even).")
    var width: Int = 640

    @Option(name: .long, help: "Frame height in pixels (even).")
    var height: Int = 480

    @Option(name: .long, help: "Frames per second.")
    var fps: Double = 25

    @Option(name: .customLong("max-faces"), help: "Largest number of faces per clip: 1 or 2.")
    var maxFaces: Int = 2

    @Option(name: .long, help: "Video codec: auto (H.264 if FFmpeg has it, else MPEG-4), avc1 or mp4v.")
    var codec: String = "auto"

    @Flag(name: .long, help: "Render grayscale instead of colour.")
    var grayscale = false

    @Flag(name: .customLong("frames-layout"), help: "Also write every frame as PNG, one folder per clip (CK+ style).")
    var framesLayout = false

    @Flag(name: .customLong("check-detection"),
          help: "Run MienVision's Haar face detector on every frame and report the detection rate (slower).")
    var checkDetection = false

    @Flag(name: .long, help: "Overwrite an existing data set in the output folder.")
    var force = false

    var config: SynthConfig {
        SynthConfig(width: width, height: height, fps: fps, minSeconds: minSeconds, maxSeconds: maxSeconds,
                    grayscale: grayscale, maxFaces: maxFaces)
    }

    func validate() throws {
        guard videos >= 1 && videos <= 100_000 else {
            throw ValidationError("--videos \(videos) must be between 1 and 100000")
        }
        if let problem = config.problem() { throw ValidationError(problem) }
        guard ["auto", "avc1", "mp4v"].contains(codec) else {
            throw ValidationError("--codec '\(codec)' must be auto, avc1 or mp4v")
        }
    }

    func run() throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw SynthError("--out \(out) exists and is not a folder; give a folder path") }
            if fm.fileExists(atPath: out + "/labels.csv") && !force {
                throw SynthError("\(out) already holds a data set (labels.csv); pass --force to overwrite it or choose another --out")
            }
        } else {
            do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                throw SynthError("cannot create the output folder \(out): \(error.localizedDescription); check the path and permissions")
            }
        }
        guard fm.isWritableFile(atPath: out) else {
            throw SynthError("the output folder \(out) is not writable; choose another --out or fix its permissions")
        }

        if height % 32 != 0 && codec != "mp4v" {
            FileHandle.standardError.write(Data(("synth: note: at frame heights that are not a multiple of 32 the H.264 bytes of "
                + "later clips can differ between runs (observed with FFmpeg 5.1 / x264 164); labels.csv, frames.csv and PNG "
                + "frames are unaffected. Use e.g. --height 480 or 288 for byte-identical mp4 files (docs/SYNTH.md).\n").utf8))
        }
        let dataset = SynthDataset(seed: seed, count: videos, config: config)
        let detector = checkDetection ? try FaceDetector() : nil
        var detection = DetectionTally()
        let progress = isatty(2) != 0
        var labels = [GroundTruthCSV.labelsHeader]
        // frames.csv grows by one clip at a time (it can be large: one line per face-frame).
        let framesPath = out + "/frames.csv"
        try writeText(GroundTruthCSV.framesHeader + "\n", to: framesPath)
        guard let framesFile = FileHandle(forWritingAtPath: framesPath) else {
            throw SynthError("cannot open \(framesPath) for writing; check the folder's permissions")
        }
        defer { try? framesFile.close() }
        try framesFile.seekToEnd()
        var codecUsed: VideoWriter.Codec? = nil
        let channels = grayscale ? 1 : 3
        let started = Date()

        for i in 0..<videos {
            let plan = dataset.plan(ofClip: i)
            let renderer = ClipRenderer(plan: plan)
            let name = SynthDataset.clipName(i)
            let path = out + "/" + name
            let writer: VideoWriter
            switch codec {
            case "avc1": writer = try VideoWriter(path: path, width: width, height: height, fps: fps, channels: channels, codec: .h264)
            case "mp4v": writer = try VideoWriter(path: path, width: width, height: height, fps: fps, channels: channels, codec: .mpeg4)
            default: writer = try VideoWriter.openPreferringH264(path: path, width: width, height: height, fps: fps, channels: channels)
            }
            codecUsed = writer.codec
            var framesCSV = ""
            var frameFolder: String? = nil
            if framesLayout {
                let stem = String(name.dropLast(4))
                let folder = out + "/frames/" + stem
                try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
                frameFolder = folder + "/" + stem
            }
            for f in 0..<plan.frameCount {
                let (pixels, faces) = renderer.frame(f)
                try writer.write(pixels)
                for face in faces {
                    framesCSV += GroundTruthCSV.frameRow(video: name, frame: f, face: face, width: width, height: height) + "\n"
                }
                let gray: GrayImage? = (detector != nil || (frameFolder != nil && grayscale))
                    ? (grayscale ? GrayImage(width: width, height: height, pixels: pixels)
                                 : BGRImage(width: width, height: height, pixels: pixels).gray())
                    : nil
                if let stemPath = frameFolder {
                    let png = stemPath + "_" + String(format: "%06d", f) + ".png"
                    if grayscale { try gray!.write(path: png) }
                    else { try BGRImage(width: width, height: height, pixels: pixels).write(path: png) }
                }
                if let detector, let gray {
                    let found = try detector.detect(gray)
                    detection.add(faces: faces.map { face in
                                      let b = face.box(frameWidth: width, frameHeight: height)
                                      return (PixelBox(x: Double(b.x), y: Double(b.y), w: Double(b.w), h: Double(b.h)), face.occluded)
                                  },
                                  detections: found.map { PixelBox(x: Double($0.x), y: Double($0.y), w: Double($0.width), h: Double($0.height)) })
                }
                if progress && (f % 10 == 0 || f == plan.frameCount - 1) {
                    FileHandle.standardError.write(Data(String(format: "\rsynth: clip %d/%d (%@) frame %d/%d   ",
                                                               i + 1, videos, plan.expression.rawValue, f + 1, plan.frameCount).utf8))
                }
            }
            try writer.close()
            framesFile.write(Data(framesCSV.utf8))
            labels.append(GroundTruthCSV.labelRow(video: name, label: plan.expression))
        }
        if progress { FileHandle.standardError.write(Data("\n".utf8)) }
        try writeText(labels.joined(separator: "\n") + "\n", to: out + "/labels.csv")

        let balance = ClassBalance((0..<videos).map { dataset.expression(ofClip: $0) })
        print("synth: wrote \(videos) clips (\(width)×\(height), \(fps) fps, \(grayscale ? "grayscale" : "colour"), codec \(codecUsed?.rawValue ?? "-")) to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        print("synth: class balance: \(balance.summary)")
        if detector != nil {
            print("synth: " + detection.summary)
        }
    }

    private func writeText(_ text: String, to path: String) throws {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw SynthError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
