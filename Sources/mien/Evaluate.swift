import ArgumentParser
import Foundation
import MienCluster
import MienCore
import MienReport

/// `mien evaluate`: the CNN baseline and CNN+BiLSTM on a labelled test set, side by side.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model bundle on a labelled test set: CNN vs CNN+BiLSTM per frame, window and video.",
        discussion: """
            Runs the job of `mien run` on INPUT… (predictions kept in OUT/predictions/, with every \
            window's prediction in windows.jsonl), then writes OUT/metrics.json, OUT/metrics.md and a \
            self-contained OUT/report.html: accuracy, classification error, per-class precision / recall / \
            F1 with macro and weighted averages and confusion matrices for both models at each level, \
            the paper's Table 1 on this data, training curves, and an expression timeline per video.

            Without --labels, INPUT is a labelled set of still face images (a folder of class folders, or \
            a CSV of path,label): every image is scored by the CNN of each bundle in --model (several may \
            be given, comma-separated, to compare them on the same images), and OUT/metrics.json and \
            OUT/metrics.md give accuracy, per-class precision / recall / F1, the confusion matrix and the \
            CNN's time per face.

            Exit status: 0 when every input was labelled, 2 when some failed (listed in the report), \
            1 on a fatal error.
            """)

    @Argument(help: "Test videos, frame folders, or folders to search.")
    var inputs: [String]

    @Option(help: "Ground truth of videos: labels.csv (video,label). Leave out for still images in class folders or a path,label CSV.")
    var labels: String?

    @Option(name: .customLong("frame-labels"), help: "Per-frame ground truth: frames.csv (video,frame,track,label,x,y,w,h).")
    var frameLabels: String?

    @Option(help: "Output folder for metrics.json, metrics.md, report.html (and predictions/).")
    var out: String

    @Option(help: "Model bundle: a folder with bundle.json, or a name under models/ (still images: several, comma-separated).")
    var model = ModelBundleRef.defaultName

    @Flag(name: .customLong("flip-average"), help: "Still images: average each image's probabilities with its mirror image's (test-time augmentation; twice the CNN time).")
    var flipAverage = false

    @Option(help: "Still images: test-time augmentation, none, flip (= --flip-average) or shifts (the image and its mirror, each also shifted 2 px left, right, up and down: ten times the CNN time).")
    var tta: String?

    @Option(help: "What the test data is, shown beside every figure (e.g. \"synthetic: mien synth --seed 202\").")
    var data: String?

    @OptionGroup var workers: WorkerCountOptions

    @Option(name: .customLong("batch-frames"), help: ArgumentHelp(FrameTransport.batchFramesHelp))
    var batchFrames: Int?

    @OptionGroup var frontEnd: FrontEndOptions

    @Flag(help: "Continue an interrupted evaluation in --out: finished videos are not redone.")
    var resume = false

    @Flag(name: .customLong("verbose"), help: "Log every role's events.")
    var verbose = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT") }
        guard (batchFrames ?? 1) >= 1 else { throw ValidationError("--batch-frames must be at least 1") }
        if let labels, !FileManager.default.fileExists(atPath: labels) { throw ValidationError("--labels \(labels) does not exist: give the test set's labels.csv (video,label)") }
        if let frameLabels, !FileManager.default.fileExists(atPath: frameLabels) {
            throw ValidationError("--frame-labels \(frameLabels) does not exist: give the test set's frames.csv, or leave the option out")
        }
        if labels != nil && (flipAverage || tta != nil) {
            throw ValidationError("--flip-average and --tta are for still images; videos (--labels) are scored as `mien run` labels them")
        }
    }

    func run() throws {
        guard let labels else { return try runStills() }
        let bundle = try ModelBundleRef.resolve(model)
        let labelled = try LabelledInputs.load(inputs, labels: labels, frameLabels: frameLabels)
        let unlabelled = labelled.videos.filter { $0.groundTruth == nil }.map(\.id)
        let log = Log(verbose: verbose)
        if !unlabelled.isEmpty {
            log.info("mien evaluate: note: \(unlabelled.count) input(s) have no row in \(labels) and count at no level: \(unlabelled.prefix(5).joined(separator: ", "))\(unlabelled.count > 5 ? ", …" : "")")
        }
        let predictions = (out as NSString).appendingPathComponent("predictions")
        log.info("mien evaluate: \(labelled.videos.count) input(s), model \(bundle.name), predictions in \(predictions)")
        var settings = EmbeddedJobSettings(featureWorkers: workers.featureWorkers, sequenceWorkers: workers.sequenceCount, batchFrames: batchFrames ?? FrameTransport.reference.defaultBatchFrames, sampleEvery: 1, frontEnd: frontEnd)
        settings.resume = resume
        settings.writeWindows = true
        let result = try settings.run(labelled, bundle: bundle, out: predictions, log: log, name: "mien evaluate")
        if result.videosDone < result.videosTotal { throw ExitCode(1) }

        let names = ExpressionClass.labels
        let read = try PredictionFiles.read(predictions, labels: names, inputs: labelled)
        let evaluation = try Evaluation(labels: names, frames: read.frames, windows: read.windows, videos: read.videos)

        var training: [TrainingHistory] = [], notes: [String] = []
        for (part, dir) in [("BiLSTM", bundle.bilstmDirectory), ("CNN", bundle.cnnDirectory)] {
            let path = (dir as NSString).appendingPathComponent("training.json")
            if let h = try TrainingHistory.load(path, model: part) {
                training.append(h)
            } else {
                notes.append("No training report for the \(part) (\(path) does not exist): it was not trained by `mien train` in this bundle (the bundle says: \(bundle.trainedOn.isEmpty ? "nothing" : bundle.trainedOn)).")
            }
        }
        let dataNote = data ?? "not described (pass --data to say what this test set is, e.g. that it is synthetic)"
        let report = EvaluationReport(
            evaluation: evaluation,
            model: .init(name: bundle.name, directory: bundle.directory, trainedOn: bundle.trainedOn,
                         cnnDirectory: bundle.cnnDirectory, bilstmDirectory: bundle.bilstmDirectory),
            data: dataNote, command: (["mien"] + CommandLine.arguments.dropFirst().map(Evaluate.shellQuoted)).joined(separator: " "),
            training: training, trainingNotes: notes, videos: read.timelines)
        try write(report.metricsJSON(), "metrics.json")
        try write(report.markdown(), "metrics.md")
        try write(report.html(), "report.html")

        let f = evaluation.frame
        print("Table 1 (per frame, \(f.cnn.count) face-frames; data: \(dataNote))")
        print(report.table1().markdown, terminator: "")
        print(String(format: "CNN+BiLSTM − CNN: accuracy %+.2f points, macro-F1 %+.4f; per window %+.2f points; per video %+.2f points",
                     (f.bilstm.accuracy - f.cnn.accuracy) * 100, f.bilstm.macroF1 - f.cnn.macroF1,
                     (evaluation.window.bilstm.accuracy - evaluation.window.cnn.accuracy) * 100,
                     (evaluation.video.bilstm.accuracy - evaluation.video.cnn.accuracy) * 100))
        log.info("mien evaluate: wrote \(out)/metrics.json, metrics.md, report.html")
        if !evaluation.failedVideos.isEmpty {
            log.info("mien evaluate: \(evaluation.failedVideos.count) video(s) failed and are not scored (listed in the report)")
            throw ExitCode(2)
        }
    }

    /// `arg` as a POSIX shell word: unchanged when it is plain, else in single quotes, so the
    /// command in the report can be pasted back into a shell.
    static func shellQuoted(_ arg: String) -> String {
        let plain = !arg.isEmpty && arg.unicodeScalars.allSatisfy { u in
            (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || "_./=:,+-@%".unicodeScalars.contains(u)
        }
        return plain ? arg : "'" + arg.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func write(_ text: String, _ name: String) throws {
        let path = (out as NSString).appendingPathComponent(name)
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw ValidationError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// Reads what the job wrote (frames.jsonl, windows.jsonl, videos.jsonl) back into the pure
/// evaluation records, attaching each face's ground truth the way the aggregator does
/// (frames.csv matched by box, else the video's label).
enum PredictionFiles {
    struct Read {
        var frames: [EvaluatedFrame] = []
        var windows: [EvaluatedWindow] = []
        var videos: [EvaluatedVideo] = []
        var timelines: [EvaluationReport.Video] = []
    }

    /// The records of one output file (`MienCore.OutputRecords`), in file order.
    static func records<Record: Decodable>(_ path: String, as: Record.Type) throws -> [Record] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read \(path): the job did not write it (see the log above)")
        }
        let decoder = JSONDecoder()
        var out: [Record] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            do { out.append(try decoder.decode(Record.self, from: Data(line.utf8))) } catch {
                throw ValidationError("\(path) line \(n + 1) is not a \(Record.self) line (\(error)): the file is damaged; run mien evaluate again without --resume")
            }
        }
        return out
    }

    static func read(_ dir: String, labels: [String], inputs: LabelledInputs) throws -> Read {
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let videoTruth = Dictionary(inputs.videos.map { ($0.id, $0.groundTruth) }, uniquingKeysWith: { a, _ in a })
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        func probs(_ d: [String: Double], _ what: @autoclosure () -> String) throws -> [Double] {
            guard let p = OutputRecords.probabilities(d, labels: labels) else {
                throw ValidationError("\(what()): no probability for \(labels.filter { d[$0] == nil }.joined(separator: ", "))")
            }
            return p
        }
        func label(_ s: String?, _ what: @autoclosure () -> String) throws -> Int {
            guard let s, let i = index[s] else { throw ValidationError("\(what()): unknown label \(s ?? "(none)")") }
            return i
        }

        var r = Read()
        var framesByVideo: [String: [EvaluatedFrame]] = [:]
        var fps: [String: Double] = [:]
        let framesPath = path("frames.jsonl")
        for (n, o) in try records(framesPath, as: FrameRecord.self).enumerated() {
            let at = "\(framesPath) line \(n + 1)"
            let (video, frame, track) = (o.video, o.frame, o.track)
            guard let box = o.boxValue else { throw ValidationError("\(at): the box has \(o.box.count) numbers, not 4") }
            let truthName: String?
            if let byFrame = inputs.frameTruth[video] {
                truthName = byFrame[frame].flatMap { FaceTruth.label(for: box, among: $0) }
            } else {
                truthName = videoTruth[video] ?? nil
            }
            let truth = truthName.flatMap { index[$0] }
            let f = EvaluatedFrame(video: video, track: track, frame: frame, truth: truth,
                                   bilstm: try label(o.label, at), cnnProbs: try probs(o.cnnProbs, at), cnn: try label(o.cnnLabel, at))
            r.frames.append(f)
            framesByVideo[video, default: []].append(f)
            if fps[video] == nil, frame > 0, o.timeS > 0 { fps[video] = Double(frame) / o.timeS }
        }
        let windowsPath = path("windows.jsonl")
        for (n, o) in try records(windowsPath, as: WindowRecord.self).enumerated() {
            let at = "\(windowsPath) line \(n + 1)"
            r.windows.append(EvaluatedWindow(video: o.video, track: o.track, index: o.window, startFrame: o.startFrame, endFrame: o.endFrame,
                                             probs: try probs(o.probs, at)))
        }
        let videosPath = path("videos.jsonl")
        for (n, o) in try records(videosPath, as: VideoRecord.self).enumerated() {
            let at = "\(videosPath) line \(n + 1)"
            let video = o.video
            let truth = (videoTruth[video] ?? nil).flatMap { index[$0] }
            if !o.isOK {
                r.videos.append(EvaluatedVideo(video: video, truth: truth, bilstm: nil, cnn: nil, error: o.error ?? "failed (no error text)"))
                continue
            }
            let b = try label(o.label, at), c = try label(o.cnnLabel, at)
            r.videos.append(EvaluatedVideo(video: video, truth: truth, bilstm: b, cnn: c))
            r.timelines.append(.init(video: video, frameCount: o.frames, fps: fps[video],
                                     truth: truth, bilstm: b, cnn: c, frames: framesByVideo[video] ?? []))
        }
        // videos.jsonl is in completion order; the report follows input order.
        let order = Dictionary(inputs.videos.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        r.videos.sort { (order[$0.video] ?? .max, $0.video) < (order[$1.video] ?? .max, $1.video) }
        r.timelines.sort { (order[$0.video] ?? .max, $0.video) < (order[$1.video] ?? .max, $1.video) }
        return r
    }
}
