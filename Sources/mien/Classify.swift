import ArgumentParser
import Foundation
import MienCore
import MienNN
import MienVision
import MienCluster

/// `mien classify`: facial-expression probabilities (and optionally the CNN embedding) for image files.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify the facial expression in image files with the CNN.",
        discussion: """
            With --aligned each FILE is an already-cropped face: it is read as grayscale (OpenCV \
            BGR2GRAY) and resized to the model input with bilinear interpolation (INTER_LINEAR, as \
            the fer package resizes its crops) unless it already has that size. Without --aligned, \
            faces are found with MienVision's FacePipeline (Haar detector, fer-style crops) and \
            every face is classified, largest first. \
            With --json, prints one JSON object per line and face:
              {"file": F, "label": L, "probs": {class: p, ...}, "embedding": [...]}
            (detected faces add "face": index and "box": [x, y, w, h] in pixels; "embedding" only \
            with --embedding). Files that cannot be read, or with no face, are reported on \
            standard error; the exit status is then 1.
            """)

    @Flag(name: .long, help: "Each file is an already-cropped face image.")
    var aligned = false

    @Flag(name: .long, help: "Also print the 128-value CNN embedding.")
    var embedding = false

    @Flag(name: .long, help: "Print one JSON object per line (otherwise a short text line).")
    var json = false

    @Option(name: .long, help: "Model bundle (a name under models/ or a folder with bundle.json: its CNN is used), or a CNN's model.json (weights next to it).")
    var model: String = ModelBundleRef.defaultName

    @Option(name: .long, help: "BLAS threads.")
    var threads: Int = 1

    @Argument(help: "Image files (PNG, JPEG, BMP, …).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one image FILE") }
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    private struct Item { let file: String; let face: Int?; let box: FaceBox?; let crop: GrayImage }

    /// `--model` as a CNN description: a `.json` file as given, else a bundle (by name, searched
    /// like `mien run --model`, or folder), whose CNN's model.json it is.
    private func modelJSON() throws -> String {
        if model.hasSuffix(".json") { return model }
        do { return (try ModelBundleRef.resolve(model).cnnDirectory as NSString).appendingPathComponent("model.json") } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        BLASThreads.set(threads)
        let graph: CNNGraph
        do { graph = try CNNGraph.load(modelJSON: try modelJSON()) } catch let e as NNError {
            throw ValidationError("\(e.description) (pass --model NAME|DIR|model.json, or set MIEN_MODELS to the models folder)")
        }
        let d = graph.description
        guard d.inputChannels == 1 else { throw ValidationError("\(model): classify supports grayscale models only (input has \(d.inputChannels) channels)") }
        let cnn = FoldedCNN(graph)
        var failures = 0
        var items: [Item] = []
        let pipeline: FacePipeline? = aligned ? nil : try FacePipeline(options: .init(cropMode: .fer, cropSize: d.inputWidth))
        for file in files {
            do {
                let image = try GrayImage.read(path: file)
                if let pipeline {
                    let faces = try pipeline.process(image).faces.sorted { $0.box.area > $1.box.area }
                    if faces.isEmpty {
                        FileHandle.standardError.write(Data("mien classify: \(file): no face found\n".utf8))
                        failures += 1
                    }
                    for (i, f) in faces.enumerated() { items.append(Item(file: file, face: i, box: f.box, crop: try resize(f.crop, d))) }
                } else {
                    items.append(Item(file: file, face: nil, box: nil, crop: try resize(image, d)))
                }
            } catch {
                FileHandle.standardError.write(Data("mien classify: \(error)\n".utf8))
                failures += 1
            }
        }
        let batch = 64
        var start = 0
        while start < items.count {
            let part = items[start..<min(start + batch, items.count)]
            let x = try d.preprocess(pixels: part.flatMap(\.crop.pixels), count: part.count)
            let (probs, emb) = try cnn.predict(x)
            for (k, item) in part.enumerated() {
                let p = Array(probs.data[(k * d.labels.count)..<((k + 1) * d.labels.count)])
                let e = Array(emb.data[(k * emb.shape[1])..<((k + 1) * emb.shape[1])])
                print(line(item, labels: d.labels, probs: p, embedding: embedding ? e : nil))
            }
            start += batch
        }
        if failures > 0 { throw ExitCode(1) }
    }

    private func resize(_ image: GrayImage, _ d: CNNDescription) throws -> GrayImage {
        if image.width == d.inputWidth && image.height == d.inputHeight { return image }
        return try image.resized(width: d.inputWidth, height: d.inputHeight, interpolation: .linear)
    }

    private func line(_ item: Item, labels: [String], probs: [Float], embedding: [Float]?) -> String {
        let best = probs.indices.max { probs[$0] < probs[$1] }!
        if !json {
            let face = item.face.map { " face \($0)" } ?? ""
            return "\(item.file)\(face): \(labels[best]) (\(String(format: "%.3f", probs[best])))"
        }
        var s = "{\"file\": \(jsonString(item.file))"
        if let face = item.face, let b = item.box {
            s += ", \"face\": \(face), \"box\": [\(b.x), \(b.y), \(b.width), \(b.height)]"
        }
        s += ", \"label\": \(jsonString(labels[best])), \"probs\": {"
        s += zip(labels, probs).map { "\(jsonString($0)): \($1)" }.joined(separator: ", ") + "}"
        if let embedding { s += ", \"embedding\": [" + embedding.map { "\($0)" }.joined(separator: ", ") + "]" }
        return s + "}"
    }
}

/// A JSON string literal for `s`.
fileprivate func jsonString(_ s: String) -> String { JSONText.quote(s) }
