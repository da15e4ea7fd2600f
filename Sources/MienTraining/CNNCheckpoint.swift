import Foundation
import MienCore
import MienNN

/// Everything `CNNTrainer` needs to continue a run exactly where it stopped, written after
/// every epoch as one safetensors file `epoch-NNNN.safetensors` (atomically: a temporary file
/// renamed into place, so a kill mid-write leaves the previous checkpoint intact).
///
/// Tensors: `model/<name>` (current weights and batch-norm statistics), `best/<name>` (those
/// of the best-validation-loss epoch so far), `adam.m/<name>`, `adam.v/<name>` (Adam's moments).
/// Metadata: format, epoch, Adam step count, RNG state, best epoch and loss (bit patterns, so
/// they round-trip exactly), whether early stopping ended the run, the history as JSON, and a
/// fingerprint of the data and settings (a resume with other data or settings is refused).
public struct CNNCheckpoint {
    public static let format = "mien-cnn-checkpoint-1"

    public var epoch: Int
    public var model: [String: Tensor]
    public var best: [String: Tensor]
    public var bestEpoch: Int
    public var bestLoss: Double
    public var adamIterations: Int
    public var adamM: [String: Tensor]
    public var adamV: [String: Tensor]
    public var rngState: UInt64
    public var stopped: Bool
    public var history: [BiLSTMTrainer.Epoch]
    public var fingerprint: String

    public static func fileName(epoch: Int) -> String { "epoch-" + String(format: "%04d", epoch) + ".safetensors" }

    /// Writes the checkpoint into `directory` (created if needed). Returns its path.
    @discardableResult
    public func write(to directory: String) throws -> String {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create the checkpoint folder \(directory): \(error.localizedDescription)")
        }
        var tensors: [String: Tensor] = [:]
        for (k, v) in model { tensors["model/" + k] = v }
        for (k, v) in best { tensors["best/" + k] = v }
        for (k, v) in adamM { tensors["adam.m/" + k] = v }
        for (k, v) in adamV { tensors["adam.v/" + k] = v }
        let historyJSON = String(decoding: try JSONEncoder().encode(history), as: UTF8.self)
        let metadata = [
            "format": Self.format, "epoch": String(epoch), "adam_iterations": String(adamIterations),
            "rng_state": String(rngState), "best_epoch": String(bestEpoch), "best_loss_bits": String(bestLoss.bitPattern),
            "stopped": stopped ? "true" : "false", "history": historyJSON, "fingerprint": fingerprint,
        ]
        let path = (directory as NSString).appendingPathComponent(Self.fileName(epoch: epoch))
        do { try Safetensors.write(tensors, metadata: metadata, to: path) } catch {
            throw TrainingError("cannot write the checkpoint \(path): \(error)")
        }
        return path
    }

    /// The checkpoint files in `directory`, oldest epoch first.
    public static func list(in directory: String) -> [(epoch: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("epoch-"), name.hasSuffix(".safetensors"),
                  let e = Int(name.dropFirst(6).dropLast(12)) else { return nil }
            return (e, (directory as NSString).appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// Reads one checkpoint file; errors name the file.
    public static func read(path: String) throws -> CNNCheckpoint {
        let c: Safetensors.Contents
        do { c = try Safetensors.read(path: path) } catch { throw TrainingError("cannot read the checkpoint \(path): \(error)") }
        let m = c.metadata
        func need(_ key: String) throws -> String {
            guard let v = m[key] else { throw TrainingError("\(path) is not a Mien CNN checkpoint: metadata '\(key)' is missing") }
            return v
        }
        guard try need("format") == format else {
            throw TrainingError("\(path) has format \(m["format"] ?? "?"), expected \(format): it was written by another version; start without --resume")
        }
        guard let epoch = Int(try need("epoch")), let iterations = Int(try need("adam_iterations")),
              let rng = UInt64(try need("rng_state")), let bestEpoch = Int(try need("best_epoch")),
              let bestBits = UInt64(try need("best_loss_bits")) else {
            throw TrainingError("\(path): a numeric metadata field does not parse; the file is damaged, delete it to resume from the one before")
        }
        let history: [BiLSTMTrainer.Epoch]
        do { history = try JSONDecoder().decode([BiLSTMTrainer.Epoch].self, from: Data(try need("history").utf8)) } catch {
            throw TrainingError("\(path): the history does not parse; the file is damaged, delete it to resume from the one before")
        }
        func group(_ prefix: String) -> [String: Tensor] {
            var out: [String: Tensor] = [:]
            for (k, v) in c.tensors where k.hasPrefix(prefix) { out[String(k.dropFirst(prefix.count))] = v }
            return out
        }
        return CNNCheckpoint(epoch: epoch, model: group("model/"), best: group("best/"), bestEpoch: bestEpoch,
                             bestLoss: Double(bitPattern: bestBits), adamIterations: iterations, adamM: group("adam.m/"),
                             adamV: group("adam.v/"), rngState: rng, stopped: try need("stopped") == "true",
                             history: history, fingerprint: try need("fingerprint"))
    }
}
