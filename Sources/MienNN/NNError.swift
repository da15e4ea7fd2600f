/// An error a user of MienNN can see: a model or weights file that is missing, corrupt or does
/// not match, or an input of the wrong size. `description` is one line naming the file, the
/// tensor or the argument, and what to do about it.
public struct NNError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: Sendable, Equatable {
        case fileUnreadable, fileCorrupt, tensorMissing, shapeMismatch, unsupported, badInput, fileUnwritable
    }
    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) { self.code = code; self.message = message }

    public var description: String { message }

    static func fileUnreadable(_ path: String, _ why: String) -> NNError {
        NNError(.fileUnreadable, "cannot read \(path): \(why)")
    }
    static func fileUnwritable(_ path: String, _ why: String) -> NNError {
        NNError(.fileUnwritable, "cannot write \(path): \(why)")
    }
    static func fileCorrupt(_ path: String, _ why: String) -> NNError {
        NNError(.fileCorrupt, "\(path) is not a valid file: \(why)")
    }
    static func tensorMissing(_ path: String, _ tensor: String, _ hint: String = "") -> NNError {
        NNError(.tensorMissing, "\(path): tensor '\(tensor)' is missing\(hint.isEmpty ? "" : "; \(hint)")")
    }
    static func shapeMismatch(_ path: String, _ tensor: String, found: [Int], expected: [Int]) -> NNError {
        NNError(.shapeMismatch, "\(path): tensor '\(tensor)' has shape \(found) but the model needs \(expected); the weights do not belong to this architecture")
    }
    static func unsupported(_ path: String, _ what: String) -> NNError {
        NNError(.unsupported, "\(path): \(what)")
    }
    static func badInput(_ what: String) -> NNError {
        NNError(.badInput, what)
    }

    /// Whether two errors are the same kind (for tests).
    public func isSameKind(as other: NNError) -> Bool { code == other.code }
    public var isShapeMismatch: Bool { code == .shapeMismatch }
    public var isMissingTensor: Bool { code == .tensorMissing }
    public var isCorrupt: Bool { code == .fileCorrupt }
    public var isUnreadable: Bool { code == .fileUnreadable }
}
