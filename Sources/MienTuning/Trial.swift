import Foundation
import MienCore
import MienNN
import MienTraining

/// The data every trial of a search shares: the tracks of one embedding cache and ONE
/// grouped, stratified, seeded split of its videos (the split `mien train bilstm` makes with
/// the same seed and fractions), so trials differ only in their hyper-parameters.
public struct TuningData: Sendable {
    public let cache: String
    public let tracks: [TrackSequence]
    /// Embedding values per frame (D).
    public let inputSize: Int
    public let train: Set<String>
    public let validation: Set<String>
    public let test: Set<String>
    public let labels: [String]

    public init(cache: String, tracks: [TrackSequence], seed: UInt64, trainFraction: Double = 0.7, validationFraction: Double = 0.15,
                labels: [String] = ExpressionClass.labels) throws {
        guard let inputSize = tracks.first?.embeddings.first?.count else {
            throw TrainingError("\(cache) holds no face tracks: were faces found? see videos.jsonl next to it")
        }
        let split = GroupedSplit.split(videoLabels: VideoLabels.majority(of: tracks), fractions: (trainFraction, validationFraction), seed: seed)
        guard !split.train.isEmpty else { throw TrainingError("the split of \(cache) leaves no training videos: raise --train-fraction or extract more videos") }
        guard !split.validation.isEmpty else {
            throw TrainingError("the split of \(cache) leaves no validation videos (a search ranks trials on validation): raise --validation-fraction or extract more videos per label")
        }
        self.cache = cache; self.tracks = tracks; self.inputSize = inputSize; self.labels = labels
        train = split.train; validation = split.validation; test = split.test
    }

    /// Reads the cache and splits it. `name` is what training.json records as the cache (default:
    /// the path; a remote tune worker reads a copy but records the path `mien tune` was given).
    public static func load(cache: String, name: String? = nil, seed: UInt64, trainFraction: Double = 0.7, validationFraction: Double = 0.15) throws -> TuningData {
        try TuningData(cache: name ?? cache, tracks: try EmbeddingCache.read(cache), seed: seed, trainFraction: trainFraction, validationFraction: validationFraction)
    }
}

/// What every trial of a search trains with besides its own hyper-parameters.
public struct TrialSettings: Sendable, Codable, Equatable {
    public var epochs = 30
    public var patience = 5
    public var batchSize = 32
    /// Seed of the initial weights and shuffling (the same for every trial).
    public var seed: UInt64 = 1
    public init() {}
}

/// The outcome of one trial, as the results table shows it.
public struct TrialResult: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case ok
        /// The trial threw (its `error` says why); the search went on.
        case failed
        /// Stopped by an interrupt while it ran.
        case interrupted
        /// Never started (the search was interrupted first).
        case notRun = "not run"
    }

    /// 1-based position in the search's list of configurations.
    public var trial: Int
    public var params: TrialParams
    public var status: Status
    public var error: String?
    /// Accuracy over validation windows of the kept weights (the epoch of lowest validation loss).
    public var validationAccuracy: Double?
    /// Macro-F1 over validation windows of the kept weights: unweighted mean of per-class F1
    /// over the classes present in the validation truth or predictions (scikit-learn's
    /// `f1_score(average="macro")` default).
    public var validationMacroF1: Double?
    /// Mean cross-entropy (nats) over validation windows of the kept weights.
    public var validationLoss: Double?
    /// The kept epoch (1-based; 0 if no epoch beat the initial weights' infinite loss, e.g. NaN losses).
    public var bestEpoch: Int?
    public var epochsRun: Int?
    public var trainWindows: Int?
    public var validationWindows: Int?
    /// Wall-clock seconds of the trial (not part of reproducibility).
    public var seconds: Double

    public init(trial: Int, params: TrialParams, status: Status, error: String? = nil, seconds: Double = 0) {
        self.trial = trial; self.params = params; self.status = status; self.error = error; self.seconds = seconds
    }
}

/// One trial: windows cut with its T and stride from the shared split, a BiLSTM trained by
/// `BiLSTMTrainer` (the trainer of `mien train bilstm`), scored on the validation windows.
public enum Trial {
    /// Runs the trial. Errors (a stride longer than the window, no windows, …) are returned as a
    /// `.failed` result naming the cause, never thrown. With `out`, the trained bundle and its
    /// training.json (same keys as `mien train bilstm`'s, plus validation figures) go there.
    public static func run(_ trial: Int, _ p: TrialParams, data: TuningData, settings: TrialSettings, out: String? = nil) -> TrialResult {
        let start = Date()
        var result = TrialResult(trial: trial, params: p, status: .ok)
        do {
            try train(p, data: data, settings: settings, out: out, into: &result)
        } catch {
            result.status = .failed
            result.error = "\(error)"
        }
        result.seconds = Date().timeIntervalSince(start)
        return result
    }

    private static func train(_ p: TrialParams, data: TuningData, settings: TrialSettings, out: String?, into r: inout TrialResult) throws {
        guard p.window >= 1, p.stride >= 1, p.stride <= p.window else {
            throw TrainingError("stride \(p.stride) does not fit window \(p.window): need 1 ≤ stride ≤ window")
        }
        guard p.dropout >= 0, p.dropout < 1 else { throw TrainingError("dropout \(p.dropout) is outside [0, 1)") }
        let all = try WindowDataset(tracks: data.tracks, length: p.window, stride: p.stride, labels: data.labels)
        let trainSet = all.subset(videos: data.train), valSet = all.subset(videos: data.validation)
        r.trainWindows = trainSet.count; r.validationWindows = valSet.count
        guard valSet.count > 0 else { throw TrainingError("no validation windows with window \(p.window)") }
        var c = BiLSTMTrainer.Config()
        c.units = p.units; c.layers = p.layers; c.dropout = Float(p.dropout); c.learningRate = Float(p.learningRate)
        c.epochs = settings.epochs; c.batchSize = settings.batchSize; c.patience = settings.patience; c.seed = settings.seed
        let trainer = BiLSTMTrainer(config: c)
        let classes = data.labels.count
        let (model, history) = try trainer.train(trainSet, validation: valSet, window: p.window, inputSize: data.inputSize, classes: classes)
        let (loss, accuracy) = try trainer.evaluate(model, valSet, inputSize: data.inputSize, classes: classes)
        let predicted = try trainer.predictions(model, valSet, inputSize: data.inputSize, classes: classes)
        r.validationAccuracy = accuracy
        r.validationLoss = loss
        r.validationMacroF1 = macroF1(truth: valSet.labels, predicted: predicted, classes: classes)
        r.bestEpoch = keptEpoch(history)
        r.epochsRun = history.count
        if let out {
            var bundle = try BiLSTMBundle(classifier: model, labels: data.labels,
                                          preprocessing: ["input": "CNN embeddings (global average of add_4), \(data.inputSize) values per frame",
                                                          "window_stride": String(p.stride)])
            try bundle.save(to: out)
            let report: [String: Any] = [
                "cache": data.cache, "tune_trial": r.trial,
                "window": p.window, "stride": p.stride, "units": p.units, "layers": p.layers, "dropout": p.dropout,
                "learning_rate": p.learningRate, "batch_size": settings.batchSize, "seed": settings.seed,
                "epochs": settings.epochs, "patience": settings.patience,
                "split": ["train": data.train.sorted(), "validation": data.validation.sorted(), "test": data.test.sorted()],
                "history": history.map { ["epoch": $0.epoch, "train_loss": $0.trainLoss, "train_accuracy": $0.trainAccuracy,
                                           "validation_loss": $0.validationLoss, "validation_accuracy": $0.validationAccuracy] },
                "best_epoch": r.bestEpoch ?? 0,
                "validation_window_accuracy": accuracy, "validation_window_loss": loss,
                "validation_macro_f1": r.validationMacroF1 ?? 0,
                "content_hash": bundle.contentHash,
            ]
            try writeJSON(report, to: (out as NSString).appendingPathComponent("training.json"))
        }
    }

    /// The epoch `BiLSTMTrainer` keeps: the first to lower the best validation loss by more
    /// than 1e-6, the same rule as the trainer's early stopping.
    static func keptEpoch(_ history: [BiLSTMTrainer.Epoch]) -> Int {
        var best = (loss: Double.infinity, epoch: 0)
        for e in history where e.validationLoss < best.loss - 1e-6 { best = (e.validationLoss, e.epoch) }
        return best.epoch
    }

    /// Macro-F1 over the classes present in `truth` or `predicted` (scikit-learn's default label set).
    public static func macroF1(truth: [Int], predicted: [Int], classes: Int) -> Double {
        let m = ClassificationMetrics(truth: truth, predicted: predicted, classes: classes)
        let present = Set(truth).union(predicted)
        guard !present.isEmpty else { return 0 }
        return present.reduce(0) { $0 + m.perClass[$1].f1 } / Double(present.count)
    }
}

/// Writes a JSON object pretty-printed with sorted keys; errors name the file.
public func writeJSON(_ object: Any, to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        throw TrainingError("cannot write \(path): \(error.localizedDescription)")
    }
}
