import Foundation
import MienNN

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
    /// One line of the file, as `mien extract` and `mien train sequences` write it.
    private struct Record: Decodable {
        let video: String
        let track: Int
        let frames: [Int]
        let labels: [String]
        let cnn_probs: [[Double]]
        let embeddings: [[Double]]
    }

    /// Reads `embeddings.jsonl`; errors name the file and line.
    public static func read(_ path: String) throws -> [TrackSequence] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw TrainingError("cannot read the embedding cache \(path): run `mien extract` first")
        }
        return try parse(data, path: path)
    }

    /// Parses the text of an `embeddings.jsonl`; errors name `path` and the line.
    public static func parse(_ text: String, path: String) throws -> [TrackSequence] {
        try parse(Data(text.utf8), path: path)
    }

    /// Parses the bytes of an `embeddings.jsonl`, its lines decoded on every CPU (Foundation's
    /// `JSONDecoder` into a typed record: ~4× faster than `JSONSerialization` on these
    /// number-heavy lines, and a cache of 12 000 photographs' sequences is ~800 MB).
    /// Blank lines are skipped; the first bad line (in file order) is the one reported.
    public static func parse(_ data: Data, path: String) throws -> [TrackSequence] {
        let lines = lineRanges(data)
        var results = [Result<TrackSequence, TrainingError>?](repeating: nil, count: lines.count)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, lines.count))
        results.withUnsafeMutableBufferPointer { buffer in
            let out = UncheckedSendable(buffer)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let decoder = JSONDecoder()
                for i in stride(from: w, to: lines.count, by: workers) {
                    out.value[i] = decode(data.subdata(in: lines[i].bytes), decoder: decoder, line: lines[i].number, path: path)
                }
            }
        }
        return try results.map { try $0!.get() }
    }

    private static func decode(_ line: Data, decoder: JSONDecoder, line n: Int, path: String) -> Result<TrackSequence, TrainingError> {
        guard let r = try? decoder.decode(Record.self, from: line),
              r.frames.count == r.labels.count, r.frames.count == r.embeddings.count, r.frames.count == r.cnn_probs.count else {
            return .failure(TrainingError("\(path) line \(n) is not a track record of `mien extract`: re-run the extraction"))
        }
        return .success(TrackSequence(video: r.video, track: r.track, frames: r.frames, labels: r.labels,
                                      cnnProbs: r.cnn_probs.map { $0.map(Float.init) }, embeddings: r.embeddings.map { $0.map(Float.init) }))
    }

    /// The byte range and 1-based number of every non-blank line.
    private static func lineRanges(_ data: Data) -> [(bytes: Range<Int>, number: Int)] {
        var out: [(bytes: Range<Int>, number: Int)] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress else { return }
            var start = 0, number = 1
            while start < raw.count {
                let end = memchr(base + start, 0x0A, raw.count - start).map { UnsafeRawPointer($0) - base } ?? raw.count
                if raw[start..<end].contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) {
                    out.append((data.startIndex + start ..< data.startIndex + end, number))
                }
                start = end + 1
                number += 1
            }
        }
        return out
    }
}

/// An error of training a user sees: names the thing and what to do.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
