import Foundation

/// Where models given by name are looked for: `$MIEN_MODELS`, `./models`, and `models/` of the
/// source tree the binary was built in (found by walking up from the executable).
public enum ModelFolders {
    public static func list() -> [String] {
        var out: [String] = []
        if let env = ProcessInfo.processInfo.environment["MIEN_MODELS"] { out.append(env) }
        out.append((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("models"))
        // .build/<triple>/release/mien → repository root. The running executable's own path
        // (/proc/self/exe), not argv[0]: a `mien` found on $PATH has argv[0] "mien", which would
        // resolve against the working directory.
        let argv0 = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        let running = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map { URL(fileURLWithPath: $0) }
        var exe = (running ?? argv0).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            out.append(exe.appendingPathComponent("models").path)
            exe.deleteLastPathComponent()
        }
        // Near the root the walk repeats itself (/models from /, /tmp/mien…); each folder once.
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// The first existing `folder/relativePath` over `list()`, or nil.
    public static func find(_ relativePath: String) -> String? {
        list().map { ($0 as NSString).appendingPathComponent(relativePath) }.first { FileManager.default.fileExists(atPath: $0) }
    }
}
