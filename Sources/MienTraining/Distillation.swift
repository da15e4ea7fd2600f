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
        var mean = [Double](repeating: 0, count: set.count * classes)
        for teacher in teachers {
            let d = teacher.description
            guard d.inputChannels == 1 else { throw TrainingError("teacher \(teacher.name) takes \(d.inputChannels) channels; distillation needs a gray CNN") }
            for first in stride(from: 0, to: set.count, by: batch) {
                let rows = first..<min(first + batch, set.count)
                let faces = try rows.map { i -> [UInt8] in
                    let image = GrayImage(width: set.side, height: set.side, pixels: Array(set.image(i)))
                    return image.width == d.inputWidth && image.height == d.inputHeight ? image.pixels
                        : try image.resized(width: d.inputWidth, height: d.inputHeight, interpolation: .linear).pixels
                }
                var p = try teacher.cnn.predict(d.preprocess(pixels: faces.flatMap { $0 }, count: rows.count)).probabilities.data
                if flipAverage {
                    let mirrored = faces.flatMap { f in (0..<d.inputHeight).flatMap { y in f[(y * d.inputWidth)..<((y + 1) * d.inputWidth)].reversed() } }
                    let q = try teacher.cnn.predict(d.preprocess(pixels: mirrored, count: rows.count)).probabilities.data
                    for k in p.indices { p[k] = (p[k] + q[k]) / 2 }
                }
                for (r, i) in rows.enumerated() {
                    let tempered = tempered(p[(r * classes)..<((r + 1) * classes)], temperature: temperature)
                    for j in 0..<classes { mean[i * classes + j] += tempered[j] / Double(teachers.count) }
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
