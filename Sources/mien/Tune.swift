import ArgumentParser
import Foundation
import Logging
import MienCluster
import MienCore
import MienNN
import MienProto
import MienTelemetry
import MienTraining
import MienTransport
import MienTuning

/// `mien tune`: grid or random search over the BiLSTM's hyper-parameters, trials in parallel
/// worker processes (local, and remote ones with --listen), a ranked table and the best
/// configuration saved as a model.
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search BiLSTM hyper-parameters (grid or random) on an embedding cache; trials run in parallel.",
        discussion: """
            Every trial trains a BiLSTM with the trainer of `mien train bilstm` on the SAME split of the \
            cache's videos (grouped by video, stratified by label, seeded by --seed) and is scored on the \
            validation videos. Lists are comma-separated; --lr also takes a range LOW:HIGH, sampled \
            log-uniformly by --search random. Without --stride, each trial uses stride = window / 2 (what \
            `mien run` uses). Trials run in --parallel worker processes, each with single-threaded BLAS. \
            With --listen, `mien tune-worker --coordinator` processes on other machines connect too: each \
            receives the cache once and asks for trials when idle (--parallel 0: remote workers only). A \
            trial's result does not depend on where it runs; a remote worker that is lost has its trial \
            run again elsewhere.

            Writes to --out: results.csv and results.md (ranked), trials.jsonl (each result as it finishes), \
            trials/NNN/ (each finished trial's BiLSTM bundle and training.json), best/ (the top trial's bundle, \
            with its test-split accuracy in training.json) and bundle.json pairing best/ with --cnn, so that \
            `mien run --model OUT` uses it. Ctrl-C stops the search and writes the partial table.
            """)

    enum Search: String, ExpressibleByArgument, CaseIterable { case grid, random }

    @Option(help: "embeddings.jsonl written by `mien extract`.")
    var cache: String
    @Option(help: "Output folder (must not hold a previous search).")
    var out: String
    @Option(help: "grid: every combination; random: --trials configurations drawn with --search-seed.")
    var search: Search = .grid
    @Option(help: "Configurations to draw (--search random).")
    var trials: Int?
    @Option(help: "LSTM units per direction (list).")
    var units = "32,64,128"
    @Option(help: "Adam learning rates (list), or LOW:HIGH for a log-uniform range (random search).")
    var lr = "1e-3,3e-3"
    @Option(help: "Dropout after each BiLSTM layer (list).")
    var dropout = "0,0.2,0.4"
    @Option(help: "Window lengths T (list).")
    var window = "8,16"
    @Option(help: "Window strides (list); default: window / 2 for each window.")
    var stride: String?
    @Option(help: "Stacked BiLSTM layers (list).")
    var layers = "1"
    @Option(help: "Most epochs per trial.")
    var epochs = 30
    @Option(help: "Epochs without a better validation loss before a trial stops.")
    var patience = 5
    @Option(name: .customLong("batch-size"), help: "Windows per step.")
    var batchSize = 32
    @Option(help: "Seed of the split and of every trial's initial weights and shuffling (as `mien train bilstm --seed`).")
    var seed: UInt64 = 1
    @Option(name: .customLong("search-seed"), help: "Seed of random search's draws; default: --seed.")
    var searchSeed: UInt64?
    @Option(name: .customLong("train-fraction"), help: "Fraction of videos for training.")
    var trainFraction = 0.7
    @Option(name: .customLong("validation-fraction"), help: "Fraction of videos for validation (the rest is test).")
    var validationFraction = 0.15
    @Option(help: "Trials at once in local worker processes; default: the number of cores (0 with --listen: remote workers only).")
    var parallel = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Also hand trials to remote `mien tune-worker --coordinator` processes connecting here (tcp://HOST:PORT).")
    var listen: String?
    @Flag(name: .customLong("insecure-bind"), help: "Allow --listen on a non-loopback address without CURVE.")
    var insecureBind = false
    @OptionGroup(title: "CURVE security of --listen (the tune workers' keys on --curve-allow)") var curve: CurveServerOptions
    @Option(help: "The CNN that made the cache (folder or name under models/), paired with best/ in bundle.json.")
    var cnn = "fer2013"

    func validate() throws {
        guard parallel >= 1 || (parallel == 0 && listen != nil) else { throw ValidationError("--parallel must be at least 1 (0 only with --listen: remote workers only)") }
        if let listen {
            guard listen.hasPrefix("tcp://") else { throw ValidationError("--listen takes tcp://HOST:PORT, e.g. tcp://0.0.0.0:5560 (with CURVE) or tcp://127.0.0.1:5560") }
            try Endpoint.checkBind(listen, insecure: insecureBind || curve.enabled)
        } else if curve.enabled || insecureBind {
            throw ValidationError("--curve-secret-key, --curve-allow and --insecure-bind are for --listen")
        }
        guard epochs >= 1, patience >= 1, batchSize >= 1 else { throw ValidationError("--epochs, --patience and --batch-size must be positive") }
        guard trainFraction > 0, validationFraction > 0, trainFraction + validationFraction <= 1 else {
            throw ValidationError("need --train-fraction > 0, --validation-fraction > 0 and their sum at most 1")
        }
        switch search {
        case .grid:
            if trials != nil || searchSeed != nil { throw ValidationError("--trials and --search-seed are for --search random (grid search runs every combination)") }
        case .random: guard let trials, trials >= 1 else { throw ValidationError("--search random needs --trials N (N ≥ 1)") }
        }
        do { try space().validate() } catch { throw ValidationError("\(error)") }
    }

    func space() throws -> SearchSpace {
        SearchSpace(units: try SearchValues.ints(units, option: "--units"), layers: try SearchValues.ints(layers, option: "--layers"),
                    learningRates: try SearchValues.learningRates(lr), dropout: try SearchValues.doubles(dropout, option: "--dropout"),
                    window: try SearchValues.ints(window, option: "--window"),
                    stride: try stride.map { try SearchValues.ints($0, option: "--stride") })
    }

    func run() throws {
        let configs = search == .grid ? try space().grid() : try space().random(trials: trials!, seed: searchSeed ?? seed)
        let fm = FileManager.default
        for previous in ["results.csv", "trials.jsonl", "trials", "best"] where fm.fileExists(atPath: (out as NSString).appendingPathComponent(previous)) {
            throw TrainingError("\(out) holds a previous search (\(previous)): choose another --out or remove it")
        }
        let cnnDir = URL(fileURLWithPath: try resolveCNN(cnn)).standardizedFileURL.path
        let data = try TuningData.load(cache: cache, seed: seed, trainFraction: trainFraction, validationFraction: validationFraction)
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        var setup = Mien_V1_TrialSetup.with {
            $0.cacheName = cache; $0.seed = seed; $0.trainFraction = trainFraction; $0.validationFraction = validationFraction
            $0.epochs = UInt32(epochs); $0.patience = UInt32(patience); $0.batchSize = UInt32(batchSize)
        }
        let workers = min(parallel, configs.count)
        note("tune: \(search.rawValue) search, \(configs.count) configuration(s), \(workers) local worker process(es)\(listen.map { " and remote tune workers on \($0)" } ?? ""); "
             + "\(data.tracks.count) tracks, videos train \(data.train.count) / validation \(data.validation.count) / test \(data.test.count)")

        // A write to a worker that just died must be an error, not a SIGPIPE that ends the search.
        signal(SIGPIPE, SIG_IGN)
        let workerArguments = TuneWorker.stdinArguments(setup, cache: cache, out: out)
        let executors = (0..<workers).map { _ in ProcessTrialExecutor(arguments: workerArguments) }
        let logger = Logger(label: "mien.tune", factory: { KeyValueLogHandler(label: $0, level: .info) })
        let context = try ZMQContext()
        defer { context.terminate() }
        var zap: ZAPHandler?
        defer { zap?.stop() }
        var remote: TuningSearch.Remote?
        if let listen {
            let bytes: Data
            do { bytes = try Data(contentsOf: URL(fileURLWithPath: cache)) } catch { throw TrainingError("cannot read \(cache) to send it to remote workers: \(error.localizedDescription)") }
            setup.cacheSha256 = sha256Hex(Array(bytes))
            setup.cacheBytes = UInt64(bytes.count)
            remote = TuningSearch.Remote(context: context, endpoint: listen, setup: setup, cache: bytes, out: out)
            if let secretKey = curve.secretKey, let allow = curve.allow {
                let (server, handler) = try CurveFlags.server(context: context, secretKey: secretKey, allow: allow, domain: CurveDomain.tune, log: { logger.warning("\($0)") })
                zap = handler
                remote?.security = server
            }
        }
        let searchRun = try TuningSearch(trials: configs, executors: executors, remote: remote, logger: logger)
        let signals = SignalStop {
            FileHandle.standardError.write(Data("tune: interrupted: stopping the workers, writing the partial table\n".utf8))
            searchRun.stop()
        }
        let stream = try JSONLineAppender(path: (out as NSString).appendingPathComponent("trials.jsonl"))
        let total = configs.count
        let done = Counter()
        if let listen { note("tune: remote workers: mien tune-worker --coordinator \(listen)\(curve.enabled ? " --curve-secret-key KEY --curve-server-key TUNE.pub" : "")") }
        let results = try searchRun.run { r in
            let n = done.increment()
            note("tune [\(n)/\(total)] trial \(r.trial) \(r.params.summary): \(Tune.describe(r))")
            stream.append(r)
        }
        signals.cancel()
        for e in executors { e.shutdown() }

        let table = TuningTable(results)
        let seeds = search == .random ? "seed \(seed), search seed \(searchSeed ?? seed)" : "seed \(seed)"
        let title = "# mien tune: \(search.rawValue) search on \(cache) (\(seeds), \(epochs) epochs max, patience \(patience))"
        try writeText(table.csv(), to: (out as NSString).appendingPathComponent("results.csv"))
        try writeText(table.markdown(title: title), to: (out as NSString).appendingPathComponent("results.md"))
        let finished = results.filter { $0.status == .ok }.count, failed = results.filter { $0.status == .failed }.count
        note("tune: \(finished) finished, \(failed) failed, \(total - finished - failed) interrupted or not run; table in \(out)/results.md")

        if let best = table.best {
            try saveBest(best, data: data, cnnDir: cnnDir)
        } else {
            note("tune: no trial finished, so no best model: see the error column of \(out)/results.md")
        }
        if searchRun.isStopped { throw ExitCode(130) }
        if table.best == nil { throw ExitCode(1) }
    }

    /// Copies the best trial's bundle to OUT/best, adds its test-split figures to training.json,
    /// and writes OUT/bundle.json pairing it with the CNN.
    private func saveBest(_ best: TrialResult, data: TuningData, cnnDir: String) throws {
        let fm = FileManager.default
        let from = TuningLayout.trialDirectory(out, best.trial), to = (out as NSString).appendingPathComponent("best")
        do { try fm.copyItem(atPath: from, toPath: to) } catch {
            throw TrainingError("cannot copy the best trial's bundle \(from) to \(to): \(error.localizedDescription)")
        }
        // Test figures for the chosen configuration only: the test videos took no part in the choice.
        let bundle = try BiLSTMBundle.load(directory: to)
        let p = best.params
        let testSet = try WindowDataset(tracks: data.tracks, length: p.window, stride: p.stride, labels: data.labels).subset(videos: data.test)
        var c = BiLSTMTrainer.Config(); c.batchSize = batchSize
        let trainer = BiLSTMTrainer(config: c)
        let test = testSet.count > 0 ? try trainer.evaluate(bundle.classifier, testSet, inputSize: data.inputSize, classes: data.labels.count) : (loss: .nan, accuracy: .nan)
        let reportPath = (to as NSString).appendingPathComponent("training.json")
        guard let raw = fm.contents(atPath: reportPath), var report = try JSONSerialization.jsonObject(with: raw) as? [String: Any] else {
            throw TrainingError("\(reportPath) is missing or not JSON: the best trial's worker did not finish writing it")
        }
        report["test_window_accuracy"] = test.accuracy.isNaN ? "nan" : test.accuracy
        report["test_window_loss"] = test.loss.isNaN ? "nan" : test.loss
        report["test_windows"] = testSet.count
        report["tune"] = ["search": search.rawValue, "search_seed": search == .random ? NSNumber(value: searchSeed ?? seed) : NSNull(), "results": "../results.md", "rank": 1,
                          "ranked_by": "validation accuracy, then macro-F1, then loss"] as [String: Any]
        try writeJSON(report, to: reportPath)
        let cnnName = (cnnDir as NSString).lastPathComponent
        try writeJSON(["name": (out as NSString).lastPathComponent, "cnn": cnnDir, "bilstm": "best",
                       "trained_on": "CNN: \(cnnName) (the CNN that made \(cache)); BiLSTM: chosen by mien tune on \(cache) (trial \(best.trial), \(best.params.summary))"],
                      to: (out as NSString).appendingPathComponent("bundle.json"))
        note(String(format: "tune: best trial %d (%@): validation accuracy %.4f, macro-F1 %.4f; test window accuracy %.4f over %d windows; bundle in %@/best, `mien run --model %@`",
                    best.trial, best.params.summary, best.validationAccuracy ?? .nan, best.validationMacroF1 ?? .nan, test.accuracy, testSet.count, out, out))
    }

    static func describe(_ r: TrialResult) -> String {
        switch r.status {
        case .ok:
            return String(format: "val acc %.4f macro-F1 %.4f loss %.4f, kept epoch %d of %d, %.1f s",
                          r.validationAccuracy ?? .nan, r.validationMacroF1 ?? .nan, r.validationLoss ?? .nan, r.bestEpoch ?? 0, r.epochsRun ?? 0, r.seconds)
        case .failed: return "FAILED (\(r.error ?? "no message")), \(String(format: "%.1f", r.seconds)) s"
        case .interrupted: return "interrupted"
        case .notRun: return "not run"
        }
    }
}

/// `mien tune-worker`: a worker process of `mien tune`, in one of two modes.
///
/// With --coordinator (remote mode), it connects to `mien tune --listen`, receives the cache
/// and settings once, and runs trials as tune hands them out (--parallel at once), each in a
/// stdin-mode child process as tune's local slots do, sending back results and bundles.
///
/// Without it (stdin mode, internal: tune's local slots and the remote mode's children), it
/// loads the cache and split once, then reads one trial request per stdin line
/// ({"trial": N, "params": {…}}) and answers each with one TrialResult JSON line on stdout,
/// writing the trial's bundle to OUT/trials/NNN. Exits at end of input, or when its parent
/// dies. BLAS runs single-threaded: parallelism is across trials.
struct TuneWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune-worker",
        abstract: "Run trials of a `mien tune --listen` search on this machine (--coordinator tcp://HOST:PORT).",
        discussion: """
            Connects to tune (retrying with capped back-off until it is up), receives the embedding cache \
            once (SHA-256 checked) and asks for trials while it has a free slot (--parallel). Each trial runs \
            in a child process with single-threaded BLAS; its result and trained bundle go back to tune. \
            Exits when tune says the search is over, or on SIGINT / SIGTERM (tune then gives its running \
            trials to other workers). The options without a section are internal (tune's own child processes).
            """)

    @Option(help: "`mien tune --listen` endpoint to work for (remote mode).") var coordinator: String?
    @Option(help: "Trials at once (remote mode).") var parallel = 1
    @OptionGroup(title: "CURVE security (remote mode; tune's .pub as --curve-server-key)") var curve: CurveClientOptions

    @Option(help: .hidden) var cache: String?
    @Option(name: .customLong("cache-name"), help: .hidden) var cacheName: String?
    @Option(help: .hidden) var out: String?
    @Option(help: .hidden) var seed: UInt64?
    @Option(name: .customLong("train-fraction"), help: .hidden) var trainFraction: Double?
    @Option(name: .customLong("validation-fraction"), help: .hidden) var validationFraction: Double?
    @Option(help: .hidden) var epochs: Int?
    @Option(help: .hidden) var patience: Int?
    @Option(name: .customLong("batch-size"), help: .hidden) var batchSize: Int?

    /// The arguments of a stdin-mode worker for `setup`'s search, reading `cache`, writing under `out`.
    static func stdinArguments(_ setup: Mien_V1_TrialSetup, cache: String, out: String) -> [String] {
        ["tune-worker", "--cache", cache, "--out", out, "--cache-name", setup.cacheName, "--seed", String(setup.seed),
         "--train-fraction", String(setup.trainFraction), "--validation-fraction", String(setup.validationFraction),
         "--epochs", String(setup.epochs), "--patience", String(setup.patience), "--batch-size", String(setup.batchSize)]
    }

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        if coordinator == nil, cache == nil || out == nil || seed == nil || trainFraction == nil || validationFraction == nil
            || epochs == nil || patience == nil || batchSize == nil {
            throw ValidationError("give --coordinator tcp://HOST:PORT (the address of `mien tune --listen`)")
        }
    }

    func run() throws {
        if let coordinator { try serve(coordinator) } else { try runStdin() }
    }

    private func serve(_ endpoint: String) throws {
        let logger = Logger(label: "mien.tune-worker", factory: { KeyValueLogHandler(label: $0, level: .info) })
        // A write to a child that just died must be an error, not a SIGPIPE that ends the worker.
        signal(SIGPIPE, SIG_IGN)
        let scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("mien-tune-worker-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let context = try ZMQContext()
        defer { context.terminate() }
        let security = try curve.load()
        let parallel = self.parallel
        let worker = try TrialWorker(context: context, endpoint: endpoint, parallel: parallel, scratch: scratch, security: security, logger: logger) { setup, cachePath, out in
            let arguments = TuneWorker.stdinArguments(setup, cache: cachePath, out: out)
            return (0..<parallel).map { _ in ProcessTrialExecutor(arguments: arguments) }
        }
        logger.info("working for tune at \(endpoint), \(parallel) trial(s) at once\(security.map { " with CURVE (key \($0.keyPair.publicKey.z85))" } ?? "")")
        worker.start()
        do {
            try runUntilDone(stop: { worker.stop() }) { try worker.wait() }
        } catch let error as TrainingError {
            throw TrainingError("tune-worker: \(error.description)")
        }
    }

    private func runStdin() throws {
        guard let cache, let out, let seed, let trainFraction, let validationFraction, let epochs, let patience, let batchSize else { return }
        // The parent handles Ctrl-C (the terminal sends it to the whole process group) and ends us with SIGTERM.
        signal(SIGINT, SIG_IGN)
        exitWithParent()
        BLASThreads.set(1)
        let data = try TuningData.load(cache: cache, name: cacheName, seed: seed, trainFraction: trainFraction, validationFraction: validationFraction)
        var settings = TrialSettings()
        settings.epochs = epochs; settings.patience = patience; settings.batchSize = batchSize; settings.seed = seed
        let decoder = TrialWire.decoder(), encoder = TrialWire.encoder()
        while let line = readLine() {
            guard let request = try? decoder.decode(TrialWire.Request.self, from: Data(line.utf8)) else {
                throw TrainingError("tune-worker: not a trial request: \(line.prefix(200))")
            }
            let r = Trial.run(request.trial, request.params, data: data, settings: settings,
                              out: TuningLayout.trialDirectory(out, request.trial))
            var bytes = try encoder.encode(r)
            bytes.append(UInt8(ascii: "\n"))
            try FileHandle.standardOutput.write(contentsOf: bytes)
        }
    }

    /// A child whose parent is gone (kill -9 of tune or of a remote tune worker) would train on
    /// for nobody until its trial ends: it exits as soon as it is re-parented.
    private func exitWithParent() {
        let parent = getppid()
        let watch = Thread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.5) }
            FileHandle.standardError.write(Data("tune-worker: parent process \(parent) is gone; exiting\n".utf8))
            Glibc.exit(1)
        }
        watch.name = "mien.tune-worker.parent"
        watch.start()
    }
}

/// The line protocol between `mien tune` and its workers (JSON; NaN as the string "nan").
enum TrialWire {
    struct Request: Codable { var trial: Int; var params: TrialParams }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}

/// Runs one slot's trials in a `mien tune-worker` child process, started on first use and again
/// after it dies (a crashed trial is reported as failed; the next trial gets a fresh worker).
/// Worker processes rather than threads: a trap in one trial (a precondition in the NN code,
/// running out of memory) cannot take the search down, Ctrl-C ends running trials at once
/// (SIGTERM to the worker) instead of waiting for them, and each process sets its own BLAS
/// thread count. The cost — each worker reads the cache once — is small beside training.
final class ProcessTrialExecutor: TrialExecutor, @unchecked Sendable {
    private let arguments: [String]
    private let lock = NSLock()
    private var process: Process?
    private var input: FileHandle?
    private var output: FileHandle?
    private var buffer = Data()
    private var interrupted = false

    init(arguments: [String]) { self.arguments = arguments }

    func run(_ trial: Int, _ params: TrialParams) -> TrialResult {
        let start = Date()
        func end(_ status: TrialResult.Status, _ error: String?) -> TrialResult {
            TrialResult(trial: trial, params: params, status: status, error: error, seconds: Date().timeIntervalSince(start))
        }
        if lock.withLock({ interrupted }) { return end(.interrupted, nil) }
        do {
            let (stdin, stdout) = try worker()
            var request = try TrialWire.encoder().encode(TrialWire.Request(trial: trial, params: params))
            request.append(UInt8(ascii: "\n"))
            try stdin.write(contentsOf: request)
            if let line = readLine(stdout) {
                // Its seconds are the worker's own timing of the trial (not the worker's start-up).
                let r = try TrialWire.decoder().decode(TrialResult.self, from: line)
                guard r.trial == trial else { throw TrainingError("worker answered trial \(r.trial) to a request for trial \(trial)") }
                return r
            }
            let why = reap()
            if lock.withLock({ interrupted }) { return end(.interrupted, nil) }
            return end(.failed, "worker process \(why) during the trial (its messages are above on stderr)")
        } catch {
            _ = reap()
            if lock.withLock({ interrupted }) { return end(.interrupted, nil) }
            return end(.failed, "worker process: \(error)")
        }
    }

    func interrupt() {
        lock.withLock {
            interrupted = true
            if let p = process, p.isRunning { p.terminate() }
        }
    }

    /// Closes the worker's input (it exits at end of input) and waits for it.
    func shutdown() {
        let p = lock.withLock { () -> Process? in
            try? input?.close()
            return process
        }
        p?.waitUntilExit()
    }

    private func worker() throws -> (FileHandle, FileHandle) {
        try lock.withLock {
            if let process, process.isRunning, let input, let output { return (input, output) }
            guard !interrupted else { throw TrainingError("interrupted") }
            let p = Process()
            p.executableURL = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
            p.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            env["OPENBLAS_NUM_THREADS"] = "1"
            p.environment = env
            let toWorker = Pipe(), fromWorker = Pipe()
            p.standardInput = toWorker
            p.standardOutput = fromWorker
            p.standardError = FileHandle.standardError
            do { try p.run() } catch { throw TrainingError("cannot start \(p.executableURL!.path) tune-worker: \(error.localizedDescription)") }
            process = p
            input = toWorker.fileHandleForWriting
            output = fromWorker.fileHandleForReading
            buffer = Data()
            return (input!, output!)
        }
    }

    /// Waits for a worker that closed its output; describes how it ended and forgets it.
    private func reap() -> String {
        let p = lock.withLock { () -> Process? in
            defer { process = nil; try? input?.close(); input = nil; output = nil }
            return process
        }
        guard let p else { return "was not running" }
        p.waitUntilExit()
        return p.terminationReason == .uncaughtSignal ? "was killed by signal \(p.terminationStatus)" : "exited with status \(p.terminationStatus)"
    }

    /// The next line from the worker (without its newline), or nil at end of output.
    private func readLine(_ handle: FileHandle) -> Data? {
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<nl]
                buffer = Data(buffer[(nl + 1)...])
                return Data(line)
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}

/// Appends one JSON line per result to a file as results arrive (serialised by the caller).
final class JSONLineAppender: @unchecked Sendable {
    private let handle: FileHandle
    private let encoder = TrialWire.encoder()

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw TrainingError("cannot create \(path): check that the --out folder is writable")
        }
        handle = h
    }

    func append(_ r: TrialResult) {
        guard var bytes = try? encoder.encode(r) else {
            FileHandle.standardError.write(Data("tune: cannot encode the result of trial \(r.trial) for trials.jsonl; it is in results.csv\n".utf8))
            return
        }
        bytes.append(UInt8(ascii: "\n"))
        do { try handle.write(contentsOf: bytes) } catch {
            FileHandle.standardError.write(Data("tune: cannot append trial \(r.trial) to trials.jsonl (\(error.localizedDescription)); it is in results.csv\n".utf8))
        }
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}

private func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

private func writeText(_ s: String, to path: String) throws {
    do { try s.write(toFile: path, atomically: true, encoding: .utf8) } catch {
        throw TrainingError("cannot write \(path): \(error.localizedDescription)")
    }
}
