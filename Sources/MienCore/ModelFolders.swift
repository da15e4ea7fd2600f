import Foundation

/// Where models given by name are looked for: `$MIEN_MODELS`, `./models`, and `models/` of the
/// source tree the binary was built in (found by walking up from the executable).
public enum ModelFolders {
    public static func list() -> [String] {
        var out: [String] = []
        if let env = ProcessInfo.processInfo.environment["MIEN_MODELS"] { out.append(env) }
        out.append((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("models"))
        // .build/<triple>/release/mien → repository root
        var exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            out.append(exe.appendingPathComponent("models").path)
            exe.deleteLastPathComponent()
        }
        return out
    }

    /// The first existing `folder/relativePath` over `list()`, or nil.
    public static func find(_ relativePath: String) -> String? {
        list().map { ($0 as NSString).appendingPathComponent(relativePath) }.first { FileManager.default.fileExists(atPath: $0) }
    }
}
