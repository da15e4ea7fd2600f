import Foundation
import MienCore
import MienNN
import MienVision

/// A labelled set of still face images, as `mien evaluate` scores them: a folder of class folders
/// (`angry/`, `happy/`, …), or a CSV of `path,label` rows (paths relative to the CSV's folder).
/// Each image is one face, cropped already (FER2013's photographs are).
public struct LabelledStills: Sendable {
    public struct Item: Sendable { public let path: String; public let label: Int }
    public let items: [Item]
    /// Where the set came from, for reports.
    public let origin: String

    /// Reads the set at `path` (class folders or a CSV); labels are indices into `labels`.
    public static func read(_ path: String, labels: [String] = ExpressionClass.labels) throws -> LabelledStills {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw TrainingError("\(path) does not exist: give a folder of class folders or a CSV of path,label")
        }
        if isDir.boolValue { return try readFolders(path, labels: labels) }
        return try readCSV(path, labels: labels)
    }

    static func readFolders(_ root: String, labels: [String]) throws -> LabelledStills {
        let fm = FileManager.default
        var items: [Item] = []
        for name in try fm.contentsOfDirectory(atPath: root).filter({ !$0.hasPrefix(".") }).sorted() {
            let dir = (root as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw TrainingError("\(dir) is a file, but \(root) must hold only class folders (\(labels.joined(separator: ", ")))")
            }
            guard let label = labels.firstIndex(of: name) else {
                throw TrainingError("\(dir): unknown class \"\(name)\"; class folders must be named one of \(labels.joined(separator: ", "))")
            }
            let files = try fm.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }
                .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            for f in files where ImageFolderDataset.imageExtensions.contains((f as NSString).pathExtension.lowercased()) {
                items.append(Item(path: (dir as NSString).appendingPathComponent(f), label: label))
            }
        }
        guard !items.isEmpty else { throw TrainingError("\(root) holds no images in class folders (\(labels.joined(separator: ", ")))") }
        return LabelledStills(items: items, origin: root)
    }

    static func readCSV(_ path: String, labels: [String]) throws -> LabelledStills {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw TrainingError("cannot read \(path): \(error.localizedDescription)")
        }
        let base = (path as NSString).deletingLastPathComponent
        var items: [Item] = []
        for (n, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if n == 0 && cells.first == "path" { continue }   // header
            guard cells.count == 2 else { throw TrainingError("\(path):\(n + 1): expected path,label, got \"\(line)\"") }
            guard let label = labels.firstIndex(of: cells[1]) else {
                throw TrainingError("\(path):\(n + 1): unknown label \"\(cells[1])\" (one of \(labels.joined(separator: ", ")))")
            }
            items.append(Item(path: cells[0].hasPrefix("/") ? cells[0] : (base as NSString).appendingPathComponent(cells[0]), label: label))
        }
        guard !items.isEmpty else { throw TrainingError("\(path) has no path,label rows") }
        return LabelledStills(items: items, origin: path)
    }

    /// What a CNN makes of the set.
    public struct Scores: Sendable {
        public var predicted: [Int]
        /// Per image, per class (row-major, `classes` per image).
        public var probabilities: [Float]
        public var metrics: ClassificationMetrics
        /// Images that could not be read: path and reason (not scored).
        public var unreadable: [(path: String, reason: String)]
        /// Mean CNN time per face (preprocessing and image decoding excluded), milliseconds.
        public var msPerFace: Double

        /// Scores from per-image probabilities (`classes` per image) and the true labels.
        init(probabilities: [Float], classes: Int, truth: [Int], unreadable: [(path: String, reason: String)], msPerFace: Double) {
            predicted = (0..<truth.count).map { i -> Int in
                var best = 0
                for j in 1..<classes where probabilities[i * classes + j] > probabilities[i * classes + best] { best = j }
                return best
            }
            self.probabilities = probabilities
            metrics = ClassificationMetrics(truth: truth, predicted: predicted, classes: classes)
            self.unreadable = unreadable
            self.msPerFace = msPerFace
        }
    }

    /// The set's images read once (gray), for scoring by one CNN or several.
    public struct Decoded: Sendable {
        public var images: [(path: String, label: Int, image: GrayImage)]
        /// Images that could not be read: path and reason (not scored).
        public var unreadable: [(path: String, reason: String)]
    }

    /// Reads every image of the set as gray.
    public func decode() -> Decoded {
        var out = Decoded(images: [], unreadable: [])
        for item in items {
            do { out.images.append((item.path, item.label, try GrayImage.read(path: item.path))) } catch {
                out.unreadable.append((item.path, "\(error)"))
            }
        }
        return out
    }

    /// Classifies every image with `cnn` (decoding them first).
    public func score(_ cnn: FoldedCNN, description d: CNNDescription, batch: Int = 64,
                      augmentation: TestTimeAugmentation = .none) throws -> Scores {
        try Self.score(decode(), cnn, description: d, batch: batch, augmentation: augmentation)
    }

    /// Classifies every decoded image with `cnn` (resized to the model's input with bilinear
    /// interpolation as `mien classify --aligned` does), `batch` at a time; with an
    /// `augmentation` the probabilities are the mean over its views of the image.
    public static func score(_ decoded: Decoded, _ cnn: FoldedCNN, description d: CNNDescription, batch: Int = 64,
                             augmentation: TestTimeAugmentation = .none) throws -> Scores {
        let side = d.inputWidth, classes = d.labels.count
        let faces = try decoded.images.map { (_, label, image) -> (label: Int, pixels: [UInt8]) in
            let face = image.width == side && image.height == d.inputHeight ? image
                : try image.resized(width: side, height: d.inputHeight, interpolation: .linear)
            return (label, face.pixels)
        }
        let views = augmentation.views
        var probs: [Float] = []
        var seconds = 0.0
        for first in stride(from: 0, to: faces.count, by: batch) {
            let chunk = faces[first..<min(first + batch, faces.count)]
            var sum = [Float](repeating: 0, count: chunk.count * classes)
            for view in views {
                let pixels = chunk.flatMap { view.apply(to: $0.pixels, width: side, height: d.inputHeight) }
                let x = try d.preprocess(pixels: pixels, count: chunk.count)
                let start = Date()
                let p = try cnn.predict(x).probabilities
                seconds += Date().timeIntervalSince(start)
                for i in sum.indices { sum[i] += p.data[i] }
            }
            probs += sum.map { $0 / Float(views.count) }
        }
        return Scores(probabilities: probs, classes: classes, truth: faces.map(\.label), unreadable: decoded.unreadable,
                      msPerFace: faces.isEmpty ? 0 : seconds * 1000 / Double(faces.count))
    }

    /// The scores of an ensemble: per image, the mean of the members' probabilities (members
    /// scored on the same decoded images); its time per face is the sum of the members'.
    public static func mean(of members: [Scores], truth: [Int]) -> Scores {
        precondition(!members.isEmpty && members.allSatisfy { $0.probabilities.count == members[0].probabilities.count })
        let classes = members[0].metrics.confusion.count
        var probs = [Float](repeating: 0, count: members[0].probabilities.count)
        for m in members { for i in probs.indices { probs[i] += m.probabilities[i] / Float(members.count) } }
        return Scores(probabilities: probs, classes: classes, truth: truth, unreadable: members[0].unreadable,
                      msPerFace: members.map(\.msPerFace).reduce(0, +))
    }
}

/// Test-time augmentation of a still face: the views whose probabilities are averaged.
public enum TestTimeAugmentation: String, CaseIterable, Sendable {
    /// The image as it is.
    case none
    /// The image and its mirror image (twice the CNN time).
    case flip
    /// The image and its mirror, each as it is and shifted by `shift` pixels left, right, up
    /// and down, edges repeated (ten times the CNN time): the training's shift augmentation
    /// undone on average.
    case shifts

    /// Pixels of a shift view (at FER2013's 48×48, ~4 %: inside the training's ±10 % shifts).
    public static let shift = 2

    /// One view: a shift by (dx, dy) pixels, then an optional mirror.
    public struct View: Equatable, Sendable {
        public var dx = 0, dy = 0
        public var mirrored = false

        /// The view of a `width`×`height` gray image: the image shifted (pixel (x, y) takes
        /// the input's (x − dx, y − dy), coordinates clamped to the image), then mirrored
        /// left to right if `mirrored`.
        public func apply(to pixels: [UInt8], width: Int, height: Int) -> [UInt8] {
            if dx == 0 && dy == 0 && !mirrored { return pixels }
            var out = [UInt8](repeating: 0, count: width * height)
            for y in 0..<height {
                let sy = min(max(y - dy, 0), height - 1)
                for x in 0..<width {
                    let mx = mirrored ? width - 1 - x : x
                    out[y * width + x] = pixels[sy * width + min(max(mx - dx, 0), width - 1)]
                }
            }
            return out
        }
    }

    public var views: [View] {
        let plain: [View] = switch self {
        case .none, .flip: [View()]
        case .shifts: [View(), View(dx: Self.shift), View(dx: -Self.shift), View(dy: Self.shift), View(dy: -Self.shift)]
        }
        guard self != .none else { return plain }
        return plain + plain.map { var v = $0; v.mirrored = true; return v }
    }
}
