import Foundation
import Logging
import MienCluster
import MienNN
import MienProto
import MienTraining
import MienTransport
import MienWire

/// A remote worker of `mien tune --listen` (`mien tune-worker --coordinator`): connects a
/// DEALER, says hello, receives the embedding cache and the search's settings once (checked
/// by SHA-256), then asks for trials with `Ready` credit (`parallel` at once), runs each with
/// an executor of its own (the CLI's: a `mien tune-worker` child process, as `mien tune`'s
/// local slots) and sends back the result with the trained bundle's files. Heartbeats both
/// ways; when tune goes silent it reconnects with capped back-off, under a new routing id
/// (tune then hands its unanswered trials to others). It stops on tune's `Shutdown`, on
/// `stop()` (saying goodbye, so tune re-queues its trials at once) or on a bad cache.
public final class TrialWorker: @unchecked Sendable {
    /// Makes the executors for a search: `parallel` of them, reading the cache copy at
    /// `cachePath` and writing each trial's bundle to `TuningLayout.trialDirectory(out, trial)`.
    public typealias Prepare = @Sendable (_ setup: Mien_V1_TrialSetup, _ cachePath: String, _ out: String) throws -> [TrialExecutor]

    public let workerID: String
    private let context: ZMQContext
    private let endpoint: String
    private let parallel: Int
    private let scratch: String
    private let prepare: Prepare
    private let security: CurveClient?
    private let liveness: Liveness
    private let logger: Logger

    private let wake: WakePipe
    private let outbox: WorkQueue<Finished>
    private let lock = NSLock()
    private var failure: TrainingError?
    private let stopping = StopLatch()

    /// A trial's result, from the thread that ran it; `generation` tells results of an
    /// earlier search (tune restarted with other settings) from the current one's.
    private struct Finished {
        var generation: Int
        var slot: Int
        var result: TrialResult
    }

    /// - Parameters:
    ///   - scratch: a private folder for the cache copy and the trials' bundles (created; emptied as trials are sent).
    ///   - security: CURVE client keys (tune's public key and this worker's pair); nil = plaintext.
    public init(context: ZMQContext, endpoint: String, parallel: Int = 1, scratch: String, workerID: String? = nil,
                security: CurveClient? = nil, liveness: Liveness = Liveness(), logger: Logger = .quiet("mien.tune-worker"),
                prepare: @escaping Prepare) throws {
        precondition(parallel >= 1)
        self.context = context
        self.endpoint = endpoint
        self.parallel = parallel
        self.scratch = scratch
        self.prepare = prepare
        self.security = security
        self.liveness = liveness
        self.workerID = workerID ?? "tw-\(ProcessInfo.processInfo.hostName)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        var logger = logger
        logger[metadataKey: "role"] = "tune-worker"
        logger[metadataKey: "worker"] = .string(self.workerID)
        self.logger = logger
        wake = try WakePipe()
        outbox = WorkQueue(capacity: parallel)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    /// Starts the socket thread.
    public func start() {
        let thread = Thread { [self] in socketLoop() }
        thread.name = "mien.tune-worker.socket"
        thread.start()
    }

    /// Asks the worker to stop (running trials are interrupted, tune is told); returns once it has.
    public func stop() {
        stopping.requestStop()
        wake.wake()
        stopping.waitUntilEnded()
    }

    /// Blocks until the worker stopped; throws when it stopped on an error (e.g. a bad cache).
    public func wait() throws {
        stopping.waitUntilEnded()
        if let failure = lock.withLock({ failure }) { throw failure }
    }

    private var shouldStop: Bool { stopping.isStopRequested }

    // MARK: the search this worker is set up for

    private struct Search {
        var setup: Mien_V1_TrialSetup
        /// The cache's bytes (checked), kept for a later search on the same cache.
        var cache: Data
        var executors: [TrialExecutor]
        var free: [Int]
        var out: String
    }

    /// The cache as it arrives in chunks.
    private struct Download {
        var setup: Mien_V1_TrialSetup
        var data = Data()
        var next: UInt32 = 0
    }

    /// Checks the downloaded cache, writes it to the scratch folder and makes the executors.
    private func setUp(_ d: Download, generation: Int) throws -> Search {
        let sha = sha256Hex(Array(d.data))
        guard d.data.count == d.setup.cacheBytes, sha == d.setup.cacheSha256 else {
            throw TrainingError("the embedding cache from tune does not match its checksum (got \(d.data.count) bytes, SHA-256 \(sha.prefix(16))…; tune announced \(d.setup.cacheBytes) bytes, \(d.setup.cacheSha256.prefix(16))…): the transfer was corrupted or tampered with; restart the worker")
        }
        let folder = (scratch as NSString).appendingPathComponent("search-\(generation)")
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let cachePath = (folder as NSString).appendingPathComponent("embeddings.jsonl")
        try d.data.write(to: URL(fileURLWithPath: cachePath))
        let out = (folder as NSString).appendingPathComponent("out")
        let executors = try prepare(d.setup, cachePath, out)
        precondition(executors.count == parallel, "prepare must make one executor per parallel trial")
        return Search(setup: d.setup, cache: d.data, executors: executors, free: Array((0..<parallel).reversed()), out: out)
    }

    // MARK: socket thread

    /// The session with tune (`WorkerSession`): hello with the cache this worker holds; the
    /// cache arrives in chunks (checked against its SHA-256) or is the one held; then credit
    /// for `parallel` trials, each run on a thread of its own and answered with its result,
    /// its bundle's files and fresh credit. Stopped by a signal, it says goodbye so that tune
    /// hands its trials to others at once.
    private func socketLoop() {
        let loop = SearchSession(self)
        let session = WorkerSession(workerID: workerID, context: context, endpoint: endpoint, security: security,
                                    liveness: liveness, logger: logger, wake: wake)
        let role = WorkerSession.Role(
            server: "tune",
            hello: { [self] in
                .trialWorkerHello(.with {
                    $0.workerID = workerID
                    $0.hostname = ProcessInfo.processInfo.hostName
                    $0.parallel = UInt32(parallel)
                    $0.softwareVersion = ProtocolConstants.softwareVersion
                    $0.cacheSha256 = loop.search?.setup.cacheSha256 ?? ""
                })
            },
            connected: { _ in loop.download = nil },
            turn: { try loop.sendFinished(on: $0) },
            message: { try loop.handle($0, on: $1) },
            stopping: { channel in
                // Stopped by a signal: say goodbye so that tune hands this worker's trials to others now.
                _ = try? channel.send(.shutdown(.with { $0.reason = "tune worker stopping" }), timeoutMs: 0)
                try? channel.setLinger(1_000)
            })
        session.run(role, shouldStop: { [self] in shouldStop })
        loop.abandonSearch()
        stopping.requestStop()
        outbox.close()
        stopping.markEnded()
    }
}

extension TrialWorker {
    /// What the socket thread keeps of the search: the search set up (and its generation) and
    /// the cache being downloaded. The socket thread's only.
    private final class SearchSession {
        let worker: TrialWorker
        var generation = 0
        var search: Search?
        var download: Download?

        init(_ worker: TrialWorker) { self.worker = worker }

        var logger: Logger { worker.logger }

        func fail(_ message: String) {
            worker.lock.withLock { worker.failure = TrainingError(message) }
            logger.error("\(message)")
        }

        /// Runs a trial on a free executor, on a thread of its own (training blocks).
        func run(_ request: Mien_V1_TrialRequest) -> Bool {
            guard let slot = search?.free.popLast(), let executor = search?.executors[slot] else { return false }
            let (gen, outbox, wake) = (generation, worker.outbox, worker.wake)
            let thread = Thread {
                let r = executor.run(Int(request.trial), TrialParams(request.params))
                outbox.put(Finished(generation: gen, slot: slot, result: r))
                wake.wake()
            }
            thread.name = "mien.tune-worker.trial"
            thread.start()
            return true
        }

        /// Interrupts the running trials of the current search and forgets it.
        func abandonSearch() {
            for e in search?.executors ?? [] { e.interrupt() }
            search = nil
            generation += 1
        }

        /// Sets up a search on a complete, yet unchecked cache and asks for trials; false when
        /// the cache is bad or the executors cannot be made (tune is told; the worker stops).
        func begin(_ d: Download, on channel: WorkerSession.Channel) throws -> Bool {
            abandonSearch()
            do {
                search = try worker.setUp(d, generation: generation)
            } catch {
                _ = try? channel.send(.error(.with { $0.code = .badMessage; $0.message = "\(worker.workerID): \(error)" }), timeoutMs: 1_000)
                fail("\(error)")
                return false
            }
            logger.info("cache \(d.setup.cacheName) ready (\(d.data.count) bytes, SHA-256 verified); asking for \(worker.parallel) trial(s)")
            try channel.send(.ready(.with { $0.credit = UInt32(worker.parallel) }))
            return true
        }

        /// Finished trials go out, each with its bundle's files and followed by fresh credit.
        func sendFinished(on channel: WorkerSession.Channel) throws {
            for f in worker.outbox.drain() where f.generation == generation {
                search?.free.append(f.slot)
                let directory = TuningLayout.trialDirectory(search?.out ?? worker.scratch, f.result.trial)
                var files: [(name: String, data: Data)] = []
                var r = f.result
                if r.status == .ok {
                    do { files = try trialFiles(in: directory) } catch {
                        r.status = .failed
                        r.error = "tune worker \(worker.workerID) cannot read the trial's bundle in \(directory): \(error)"
                    }
                }
                try? FileManager.default.removeItem(atPath: directory)
                guard r.status == .ok || r.status == .failed else { continue }  // interrupted: tune re-queues it
                try channel.send(.trialResult(Mien_V1_TrialResult(r, files: files)))
                try channel.send(.ready(.with { $0.credit = 1 }))
                logger.info("trial \(r.trial) \(r.params.summary): \(r.status.rawValue) in \(String(format: "%.1f", r.seconds)) s")
            }
        }

        func handle(_ message: Envelope, on channel: WorkerSession.Channel) throws -> WorkerSession.Verdict {
            switch message.payload {
            case .trialSetup(let setup):
                return try setUp(setup, on: channel)
            case .trialDataChunk(let chunk):
                guard var d = download, chunk.index == d.next else {
                    logger.warning("ignored an unexpected cache chunk \(chunk.index) from tune")
                    return .goOn
                }
                d.data.append(chunk.data)
                d.next += 1
                download = d
                guard d.next == d.setup.chunks else { return .goOn }
                download = nil
                if try !begin(d, on: channel) { return .stop }
            case .trialRequest(let request):
                if !run(request) {
                    logger.warning("tune sent trial \(request.trial) beyond this worker's credit; refused")
                    try channel.send(.error(.with {
                        $0.code = .badMessage
                        $0.message = "\(worker.workerID) has no free slot for trial \(request.trial) (credit \(worker.parallel))"
                        $0.sequence = message.sequence
                    }))
                }
            case .shutdown(let s):
                logger.info("tune says the search is over (\(s.reason))")
                return .stop
            case .error(let e):
                logger.warning("tune reported: \(e.message)")
            default:
                logger.warning("ignored unexpected \(message.kind) from tune")
            }
            return .goOn
        }

        /// A search's settings: the same search again (reconnected), a cache to download, or
        /// another search on the cache held.
        private func setUp(_ setup: Mien_V1_TrialSetup, on channel: WorkerSession.Channel) throws -> WorkerSession.Verdict {
            if let s = search, s.setup.sameSearch(setup) {
                // Reconnected to the same search: go on with the slots that are free.
                try channel.send(.ready(.with { $0.credit = UInt32(s.free.count) }))
            } else if setup.chunks > 0 {
                download = Download(setup: setup)
            } else if let held = search?.cache, search?.setup.cacheSha256 == setup.cacheSha256 {
                // Another search on the cache this worker holds (tune restarted with other settings).
                if try !begin(Download(setup: setup, data: held), on: channel) { return .stop }
            } else {
                fail("tune sent no cache although this worker does not hold \(setup.cacheSha256.prefix(16))…")
                return .stop
            }
            return .goOn
        }
    }
}
