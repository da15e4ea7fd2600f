import Foundation
import MienCore
import MienNN
import MienVision

/// Knowledge distillation from one or more trained CNNs (the teachers) into the CNN being
/// trained (the student), in its "soft label" form (Hinton et al. 2015, with the student at
/// temperature 1): each training image's target is
///
///     (1 − weight) · one-hot(label)  +  weight · teacher(image)
///
/// where teacher(image) is the mean over the teachers of softmax(logits / T), each teacher seeing
/// the image at its own input size (bilinear, as `mien classify --aligned` resizes) and, with
/// `flipAverage`, averaged with its mirror image. The student's loss is the cross-entropy with
/// that target, whose gradient is p − target: no other change to training.
///
/// The teachers' outputs are computed once, before training, on the unaugmented images
/// ("offline" distillation): the student then sees augmented versions of an image against its
/// unaugmented image's teacher target. That costs one inference pass over the training set
/// instead of one per epoch; augmentation here is mild (shifts, small rotations, flips), under
/// which the teacher's output barely moves.
///
/// Why: an ensemble of two CNNs that err differently scores above either, but the pipeline runs
/// one CNN per face; distillation carries part of the ensemble's gain into one CNN of the
/// student's cost.
public struct Distillation: Sendable {
    /// Per training image (in the training set's order), per class: the teachers' mean
    /// tempered probabilities.
    public let targets: [Float]
    public let classes: Int
    /// Weight of the teacher's target against the one-hot label (0…1).
    public let weight: Float
    /// What the targets came from, for reports and the resume fingerprint.
    public let provenance: String

    public init(targets: [Float], classes: Int, weight: Float, provenance: String) {
        precondition(classes > 0 && targets.count % classes == 0 && (0...1).contains(weight))
        self.targets = targets
        self.classes = classes
        self.weight = weight
        self.provenance = provenance
    }

    /// A teacher: a CNN, how it preprocesses, and its name for reports.
    public struct Teacher {
        public let cnn: FoldedCNN
        public let description: CNNDescription
        public let name: String
        public init(cnn: FoldedCNN, description: CNNDescription, name: String) {
            self.cnn = cnn
            self.description = description
            self.name = name
        }
    }

    /// The teachers' targets on `set` (every image, in order), `batch` images per inference.
    /// - Parameter temperature: T > 0; 1 keeps the teachers' probabilities, larger softens them
    ///   (softmax(z / T) = p^(1/T) / Σ p^(1/T), computed from the probabilities in float64).
    public static func targets(of teachers: [Teacher], on set: FaceImageSet, temperature: Double, flipAverage: Bool,
                               batch: Int = 128) throws -> [Float] {
        precondition(!teachers.isEmpty && temperature > 0)
        let classes = teachers[0].description.labels.count
        guard teachers.allSatisfy({ $0.description.labels == teachers[0].description.labels }) else {
            throw TrainingError("the teachers have different labels: \(teachers.map { "\($0.name) \($0.description.labels)" }.joined(separator: "; "))")
        }
        // The images once, as `mien evaluate` reads stills; each teacher scores them as it does
        // (resized to its input, flip-averaged): `LabelledStills.score`.
        let decoded = LabelledStills.Decoded(
            images: (0..<set.count).map { (set.sources[$0], set.labels[$0], GrayImage(width: set.side, height: set.side, pixels: Array(set.image($0)))) },
            unreadable: [])
        var mean = [Double](repeating: 0, count: set.count * classes)
        for teacher in teachers {
            guard teacher.description.inputChannels == 1 else {
                throw TrainingError("teacher \(teacher.name) takes \(teacher.description.inputChannels) channels; distillation needs a gray CNN")
            }
            let p = try LabelledStills.score(decoded, teacher.cnn, description: teacher.description, batch: batch,
                                             augmentation: flipAverage ? .flip : .none).probabilities
            for i in 0..<set.count {
                for (j, v) in tempered(p[(i * classes)..<((i + 1) * classes)], temperature: temperature).enumerated() {
                    mean[i * classes + j] += v / Double(teachers.count)
                }
            }
        }
        return mean.map { Float($0) }
    }

    /// softmax(log p / T): the distribution `p` at temperature T.
    static func tempered(_ p: ArraySlice<Float>, temperature: Double) -> [Double] {
        let logs = p.map { log(max(Double($0), 1e-30)) / temperature }
        let top = logs.max() ?? 0
        let e = logs.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Blends the teachers' targets of the training images at `indices` into `targets` (one row
    /// per index, `classes` per row, holding the label targets).
    func blend(into targets: inout Tensor, indices: [Int]) {
        for (row, i) in indices.enumerated() {
            for j in 0..<classes {
                let k = row * classes + j
                targets.data[k] = (1 - weight) * targets.data[k] + weight * self.targets[i * classes + j]
            }
        }
    }

    /// Accuracy of the targets' argmax against `labels` (how good the teacher is on the
    /// training images).
    public func agreement(with labels: [Int]) -> Double {
        var right = 0
        for (i, label) in labels.enumerated() {
            var best = 0
            for j in 1..<classes where targets[i * classes + j] > targets[i * classes + best] { best = j }
            if best == label { right += 1 }
        }
        return Double(right) / Double(max(labels.count, 1))
    }
}

extension Distillation {
    /// Per-image class probabilities saved by `mien evaluate` on still images
    /// (`predictions-<model>.csv`: `path,truth,predicted,p_<class>…`), as teacher output.
    public struct SavedPredictions: Sendable {
        /// Image path → probabilities in `labels` order.
        public var rows: [String: [Float]] = [:]
        public var labels: [String] = []

        public init() {}

        /// Reads the files and keeps every row; a path given twice is an error (which row
        /// would teach?).
        public static func read(_ paths: [String], labels: [String]) throws -> SavedPredictions {
            var out = SavedPredictions()
            out.labels = labels
            for path in paths {
                let text: String
                do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                    throw TrainingError("cannot read the predictions \(path): \(error.localizedDescription)")
                }
                var lines = text.split(whereSeparator: \.isNewline).map(String.init).makeIterator()
                guard let header = lines.next().map(csvFields) else { throw TrainingError("\(path) is empty: expected mien evaluate's predictions CSV") }
                let columns = labels.map { header.firstIndex(of: "p_" + $0) }
                guard header.first == "path", columns.allSatisfy({ $0 != nil }) else {
                    throw TrainingError("\(path) is not a predictions CSV of mien evaluate: its header needs path and p_\(labels.joined(separator: ", p_"))")
                }
                var n = 1
                while let line = lines.next() {
                    n += 1
                    let cells = csvFields(line)
                    let probs = cells.count == header.count ? columns.compactMap { Float(cells[$0!]) } : []
                    guard probs.count == labels.count else {
                        throw TrainingError("\(path) line \(n): expected \(header.count) fields with numeric probabilities")
                    }
                    guard out.rows.updateValue(probs, forKey: cells[0]) == nil else {
                        throw TrainingError("\(path) line \(n): \(cells[0]) has predictions already (from this file or an earlier one)")
                    }
                }
            }
            return out
        }

        /// The rows in the order of `set`'s images, matched by the image's source (its path
        /// relative to the class folders' root, `class/file`) against the end of each row's path.
        public func probabilities(for set: FaceImageSet) throws -> [Float] {
            var bySuffix: [String: (path: String, probs: [Float])] = [:]
            for (path, probs) in rows {
                let key = path.split(separator: "/").suffix(2).joined(separator: "/")
                if let other = bySuffix.updateValue((path, probs), forKey: key) {
                    throw TrainingError("the predictions of \(other.path) and \(path) both end in \(key): give the predictions of one set of class folders")
                }
            }
            var out: [Float] = []
            out.reserveCapacity(set.count * labels.count)
            for (i, source) in set.sources.enumerated() {
                guard let probs = bySuffix[source]?.probs else {
                    throw TrainingError("no saved prediction for training image \(i) (\(source)): the predictions must cover every training image, matched by class folder and file name")
                }
                out += probs
            }
            return out
        }

        /// One CSV line's fields (double quotes around a field holding commas or quotes; `""`
        /// inside is one quote), as `mien evaluate` writes them.
        static func csvFields(_ line: String) -> [String] {
            var fields: [String] = [], field = "", quoted = false, closedQuote = false
            for c in line {
                if quoted {
                    if c == "\"" { quoted = false; closedQuote = true } else { field.append(c) }
                } else if c == "\"" {
                    if closedQuote { field.append("\"") }   // "" inside a quoted field
                    quoted = true
                    closedQuote = false
                } else if c == "," {
                    fields.append(field)
                    field = ""
                    closedQuote = false
                } else {
                    field.append(c)
                    closedQuote = false
                }
            }
            fields.append(field)
            return fields
        }
    }

    /// Targets from saved predictions (e.g. out-of-fold teachers: each half of the training
    /// images scored by a CNN trained on the other half), tempered as the teachers' are.
    public static func targets(from saved: SavedPredictions, on set: FaceImageSet, temperature: Double) throws -> [Float] {
        let p = try saved.probabilities(for: set), k = saved.labels.count
        var out = [Float](repeating: 0, count: p.count)
        for i in 0..<set.count {
            for (j, v) in tempered(p[(i * k)..<((i + 1) * k)], temperature: temperature).enumerated() { out[i * k + j] = Float(v) }
        }
        return out
    }
}
