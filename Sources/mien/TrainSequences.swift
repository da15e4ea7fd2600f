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
            in docs/TRAINING.md), each frame through the CNN. OUT/embeddings.jsonl has one line per sequence \
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

    @Option(help: "Seed of the sequences' motion, lighting and noise.")
    var seed: UInt64 = 1

    @Option(help: "Threads running the CNN (one CNN each; the output is the same for any count).")
    var threads = OpenCVInfo.cpusAvailable

    func validate() throws {
        guard perFace >= 1, length >= 1, limitPerClass >= 0, threads >= 1 else {
            throw ValidationError("--per-face, --length and --threads must be at least 1, --limit-per-class at least 0")
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
        let generator = FaceSequenceGenerator()
        let started = Date()
        let labelOf = { (i: Int) in labels[set.labels[i]] }
        // Blocks of photographs: frames drawn in order from the one generator (so the output does
        // not depend on --threads), then the CNN runs on the block's sequences on every thread.
        let block = 64
        for first in stride(from: 0, to: set.count, by: block) {
            let photos = Array(first..<min(first + block, set.count))
            var jobs: [(photo: Int, k: Int, pixels: [UInt8])] = []
            for i in photos { for k in 0..<perFace {
                jobs.append((i, k, generator.frames(of: Array(set.image(i)), side: side, length: length, rng: &rng).flatMap { $0 }))
            } }
            let results = ResultSlots(count: jobs.count)
            let shared = UncheckedSendable((jobs, cnns, d, length))
            DispatchQueue.concurrentPerform(iterations: min(threads, jobs.count)) { w in
                let (jobs, cnns, d, length) = shared.value
                var j = w
                while j < jobs.count {
                    results.set(j, Result { try cnns[w].predict(try d.preprocess(pixels: jobs[j].pixels, count: length)) })
                    j += cnns.count
                }
            }
            for (j, job) in jobs.enumerated() {
                let (probs, emb) = try results.get(j)
                file.write(Data(Self.line(video: set.sources[job.photo], track: job.k, label: labelOf(job.photo), probs: probs, embeddings: emb).utf8))
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

    /// One embeddings.jsonl line (the format of `mien extract`).
    static func line(video: String, track: Int, label: String, probs: Tensor, embeddings: Tensor) -> String {
        let length = probs.shape[0]
        func row(_ t: Tensor, _ r: Int) -> String {
            let w = t.shape[1]
            return "[" + (0..<w).map { JSONText.number(Double(t.data[r * w + $0])) }.joined(separator: ",") + "]"
        }
        return "{\"video\":\(JSONText.quote(video)),\"track\":\(track),\"frames\":[\((0..<length).map(String.init).joined(separator: ","))],"
            + "\"labels\":[\(Array(repeating: JSONText.quote(label), count: length).joined(separator: ","))],"
            + "\"cnn_probs\":[\((0..<length).map { row(probs, $0) }.joined(separator: ","))],"
            + "\"embeddings\":[\((0..<length).map { row(embeddings, $0) }.joined(separator: ","))]}\n"
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
