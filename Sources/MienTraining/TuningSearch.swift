import Foundation

/// Runs trials for a search: one executor per parallel slot, each used by one thread at a time.
/// `mien tune` runs each slot's trials in a worker process (`ProcessTrialExecutor` in the CLI);
/// tests run them in-process (`InProcessTrialExecutor`).
public protocol TrialExecutor: AnyObject, Sendable {
    /// Runs one trial to its result; a failure is a `.failed` result, never a crash of the search.
    func run(_ trial: Int, _ params: TrialParams) -> TrialResult
    /// Called from another thread when the search is interrupted: abort the running trial if
    /// the executor can (its `run` then returns `.interrupted`), else let it finish.
    func interrupt()
}

/// A parallel search over a list of configurations: `executors.count` slot threads take the
/// next trial from a shared counter, so at most that many trials run at once. Results are
/// handed to `onResult` as they finish, one at a time (serialised). After `stop()`, no trial
/// starts; running trials are interrupted (or finish, per executor) and the rest are `.notRun`.
///
/// Slot threads are plain `Thread`s: executors block (on a worker's pipe, or on training),
/// which must not happen on Swift's cooperative pool.
public final class TuningSearch: @unchecked Sendable {
    private let trials: [TrialParams]
    private let executors: [TrialExecutor]
    private let lock = NSLock()
    private var next = 0
    private var stopped = false
    private var results: [TrialResult?]

    public init(trials: [TrialParams], executors: [TrialExecutor]) {
        precondition(!executors.isEmpty, "a search needs at least one executor")
        self.trials = trials
        self.executors = executors
        self.results = Array(repeating: nil, count: trials.count)
    }

    /// Whether `stop()` was called.
    public var isStopped: Bool { lock.withLock { stopped } }

    /// Runs every trial (until stopped); blocks until all slots are done.
    /// - Returns: one result per configuration, in trial order (trial numbers are 1-based).
    public func run(onResult: @escaping @Sendable (TrialResult) -> Void = { _ in }) -> [TrialResult] {
        let group = DispatchGroup()
        let report = NSLock()
        for executor in executors.prefix(max(1, trials.count)) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                while let i = take() {
                    let r = executor.run(i + 1, trials[i])
                    lock.withLock { results[i] = r }
                    report.withLock { onResult(r) }
                }
            }
            thread.name = "mien-tune-slot"
            thread.start()
        }
        group.wait()
        return lock.withLock {
            results.enumerated().map { $0.element ?? TrialResult(trial: $0.offset + 1, params: trials[$0.offset], status: .notRun) }
        }
    }

    /// Starts no more trials and interrupts the running ones. Safe from any thread, repeatable.
    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        if first { for e in executors { e.interrupt() } }
    }

    private func take() -> Int? {
        lock.withLock {
            guard !stopped, next < trials.count else { return nil }
            next += 1
            return next - 1
        }
    }
}

/// Runs trials in the calling thread of its slot (tests; one process). An interrupt lets the
/// running trial finish: training has no cancellation point.
public final class InProcessTrialExecutor: TrialExecutor, @unchecked Sendable {
    private let data: TuningData
    private let settings: TrialSettings
    private let out: String?

    /// With `out`, each trial's bundle goes to `TuningLayout.trialDirectory(out, trial)`.
    public init(data: TuningData, settings: TrialSettings, out: String? = nil) {
        self.data = data; self.settings = settings; self.out = out
    }

    public func run(_ trial: Int, _ params: TrialParams) -> TrialResult {
        Trial.run(trial, params, data: data, settings: settings, out: out.map { TuningLayout.trialDirectory($0, trial) })
    }

    public func interrupt() {}
}

/// Where `mien tune` writes: `results.csv`, `results.md`, `trials.jsonl` (each result as it
/// finishes), `trials/NNN/` (each finished trial's bundle), `best/` and `bundle.json`.
public enum TuningLayout {
    public static func trialDirectory(_ out: String, _ trial: Int) -> String {
        (out as NSString).appendingPathComponent(String(format: "trials/%03d", trial))
    }
}
