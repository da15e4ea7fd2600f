import Foundation

/// A socket loop's stop request and its "ended" signal, shared by the workers: any thread may
/// `requestStop()`; the loop polls `isStopRequested` and calls `markEnded()` once when it leaves;
/// `waitUntilEnded()` returns once it has, for any number of waiters, any number of times.
final class StopLatch: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private let ended = DispatchSemaphore(value: 0)

    func requestStop() { lock.withLock { requested = true } }

    var isStopRequested: Bool { lock.withLock { requested } }

    /// The loop has ended (a stop counts as requested from now on).
    func markEnded() {
        requestStop()
        ended.signal()
    }

    func waitUntilEnded() {
        ended.wait()
        ended.signal()
    }
}
