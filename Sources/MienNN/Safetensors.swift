import Foundation

/// Reader and writer for the safetensors format:
/// 8-byte little-endian header length `L`, then `L` bytes of UTF-8 JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}`,
/// then the raw little-endian tensor data; offsets are relative to the end of the header.
///
/// Reading accepts F32, F64, F16, I32 and I64 (converted to Float32 tensors); writing produces F32
/// (or F64 with `Safetensors.writeFloat64`). Every failure is an `NNError` naming the file and,
/// where it applies, the tensor.
public enum Safetensors {
    /// The tensors of a file with their stored dtypes and the `__metadata__` map.
    public struct Contents: Sendable {
        public var tensors: [String: Tensor]
        public var dtypes: [String: String]
        public var metadata: [String: String]
        /// The names in file-offset order.
        public var names: [String]

        /// The tensor called `name`, or an error naming the file and the tensor.
        public func tensor(_ name: String, path: String, shape expected: [Int]? = nil) throws -> Tensor {
            guard let t = tensors[name] else { throw NNError.tensorMissing(path, name) }
            if let expected, t.shape != expected {
                throw NNError.shapeMismatch(path, name, found: t.shape, expected: expected)
            }
            return t
        }
    }

    private static let dtypeSizes: [String: Int] = ["F32": 4, "F64": 8, "F16": 2, "I32": 4, "I64": 8]

    /// Reads and validates a whole file.
    public static func read(path: String) throws -> Contents {
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "\(error.localizedDescription)" : "no such file"
            throw NNError.fileUnreadable(path, reason)
        }
        return try parse(bytes, path: path)
    }

    /// Parses the bytes of a safetensors file (`path` is only used in error messages).
    public static func parse(_ bytes: [UInt8], path: String) throws -> Contents {
        guard bytes.count >= 8 else { throw NNError.fileCorrupt(path, "\(bytes.count) bytes is shorter than the 8-byte safetensors header length") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8), headerLength <= 100_000_000 else {
            throw NNError.fileCorrupt(path, "header length \(headerLength) exceeds the file size \(bytes.count) (truncated or not safetensors)")
        }
        let headerEnd = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw NNError.fileCorrupt(path, "the JSON header does not parse")
        }
        guard let header = json as? [String: Any] else { throw NNError.fileCorrupt(path, "the JSON header is not an object") }
        let dataLength = bytes.count - headerEnd
        var contents = Contents(tensors: [:], dtypes: [:], metadata: [:], names: [])
        var spans: [(begin: Int, name: String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw NNError.fileCorrupt(path, "__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw NNError.fileCorrupt(path, "__metadata__ value for '\(k)' is not a string") }
                    contents.metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtype = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw NNError.fileCorrupt(path, "tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let size = dtypeSizes[dtype] else {
                throw NNError.unsupported(path, "tensor '\(name)' has dtype \(dtype); supported are F32, F64, F16, I32, I64")
            }
            let shape = try shapeAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw NNError.fileCorrupt(path, "tensor '\(name)' has a bad shape \(shapeAny)") }
                return n
            }
            let offsets = try offsetsAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw NNError.fileCorrupt(path, "tensor '\(name)' has bad data_offsets \(offsetsAny)") }
                return n
            }
            let (begin, end) = (offsets[0], offsets[1])
            let count = shape.reduce(1, *)
            guard begin <= end, end <= dataLength else {
                throw NNError.fileCorrupt(path, "tensor '\(name)' data_offsets [\(begin), \(end)] lie outside the \(dataLength) data bytes (truncated file?)")
            }
            guard end - begin == count * size else {
                throw NNError.fileCorrupt(path, "tensor '\(name)' has \(end - begin) bytes but shape \(shape) of \(dtype) needs \(count * size)")
            }
            var t = Tensor(shape: shape)
            let base = headerEnd + begin
            for i in 0..<count {
                let p = base + i * size
                switch dtype {
                case "F32": t.data[i] = Float(bitPattern: le32(bytes, p))
                case "F64": t.data[i] = Float(Double(bitPattern: le64(bytes, p)))
                case "F16": t.data[i] = Float(Float16(bitPattern: UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8))
                case "I32": t.data[i] = Float(Int32(bitPattern: le32(bytes, p)))
                default: t.data[i] = Float(Int64(bitPattern: le64(bytes, p)))
                }
            }
            contents.tensors[name] = t
            contents.dtypes[name] = dtype
            spans.append((begin, name))
        }
        contents.names = spans.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }.map(\.name)
        return contents
    }

    @inline(__always) private static func le32(_ b: [UInt8], _ p: Int) -> UInt32 {
        UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3]) << 24
    }
    @inline(__always) private static func le64(_ b: [UInt8], _ p: Int) -> UInt64 {
        UInt64(le32(b, p)) | UInt64(le32(b, p + 4)) << 32
    }

    /// Serialises tensors as F32 (names sorted, data in that order, header padded with spaces to 8 bytes).
    public static func serialize(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        let names = tensors.keys.sorted()
        var header: [String: Any] = [:]
        var offset = 0
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]] as [String: Any]
            offset += 4 * t.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var headerBytes = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + headerBytes.count + offset)
        let l = UInt64(headerBytes.count)
        for i in 0..<8 { out.append(UInt8((l >> (8 * UInt64(i))) & 0xFF)) }
        out += headerBytes
        for name in names {
            for v in tensors[name]!.data {
                let bits = v.bitPattern
                out.append(UInt8(bits & 0xFF)); out.append(UInt8((bits >> 8) & 0xFF))
                out.append(UInt8((bits >> 16) & 0xFF)); out.append(UInt8(bits >> 24))
            }
        }
        return out
    }

    /// Writes tensors as an F32 safetensors file.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        let bytes = serialize(tensors, metadata: metadata)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw NNError.fileUnwritable(path, error.localizedDescription)
        }
    }
}
