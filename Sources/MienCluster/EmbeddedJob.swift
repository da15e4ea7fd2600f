import CoreMetrics
import Foundation
import Logging
import MienCore
import MienProto
import MienTransport

/// `mien run`: every role in one process, wired over `inproc://` sockets of one context
/// (the result stream may be bound to `tcp://` for outside consumers). The same role code
/// runs in cluster mode; only endpoints differ.
public final class EmbeddedJob: @unchecked Sendable {
    public struct Config: Sendable {
        public var inputs: [VideoInput]
        public var outputDirectory: String
        public var featureWorkers = 1
        public var sequenceWorkers = 1
        public var resume = false
        /// Where the result stream is bound (inproc by default; tcp:// for outside consumers).
        public var resultsEndpoint = "inproc://mien-results"
        public var coordinator: @Sendable (inout Coordinator.Config) -> Void = { _ in }
        public var frameTruth: [String: [UInt64: [FaceTruth]]] = [:]
        public var labels: [String] = ExpressionClass.labels
        /// Feature extraction only (`mien extract`): no sequence workers; embeddings.jsonl.
        public var extractOnly = false
        /// Keep every window's prediction in `windows.jsonl` (`mien evaluate`).
        public var writeWindows = false
        /// Where every role's instruments go (Prometheus for `mien run --metrics`; no-op by default).
        public var metricsFactory: MetricsFactory = NOOPMetricsHandler.instance

        public init(inputs: [VideoInput], outputDirectory: String) {
            self.inputs = inputs
            self.outputDirectory = outputDirectory
        }
    }

    public let config: Config
    private let makeFeatureCompute: @Sendable () throws -> WorkerCompute
    private let makeSequenceCompute: @Sendable () throws -> WorkerCompute
    private let probe: @Sendable (VideoInput) throws -> VideoProbe
    private let logger: Logger
    private let lock = NSLock()
    private var coordinator: Coordinator?
    private var featureWorkers: [Worker] = []

    public init(config: Config,
                featureCompute: @escaping @Sendable () throws -> WorkerCompute,
                sequenceCompute: @escaping @Sendable () throws -> WorkerCompute,
                probe: @escaping @Sendable (VideoInput) throws -> VideoProbe,
                logger: Logger = .quiet("mien.run")) {
        self.config = config
        self.makeFeatureCompute = featureCompute
        self.makeSequenceCompute = sequenceCompute
        self.probe = probe
        self.logger = logger
    }

    /// Progress of the running job (zero before it starts).
    public var progress: JobProgress { lock.withLock { coordinator?.progress } ?? JobProgress() }

    /// The job's id (empty before it starts).
    public var jobID: String { lock.withLock { coordinator?.config.jobID } ?? "" }

    /// Asks the job to stop gracefully (SIGINT / SIGTERM).
    public func stop() { lock.withLock { coordinator }?.stop() }

    /// The feature workers, for fault-injection tests.
    var runningFeatureWorkers: [Worker] { lock.withLock { featureWorkers } }

    /// Runs the job to the end. `onProgress` is called about every `interval` seconds.
    public func run(interval: TimeInterval = 0.5, onProgress: (JobProgress) -> Void = { _ in }) throws -> JobProgress {
        let context = try ZMQContext()
        defer { context.terminate() }
        var endpoints = ClusterEndpoints.embedded(results: config.resultsEndpoint)
        endpoints.results = config.resultsEndpoint

        var aggregatorConfig = Aggregator.Config(endpoints: endpoints, outputDirectory: config.outputDirectory)
        aggregatorConfig.resume = config.resume
        aggregatorConfig.frameTruth = config.frameTruth
        aggregatorConfig.labels = config.labels
        aggregatorConfig.extractOnly = config.extractOnly
        aggregatorConfig.writeWindows = config.writeWindows
        aggregatorConfig.metrics = AggregatorMetrics(factory: config.metricsFactory)
        let aggregator = Aggregator(context: context, config: aggregatorConfig, logger: logger)
        try aggregator.start()

        var coordinatorConfig = Coordinator.Config(endpoints: endpoints)
        coordinatorConfig.labels = config.labels
        coordinatorConfig.journalPath = (config.outputDirectory as NSString).appendingPathComponent("journal.log")
        if !config.resume { try? FileManager.default.removeItem(atPath: coordinatorConfig.journalPath!) }
        coordinatorConfig.extractOnly = config.extractOnly
        coordinatorConfig.metrics = CoordinatorMetrics(factory: config.metricsFactory)
        config.coordinator(&coordinatorConfig)
        let coordinator = Coordinator(context: context, config: coordinatorConfig, inputs: config.inputs, probe: probe, logger: logger)
        try coordinator.start()
        lock.withLock { self.coordinator = coordinator }

        // Model loading is most of a job's start-up: the workers' computes are built side by side.
        let sequenceCount = config.extractOnly ? 0 : config.sequenceWorkers
        let computes = try buildInParallel(Array(repeating: makeSequenceCompute, count: sequenceCount)
                                           + Array(repeating: makeFeatureCompute, count: config.featureWorkers))
        var workers: [Worker] = []
        for compute in computes.prefix(sequenceCount) {
            workers.append(try Worker(context: context, endpoint: endpoints.sequences, compute: compute,
                                      liveness: coordinatorConfig.liveness,
                                      metrics: WorkerMetrics(feature: false, factory: config.metricsFactory), logger: logger))
        }
        var fws: [Worker] = []
        for compute in computes.dropFirst(sequenceCount) {
            fws.append(try Worker(context: context, endpoint: endpoints.features, compute: compute,
                                  liveness: coordinatorConfig.liveness,
                                  metrics: WorkerMetrics(feature: true, factory: config.metricsFactory), logger: logger))
        }
        lock.withLock { featureWorkers = fws }
        for w in workers + fws { w.start() }

        // Wakes at the end of the job, not at the next tick: a short job's wall time is not
        // rounded up to the progress interval.
        while !coordinator.progress.finished {
            onProgress(coordinator.progress)
            if coordinator.waitFinished(seconds: interval) { break }
        }
        let result = coordinator.progress
        onProgress(result)
        aggregator.stop()
        for w in workers + fws where w.state != .stopped { w.stop() }
        try coordinator.wait()
        try aggregator.wait()
        return result
    }
}

/// Runs the builders side by side (on Dispatch's threads) and returns their values in order, or
/// throws the first builder's error (in order). For loading models: several workers' models, or
/// the models of different kinds, load at once instead of one after another.
public func buildInParallel<Value>(_ builders: [@Sendable () throws -> Value]) throws -> [Value] {
    let slots = ResultSlots<Value>(builders.count)
    DispatchQueue.concurrentPerform(iterations: builders.count) { i in
        slots.set(i, Result { try builders[i]() })
    }
    return try slots.values()
}

/// Two builders of different types side by side (see `buildInParallel(_:)`).
public func buildInParallel<A, B>(_ a: @escaping @Sendable () throws -> A, _ b: @escaping @Sendable () throws -> B) throws -> (A, B) {
    let builders: [@Sendable () throws -> Any] = [{ @Sendable in try a() }, { @Sendable in try b() }]
    let values = try buildInParallel(builders)
    return (values[0] as! A, values[1] as! B)
}

/// Each slot is written once, under the lock, and read after every writer has finished.
private final class ResultSlots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<Value, Error>?]

    init(_ count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ result: Result<Value, Error>) { lock.withLock { results[i] = result } }
    func values() throws -> [Value] { try lock.withLock { try results.map { try $0!.get() } } }
}
