import Foundation
import MienCore
import MienVision

/// The FER2013 CSV format (Kaggle "Challenges in Representation Learning"): a header naming
/// `emotion`, `pixels` and optionally `Usage`, then one face per line: `emotion` is the class
/// index 0–6 in FER order (angry, disgust, fear, happy, sad, surprise, neutral — Mien's label
/// order), `pixels` 48·48 = 2304 space-separated gray values 0–255 row by row (any square
/// n×n is accepted, e.g. the 64×64 crops `mien train cnn --save-crops` writes), `Usage` one of
/// `Training`, `PublicTest`, `PrivateTest`.
///
/// Faces are resized to the CNN's input side with OpenCV's bilinear `resize` (what the `fer`
/// package does to every face before its mini-Xception). `Usage` decides the split:
/// Training → train, PublicTest → validation, PrivateTest → test; a file without the column is
/// split stratified and seeded (each face its own group).
public enum FER2013CSV {
    public static let sourceSide = 48

    /// Reads the file; errors name the file and the line.
    /// Writes splits in this format (`Usage`: train → Training, validation → PublicTest,
    /// test → PrivateTest), so a crop set made once from videos can be trained on again with
    /// exactly the same split.
    public static func write(_ splits: FaceImageSplits, to path: String) throws {
        var out = "emotion,pixels,Usage\n"
        for (set, usage) in [(splits.train, "Training"), (splits.validation, "PublicTest"), (splits.test, "PrivateTest")] {
            for i in 0..<set.count {
                out += "\(set.labels[i]),\(set.image(i).map { String($0) }.joined(separator: " ")),\(usage)\n"
            }
        }
        do { try out.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw TrainingError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    public static func read(path: String, side: Int = 64, labels: [String] = ExpressionClass.labels,
                            fractions: (train: Double, validation: Double) = (0.8, 0.1), seed: UInt64 = 1) throws -> FaceImageSplits {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file")")
        }
        let bytes = [UInt8](data)
        var lines: [ArraySlice<UInt8>] = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        func text(_ s: ArraySlice<UInt8>) -> String {
            String(decoding: s, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r\" "))
        }
        guard let headerLine = lines.first else { throw TrainingError("\(path) is empty: expected a FER2013 CSV with header emotion,pixels,Usage") }
        let header = headerLine.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(text)
        guard let ei = header.firstIndex(of: "emotion"), let pi = header.firstIndex(of: "pixels") else {
            throw TrainingError("\(path) line 1: header \"\(text(headerLine))\" lacks the columns emotion and pixels (FER2013 CSV: emotion,pixels,Usage)")
        }
        let ui = header.firstIndex(of: "Usage")
        var parts = [FaceImageSet](repeating: FaceImageSet(side: side), count: 3)   // train, validation, test
        var pool = FaceImageSet(side: side)
        var n = -1, sourceSide = Self.sourceSide   // fixed by the first row
        for (k, line) in lines.enumerated().dropFirst() {
            let lineNo = k + 1
            if line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") }) { continue }   // blank line
            let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            guard fields.count == header.count else {
                throw TrainingError("\(path) line \(lineNo): \(fields.count) fields, the header has \(header.count)")
            }
            guard let emotion = Int(text(fields[ei])), emotion >= 0, emotion < labels.count else {
                throw TrainingError("\(path) line \(lineNo): emotion \"\(text(fields[ei]))\" is not a class index 0–\(labels.count - 1) (\(labels.joined(separator: ", ")))")
            }
            var pixels = [UInt8](); pixels.reserveCapacity(n)
            var value = -1
            for b in fields[pi] {
                if b >= 48 && b <= 57 {
                    value = (value < 0 ? 0 : value) * 10 + Int(b - 48)
                    if value > 255 { throw TrainingError("\(path) line \(lineNo): a pixel value exceeds 255") }
                } else if b == 32 || b == 34 || b == 13 || b == 9 {   // space, quote, CR, tab
                    if value >= 0 { pixels.append(UInt8(value)); value = -1 }
                } else {
                    throw TrainingError("\(path) line \(lineNo): pixels contain \"\(String(decoding: [b], as: UTF8.self))\"; expected space-separated integers 0–255")
                }
            }
            if value >= 0 { pixels.append(UInt8(value)) }
            if n < 0 {
                let r = Int(Double(pixels.count).squareRoot().rounded())
                if r >= 8 && r * r == pixels.count { n = pixels.count; sourceSide = r }
            }
            guard pixels.count == n else {
                throw TrainingError("\(path) line \(lineNo): \(pixels.count) pixel values, expected \(n < 0 ? "a square image (FER2013: 2304 = 48×48)" : "\(n) (\(sourceSide)×\(sourceSide), as in the first row)")")
            }
            let face = side == sourceSide ? pixels
                : try GrayImage(width: sourceSide, height: sourceSide, pixels: pixels).resized(width: side, height: side, interpolation: .linear).pixels
            let source = "\((path as NSString).lastPathComponent):\(lineNo)"
            if let ui {
                let usage = text(fields[ui])
                guard let split = ["Training": 0, "PublicTest": 1, "PrivateTest": 2][usage] else {
                    throw TrainingError("\(path) line \(lineNo): Usage \"\(usage)\" is not Training, PublicTest or PrivateTest")
                }
                parts[split].append(pixels: face, label: emotion, group: source, source: source)
            } else {
                pool.append(pixels: face, label: emotion, group: source, source: source)
            }
        }
        if ui == nil {
            var s = FaceImageSplits.grouped(pool, classNames: labels, fractions: fractions, seed: seed)
            s.how = "FER2013 CSV without Usage: " + s.how
            return s
        }
        return FaceImageSplits(train: parts[0], validation: parts[1], test: parts[2],
                               how: "FER2013 Usage column: Training → train, PublicTest → validation, PrivateTest → test")
    }
}
