import Foundation
import MienTraining

/// Runs trials for a search: one executor per parallel slot, each used by one thread at a time.
/// `mien tune` runs each slot's trials in a worker process (`ProcessTrialExecutor` in the CLI);
/// tests run them in-process (`InProcessTrialExecutor`). The search itself (`TuningSearch` in
/// MienCluster) hands trials to these slots and to remote tune workers.
public protocol TrialExecutor: AnyObject, Sendable {
    /// Runs one trial to its result; a failure is a `.failed` result, never a crash of the search.
    func run(_ trial: Int, _ params: TrialParams) -> TrialResult
    /// Called from another thread when the search is interrupted: abort the running trial if
    /// the executor can (its `run` then returns `.interrupted`), else let it finish.
    func interrupt()
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
