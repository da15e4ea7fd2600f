import Logging

extension Logger {
    /// A logger that drops everything: the roles' default when no logger is given (tests,
    /// embedded use), so nothing goes to swift-log's global default (stdout).
    public static func quiet(_ label: String) -> Logger {
        Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
    }
}
