import ArgumentParser
import Foundation
import Logging
import MienCluster
import MienCore
import MienVision

/// `mien run`: the main job, every role in one process.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Label the expression of every face in every frame of the given videos (all roles in one process).",
        discussion: """
            INPUT is a video file, a folder of frames, or a folder searched recursively for videos. \
            Writes frames.jsonl, segments.jsonl, videos.jsonl (and metrics.json with --labels) to --out. \
            Exit status: 0 when every input succeeded, 2 when some failed (see videos.jsonl), 1 on a fatal error.
            """)

    @Argument(help: "Videos, frame folders, or folders to search.")
    var inputs: [String]

    @Option(help: "Ground truth: labels.csv (video,label), for metrics.json.")
    var labels: String?

    @Option(name: .customLong("frame-labels"), help: "Per-frame ground truth: frames.csv (video,frame,track,label,…).")
    var frameLabels: String?

    @Option(help: "Output folder.")
    var out = "mien-out"

    @Option(help: "Model bundle: a folder with bundle.json, or a name under models/.")
    var model = ModelBundleRef.defaultName

    @OptionGroup var workers: WorkerCountOptions

    @Option(name: .customLong("batch-frames"), help: ArgumentHelp(FrameTransport.batchFramesHelp))
    var batchFrames: Int?

    @Option(name: .customLong("sample-every"), help: "Process every k-th frame.")
    var sampleEvery = 1

    @Option(help: FrameTransport.help) var frames = FrameTransport.reference

    @Option(name: .customLong("chunk-batches"), help: "With --frames reference: a video’s batches go to workers in runs of this many consecutive batches, so a worker goes on decoding where its last batch ended (1: no runs).")
    var chunkBatches = Coordinator.Config.defaultChunkBatches

    @OptionGroup var frontEnd: FrontEndOptions

    @Option(help: "Also publish results on this endpoint (e.g. tcp://127.0.0.1:5600) for outside consumers.")
    var publish: String?

    @Flag(name: .customLong("insecure-bind"), help: "Allow --publish on a non-loopback address (the stream is not encrypted; use cluster mode's aggregator for CURVE).")
    var insecureBind = false

    @Flag(help: "Continue an interrupted job in --out: finished videos are not redone.")
    var resume = false

    @Flag(name: .customLong("verbose"), help: "Log every role's events (--log-level debug).")
    var verbose = false

    @OptionGroup var observability: ObservabilityOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT") }
        guard (batchFrames ?? 1) >= 1 else { throw ValidationError("--batch-frames must be at least 1") }
        guard sampleEvery >= 1 else { throw ValidationError("--sample-every must be at least 1") }
        guard chunkBatches >= 1 else { throw ValidationError("--chunk-batches must be at least 1") }
        if let publish { try Endpoint.checkBind(publish, insecure: insecureBind, curveAvailable: false) }
    }

    func run() throws {
        let bundle = try ModelBundleRef.resolve(model)
        let labelled = try LabelledInputs.load(inputs, labels: labels, frameLabels: frameLabels)
        let log = Log(verbose: verbose)
        log.info("mien run: \(labelled.videos.count) input(s), model \(bundle.name) (\(bundle.trainedOn.isEmpty ? "see its bundle.json" : bundle.trainedOn)), output \(out)")
        var settings = EmbeddedJobSettings(featureWorkers: workers.featureWorkers, sequenceWorkers: workers.sequenceCount,
                                           batchFrames: batchFrames ?? frames.defaultBatchFrames, sampleEvery: sampleEvery, frontEnd: frontEnd)
        settings.resume = resume
        settings.frames = frames
        settings.chunkBatches = chunkBatches
        settings.publish = publish
        settings.observability = observability
        let result = try settings.run(labelled, bundle: bundle, out: out, log: log, name: "mien run")
        if result.videosDone < result.videosTotal { throw ExitCode(1) }
        if result.videosFailed > 0 { throw ExitCode(2) }
    }
}

/// Inputs found on disk with their ground truth (labels.csv / frames.csv), as `mien run` and
/// `mien evaluate` read them.
struct LabelledInputs {
    var videos: [VideoInput]
    /// video id → frame → true faces (from frames.csv).
    var frameTruth: [String: [UInt64: [FaceTruth]]]

    static func load(_ inputs: [String], labels: String?, frameLabels: String?) throws -> LabelledInputs {
        let videos = try InputDiscovery.discover(inputs)
        let labelNames = ExpressionClass.labels
        let truth = try labels.map { try GroundTruth.videoLabels(csv: $0, labels: labelNames) } ?? [:]
        let frameTruthByName = try frameLabels.map { try GroundTruth.frameLabels(csv: $0, labels: labelNames) } ?? [:]
        var frameTruth: [String: [UInt64: [FaceTruth]]] = [:]
        let jobInputs = videos.map { v in
            var v = v
            v.groundTruth = GroundTruth.lookup(truth, v)
            if let ft = GroundTruth.lookup(frameTruthByName, v) { frameTruth[v.id] = ft }
            return v
        }
        return LabelledInputs(videos: jobInputs, frameTruth: frameTruth)
    }
}

/// `--feature-workers` and `--sequence-workers` of the embedded job (`mien run`, `mien evaluate`).
struct WorkerCountOptions: ParsableArguments {
    @Option(name: .customLong("feature-workers"), help: ArgumentHelp(EmbeddedJobSettings.featureWorkersHelp))
    var featureWorkers = EmbeddedJobSettings.defaultFeatureWorkers

    @Option(name: .customLong("sequence-workers"), help: ArgumentHelp(EmbeddedJobSettings.sequenceWorkersHelp))
    var sequenceWorkers: Int?

    /// `--sequence-workers`, or as many as the feature workers.
    var sequenceCount: Int { sequenceWorkers ?? featureWorkers }

    func validate() throws {
        guard featureWorkers >= 1, (sequenceWorkers ?? 1) >= 1 else { throw ValidationError("--feature-workers and --sequence-workers must be at least 1") }
    }
}

/// The embedded job of `mien run` (every role in one process), as `mien run` and
/// `mien evaluate` start it: one place that wires the model bundle into the workers.
struct EmbeddedJobSettings {
    /// One feature worker per CPU this process may use: workers are how a job scales (2 on 2 CPUs
    /// finish a video in ~0.6 of the time 1 takes; docs/BENCHMARKS.md "Cluster").
    static let defaultFeatureWorkers = OpenCVInfo.cpusAvailable
    static let featureWorkersHelp = "Feature workers (face detection + CNN): by default one per CPU."
    static let sequenceWorkersHelp = "Sequence workers (BiLSTM) (default: as many as --feature-workers: when workers share a video, the windows of its later part wait for the earlier part and run together at its end)."
    var featureWorkers = 1
    var sequenceWorkers = 1
    var batchFrames = 32
    var sampleEvery = 1
    var frames = FrameTransport.reference
    var chunkBatches = Coordinator.Config.defaultChunkBatches
    var resume = false
    var publish: String?
    /// Keep every window's prediction in windows.jsonl.
    var writeWindows = false
    /// The face front end's detection schedule and scale (parsed options: there is no default value).
    var frontEnd: FrontEndOptions
    /// `--metrics` / `--log-level` (`mien run`); nil: role logs only, errors (debug with --verbose).
    var observability: ObservabilityOptions?

    init(featureWorkers: Int, sequenceWorkers: Int, batchFrames: Int, sampleEvery: Int, frontEnd: FrontEndOptions) {
        self.featureWorkers = featureWorkers
        self.sequenceWorkers = sequenceWorkers
        self.batchFrames = batchFrames
        self.sampleEvery = sampleEvery
        self.frontEnd = frontEnd
    }

    /// Runs the job to the end (SIGINT / SIGTERM stop it gracefully) with a progress line.
    func run(_ labelled: LabelledInputs, bundle: ModelBundleRef, out: String, log: Log, name: String) throws -> JobProgress {
        var config = EmbeddedJob.Config(inputs: labelled.videos, outputDirectory: out)
        config.featureWorkers = featureWorkers
        config.sequenceWorkers = sequenceWorkers
        config.resume = resume
        config.frameTruth = labelled.frameTruth
        config.writeWindows = writeWindows
        if let publish { config.resultsEndpoint = publish }
        // Role logs stay quiet under the progress line unless asked for (errors only).
        let quiet: Logger.Level = log.verbose ? .debug : .error
        let telemetry = observability.map { Telemetry($0, defaultLevel: quiet) } ?? Telemetry(level: quiet)
        defer { telemetry.stop() }
        config.metricsFactory = telemetry.metricsFactory
        let (batchFrames, sampleEvery, frames, chunkBatches) = (self.batchFrames, self.sampleEvery, self.frames, self.chunkBatches)
        let cnnDir = bundle.cnnDirectory, bilstmDir = bundle.bilstmDirectory
        let frontEnd = self.frontEnd
        // Load here (both kinds side by side) so a missing or corrupt model fails before any work
        // starts; the first worker of each kind gets these instead of loading the models again.
        useSingleThreadedCompute()  // once, before the computes are built on several threads
        let (sequence, feature) = try buildInParallel({ try SequenceCompute(modelDirectory: bilstmDir) },
                                                      { try frontEnd.featureCompute(cnnDirectory: cnnDir, workersSharingCPUs: featureWorkers) })
        let windowLength = sequence.windowLength
        let firstSequence = FirstUse(sequence)
        let firstFeature = FirstUse(feature)
        config.coordinator = {
            $0.batchFrames = batchFrames
            $0.sampleEvery = sampleEvery
            $0.frames = frames
            $0.chunkBatches = chunkBatches
            $0.windowLength = windowLength
            $0.windowStride = max(1, windowLength / 2)
        }
        let job = EmbeddedJob(config: config,
                              featureCompute: { try firstFeature.take() ?? frontEnd.featureCompute(cnnDirectory: cnnDir, workersSharingCPUs: featureWorkers) },
                              sequenceCompute: { try firstSequence.take() ?? SequenceCompute(modelDirectory: bilstmDir) },
                              probe: { input in
                                  let info = try MediaSource.probe(input.path)
                                  return VideoProbe(fps: info.fps, frameCount: info.frameCount, width: info.width, height: info.height)
                              },
                              logger: telemetry.logger("mien.run"))
        let started = Date()
        if let observability, let url = try telemetry.serve(observability, logger: telemetry.logger("mien.run"), status: {
            JobStatus(job: job.jobID, progress: job.progress, elapsed: Date().timeIntervalSince(started))
        }) {
            log.info("\(name): metrics at \(url)/metrics, progress at \(url)/status (mien status --url \(url))")
        }
        let signals = SignalStop {
            telemetry.endLinger()
            guard !job.progress.finished else { return }  // only the --metrics-linger was left
            job.stop()
            log.info("\(name): stopping (signal); resume later with --resume")
        }
        defer { signals.cancel() }
        let reporter = ProgressReporter()
        let result = try job.run { reporter.update($0) }
        reporter.finish(result)
        if let observability { telemetry.linger(observability, logger: telemetry.logger("mien.run")) }
        log.info("\(name): \(result.videosDone - result.videosFailed) video(s) ok, \(result.videosFailed) failed, \(result.framesDone) frames; results in \(out)")
        return result
    }
}

/// A worker's compute built up front, to check the models before any work starts, and handed to
/// the first worker that asks, so that it does not load the models again (the later ones build
/// their own: a compute is not shared between threads).
final class FirstUse<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value?

    init(_ value: Value) { self.value = value }

    /// The value the first time, nil after.
    func take() -> Value? {
        lock.withLock {
            defer { value = nil }
            return value
        }
    }
}

/// Log lines to stderr; debug lines only with --verbose.
struct Log: Sendable {
    let verbose: Bool
    func info(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
    func debug(_ s: String) { if verbose { info(s) } }
}

/// SIGINT / SIGTERM call `handler` once instead of killing the process.
final class SignalStop: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    init(_ handler: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler(handler: handler)
            s.resume()
            sources.append(s)
        }
    }

    func cancel() {
        for s in sources { s.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// A progress line on a terminal (videos, frames, frames/s, ETA, live workers); plain log
/// lines every 10 s otherwise.
final class ProgressReporter {
    private let tty = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var lastLine = Date.distantPast

    func update(_ p: JobProgress) {
        let now = Date()
        guard tty || now.timeIntervalSince(lastLine) >= 10 else { return }
        lastLine = now
        let line = text(p)
        FileHandle.standardError.write(Data((tty ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func finish(_ p: JobProgress) {
        if tty { FileHandle.standardError.write(Data(("\r\u{1B}[K" + text(p) + "\n").utf8)) }
    }

    /// The same line as `GET /status` describes (JobStatus computes rates and the ETA).
    private func text(_ p: JobProgress) -> String {
        JobStatus(job: "", progress: p, elapsed: Date().timeIntervalSince(start)).progressLine
    }
}
