import Foundation
import MienCore
import MienVision

/// A Mien model bundle: a folder with `bundle.json` naming its CNN and BiLSTM folders
/// (relative to the bundle), and what they were trained on.
///
///     {"name": "synthetic", "cnn": "../fer2013", "bilstm": "bilstm", "trained_on": "…"}
public struct ModelBundleRef: Sendable {
    /// The bundle every command uses without `--model`: `$MIEN_MODEL` when set (the variable the
    /// deployment files set for the roles), else `fer2013-mien`, the CNN fine-tuned on FER2013's
    /// real photographs with the BiLSTM that refines its window mean
    /// (`models/fer2013-mien/README.md`). `synthetic` stays a named bundle for the synthetic
    /// samples and the tests that run them.
    public static var defaultName: String {
        if let name = ProcessInfo.processInfo.environment["MIEN_MODEL"], !name.isEmpty { return name }
        return "fer2013-mien"
    }

    public var name: String
    public var directory: String
    public var cnnDirectory: String
    public var bilstmDirectory: String
    public var trainedOn: String

    /// Resolves a bundle given by path, or by name in the model folders: `$MIEN_MODELS`,
    /// `./models`, and `models/` of the source tree the binary was built in.
    public static func resolve(_ nameOrPath: String) throws -> ModelBundleRef {
        let fm = FileManager.default
        var candidates = [nameOrPath]
        if !nameOrPath.contains("/") {
            candidates += searchFolders().map { ($0 as NSString).appendingPathComponent(nameOrPath) }
        }
        for dir in candidates {
            let json = (dir as NSString).appendingPathComponent("bundle.json")
            guard fm.fileExists(atPath: json) else { continue }
            guard let data = fm.contents(atPath: json),
                  let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let cnn = obj["cnn"] as? String, let bilstm = obj["bilstm"] as? String else {
                throw ClusterError.model("\(json) is not a valid bundle description: it needs \"cnn\" and \"bilstm\" folders")
            }
            let rel = { (p: String) in p.hasPrefix("/") ? p : ((dir as NSString).appendingPathComponent(p) as NSString).standardizingPath }
            return ModelBundleRef(name: obj["name"] as? String ?? (dir as NSString).lastPathComponent, directory: dir,
                                  cnnDirectory: rel(cnn), bilstmDirectory: rel(bilstm), trainedOn: obj["trained_on"] as? String ?? "")
        }
        throw ClusterError.model("no model bundle \"\(nameOrPath)\" (looked for bundle.json in \(candidates.joined(separator: ", "))): give --model a bundle folder or set MIEN_MODELS")
    }

    /// The folders searched for models given by name.
    public static func searchFolderList() -> [String] { searchFolders() }

    static func searchFolders() -> [String] { ModelFolders.list() }
}
