import ArgumentParser
import Foundation
import MienCluster
import MienCore
import MienVision

/// `mien extract`: the feature stage of the cluster over a labelled video set; writes the
/// per-track embedding sequences (with frame indices and ground truth) for training.
struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the feature stage over labelled videos and cache per-track embedding sequences.",
        discussion: "Writes OUT/embeddings.jsonl (one line per face track) and OUT/videos.jsonl.")

    @Argument(help: "Videos, frame folders, or folders to search.")
    var inputs: [String]

    @Option(help: "Ground truth labels.csv (video,label).")
    var labels: String

    @Option(name: .customLong("frame-labels"), help: "Per-frame ground truth frames.csv (video,frame,track,label,…).")
    var frameLabels: String?

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "CNN folder (model.json + safetensors), or a name under models/.")
    var cnn = "fer2013"

    @Option(name: .customLong("feature-workers"), help: ArgumentHelp(EmbeddedJobSettings.featureWorkersHelp))
    var featureWorkers = EmbeddedJobSettings.defaultFeatureWorkers

    @Option(name: .customLong("batch-frames"), help: ArgumentHelp(FrameTransport.batchFramesHelp))
    var batchFrames: Int?

    @OptionGroup var frontEnd: FrontEndOptions

    @Flag(help: "Log every role's events.")
    var verbose = false

    func validate() throws {
        guard featureWorkers >= 1 else { throw ValidationError("--feature-workers must be at least 1") }
        guard (batchFrames ?? 1) >= 1 else { throw ValidationError("--batch-frames must be at least 1") }
    }

    func run() throws {
        let cnnDir = try resolveCNN(cnn)
        let names = ExpressionClass.labels
        let truth = try GroundTruth.videoLabels(csv: labels, labels: names)
        let ft = try frameLabels.map { try GroundTruth.frameLabels(csv: $0, labels: names) } ?? [:]
        var frameTruth: [String: [UInt64: [FaceTruth]]] = [:]
        let videos = try InputDiscovery.discover(inputs).map { v in
            var v = v
            v.groundTruth = GroundTruth.lookup(truth, v)
            if let f = GroundTruth.lookup(ft, v) { frameTruth[v.id] = f }
            return v
        }
        let log = Log(verbose: verbose)
        let frontEnd = self.frontEnd
        let firstFeature = FirstUse(try frontEnd.featureCompute(cnnDirectory: cnnDir, workersSharingCPUs: featureWorkers))
        var config = EmbeddedJob.Config(inputs: videos, outputDirectory: out)
        config.extractOnly = true
        config.featureWorkers = featureWorkers
        config.frameTruth = frameTruth
        let bf = batchFrames ?? FrameTransport.reference.defaultBatchFrames
        config.coordinator = { $0.batchFrames = bf }
        let job = EmbeddedJob(config: config, featureCompute: { try firstFeature.take() ?? frontEnd.featureCompute(cnnDirectory: cnnDir, workersSharingCPUs: featureWorkers) },
                              sequenceCompute: { throw ValidationError("extraction runs no sequence workers") },
                              probe: { input in
                                  let info = try MediaSource.probe(input.path)
                                  return VideoProbe(fps: info.fps, frameCount: info.frameCount, width: info.width, height: info.height)
                              }, logger: Telemetry(level: verbose ? .debug : .error).logger("mien.extract"))
        let signals = SignalStop { job.stop() }
        defer { signals.cancel() }
        let reporter = ProgressReporter()
        let result = try job.run { reporter.update($0) }
        reporter.finish(result)
        log.info("mien extract: \(result.videosDone - result.videosFailed) video(s), \(result.framesDone) frames → \(out)/embeddings.jsonl")
        if result.videosFailed > 0 { throw ExitCode(2) }
    }
}

/// A CNN folder given by path or by name under the model folders.
func resolveCNN(_ nameOrPath: String) throws -> String {
    let fm = FileManager.default
    if fm.fileExists(atPath: (nameOrPath as NSString).appendingPathComponent("model.json")) { return nameOrPath }
    if !nameOrPath.contains("/") {
        for dir in ModelBundleRef.searchFolderList() {
            let d = (dir as NSString).appendingPathComponent(nameOrPath)
            if fm.fileExists(atPath: (d as NSString).appendingPathComponent("model.json")) { return d }
        }
    }
    throw ValidationError("no CNN model \"\(nameOrPath)\" (a folder with model.json): give a path or a name under models/")
}
