import Foundation

/// A report problem the user can fix (a file that is not what it should be).
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Per-epoch figures of a training run, read from the `training.json` that `mien train`
/// writes beside a model: `{"history": [{"epoch", "train_loss", "train_accuracy",
/// "validation_loss", "validation_accuracy"}, …], …settings}`. Keras-style names
/// (`loss`, `accuracy`/`acc`, `val_loss`, `val_accuracy`/`val_acc`) are read too.
public struct TrainingHistory: Sendable {
    /// Which model was trained (e.g. "BiLSTM", "CNN").
    public var model: String
    /// Where the figures came from.
    public var source: String
    public var epochs: [Double]
    /// nil where an epoch lacks the figure.
    public var trainLoss: [Double?]
    public var validationLoss: [Double?]
    public var trainAccuracy: [Double?]
    public var validationAccuracy: [Double?]
    /// The report's scalar settings (window, units, learning rate, …), key → text, sorted by key.
    public var settings: [(key: String, value: String)]

    public init(model: String, source: String, epochs: [Double], trainLoss: [Double?], validationLoss: [Double?],
                trainAccuracy: [Double?], validationAccuracy: [Double?], settings: [(key: String, value: String)] = []) {
        self.model = model
        self.source = source
        self.epochs = epochs
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
        self.settings = settings
    }

    /// - Throws: `ReportError` naming `source` when the data is not JSON or has no `history` list.
    public static func parse(_ data: Data, model: String, source: String) throws -> TrainingHistory {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ReportError("\(source) is not a JSON object: expected the training.json that `mien train` writes")
        }
        guard let history = root["history"] as? [[String: Any]] else {
            throw ReportError("\(source) has no \"history\" list of epochs: expected the training.json that `mien train` writes")
        }
        func value(_ e: [String: Any], _ keys: [String]) -> Double? {
            for k in keys { if let n = e[k] as? NSNumber { return n.doubleValue } }
            return nil
        }
        var h = TrainingHistory(model: model, source: source, epochs: [], trainLoss: [], validationLoss: [], trainAccuracy: [], validationAccuracy: [])
        for (i, e) in history.enumerated() {
            h.epochs.append(value(e, ["epoch"]) ?? Double(i + 1))
            h.trainLoss.append(value(e, ["train_loss", "loss"]))
            h.validationLoss.append(value(e, ["validation_loss", "val_loss"]))
            h.trainAccuracy.append(value(e, ["train_accuracy", "accuracy", "acc"]))
            h.validationAccuracy.append(value(e, ["validation_accuracy", "val_accuracy", "val_acc"]))
        }
        h.settings = root.keys.sorted().compactMap { k in
            switch root[k] {
            case let s as String: return (k, s)
            case let n as NSNumber:
                // 6 significant digits: a Float setting stored as Double (0.2 → 0.20000000298…) reads as set.
                let v = n.doubleValue
                return (k, v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.6g", v))
            default: return nil
            }
        }
        return h
    }

    /// Reads `path`; nil when the file does not exist.
    public static func load(_ path: String, model: String) throws -> TrainingHistory? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportError("cannot read \(path): check permissions") }
        return try parse(data, model: model, source: path)
    }

    static func points(_ epochs: [Double], _ values: [Double?]) -> [(x: Double, y: Double)] {
        zip(epochs, values).compactMap { e, v in v.map { (e, $0) } }
    }

    /// The loss curves (training and validation) as a line chart.
    public func lossChart(id: String) -> SVG {
        Charts.lineChart(id: id, title: "\(model): loss per epoch", xLabel: "epoch", yLabel: "cross-entropy (nats)", series: [
            .init(name: "train", colour: Charts.modelColours.cnn, points: TrainingHistory.points(epochs, trainLoss)),
            .init(name: "validation", colour: Charts.modelColours.bilstm, points: TrainingHistory.points(epochs, validationLoss), dashed: true),
        ].filter { !$0.points.isEmpty })
    }

    /// The accuracy curves (training and validation) as a line chart over 0…1.
    public func accuracyChart(id: String) -> SVG {
        Charts.lineChart(id: id, title: "\(model): accuracy per epoch", xLabel: "epoch", yLabel: "accuracy", series: [
            .init(name: "train", colour: Charts.modelColours.cnn, points: TrainingHistory.points(epochs, trainAccuracy)),
            .init(name: "validation", colour: Charts.modelColours.bilstm, points: TrainingHistory.points(epochs, validationAccuracy), dashed: true),
        ].filter { !$0.points.isEmpty }, yDomain: (0, 1))
    }
}
