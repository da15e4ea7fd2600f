import Foundation

/// A socket loop's stop request and its "ended" signal, shared by the workers: any thread may
/// `requestStop()`; the loop polls `isStopRequested` and calls `markEnded()` once when it leaves;
/// `waitUntilEnded()` returns once it has, for any number of waiters, any number of times.
package final class StopLatch: @unchecked Sendable {
    package init() {}
    private let lock = NSLock()
    private var requested = false
    private let ended = DispatchSemaphore(value: 0)

    package func requestStop() { lock.withLock { requested = true } }

    package var isStopRequested: Bool { lock.withLock { requested } }

    /// The loop has ended (a stop counts as requested from now on).
    package func markEnded() {
        requestStop()
        ended.signal()
    }

    package func waitUntilEnded() {
        ended.wait()
        ended.signal()
    }
}
