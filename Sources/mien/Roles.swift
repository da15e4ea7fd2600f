import ArgumentParser
import Foundation
import Logging
import MienCluster
import MienCore
import MienTransport
import MienVision
import MienWire

/// Cluster mode: one role per process over tcp://. Defaults bind and connect on loopback;
/// binding other addresses is refused unless CURVE keys are configured or --insecure-bind is given.
struct Endpoint {
    static func checkBind(_ endpoint: String, insecure: Bool, curveAvailable: Bool = true) throws {
        guard endpoint.hasPrefix("tcp://") else { return }
        let host = endpoint.dropFirst(6).split(separator: ":").dropLast().joined(separator: ":")
        let loopback = ["127.0.0.1", "localhost", "[::1]", "::1"].contains(host)
        if !loopback && !insecure {
            let curve = curveAvailable ? "configure CURVE (--curve-secret-key with --curve-allow; keys from `mien keys generate`), "
                : "use cluster mode's aggregator with CURVE for an encrypted stream, "
            throw ValidationError("refusing to bind \(endpoint) without encryption: bind 127.0.0.1, \(curve)or pass --insecure-bind on a trusted network")
        }
    }
}

extension FrameTransport: ExpressibleByArgument {
    static let help = ArgumentHelp("How feature batches carry frames: reference (workers open the videos: shared storage) or inline (this process decodes each video once and sends GRAY8 frames: workers need no access to the videos; width × height bytes a frame on the wire).",
                                   valueName: "reference|inline")
}

/// Waits for `done` while SIGINT / SIGTERM call `stop`.
func runUntilDone(stop: @escaping @Sendable () -> Void, _ body: () throws -> Void) rethrows {
    let signals = SignalStop(stop)
    defer { signals.cancel() }
    try body()
}

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "coordinator",
        abstract: "Run the coordinator of a cluster job (one role per process, over tcp://).")

    @Argument(help: "Videos, frame folders, or folders to search (paths the feature workers can read; with --frames inline, paths this coordinator can read).")
    var inputs: [String]
    @Option(help: "Ground truth labels.csv (video,label).") var labels: String?
    @Option(help: "Endpoint for feature workers.") var features = "tcp://127.0.0.1:5555"
    @Option(help: "Endpoint for sequence workers.") var sequences = "tcp://127.0.0.1:5556"
    @Option(help: "The aggregator's endpoint.") var aggregator = "tcp://127.0.0.1:5557"
    @Option(help: "Journal of finished videos.") var journal = "mien-journal.log"
    @Flag(help: "Continue the job in --journal: finished videos are not redone.") var resume = false
    @Flag(help: "Feature extraction only, as `mien extract` across machines: no windows, no sequence workers; start the aggregator with --extract too (it writes embeddings.jsonl).")
    var extract = false
    @Option(name: .customLong("batch-frames"), help: ArgumentHelp(FrameTransport.batchFramesHelp)) var batchFrames: Int?
    @Option(name: .customLong("sample-every"), help: "Process every k-th frame.") var sampleEvery = 1
    @Option(help: FrameTransport.help) var frames = FrameTransport.reference
    @Option(name: .customLong("chunk-batches"), help: "With --frames reference: a video’s batches go to workers in runs of this many consecutive batches, so a worker goes on decoding where its last batch ended (1: no runs).")
    var chunkBatches = Coordinator.Config.defaultChunkBatches
    @Option(help: "Model bundle the sequence workers run (a folder with bundle.json, or a name under models/): the windows are cut to its BiLSTM's length T.")
    var model = ModelBundleRef.defaultName
    @Option(help: "Window length T (default: the --model bundle's BiLSTM's).") var window: Int?
    @Option(help: "Window stride (default: T / 2, as mien run).") var stride: Int?
    @Flag(name: .customLong("insecure-bind"), help: "Allow binding non-loopback addresses without CURVE.") var insecureBind = false
    @OptionGroup(title: "CURVE security") var curve: CurveCoordinatorOptions
    @Option(name: .customLong("max-message-bytes"), help: "Largest message a worker may send, bytes; a peer that sends more is disconnected.")
    var maxMessageBytes = ProtocolConstants.maxMessageBytes
    @Option(name: .customLong("peer-rate-limit"), help: "Messages per second each worker connection may send (burst: one second's worth); the excess is dropped, counted and logged. 0 = no limit.")
    var peerRateLimit = 1_000.0
    @Flag(help: "Log every event (--log-level debug).") var verbose = false
    @OptionGroup var observability: ObservabilityOptions

    func validate() throws {
        try Endpoint.checkBind(features, insecure: insecureBind || curve.enabled)
        try Endpoint.checkBind(sequences, insecure: insecureBind || curve.enabled)
        guard maxMessageBytes >= 1_024 else { throw ValidationError("--max-message-bytes must be at least 1024") }
        guard peerRateLimit >= 0, peerRateLimit.isFinite else { throw ValidationError("--peer-rate-limit must be ≥ 0 (0 = no limit)") }
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
        guard chunkBatches >= 1 else { throw ValidationError("--chunk-batches must be at least 1") }
        guard (batchFrames ?? 1) >= 1, sampleEvery >= 1 else { throw ValidationError("--batch-frames and --sample-every must be at least 1") }
        if let stride, stride < 1 || (window.map { stride > $0 } ?? false) { throw ValidationError("need 1 ≤ --stride ≤ --window") }
    }

    func run() throws {
        let truth = try labels.map { try GroundTruth.videoLabels(csv: $0, labels: ExpressionClass.labels) } ?? [:]
        let videos = try InputDiscovery.discover(inputs).map { v in var v = v; v.groundTruth = GroundTruth.lookup(truth, v); return v }
        if !resume { try? FileManager.default.removeItem(atPath: journal) }
        var c = Coordinator.Config(endpoints: ClusterEndpoints(features: features, sequences: sequences, aggregator: aggregator, results: ""))
        // Windows as long as the BiLSTM was trained on (mien run reads the same bundle), unless told.
        let length = try window ?? SequenceCompute(modelDirectory: ModelBundleRef.resolve(model).bilstmDirectory).windowLength
        let step = stride ?? max(1, length / 2)
        guard step <= length else { throw ValidationError("need --stride ≤ the window length \(length)") }
        c.batchFrames = batchFrames ?? frames.defaultBatchFrames; c.sampleEvery = sampleEvery; c.frames = frames; c.windowLength = length; c.windowStride = step
        c.chunkBatches = chunkBatches
        c.journalPath = journal
        c.extractOnly = extract
        let telemetry = Telemetry(observability, defaultLevel: verbose ? .debug : .info)
        defer { telemetry.stop() }
        c.metrics = CoordinatorMetrics(factory: telemetry.metricsFactory)
        let logger = telemetry.logger("mien.coordinator")
        c.maxMessageBytes = maxMessageBytes
        c.peerRateLimit = peerRateLimit > 0 ? peerRateLimit : nil
        let context = try ZMQContext()
        defer { context.terminate() }
        var zap: ZAPHandler?
        defer { zap?.stop() }
        if let secretKey = curve.secretKey, let allow = curve.allow {
            let (server, handler) = try CurveFlags.server(context: context, secretKey: secretKey, allow: allow, domain: CurveDomain.coordinator, log: { logger.warning("\($0)") })
            zap = handler
            c.security.server = server
            if let serverKey = curve.serverKey { c.security.client = try CurveFlags.client(secretKey: secretKey, serverKey: serverKey) }
        }
        let coordinator = Coordinator(context: context, config: c, inputs: videos, probe: { input in
            let info = try MediaSource.probe(input.path)
            return VideoProbe(fps: info.fps, frameCount: info.frameCount, width: info.width, height: info.height)
        }, logger: logger)
        try coordinator.start()
        let started = Date()
        try telemetry.serve(observability, logger: logger, status: {
            JobStatus(job: coordinator.config.jobID, progress: coordinator.progress, elapsed: Date().timeIntervalSince(started))
        })
        let reporter = ProgressReporter()
        try runUntilDone(stop: { coordinator.stop(); telemetry.endLinger() }) {
            while !coordinator.progress.finished {
                reporter.update(coordinator.progress)
                if coordinator.waitFinished(seconds: 0.5) { break }
            }
            try coordinator.wait()
            telemetry.linger(observability, logger: logger)
        }
        let p = coordinator.progress
        reporter.finish(p)
        if p.videosDone < p.videosTotal { throw ExitCode(1) }
        if p.videosFailed > 0 { throw ExitCode(2) }
    }
}

struct AggregatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "aggregator",
        abstract: "Run the aggregator of a cluster job: results to --out and to the --publish stream.")

    @Option(help: "Endpoint the coordinator connects to.") var bind = "tcp://127.0.0.1:5557"
    @Option(help: "Result stream for downstream consumers (XPUB).") var publish = "tcp://127.0.0.1:5558"
    @Option(help: "Output folder.") var out = "mien-out"
    @Option(name: .customLong("frame-labels"), help: "Per-frame ground truth frames.csv.") var frameLabels: String?
    @Flag(help: "Keep the results of videos an interrupted run completed.") var resume = false
    @Flag(help: "Feature extraction only (the coordinator runs with --extract): per-track embedding sequences to embeddings.jsonl, as `mien extract`.")
    var extract = false
    @Flag(name: .customLong("insecure-bind"), help: "Allow binding non-loopback addresses without CURVE.") var insecureBind = false
    @OptionGroup var observability: ObservabilityOptions
    @OptionGroup(title: "CURVE security (the coordinator's key on --curve-allow, the stream's consumers' keys on --curve-allow-consumers)") var curve: CurveServerOptions
    @Option(name: .customLong("curve-allow-consumers"), help: ArgumentHelp("Consumer public keys the result stream lets in: a .pub file or a folder of .pub files. A list of its own: a consumer's key never reaches the intake, where only the coordinator's (--curve-allow) is let in. Without it a CURVE aggregator's stream lets no consumer in.", valueName: "path"))
    var curveAllowConsumers: String?
    @Option(name: .customLong("max-message-bytes"), help: "Largest message a peer may send, bytes; a peer that sends more is disconnected.")
    var maxMessageBytes = ProtocolConstants.maxMessageBytes

    func validate() throws {
        try Endpoint.checkBind(bind, insecure: insecureBind || curve.enabled)
        try Endpoint.checkBind(publish, insecure: insecureBind || curve.enabled)
        if curveAllowConsumers != nil && !curve.enabled {
            throw ValidationError("--curve-allow-consumers needs --curve-secret-key (this server's own .key from `mien keys generate`)")
        }
        guard maxMessageBytes >= 1_024 else { throw ValidationError("--max-message-bytes must be at least 1024") }
    }

    func run() throws {
        var c = Aggregator.Config(endpoints: ClusterEndpoints(features: "", sequences: "", aggregator: bind, results: publish), outputDirectory: out)
        c.resume = resume
        c.extractOnly = extract
        c.maxMessageBytes = maxMessageBytes
        if let frameLabels {
            c.frameTruth = try GroundTruth.frameLabels(csv: frameLabels, labels: ExpressionClass.labels)
        }
        let telemetry = Telemetry(observability)
        defer { telemetry.stop() }
        c.metrics = AggregatorMetrics(factory: telemetry.metricsFactory)
        let logger = telemetry.logger("mien.aggregator")
        let context = try ZMQContext()
        defer { context.terminate() }
        var zap: ZAPHandler?
        defer { zap?.stop() }
        if let secretKey = curve.secretKey, let allow = curve.allow {
            let (server, handler) = try CurveFlags.server(context: context, secretKey: secretKey, allow: allow, domain: CurveDomain.aggregator, log: { logger.warning("\($0)") })
            zap = handler
            c.security.server = server
            let consumers = try curveAllowConsumers.map(CurveKeyFile.loadAllowList) ?? []
            if consumers.isEmpty {
                logger.warning("\(CurveDomain.results): no consumer keys (--curve-allow-consumers): the result stream lets no consumer in")
            } else {
                logger.notice("\(CurveDomain.results): CURVE on, \(consumers.count) consumer key(s) allowed from \(curveAllowConsumers!)")
            }
            c.streamSecurity = handler.serve(domain: CurveDomain.results, keyPair: server.keyPair, allow: consumers)
        }
        let aggregator = Aggregator(context: context, config: c, logger: logger)
        try aggregator.start()
        try telemetry.serve(observability, logger: logger)
        try runUntilDone(stop: { aggregator.stop(); telemetry.endLinger() }) {
            try aggregator.wait()
            telemetry.linger(observability, logger: logger)
        }
    }
}

struct FeatureWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "feature-worker",
        abstract: "Run a feature worker (decode, detect, crop, CNN) for a coordinator.")
    @Option(help: "The coordinator's feature endpoint.") var coordinator = "tcp://127.0.0.1:5555"
    @Option(help: "Model bundle: a folder with bundle.json, or a name under models/.") var model = ModelBundleRef.defaultName
    @OptionGroup var frontEnd: FrontEndOptions
    @OptionGroup var observability: ObservabilityOptions
    @OptionGroup(title: "CURVE security") var curve: CurveClientOptions

    func run() throws {
        let bundle = try ModelBundleRef.resolve(model)
        let security = try curve.load()
        try runWorker(endpoint: coordinator, compute: try frontEnd.featureCompute(cnnDirectory: bundle.cnnDirectory, workersSharingCPUs: nil), observability: observability, security: security)
    }
}

struct SequenceWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sequence-worker",
        abstract: "Run a sequence worker (BiLSTM over windows) for a coordinator.")
    @Option(help: "The coordinator's sequence endpoint.") var coordinator = "tcp://127.0.0.1:5556"
    @Option(help: "Model bundle: a folder with bundle.json, or a name under models/.") var model = ModelBundleRef.defaultName
    @OptionGroup var observability: ObservabilityOptions
    @OptionGroup(title: "CURVE security") var curve: CurveClientOptions

    func run() throws {
        let bundle = try ModelBundleRef.resolve(model)
        useSingleThreadedCompute()
        let security = try curve.load()
        try runWorker(endpoint: coordinator, compute: try SequenceCompute(modelDirectory: bundle.bilstmDirectory), observability: observability, security: security)
    }
}

func runWorker(endpoint: String, compute: WorkerCompute, observability: ObservabilityOptions, security: CurveClient? = nil) throws {
    let telemetry = Telemetry(observability)
    defer { telemetry.stop() }
    let feature = compute.role == .featureWorker
    let context = try ZMQContext()
    defer { context.terminate() }
    let worker = try Worker(context: context, endpoint: endpoint, compute: compute, security: security,
                            metrics: WorkerMetrics(feature: feature, factory: telemetry.metricsFactory),
                            logger: telemetry.logger(feature ? "mien.feature-worker" : "mien.sequence-worker"))
    var logger = telemetry.logger(feature ? "mien.feature-worker" : "mien.sequence-worker")
    logger[metadataKey: "worker"] = .string(worker.workerID)
    logger.info("serving \(endpoint)\(security.map { " with CURVE (key \($0.keyPair.publicKey.z85))" } ?? "")")
    try telemetry.serve(observability, logger: logger)
    worker.start()
    runUntilDone(stop: { worker.stop(); telemetry.endLinger() }) {
        worker.wait()
        telemetry.linger(observability, logger: logger)
    }
}
