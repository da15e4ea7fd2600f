import Foundation

/// A mutex with a scoped `withLock`, for the few places state is shared across threads.
final class Lock: @unchecked Sendable {
    private let mutex = NSLock()
    @inline(__always)
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }
}
