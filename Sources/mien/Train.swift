import ArgumentParser
import Foundation
import MienCore
import MienNN
import MienTraining

/// `mien train`: the training side of the paper's method.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train Mien's models.",
        subcommands: [TrainCNN.self, TrainBiLSTM.self, TrainSequences.self])
}

/// `mien train bilstm`: a BiLSTM on ordered windows of CNN embeddings from `mien extract`.
struct TrainBiLSTM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bilstm",
        abstract: "Train the BiLSTM classifier on windows of embeddings from `mien extract`.",
        discussion: """
            Splits the videos train / validation / test (stratified by video label, grouped by video, \
            seeded), trains with Adam and cross-entropy, stops early on validation loss, and writes a \
            BiLSTM bundle to --out plus training.json (history, split, test accuracy).
            """)

    @Option(help: "embeddings.jsonl written by `mien extract`.")
    var cache: String

    @Option(help: "Output folder for the BiLSTM bundle.")
    var out: String

    @Option(help: "Window length T (frames of a track).")
    var window = 16
    @Option(help: "Window stride.")
    var stride = 8
    @Option(help: "LSTM units per direction.")
    var units = 64
    @Option(help: "Stacked BiLSTM layers.")
    var layers = 1
    @Option(help: "Dropout after each BiLSTM layer.")
    var dropout: Float = 0.2
    @Option(name: .customLong("learning-rate"), help: "Adam learning rate.")
    var learningRate: Float = 0.002
    @Option(help: "Most epochs.")
    var epochs = 30
    @Option(name: .customLong("batch-size"), help: "Windows per step.")
    var batchSize = 32
    @Option(help: "Epochs without a better validation loss before stopping.")
    var patience = 5
    @Option(help: "Seed of the split, initial weights and shuffling.")
    var seed: UInt64 = 1
    @Option(name: .customLong("train-fraction"), help: "Fraction of videos for training.")
    var trainFraction = 0.7
    @Option(name: .customLong("validation-fraction"), help: "Fraction of videos for validation (the rest is test).")
    var validationFraction = 0.15
    @Option(name: .customLong("test-cache"), help: "Also score the kept model on every window of this embeddings.jsonl (e.g. sequences of held-out photographs from `mien train sequences`), beside the CNN's own window label (argmax of the mean of its frames' CNN probabilities).")
    var testCache: String?

    @Option(name: .customLong("validation-cache"), help: "Select the kept epoch on every window of this embeddings.jsonl instead of on a split of --cache (which is then all training data): e.g. sequences of real held-out photographs when --cache mixes in synthetic clips, so that no synthetic figure chooses the model.")
    var validationCache: String?

    @Flag(name: .customLong("cnn-prior"), help: "Refine the CNN instead of replacing it: the BiLSTM's logits add the log of the window's mean CNN probabilities (scaled by a learned factor), and it starts as exactly that mean (epoch 0), kept unless training beats it on validation.")
    var cnnPrior = false

    func validate() throws {
        guard window >= 1, stride >= 1, stride <= window else { throw ValidationError("need 1 ≤ --stride ≤ --window") }
        guard units >= 1, layers >= 1, epochs >= 1, batchSize >= 1 else { throw ValidationError("--units, --layers, --epochs and --batch-size must be positive") }
        guard (0..<1).contains(dropout) else { throw ValidationError("--dropout must be in [0, 1)") }
        guard trainFraction > 0, validationFraction >= 0, trainFraction + validationFraction <= 1 else {
            throw ValidationError("--train-fraction + --validation-fraction must be at most 1")
        }
    }

    func run() throws {
        let labels = ExpressionClass.labels
        let tracks = try EmbeddingCache.read(cache)
        guard let inputSize = tracks.first?.embeddings.first?.count else {
            throw ValidationError("\(cache) holds no face tracks: were faces found? see videos.jsonl next to it")
        }
        // Video label = the most frequent frame label of its tracks' non-neutral frames, else neutral.
        let videoLabels = VideoLabels.majority(of: tracks)
        let split = validationCache == nil
            ? GroupedSplit.split(videoLabels: videoLabels, fractions: (trainFraction, validationFraction), seed: seed)
            : (train: Set(videoLabels.keys), validation: [], test: [])
        let all = try WindowDataset(tracks: tracks, length: window, stride: stride, labels: labels)
        let trainSet = all.subset(videos: split.train), testSet = all.subset(videos: split.test)
        let valSet = try validationCache.map { path -> WindowDataset in
            let held = try EmbeddingCache.read(path)
            guard held.first?.embeddings.first?.count == inputSize else {
                throw ValidationError("\(path): embeddings are not \(inputSize) values like \(cache)'s: make both with the same CNN")
            }
            return try WindowDataset(tracks: held, length: window, stride: stride, labels: labels)
        } ?? all.subset(videos: split.validation)
        FileHandle.standardError.write(Data("train bilstm: \(tracks.count) tracks of \(videoLabels.count) videos; windows train \(trainSet.count), validation \(valSet.count), test \(testSet.count)\n".utf8))
        var c = BiLSTMTrainer.Config()
        c.units = units; c.layers = layers; c.dropout = dropout; c.learningRate = learningRate
        c.epochs = epochs; c.batchSize = batchSize; c.patience = patience; c.seed = seed; c.cnnPrior = cnnPrior
        let trainer = BiLSTMTrainer(config: c)
        let (model, history) = try trainer.train(trainSet, validation: valSet, window: window, inputSize: inputSize, classes: labels.count) { e in
            FileHandle.standardError.write(Data(String(format: "epoch %3d  train loss %.4f acc %.3f  validation loss %.4f acc %.3f\n",
                                                       e.epoch, e.trainLoss, e.trainAccuracy, e.validationLoss, e.validationAccuracy).utf8))
        }
        let test = testSet.count > 0 ? try trainer.evaluate(model, testSet, inputSize: inputSize, classes: labels.count) : (loss: .nan, accuracy: .nan)
        var bundle = try BiLSTMBundle(classifier: model, labels: labels, preprocessing: ["input": "CNN embeddings (global average of add_4), \(inputSize) values per frame", "window_stride": String(stride)])
        try bundle.save(to: out)
        var report: [String: Any] = [
            "cache": cache,
            "window": window, "stride": stride, "units": units, "layers": layers, "dropout": Double(dropout), "cnn_prior": cnnPrior,
            "learning_rate": Double(learningRate), "batch_size": batchSize, "seed": seed,
            "split": ["train": split.train.sorted(), "validation": split.validation.sorted(), "test": split.test.sorted()],
            "validation_cache": validationCache ?? NSNull(),
            "history": history.map { ["epoch": $0.epoch, "train_loss": $0.trainLoss, "train_accuracy": $0.trainAccuracy,
                                       "validation_loss": $0.validationLoss, "validation_accuracy": $0.validationAccuracy] },
            "test_window_accuracy": testSet.count > 0 ? test.accuracy : NSNull(), "test_window_loss": testSet.count > 0 ? test.loss : NSNull(),
            "content_hash": bundle.contentHash,
        ]
        if let testCache {
            let external = try Self.compareWithCNN(model, trainer: trainer, cache: testCache, window: window, stride: stride, inputSize: inputSize, labels: labels)
            report["test_cache"] = ["path": testCache, "windows": external.windows, "bilstm_window_accuracy": external.bilstm, "cnn_window_accuracy": external.cnn]
            FileHandle.standardError.write(Data(String(format: "train bilstm: %@: %d windows, BiLSTM %.4f, CNN (window mean) %.4f\n",
                                                       testCache, external.windows, external.bilstm, external.cnn).utf8))
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent("training.json")))
        let testNote = testSet.count > 0 ? String(format: "test window accuracy %.3f (%d windows)", test.accuracy, testSet.count) : "no test split (--validation-cache)"
        FileHandle.standardError.write(Data("train bilstm: \(testNote); bundle in \(out)\n".utf8))
    }

    /// Window accuracy of `model` and of the CNN alone on every window of `cache`: the same
    /// windows (cut by `TrackWindower`), the CNN's label the argmax of its frames' mean probabilities.
    static func compareWithCNN(_ model: BiLSTMClassifier, trainer: BiLSTMTrainer, cache: String, window: Int, stride: Int,
                               inputSize: Int, labels: [String]) throws -> (windows: Int, bilstm: Double, cnn: Double) {
        let tracks = try EmbeddingCache.read(cache)
        guard tracks.first?.embeddings.first?.count == inputSize else {
            throw ValidationError("\(cache): embeddings are not \(inputSize) values: make them with the same CNN")
        }
        let set = try WindowDataset(tracks: tracks, length: window, stride: stride, labels: labels)
        var asProbs = tracks
        for i in asProbs.indices { asProbs[i].embeddings = asProbs[i].cnnProbs }
        let probs = try WindowDataset(tracks: asProbs, length: window, stride: stride, labels: labels)
        let predicted = try trainer.predictions(model, set, inputSize: inputSize, classes: labels.count)
        var bilstm = 0, cnn = 0
        for w in 0..<set.count {
            if predicted[w] == set.labels[w] { bilstm += 1 }
            var mean = [Float](repeating: 0, count: labels.count)
            for frame in probs.windows[w] { for c in 0..<labels.count { mean[c] += frame[c] } }
            if mean.indices.max(by: { mean[$0] < mean[$1] }) == set.labels[w] { cnn += 1 }
        }
        let n = Double(max(set.count, 1))
        return (set.count, Double(bilstm) / n, Double(cnn) / n)

    }
}
