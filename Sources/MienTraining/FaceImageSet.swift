import Foundation
import MienCore

/// Labelled gray face crops for training the CNN: `count` images of `side × side` 8-bit pixels
/// (row-major, concatenated), a class index each, the group each comes from (a video, or the
/// image itself) for grouped splits, and where each came from (for messages).
public struct FaceImageSet: Sendable {
    public let side: Int
    public private(set) var pixels: [UInt8]
    public private(set) var labels: [Int]
    public private(set) var groups: [String]
    public private(set) var sources: [String]

    public init(side: Int) {
        precondition(side > 0, "image side must be positive")
        self.side = side
        pixels = []; labels = []; groups = []; sources = []
    }

    public var count: Int { labels.count }

    /// Appends one image (`side²` pixels).
    public mutating func append(pixels image: [UInt8], label: Int, group: String, source: String) {
        precondition(image.count == side * side, "image must have \(side * side) pixels, got \(image.count)")
        pixels += image
        labels.append(label)
        groups.append(group)
        sources.append(source)
    }

    /// Pixels of image `i`.
    public func image(_ i: Int) -> ArraySlice<UInt8> { pixels[(i * side * side)..<((i + 1) * side * side)] }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> FaceImageSet {
        var out = FaceImageSet(side: side)
        out.pixels.reserveCapacity(indices.count * side * side)
        for i in indices { out.append(pixels: Array(image(i)), label: labels[i], group: groups[i], source: sources[i]) }
        return out
    }

    /// The images whose group is in `keep`.
    public func subset(groups keep: Set<String>) -> FaceImageSet {
        subset(groups.indices.filter { keep.contains(groups[$0]) })
    }

    /// Images per class index (`classes` entries).
    public func classCounts(classes: Int) -> [Int] {
        var c = [Int](repeating: 0, count: classes)
        for l in labels where l >= 0 && l < classes { c[l] += 1 }
        return c
    }

    /// The label of each group: its most frequent class (ties to the lower index). Used to
    /// stratify grouped splits when no group label is given.
    public func majorityLabels(classNames: [String]) -> [String: String] {
        var counts: [String: [Int]] = [:]
        for (g, l) in zip(groups, labels) { counts[g, default: [Int](repeating: 0, count: classNames.count)][l] += 1 }
        return counts.mapValues { c in classNames[c.indices.max { (c[$0], $1) < (c[$1], $0) }!] }
    }
}

/// Train / validation / test sets of face images.
public struct FaceImageSplits: Sendable {
    public var train: FaceImageSet
    public var validation: FaceImageSet
    public var test: FaceImageSet
    /// How the split was made (for training.json and progress lines).
    public var how: String

    public init(train: FaceImageSet, validation: FaceImageSet, test: FaceImageSet, how: String) {
        self.train = train; self.validation = validation; self.test = test; self.how = how
    }

    /// Splits `all` by group: stratified by each group's label (`groupLabels`, else the
    /// group's majority class), no group in two splits, seeded (`GroupedSplit`).
    public static func grouped(_ all: FaceImageSet, groupLabels: [String: String]? = nil, classNames: [String],
                               fractions: (train: Double, validation: Double), seed: UInt64) -> FaceImageSplits {
        var labels = all.majorityLabels(classNames: classNames)
        if let groupLabels { for g in labels.keys { if let l = groupLabels[g] { labels[g] = l } } }
        let s = GroupedSplit.split(videoLabels: labels, fractions: fractions, seed: seed)
        return FaceImageSplits(train: all.subset(groups: s.train), validation: all.subset(groups: s.validation),
                               test: all.subset(groups: s.test),
                               how: "grouped by \(labels.count) groups, stratified, seed \(seed), fractions " + String(format: "%.2f/%.2f/%.2f", fractions.train, fractions.validation, 1 - fractions.train - fractions.validation))
    }

    /// Throws when a split the trainer needs is empty or the training set lacks a class that
    /// the validation set has (it could never be learnt).
    public func check(classNames: [String]) throws {
        guard train.count > 0 else { throw TrainingError("the training split is empty: give more data or raise --train-fraction") }
        guard validation.count > 0 else {
            throw TrainingError("the validation split is empty (early stopping needs it): give more videos/images or raise --validation-fraction")
        }
        let t = train.classCounts(classes: classNames.count), v = validation.classCounts(classes: classNames.count)
        if let missing = classNames.indices.first(where: { t[$0] == 0 && v[$0] > 0 }) {
            throw TrainingError("class \"\(classNames[missing])\" has validation images but no training images: add data of that class")
        }
    }
}
