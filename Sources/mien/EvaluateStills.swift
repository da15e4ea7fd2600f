import ArgumentParser
import Foundation
import MienCluster
import MienCore
import MienNN
import MienReport
import MienTraining

/// `mien evaluate` on labelled still images (no `--labels`): each image is one cropped face,
/// scored per image by the CNN of every bundle given to `--model` (comma-separated, so bundles
/// are compared in one run on the same images). With several bundles, their ensemble (the mean of
/// their probabilities per image) is scored too. Each model's per-image predictions go to
/// OUT/predictions-<name>.csv.
extension Evaluate {
    func runStills() throws {
        guard inputs.count == 1 else {
            throw ValidationError("still images: give one INPUT, a folder of class folders or a CSV of path,label (videos need --labels)")
        }
        let set = try LabelledStills.read(inputs[0])
        let names = ExpressionClass.labels
        let dataNote = data ?? "not described (pass --data to say what these images are)"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        BLASThreads.set(1)
        let augmentation = try testTimeAugmentation()
        var report = StillsReport(labels: names, augmentation: augmentation)
        let decoded = set.decode()   // once, whatever the number of bundles
        for (path, reason) in decoded.unreadable { FileHandle.standardError.write(Data("mien evaluate: not scored: \(path): \(reason)\n".utf8)) }
        var members: [LabelledStills.Scores] = []
        for name in model.split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) {
            let (member, cnnDirectory) = try stillsModel(name)
            let graph = try CNNGraph.load(modelJSON: (cnnDirectory as NSString).appendingPathComponent("model.json"))
            guard graph.description.labels == names else {
                throw ValidationError("\(cnnDirectory) has labels \(graph.description.labels), Mien's are \(names)")
            }
            let s = try LabelledStills.score(decoded, FoldedCNN(graph), description: graph.description,
                                                augmentation: augmentation)
            members.append(s)
            report.add(name: member, cnn: cnnDirectory, architecture: graph.description.architecture, scores: s)
            try writePredictions(s, of: decoded, name: member)
        }
        if members.count > 1 {
            let ensemble = LabelledStills.mean(of: members, truth: decoded.images.map(\.label))
            let name = "mean of " + report.names.joined(separator: " + ")
            report.add(name: name, cnn: "", architecture: "ensemble (mean probabilities)", scores: ensemble)
            try writePredictions(ensemble, of: decoded, name: "ensemble")
        }
        let header = "# Still-image evaluation\n\nImages: \(set.origin) (\(set.items.count)); data: \(dataNote)\n"
            + "Per image, one face each, resized to the CNN's input (bilinear)\(augmentation.note).\n"
            + "Command: " + (["mien"] + CommandLine.arguments.dropFirst().map(Evaluate.shellQuoted)).joined(separator: " ") + "\n\n"
        try (header + report.table.markdown + report.details).write(toFile: (out as NSString).appendingPathComponent("metrics.md"), atomically: true, encoding: .utf8)
        let json = "{\"kind\":\"still images\",\"images\":\(JSONText.quote(set.origin)),\"data\":\(JSONText.quote(dataNote)),\"models\":[" + report.json.joined(separator: ",") + "]}\n"
        try json.write(toFile: (out as NSString).appendingPathComponent("metrics.json"), atomically: true, encoding: .utf8)
        print("Per image (\(set.items.count) images; data: \(dataNote))")
        print(report.table.markdown, terminator: "")
    }

    /// The name and CNN folder of one `--model` entry: a bundle (its CNN), or a CNN folder of its
    /// own (`model.json`, as `mien train cnn --out` writes), named by its last path component.
    private func stillsModel(_ name: String) throws -> (name: String, cnnDirectory: String) {
        do {
            let bundle = try ModelBundleRef.resolve(name)
            return (bundle.name, bundle.cnnDirectory)
        } catch let bundleError {
            guard let cnn = try? resolveCNN(name) else {
                throw ClusterError.model("no model bundle or CNN folder \"\(name)\": \(bundleError); nor is it a folder with model.json (a CNN as `mien train cnn --out` writes it)")
            }
            return ((cnn as NSString).lastPathComponent, cnn)
        }
    }

    /// OUT/predictions-<name>.csv: path, truth, predicted, then one probability per class.
    private func writePredictions(_ s: LabelledStills.Scores, of decoded: LabelledStills.Decoded, name: String) throws {
        let labels = ExpressionClass.labels, k = labels.count
        var text = "path,truth,predicted," + labels.map { "p_\($0)" }.joined(separator: ",") + "\n"
        for (i, image) in decoded.images.enumerated() {
            let p = s.probabilities[(i * k)..<((i + 1) * k)].map { String(format: "%.5f", $0) }
            text += "\(Evaluate.csvField(image.path)),\(labels[image.label]),\(labels[s.predicted[i]]),\(p.joined(separator: ","))\n"
        }
        let file = name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        try text.write(toFile: (out as NSString).appendingPathComponent("predictions-\(String(file)).csv"), atomically: true, encoding: .utf8)
    }

    /// `--tta`, or `flip` for `--flip-average`.
    private func testTimeAugmentation() throws -> TestTimeAugmentation {
        guard let tta else { return flipAverage ? .flip : .none }
        guard let a = TestTimeAugmentation(rawValue: tta) else {
            throw ValidationError("--tta \(tta): use one of \(TestTimeAugmentation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if flipAverage && a != .flip { throw ValidationError("--flip-average is --tta flip; give one of them") }
        return a
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

/// The tables and JSON of a still-image evaluation, one row per model.
private struct StillsReport {
    let labels: [String]
    let augmentation: TestTimeAugmentation
    var names: [String] = []
    var table: MarkdownTable
    var json: [String] = []
    var details = ""

    init(labels: [String], augmentation: TestTimeAugmentation) {
        self.labels = labels
        self.augmentation = augmentation
        table = MarkdownTable(header: ["model", "CNN", "images", "accuracy", "macro-F1"] + labels.map { "\($0) recall" } + ["ms/face"],
                              alignments: [.left, .left] + Array(repeating: .right, count: 4 + labels.count))
    }

    mutating func add(name: String, cnn: String, architecture: String, scores s: LabelledStills.Scores) {
        let m = s.metrics
        names.append(name)
        table.add([name, architecture, "\(m.count)", String(format: "%.2f %%", m.accuracy * 100),
                   String(format: "%.4f", m.macroF1)] + m.perClass.map { String(format: "%.1f %%", $0.recall * 100) }
                  + [String(format: "%.3f", s.msPerFace)])
        json.append("{\"bundle\":\(JSONText.quote(name)),\"cnn\":\(JSONText.quote(cnn)),"
                    + "\"architecture\":\(JSONText.quote(architecture)),\"flip_average\":\(augmentation != .none),\"tta\":\(JSONText.quote(augmentation.rawValue)),"
                    + "\"ms_per_face\":\(JSONText.number(s.msPerFace)),\"unreadable\":\(s.unreadable.count),"
                    + "\"metrics\":\(m.json(labels: labels))}")
        var confusion = MarkdownTable(header: ["truth \\ predicted"] + labels)
        for (i, row) in m.confusion.enumerated() { confusion.add([labels[i]] + row.map(String.init)) }
        details += "\n## \(name) (\(architecture))\n\nConfusion matrix (rows: truth):\n\n" + confusion.markdown
    }
}

private extension TestTimeAugmentation {
    /// How the report's header says it.
    var note: String {
        switch self {
        case .none: ""
        case .flip: ", probabilities averaged with the mirror image"
        case .shifts: ", probabilities averaged over 10 views (the image and its mirror, each also shifted by \(Self.shift) px left, right, up and down)"
        }
    }
}
