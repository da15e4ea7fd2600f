import ArgumentParser
import Foundation
import MienCluster
import MienCore
import MienNN
import MienTraining
import MienVision

/// `mien train cnn`: fine-tune the mini-Xception (or train it from scratch) on labelled face crops.
struct TrainCNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn",
        abstract: "Fine-tune the CNN (or train it from scratch) on labelled face images.",
        discussion: """
            --data is one of: a FER2013 CSV file (emotion,pixels,Usage; Usage decides the split), a folder \
            with one sub-folder of face images per class (angry, disgust, fear, happy, sad, surprise, \
            neutral), a folder holding train/ and validation/ (and optionally test/) such class folders \
            (the set's own split, as FER2013's image release), or a labelled video set as `mien synth` writes it (clips + labels.csv + frames.csv: \
            faces are detected, aligned and cropped as at inference and labelled by box; split grouped by \
            clip). Adam, cross-entropy, seeded augmentation, early stopping on validation loss (the best \
            epoch is kept), a checkpoint after every epoch (--resume continues the last one exactly). \
            Writes a CNN bundle (model.json + model.safetensors, the format of models/fer2013) and \
            training.json to --out.
            """)

    @Option(help: "FER2013 CSV, folder of class folders, or a `mien synth` video set.")
    var data: String

    @Option(help: "Output folder for the CNN bundle and training.json.")
    var out: String

    @Flag(name: .customLong("from-scratch"), help: "Start from fresh (seeded Glorot) weights instead of --init's.")
    var fromScratch = false

    @Option(help: "Train this architecture from scratch instead of --init's: vgg-<width> or xception-<width>, e.g. vgg-32 (docs/TRAINING.md).")
    var architecture: String?
    @Option(name: .customLong("input-size"), help: "Side of the square gray input of --architecture, in pixels.")
    var inputSize = 48

    @Option(name: .customLong("init"), help: "CNN to fine-tune (folder with model.json, or a name under models/); with --from-scratch only its architecture is used.")
    var initModel = "fer2013"

    @Option(help: "Most epochs.")
    var epochs = 10
    @Option(name: .customLong("batch-size"), help: "Images per Adam step.")
    var batchSize = 32
    @Option(help: "Adam learning rate.")
    var lr: Float = 0.001
    @Option(help: "Epochs without a better validation loss before stopping.")
    var patience = 3
    @Option(help: "Augmentations, comma-separated: rotation, flip, zoom, brightness, contrast, shift, erasing (or none).")
    var augment = "rotation,flip,zoom,brightness,contrast"
    @Option(name: .customLong("weight-decay"), help: "Decoupled weight decay (AdamW); 0 is Adam.")
    var weightDecay: Float = 0
    @Option(name: .customLong("lr-schedule"), help: "Learning-rate schedule over --epochs: constant or cosine.")
    var lrSchedule = "constant"
    @Option(name: .customLong("warmup-epochs"), help: "Epochs of linear learning-rate warm-up (from lr/10).")
    var warmupEpochs = 0
    @Option(name: .customLong("class-weights"), help: "Loss weight per class: none, balanced (N / (K·n_c)) or sqrt (its square root).")
    var classWeights = "none"
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing ε (0 … 0.5).")
    var labelSmoothing: Float = 0
    @Option(name: .customLong("bn-recalibration"), help: "After each epoch, recompute batch norm's statistics exactly over this many training images before validating (0: keep the moving averages; useful from scratch).")
    var bnRecalibration = 0
    @Option(name: .customLong("select-on"), help: "What keeps the best epoch and stops early: loss or accuracy (validation).")
    var selectOn = "loss"
    @Option(help: "Distil from these trained CNNs (names under models/ or folders, comma-separated; their mean is the teacher): each training image's target blends its label with the teachers' flip-averaged output on it (docs/TRAINING.md).")
    var teacher: String?
    @Option(name: .customLong("teacher-predictions"), help: "Distil from saved predictions instead: `mien evaluate` predictions CSVs (comma-separated) covering every training image of class folders, e.g. out-of-fold teachers (docs/TRAINING.md).")
    var teacherPredictions: String?
    @Option(name: .customLong("distill-weight"), help: "With --teacher or --teacher-predictions: weight of the teachers' output in the target (0 … 1; the label has the rest).")
    var distillWeight = 0.5
    @Option(name: .customLong("distill-temperature"), help: "With --teacher or --teacher-predictions: temperature T of the teachers' softmax (1 keeps their probabilities; larger softens them).")
    var distillTemperature = 2.0
    @Option(help: "Seed of the split, fresh weights, shuffling and augmentation.")
    var seed: UInt64 = 1
    @Option(name: .customLong("checkpoint-dir"), help: "Folder for per-epoch checkpoints (default: <out>.checkpoints).")
    var checkpointDir: String?
    @Flag(help: "Continue from the newest checkpoint in --checkpoint-dir.")
    var resume = false
    @Option(help: "Threads that compute a batch's chunks of images (default: one per CPU). Results are the same, bit for bit, for every thread count.")
    var threads = OpenCVInfo.cpusAvailable
    @Option(name: .customLong("train-fraction"), help: "Fraction of groups (videos or images) for training, for data without its own split.")
    var trainFraction = 0.7
    @Option(name: .customLong("validation-fraction"), help: "Fraction for validation (the rest is test).")
    var validationFraction = 0.15
    @Option(name: .customLong("frame-step"), help: "Video sets: use every k-th frame.")
    var frameStep = 1
    @Option(name: .customLong("save-crops"), help: "Also write the face crops with their split as a CSV in FER2013 format (64×64 pixels, Usage = split), to train on them again without detection.")
    var saveCrops: String?

    func validate() throws {
        guard epochs >= 1, batchSize >= 1, patience >= 1, threads >= 1, frameStep >= 1 else {
            throw ValidationError("--epochs, --batch-size, --patience, --threads and --frame-step must be positive")
        }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        guard weightDecay >= 0, weightDecay.isFinite, warmupEpochs >= 0, labelSmoothing >= 0, labelSmoothing <= 0.5 else {
            throw ValidationError("need --weight-decay ≥ 0, --warmup-epochs ≥ 0 and --label-smoothing in 0…0.5")
        }
        guard CNNTrainer.LearningRateSchedule(rawValue: lrSchedule) != nil else { throw ValidationError("--lr-schedule must be constant or cosine, got \(lrSchedule)") }
        guard CNNTrainer.ClassWeighting(rawValue: classWeights) != nil else { throw ValidationError("--class-weights must be none, balanced or sqrt, got \(classWeights)") }
        guard CNNTrainer.Selection(rawValue: selectOn) != nil else { throw ValidationError("--select-on must be loss or accuracy, got \(selectOn)") }
        if architecture != nil && fromScratch { throw ValidationError("--architecture already trains from scratch: drop --from-scratch") }
        guard trainFraction > 0, validationFraction > 0, trainFraction + validationFraction <= 1 else {
            throw ValidationError("need --train-fraction > 0, --validation-fraction > 0 and their sum at most 1")
        }
        do { _ = try Augmentation.parse(augment) } catch { throw ValidationError("\(error)") }
        guard (0...1).contains(distillWeight), distillTemperature > 0, distillTemperature.isFinite else {
            throw ValidationError("need --distill-weight in 0…1 and --distill-temperature > 0")
        }
        if teacher != nil && teacherPredictions != nil { throw ValidationError("give --teacher or --teacher-predictions, not both") }
        if let teacher = teacher ?? teacherPredictions, teacher.split(separator: ",", omittingEmptySubsequences: false).contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--teacher and --teacher-predictions need names separated by commas, got \"\(teacher)\"")
        }
    }

    /// The teachers' targets on the training images (nil without --teacher or --teacher-predictions).
    func distillation(_ train: FaceImageSet, say: (String) -> Void) throws -> Distillation? {
        if let teacherPredictions {
            let files = teacherPredictions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let saved = try Distillation.SavedPredictions.read(files, labels: ExpressionClass.labels)
            let targets = try Distillation.targets(from: saved, on: train, temperature: distillTemperature)
            let hashes = try files.map { try sha256Hex(file: $0) }
            let d = Distillation(targets: targets, classes: ExpressionClass.labels.count, weight: Float(distillWeight),
                                 provenance: zip(files, hashes).map { "\($0)@\($1.prefix(16))" }.joined(separator: "+") + " T \(distillTemperature)")
            say(String(format: "train cnn: saved predictions %@ (T %g) agree with %.1f %% of the training labels; target weight %g",
                       teacherPredictions, distillTemperature, 100 * d.agreement(with: train.labels), distillWeight))
            return d
        }
        guard let teacher else { return nil }
        let started = Date()
        let names = teacher.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let resolved = try names.map { name -> (teacher: Distillation.Teacher, hash: String) in
            let dir = try resolveCNN(name)
            let graph = try CNNGraph.load(modelJSON: (dir as NSString).appendingPathComponent("model.json"))
            guard graph.description.labels == ExpressionClass.labels else {
                throw ValidationError("teacher \(dir) has labels \(graph.description.labels), Mien's are \(ExpressionClass.labels)")
            }
            let hash = try sha256Hex(file: (dir as NSString).appendingPathComponent(graph.description.weightsFile))
            return (Distillation.Teacher(cnn: FoldedCNN(graph), description: graph.description, name: name), hash)
        }
        let targets = try Distillation.targets(of: resolved.map(\.teacher), on: train, temperature: distillTemperature, flipAverage: true)
        let d = Distillation(targets: targets, classes: ExpressionClass.labels.count, weight: Float(distillWeight),
                             provenance: resolved.map { "\($0.teacher.name)@\($0.hash.prefix(16))" }.joined(separator: "+") + " T \(distillTemperature)")
        say(String(format: "train cnn: teacher %@ (flip-averaged, T %g) agrees with %.1f %% of the training labels (%.0f s); target weight %g",
                   teacher, distillTemperature, 100 * d.agreement(with: train.labels), Date().timeIntervalSince(started), distillWeight))
        return d
    }

    func run() throws {
        func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
        // Chunks of each batch run in parallel (BatchChunks), each with single-threaded BLAS.
        BLASThreads.set(1)
        BatchChunks.threads = threads
        let labels = ExpressionClass.labels
        let initDir = architecture == nil ? try resolveCNN(initModel) : "architecture \(architecture!)"
        let initJSON = (initDir as NSString).appendingPathComponent("model.json")
        let description = try architecture.map { try CNNArchitectures.description($0, side: inputSize, labels: labels) }
            ?? CNNDescription.read(path: initJSON)
        guard description.labels == labels else {
            throw ValidationError("\(initJSON) has labels \(description.labels), Mien's are \(labels): give --init a CNN with Mien's classes in that order")
        }
        guard description.inputHeight == description.inputWidth, description.inputChannels == 1 else {
            throw ValidationError("\(initJSON) takes \(description.inputHeight)×\(description.inputWidth)×\(description.inputChannels) input; training needs square gray input")
        }
        let side = description.inputHeight
        let (splits, kind, extra) = try loadData(side: side, labels: labels, say: say)
        try splits.check(classNames: labels)
        if let saveCrops {
            try FER2013CSV.write(splits, to: saveCrops)
            say("train cnn: crops and their split written to \(saveCrops)")
        }
        let counts = { (s: FaceImageSet) in zip(labels, s.classCounts(classes: labels.count)).map { "\($0) \($1)" }.joined(separator: ", ") }
        say("train cnn: \(kind): \(splits.how)")
        say("train cnn: train \(splits.train.count) (\(counts(splits.train))); validation \(splits.validation.count); test \(splits.test.count)")

        let scratch = fromScratch || architecture != nil
        let graph = scratch ? try CNNGraph.initialized(description, seed: seed) : try CNNGraph.load(modelJSON: initJSON)
        var config = CNNTrainer.Config()
        config.epochs = epochs; config.batchSize = batchSize; config.learningRate = lr; config.patience = patience
        config.seed = seed; config.augmentation = try Augmentation.parse(augment)
        config.weightDecay = weightDecay; config.warmupEpochs = warmupEpochs; config.labelSmoothing = labelSmoothing
        config.schedule = CNNTrainer.LearningRateSchedule(rawValue: lrSchedule)!
        config.classWeighting = CNNTrainer.ClassWeighting(rawValue: classWeights)!
        config.selection = CNNTrainer.Selection(rawValue: selectOn)!
        config.batchNormRecalibration = bnRecalibration
        config.distillation = try distillation(splits.train, say: say)
        let checkpoints = checkpointDir ?? (out.hasSuffix("/") ? String(out.dropLast()) : out) + ".checkpoints"
        let trainer = CNNTrainer(graph: graph, config: config, checkpointDirectory: checkpoints)
        let initial = trainer.evaluate(splits.validation)
        say(String(format: "train cnn: %@ weights: validation loss %.4f acc %.3f; augmentation %@; checkpoints in %@",
                   scratch ? "fresh" : "initial", initial.loss, initial.accuracy, config.augmentation.description, checkpoints))
        var last = Date()
        let outcome = try trainer.train(splits.train, validation: splits.validation, resume: resume, log: { e in
            let now = Date()
            let seconds = now.timeIntervalSince(last)
            say(String(format: "epoch %3d  train loss %.4f acc %.3f  validation loss %.4f acc %.3f  (%.1f s, %.0f training images/s with validation)",
                       e.epoch, e.trainLoss, e.trainAccuracy, e.validationLoss, e.validationAccuracy, seconds, Double(splits.train.count) / seconds))
            last = now
        }, note: { say("train cnn: " + $0) })
        let test = splits.test.count > 0 ? trainer.evaluate(splits.test) : (loss: Double.nan, accuracy: Double.nan)
        let best = outcome.history.first { $0.epoch == outcome.bestEpoch }
        let training: [String: Any] = [
            "command": "mien " + CommandLine.arguments.dropFirst().joined(separator: " "),
            "data": data, "data_kind": kind,
            "init": scratch ? "from scratch (seeded Glorot-uniform, seed \(seed)); architecture of \(initDir)" : "fine-tuned from \(initDir) (weights sha256 \(try sha256Hex(file: (initDir as NSString).appendingPathComponent(description.weightsFile))))",
            "best_epoch": outcome.bestEpoch,
        ]
        let hash = try graph.save(to: out, training: training)
        var report: [String: Any] = [
            "model": "cnn", "data": data, "data_kind": kind, "split_method": splits.how,
            "from_scratch": scratch, "init": initDir, "architecture": description.architecture,
            "weight_decay": Double(weightDecay), "lr_schedule": lrSchedule, "warmup_epochs": warmupEpochs,
            "class_weights": classWeights, "label_smoothing": Double(labelSmoothing), "select_on": selectOn, "bn_recalibration": bnRecalibration,
            "distillation": config.distillation.map { ["teachers": $0.provenance, "weight": distillWeight, "temperature": distillTemperature,
                                                       "teacher_train_agreement": $0.agreement(with: splits.train.labels)] as [String: Any] } ?? NSNull(),
            "epochs": epochs, "batch_size": batchSize, "learning_rate": Double(lr), "patience": patience,
            "augmentation": config.augmentation.description, "seed": seed, "threads": threads,
            "counts": ["train": splits.train.classCounts(classes: labels.count), "validation": splits.validation.classCounts(classes: labels.count),
                       "test": splits.test.classCounts(classes: labels.count), "labels": labels],
            "initial_validation_loss": initial.loss, "initial_validation_accuracy": initial.accuracy,
            "history": outcome.history.map { ["epoch": $0.epoch, "train_loss": $0.trainLoss, "train_accuracy": $0.trainAccuracy,
                                               "validation_loss": $0.validationLoss, "validation_accuracy": $0.validationAccuracy] },
            "train_metrics_note": "train loss/accuracy are means over the epoch's batches in training mode (augmented, batch statistics); validation and test use inference mode",
            "best_epoch": outcome.bestEpoch, "stopped_early": outcome.stoppedEarly, "resumed_from_epoch": outcome.resumedFrom,
            "best_validation_loss": best?.validationLoss ?? Double.nan, "best_validation_accuracy": best?.validationAccuracy ?? Double.nan,
            "test_loss": test.loss, "test_accuracy": test.accuracy,
            "content_hash": hash,
        ]
        for (k, v) in extra { report[k] = v }
        let data = try JSONSerialization.data(withJSONObject: report.mapValues { v -> Any in
            if let d = v as? Double, !d.isFinite { return NSNull() }
            return v
        }, options: [.prettyPrinted, .sortedKeys])
        let path = (out as NSString).appendingPathComponent("training.json")
        do { try data.write(to: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot write \(path): \(error.localizedDescription)")
        }
        let testPart = splits.test.count == 0 ? "no test split"
            : String(format: "test loss %.4f acc %.3f (%d images)", test.loss, test.accuracy, splits.test.count)
        say(String(format: "train cnn: best epoch %d (validation loss %.4f acc %.3f); %@; bundle in %@ (sha256 %@)",
                   outcome.bestEpoch, best?.validationLoss ?? .nan, best?.validationAccuracy ?? .nan, testPart, out, String(hash.prefix(12))))
    }

    /// Reads --data by its kind. Returns the splits, the kind, and extra fields for training.json.
    func loadData(side: Int, labels: [String], say: (String) -> Void) throws -> (FaceImageSplits, String, [String: Any]) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: data, isDirectory: &isDir) else {
            throw ValidationError("--data \(data) does not exist: give a FER2013 CSV, a folder of class folders or a `mien synth` folder")
        }
        let fractions = (trainFraction, validationFraction)
        if !isDir.boolValue {
            return (try FER2013CSV.read(path: data, side: side, labels: labels, fractions: fractions, seed: seed), "FER2013 CSV", [:])
        }
        let labelsCSV = (data as NSString).appendingPathComponent("labels.csv")
        let framesCSV = (data as NSString).appendingPathComponent("frames.csv")
        if fm.fileExists(atPath: labelsCSV) {
            guard fm.fileExists(atPath: framesCSV) else {
                throw ValidationError("\(data) has labels.csv but no frames.csv: training the CNN needs per-frame face labels (video,frame,track,label,x,y,w,h)")
            }
            let videoLabels = try GroundTruth.videoLabels(csv: labelsCSV, labels: labels)
            let frameTruth = try GroundTruth.frameLabels(csv: framesCSV, labels: labels)
            let videos = try videoLabels.keys.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.map { id -> (id: String, path: String) in
                let path = (data as NSString).appendingPathComponent(id)
                guard fm.fileExists(atPath: path) else { throw ValidationError("\(labelsCSV) names \(id), but \(path) does not exist") }
                return (id, path)
            }
            let pipeline = try FacePipeline(options: .init(cropSize: side))
            let started = Date()
            let (all, tally) = try LabelledVideoCrops.read(videos: videos, frameTruth: frameTruth, labels: labels, pipeline: pipeline,
                                                           frameStep: frameStep, progress: { if isatty(2) != 0 { FileHandle.standardError.write(Data(("\r" + $0 + "   ").utf8)) } })
            if isatty(2) != 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            say(String(format: "train cnn: crops: %@ (%.0f s)", tally.description, Date().timeIntervalSince(started)))
            guard all.count > 0 else { throw ValidationError("no labelled face crops in \(data): were faces detected? (\(tally))") }
            let splits = FaceImageSplits.grouped(all, groupLabels: videoLabels, classNames: labels, fractions: fractions, seed: seed)
            let groups = { (s: FaceImageSet) in Array(Set(s.groups)).sorted { $0.compare($1, options: .numeric) == .orderedAscending } }
            return (splits, "labelled videos (crops by FacePipeline, labelled by box)", [
                "split": ["train": groups(splits.train), "validation": groups(splits.validation), "test": groups(splits.test)],
                "crops": ["videos": tally.videos, "frames_read": tally.framesRead, "frames_without_truth": tally.framesWithoutTruth,
                          "detections": tally.detections, "labelled": tally.labelled, "unmatched": tally.unmatched, "unknown_label": tally.unknownLabel,
                          "frame_step": frameStep, "crop_mode": pipeline.options.cropMode.rawValue],
            ])
        }
        if let splits = try ImageFolderDataset.readSplits(root: data, side: side, labels: labels) {
            return (splits, "image folders with their own split (train/, validation/\(splits.test.count > 0 ? ", test/" : ""))", [:])
        }
        let all = try ImageFolderDataset.read(root: data, side: side, labels: labels)
        return (FaceImageSplits.grouped(all, classNames: labels, fractions: fractions, seed: seed), "image folders", [:])
    }
}
