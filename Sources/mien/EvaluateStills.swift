import ArgumentParser
import Foundation
import MienCluster
import MienCore
import MienNN
import MienReport
import MienTraining

/// `mien evaluate` on labelled still images (no `--labels`): each image is one cropped face,
/// scored per image by the CNN of every bundle given to `--model` (comma-separated, so bundles
/// are compared in one run on the same images).
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
        var table = MarkdownTable(header: ["model", "CNN", "images", "accuracy", "macro-F1"] + names.map { "\($0) recall" } + ["ms/face"],
                                  alignments: [.left, .left] + Array(repeating: .right, count: 4 + names.count))
        var jsonModels: [String] = []
        var details = ""
        let decoded = set.decode()   // once, whatever the number of bundles
        for (path, reason) in decoded.unreadable { FileHandle.standardError.write(Data("mien evaluate: not scored: \(path): \(reason)\n".utf8)) }
        for name in model.split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) {
            let bundle = try ModelBundleRef.resolve(name)
            let graph = try CNNGraph.load(modelJSON: (bundle.cnnDirectory as NSString).appendingPathComponent("model.json"))
            guard graph.description.labels == names else {
                throw ValidationError("\(bundle.cnnDirectory) has labels \(graph.description.labels), Mien's are \(names)")
            }
            let s = try LabelledStills.score(decoded, FoldedCNN(graph), description: graph.description, flipAverage: flipAverage)
            let m = s.metrics
            table.add([bundle.name, graph.description.architecture, "\(m.count)", String(format: "%.2f %%", m.accuracy * 100),
                       String(format: "%.4f", m.macroF1)] + m.perClass.map { String(format: "%.1f %%", $0.recall * 100) }
                      + [String(format: "%.3f", s.msPerFace)])
            jsonModels.append("{\"bundle\":\(JSONText.quote(bundle.name)),\"cnn\":\(JSONText.quote(bundle.cnnDirectory)),"
                              + "\"architecture\":\(JSONText.quote(graph.description.architecture)),\"flip_average\":\(flipAverage),"
                              + "\"ms_per_face\":\(JSONText.number(s.msPerFace)),\"unreadable\":\(s.unreadable.count),"
                              + "\"metrics\":\(m.json(labels: names))}")
            var confusion = MarkdownTable(header: ["truth \\ predicted"] + names)
            for (i, row) in m.confusion.enumerated() { confusion.add([names[i]] + row.map(String.init)) }
            details += "\n## \(bundle.name) (\(graph.description.architecture))\n\nConfusion matrix (rows: truth):\n\n" + confusion.markdown
        }
        let header = "# Still-image evaluation\n\nImages: \(set.origin) (\(set.items.count)); data: \(dataNote)\n"
            + "Per image, one face each, resized to the CNN's input (bilinear)\(flipAverage ? ", probabilities averaged with the mirror image" : "").\n"
            + "Command: " + (["mien"] + CommandLine.arguments.dropFirst().map(Evaluate.shellQuoted)).joined(separator: " ") + "\n\n"
        try (header + table.markdown + details).write(toFile: (out as NSString).appendingPathComponent("metrics.md"), atomically: true, encoding: .utf8)
        let json = "{\"kind\":\"still images\",\"images\":\(JSONText.quote(set.origin)),\"data\":\(JSONText.quote(dataNote)),\"models\":[" + jsonModels.joined(separator: ",") + "]}\n"
        try json.write(toFile: (out as NSString).appendingPathComponent("metrics.json"), atomically: true, encoding: .utf8)
        print("Per image (\(set.items.count) images; data: \(dataNote))")
        print(table.markdown, terminator: "")
    }
}
