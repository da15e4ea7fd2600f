import ArgumentParser
import Foundation
import MienCore
import MienNN
import MienTraining
import MienVision
import Dispatch

/// `mien train sequences`: labelled embedding sequences from real face photographs, in the
/// format of `mien extract`'s embeddings.jsonl, for `mien train bilstm --cache`.
struct TrainSequences: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sequences",
        abstract: "Make labelled embedding sequences from real face photographs, for mien train bilstm.",
        discussion: """
            Each photograph of --faces (class folders, e.g. FER2013's train/) becomes --per-face sequences of \
            --length frames: the photograph as a tracked face is seen over time (pose, scale and position \
            drifting smoothly, lighting drifting, box jitter and sensor noise per frame; FaceSequenceGenerator \
            in docs/TRAINING.md), each frame through the CNN. --occlusion and --blur add an occluder passing \
            in front of the face and frames of motion blur; --dynamics gives expressive sequences an onset \
            and/or offset (mixed with a neutral photograph's sequence in embedding space, frames labelled \
            neutral while the expression is less than half shown). OUT/embeddings.jsonl has one line per sequence \
            in the format of `mien extract` (video = the photograph, track = the sequence's index), so the \
            BiLSTM's grouped split keeps a photograph's sequences together.
            """)

    @Option(help: "A folder of class folders of face photographs (one face each).")
    var faces: String

    @Option(help: "The CNN whose embeddings the sequences carry (folder, or a name under models/).")
    var cnn: String

    @Option(help: "Output folder (embeddings.jsonl is written there).")
    var out: String

    @Option(name: .customLong("per-face"), help: "Sequences per photograph.")
    var perFace = 1

    @Option(help: "Frames per sequence.")
    var length = 24

    @Option(name: .customLong("limit-per-class"), help: "Use at most this many photographs of each class (the first ones in name order; 0: all).")
    var limitPerClass = 0

    @Option(help: "Probability that an expressive sequence gets an onset and/or offset (0: the expression holds throughout).")
    var dynamics = 0.0

    @Option(help: "Probability that a sequence has an occluder sliding across the face for 3–8 frames.")
    var occlusion = 0.0

    @Option(help: "Probability that a sequence has 2–5 frames of motion blur.")
    var blur = 0.0

    @Option(help: "Seed of the sequences' motion, lighting and noise.")
    var seed: UInt64 = 1

    @Option(help: "Threads running the CNN (one CNN each; the output is the same for any count).")
    var threads = OpenCVInfo.cpusAvailable

    func validate() throws {
        guard perFace >= 1, length >= 1, limitPerClass >= 0, threads >= 1 else {
            throw ValidationError("--per-face, --length and --threads must be at least 1, --limit-per-class at least 0")
        }
        for (name, p) in [("--dynamics", dynamics), ("--occlusion", occlusion), ("--blur", blur)] where !(0...1).contains(p) {
            throw ValidationError("\(name) is a probability: give a value from 0 to 1 (got \(p))")
        }
    }

    func run() throws {
        BLASThreads.set(1)
        let cnnDir = try resolveCNN(cnn)
        let graph = try CNNGraph.load(modelJSON: (cnnDir as NSString).appendingPathComponent("model.json"))
        let d = graph.description, side = d.inputWidth
        guard d.inputHeight == side, d.inputChannels == 1 else { throw ValidationError("\(cnnDir): needs a square gray CNN") }
        let labels = ExpressionClass.labels
        var set = try ImageFolderDataset.read(root: faces, side: side, labels: labels)
        if limitPerClass > 0 {
            var seen = [Int](repeating: 0, count: labels.count)
            let keep = set.labels.indices.filter { i in seen[set.labels[i]] += 1; return seen[set.labels[i]] <= limitPerClass }
            set = set.subset(keep)
        }
        let cnns = (0..<threads).map { _ in FoldedCNN(graph) }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = (out as NSString).appendingPathComponent("embeddings.jsonl")
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot write \(path)")
        }
        defer { try? file.close() }
        var rng = SplitMix64(seed: seed)
        var generator = FaceSequenceGenerator()
        generator.occlusion = occlusion
        generator.blur = blur
        let maker = SequenceMaker(set: set, labels: labels, side: side, length: length, generator: generator,
                                  dynamics: ExpressionDynamics(probability: dynamics))
        if dynamics > 0 && maker.neutralPhotos.isEmpty {
            throw ValidationError("--dynamics mixes onsets and offsets from neutral photographs, and \(faces) has none (no neutral/ folder)")
        }
        let started = Date()
        // Blocks of photographs: frames drawn in order from the one generator (so the output does
        // not depend on --threads), then the CNN runs on the block's sequences on every thread.
        let block = 64
        for first in stride(from: 0, to: set.count, by: block) {
            let photos = Array(first..<min(first + block, set.count))
            let jobs = photos.flatMap { i in (0..<perFace).map { k in maker.job(photo: i, index: k, rng: &rng) } }
            let inputs = jobs.flatMap { job in [job.pixels] + (job.mix.map { [$0.pixels] } ?? []) }
            var outputs = try Self.embed(inputs, cnns: cnns, description: d, length: length)[...]
            for job in jobs {
                var out = outputs.removeFirst(), frameLabels = Array(repeating: labels[set.labels[job.photo]], count: length)
                if let mix = job.mix {
                    out = ExpressionDynamics.blend(expression: out, neutral: outputs.removeFirst(), intensity: mix.intensity)
                    frameLabels = ExpressionDynamics.labels(frameLabels[0], neutral: SequenceMaker.neutral, intensity: mix.intensity)
                }
                file.write(Data(Self.line(video: set.sources[job.photo], track: job.index, labels: frameLabels,
                                          probs: out.probabilities, embeddings: out.embedding).utf8))
            }
            if isatty(2) != 0 {
                FileHandle.standardError.write(Data(String(format: "\rtrain sequences: %d / %d photographs", photos.last! + 1, set.count).utf8))
            }
        }
        if isatty(2) != 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        let counts = zip(labels, set.classCounts(classes: labels.count)).map { "\($0) \($1)" }.joined(separator: ", ")
        FileHandle.standardError.write(Data(String(format: "train sequences: %d sequences of %d frames from %d photographs (%@) in %.0f s: %@\n",
                                                   set.count * perFace, length, set.count, counts, Date().timeIntervalSince(started), path).utf8))
    }

    /// The CNN's probabilities and embeddings for each pixel sequence of `length` frames, on every thread.
    static func embed(_ inputs: [[UInt8]], cnns: [FoldedCNN], description d: CNNDescription, length: Int) throws
        -> [(probabilities: Tensor, embedding: Tensor)] {
        let results = ResultSlots(count: inputs.count)
        let shared = UncheckedSendable((inputs, cnns, d, length))
        DispatchQueue.concurrentPerform(iterations: min(cnns.count, inputs.count)) { w in
            let (inputs, cnns, d, length) = shared.value
            var j = w
            while j < inputs.count {
                results.set(j, Result { try cnns[w].predict(try d.preprocess(pixels: inputs[j], count: length)) })
                j += cnns.count
            }
        }
        return try inputs.indices.map { try results.get($0) }
    }

    /// One embeddings.jsonl line (the format of `mien extract`).
    static func line(video: String, track: Int, labels: [String], probs: Tensor, embeddings: Tensor) -> String {
        let length = probs.shape[0]
        func row(_ t: Tensor, _ r: Int) -> String {
            let w = t.shape[1]
            return "[" + (0..<w).map { JSONText.number(Double(t.data[r * w + $0])) }.joined(separator: ",") + "]"
        }
        return "{\"video\":\(JSONText.quote(video)),\"track\":\(track),\"frames\":[\((0..<length).map(String.init).joined(separator: ","))],"
            + "\"labels\":[\(labels.map(JSONText.quote).joined(separator: ","))],"
            + "\"cnn_probs\":[\((0..<length).map { row(probs, $0) }.joined(separator: ","))],"
            + "\"embeddings\":[\((0..<length).map { row(embeddings, $0) }.joined(separator: ","))]}\n"
    }
}

/// Draws the frames of each sequence (and, for an onset or offset, of the neutral photograph it is
/// mixed with) from one generator in a fixed order.
struct SequenceMaker {
    static let neutral = "neutral"
    struct Job {
        let photo: Int, index: Int, pixels: [UInt8]
        /// An onset/offset: the per-frame intensity and the neutral sequence's pixels.
        let mix: (intensity: [Double], pixels: [UInt8])?
    }
    let set: FaceImageSet, labels: [String], side: Int, length: Int
    let generator: FaceSequenceGenerator, dynamics: ExpressionDynamics
    let neutralPhotos: [Int]

    init(set: FaceImageSet, labels: [String], side: Int, length: Int, generator: FaceSequenceGenerator, dynamics: ExpressionDynamics) {
        self.set = set; self.labels = labels; self.side = side; self.length = length
        self.generator = generator; self.dynamics = dynamics
        neutralPhotos = set.labels.indices.filter { labels[set.labels[$0]] == Self.neutral }
    }

    func job(photo: Int, index: Int, rng: inout SplitMix64) -> Job {
        let pixels = generator.frames(of: Array(set.image(photo)), side: side, length: length, rng: &rng).flatMap { $0 }
        guard labels[set.labels[photo]] != Self.neutral, !neutralPhotos.isEmpty,
              let intensity = dynamics.intensities(length: length, rng: &rng) else { return Job(photo: photo, index: index, pixels: pixels, mix: nil) }
        let partner = neutralPhotos[Int(rng.next() % UInt64(neutralPhotos.count))]
        let neutralPixels = generator.frames(of: Array(set.image(partner)), side: side, length: length, rng: &rng).flatMap { $0 }
        return Job(photo: photo, index: index, pixels: pixels, mix: (intensity, neutralPixels))
    }
}

/// Results written by concurrent workers into distinct slots.
private final class ResultSlots: @unchecked Sendable {
    private var slots: [Result<(probabilities: Tensor, embedding: Tensor), Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<(probabilities: Tensor, embedding: Tensor), Error>) { lock.lock(); slots[i] = r; lock.unlock() }
    func get(_ i: Int) throws -> (probabilities: Tensor, embedding: Tensor) { try slots[i]!.get() }
}
