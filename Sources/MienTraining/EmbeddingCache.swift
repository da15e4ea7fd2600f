import Foundation

/// The per-track embedding sequences `mien extract` writes (`embeddings.jsonl`): one line
/// per face track with its frame indices (ascending), per-frame ground-truth labels, CNN
/// probabilities and CNN embeddings.
public struct TrackSequence: Sendable, Equatable {
    public var video: String
    public var track: Int
    public var frames: [Int]
    public var labels: [String]
    public var cnnProbs: [[Float]]
    public var embeddings: [[Float]]
}

public enum EmbeddingCache {
    /// Reads `embeddings.jsonl`; errors name the file and line.
    public static func read(_ path: String) throws -> [TrackSequence] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainingError("cannot read the embedding cache \(path): run `mien extract` first")
        }
        return try parse(text, path: path)
    }

    /// Parses the text of an `embeddings.jsonl`; errors name `path` and the line.
    public static func parse(_ text: String, path: String) throws -> [TrackSequence] {
        var out: [TrackSequence] = []
        for (n, line) in text.split(separator: "\n").enumerated() {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let video = obj["video"] as? String, let track = obj["track"] as? Int,
                  let frames = obj["frames"] as? [Int], let labels = obj["labels"] as? [String],
                  let probs = obj["cnn_probs"] as? [[Double]], let emb = obj["embeddings"] as? [[Double]],
                  frames.count == labels.count, frames.count == emb.count, frames.count == probs.count else {
                throw TrainingError("\(path) line \(n + 1) is not a track record of `mien extract`: re-run the extraction")
            }
            out.append(TrackSequence(video: video, track: track, frames: frames, labels: labels,
                                     cnnProbs: probs.map { $0.map(Float.init) }, embeddings: emb.map { $0.map(Float.init) }))
        }
        return out
    }
}

/// An error of training a user sees: names the thing and what to do.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
