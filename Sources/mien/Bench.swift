import ArgumentParser
import Foundation
import MienCore
import MienNN
import MienTraining
import MienVision

/// `mien bench cnn|bilstm|landmarks|haar`: inference throughput of MienNN's models, the landmark
/// fit of MienVision against dlib's and its Haar cascade evaluator against OpenCV's (not a test; figures depend on the machine and on what else
/// runs on it).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure CNN images/s or BiLSTM windows/s of MienNN inference, landmark fits against dlib's, or Haar detection against OpenCV's.",
        discussion: """
            cnn: the mini-Xception of MODEL (default models/fer2013/model.json) with batch norm folded, \
            on seeded synthetic 64×64 pixel values (preprocessing included in the timing).

            bilstm: a BiLSTM classifier with seeded random (synthetic) weights, on seeded synthetic \
            windows [batch, window, embedding].

            train-cnn: training steps (forward in training mode, cross-entropy, backward, Adam) of \
            MODEL's CNN, or of --architecture from fresh weights, on seeded synthetic images and \
            labels, --batch images a step on --threads threads (as mien train cnn runs them; no \
            augmentation or image decoding). Prints training images/s.

            train-bilstm: training steps of the BiLSTM classifier (as bilstm) on seeded synthetic \
            windows and labels. Prints training windows/s.

            landmarks: fits of --landmark-model (default: the bundled 5-point model) to the faces of \
            seeded synthetic 640×480 frames (MienSynth, true boxes), --batch faces a batch, by Mien's \
            flat evaluator and by dlib's shape_predictor, batches alternating (which goes first \
            alternates too); with --cold a 64 MB buffer is written before every fit (not timed), so \
            that the model is not in the caches, as in the pipeline. Prints ms per fit of each, their \
            ratio and how many faces got different landmarks (0: they are equal). Before the fits, \
            --loads loads of the model each way, alternating: Mien's reader of dlib's format and \
            dlib's own stream decoding (ms per load, mean and fastest).

            haar: Mien's Haar-cascade evaluator and OpenCV's cv::CascadeClassifier, on one thread, on \
            every 5th frame of --video (--batch frames): full scans as mien run's (a copy ≤ 320 px, \
            scale factor 1.2, 3 neighbours) and FaceFollower-like searches around each face found \
            (sizes 0.75–1.33× it, the smallest at 24 px, scale factor 1.1, 1 neighbour); rounds \
            alternate which goes first. Prints the median ms per scan and per search of each, their \
            ratio and how many results differ (0: equal).

            After warm-up runs, batches are timed until --iterations are done or, without it, until \
            --min-seconds have passed.

            JSON: {"model", "batch", "threads", "per_s", "ms_per_batch", ...}; landmarks: {"model", "points", \
            "batch", "iterations", "cold", "flat_ms", "dlib_ms", "ratio", "differing_faces", "loads", "load_ms", \
            "dlib_load_ms", "load_min_ms", "dlib_load_min_ms"}; haar: {"video", "frames", "searches", "rounds", \
            "evaluator", "full_mien_ms", "full_opencv_ms", "search_mien_ms", "search_opencv_ms", \
            "differing_full", "differing_searches"}.
            """)

    enum Model: String, ExpressibleByArgument, CaseIterable {
        case cnn, bilstm, landmarks, haar
        case trainCNN = "train-cnn", trainBiLSTM = "train-bilstm"
    }

    @Argument(help: "cnn, bilstm, train-cnn, train-bilstm, landmarks or haar")
    var model: Model

    @Option(name: .long, help: "Images (cnn), windows (bilstm), faces (landmarks) or frames (haar) per batch.")
    var batch: Int = 64

    @Option(name: .long, help: "BLAS threads.")
    var threads: Int = 1

    @Option(name: .long, help: "Timed batches (default: as many as fit in --min-seconds).")
    var iterations: Int?

    @Option(name: .customLong("min-seconds"), help: "Minimum timed seconds when --iterations is not given.")
    var minSeconds: Double = 1.0

    @Option(name: .customLong("model-json"), help: "cnn: model description (weights file next to it).")
    var modelJSON: String = "models/fer2013/model.json"

    @Option(name: .long, help: "train-cnn: an architecture of mien train cnn --architecture (e.g. vgg-24) instead of --model-json's CNN.")
    var architecture: String?

    @Option(name: .customLong("input-size"), help: "train-cnn: input side of --architecture.")
    var inputSize = 48

    @Option(name: .long, help: "bilstm: window length T.")
    var window: Int = 16

    @Option(name: .long, help: "bilstm: embedding size D.")
    var embedding: Int = 128

    @Option(name: .long, help: "bilstm: units U per direction.")
    var units: Int = 64

    @Option(name: .long, help: "bilstm: stacked BiLSTM layers.")
    var layers: Int = 1

    @Option(name: .long, help: "cnn: images per internal chunk (default: FoldedCNN's).")
    var chunk: Int?

    @Option(name: .customLong("landmark-model"), help: "landmarks: dlib shape-predictor model, 68- or 5-point (default: the bundled 5-point model).")
    var landmarkModel: String?

    @Option(name: .long, help: "landmarks: model loads timed each way (Mien's reader, dlib's decoding); 0 for none.")
    var loads: Int = 5

    @Option(name: .long, help: "haar: the video whose frames are scanned.")
    var video: String = "/tmp/bench-640x480.mp4"

    @Option(name: .long, help: "haar: cascade XML.")
    var cascade: String = FaceDetector.defaultCascadePath

    @Flag(name: .long, help: "landmarks: evict the caches before every fit (as in the pipeline).")
    var cold = false

    @Flag(name: .long, help: "cnn: print the time spent in each step instead of throughput.")
    var profile = false

    @Flag(name: .long, help: "cnn: run FoldedCNN's portable path (Swift SIMD + OpenBLAS) instead of its AVX2+FMA kernels.")
    var portable = false

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1, got \(chunk)") }
        if loads < 0 { throw ValidationError("--loads must be at least 0, got \(loads)") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
        if !(minSeconds > 0) { throw ValidationError("--min-seconds must be positive, got \(minSeconds)") }
        if window < 1 || embedding < 1 || units < 1 || layers < 1 {
            throw ValidationError("--window, --embedding, --units and --layers must be at least 1")
        }
    }

    func run() throws {
        if model == .trainCNN {
            // As mien train cnn: chunks of the batch in parallel, each with one BLAS thread.
            BLASThreads.set(1)
            BatchChunks.threads = threads
            HeapTuning.keepFreedMemoryForReuse()
        } else {
            BLASThreads.set(threads)
        }
        var rng = SeededRandom(seed: 12345)
        let work: () throws -> Void
        switch model {
        case .cnn:
            let graph: CNNGraph
            do { graph = try CNNGraph.load(modelJSON: modelJSON) } catch let e as NNError {
                throw ValidationError("\(e.description) (pass --model-json PATH or run from the repository root)")
            }
            let cnn = FoldedCNN(graph)
            if let chunk { cnn.chunkSize = chunk }
            if portable { cnn.nativeKernels = false }
            let d = graph.description
            let pixels = (0..<(batch * d.inputHeight * d.inputWidth * d.inputChannels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if profile {
                let steps = try cnn.profile(try d.preprocess(pixels: pixels, count: batch), repeats: iterations ?? 5)
                let total = steps.reduce(0) { $0 + $1.seconds }
                for s in steps { print(String(format: "%6.2f%%  %8.3f ms  %@", 100 * s.seconds / total, 1000 * s.seconds, s.step)) }
                print(String(format: "total %.3f ms for %d batches of %d", 1000 * total, iterations ?? 5, batch))
                return
            }
            work = {
                let x = try d.preprocess(pixels: pixels, count: batch)
                _ = try cnn.predict(x)
            }
        case .bilstm:
            let clf = try BiLSTMClassifier(config: .init(window: window, inputSize: embedding, units: units, layers: layers,
                                                         dropout: 0, classes: 7), seed: 1)
            let x = rng.uniformTensor([batch, window, embedding])
            work = { _ = try clf.predict(x) }
        case .trainCNN:
            let graph: CNNGraph
            if let architecture {
                graph = try CNNGraph.initialized(try CNNArchitectures.description(architecture, side: inputSize, labels: ExpressionClass.labels), seed: 1)
            } else {
                do { graph = try CNNGraph.load(modelJSON: modelJSON) } catch let e as NNError {
                    throw ValidationError("\(e.description) (pass --model-json PATH or run from the repository root)")
                }
            }
            let d = graph.description, classes = d.labels.count
            let x = rng.uniformTensor([batch, d.inputHeight, d.inputWidth, d.inputChannels])
            let targets = SoftmaxCrossEntropy.oneHot((0..<batch).map { _ in Int(rng.next() % UInt64(classes)) }, classes: classes)
            let adam = Adam()
            let parameters = graph.parameters
            work = {   // as CNNTrainer runs a step: denormals flushed (see `Denormals`)
                Denormals.flushed {
                    for p in parameters { p.zeroGrad() }
                    let (_, g, _) = SoftmaxCrossEntropy.lossAndGradient(logits: graph.forward(x, training: true).logits, targets: targets)
                    graph.backward(g)
                    adam.step(parameters)
                }
            }
        case .trainBiLSTM:
            let clf = try BiLSTMClassifier(config: .init(window: window, inputSize: embedding, units: units, layers: layers,
                                                         dropout: 0, classes: 7), seed: 1)
            let x = rng.uniformTensor([batch, window, embedding])
            let targets = SoftmaxCrossEntropy.oneHot((0..<batch).map { _ in Int(rng.next() % 7) }, classes: 7)
            let adam = Adam()
            work = { Denormals.flushed { _ = clf.trainStep(x, targets: targets, optimizer: adam) } }
        case .landmarks:
            return try runLandmarks()
        case .haar:
            return try runHaar()
        }
        for _ in 0..<2 { try work() }
        var count = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while true {
            try work()
            count += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if let iterations { if count >= iterations { break } } else if elapsed >= minSeconds { break }
        }
        let perSecond = Double(count * batch) / elapsed
        let msPerBatch = elapsed / Double(count) * 1000
        let unit = model == .cnn || model == .trainCNN ? "images/s" : "windows/s"
        if json {
            var obj: [String: Any] = ["model": model.rawValue, "batch": batch, "threads": threads,
                                      "per_s": (perSecond * 10).rounded() / 10, "ms_per_batch": (msPerBatch * 1000).rounded() / 1000,
                                      "iterations": count]
            obj["cpu"] = CPUName.current; obj["blas_core"] = BLASCore.name
            if let architecture, model == .trainCNN { obj["architecture"] = architecture }
            if model == .bilstm || model == .trainBiLSTM { obj["window"] = window; obj["embedding"] = embedding; obj["units"] = units; obj["layers"] = layers }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "%@ batch %d, %d thread(s): %.1f %@ (%.3f ms per batch, %d batches; %@, OpenBLAS %@)",
                         model.rawValue, batch, threads, perSecond, unit, msPerBatch, count, CPUName.current, BLASCore.name))
        }
    }
}

/// The CPU's model name (/proc/cpuinfo), printed beside every figure: figures are comparable
/// only on one machine kind, side by side.
enum CPUName {
    static let current: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }()
}
