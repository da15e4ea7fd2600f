import Foundation

/// A bounded, blocking hand-off between two threads (socket loop ⇄ compute thread).
/// `put` blocks while full; `take` blocks while empty, up to a timeout; `close` wakes everyone.
package final class WorkQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false
    let capacity: Int

    package init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    /// Adds an item, waiting for room. Returns false once closed.
    @discardableResult
    package func put(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The next item, waiting up to `timeout` seconds; nil on timeout or once closed and empty.
    package func take(timeout: TimeInterval) -> Item? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while items.isEmpty && !closed {
            if !condition.wait(until: deadline) { return nil }
        }
        if items.isEmpty { return nil }
        condition.broadcast()
        return items.removeFirst()
    }

    /// Removes everything waiting without blocking.
    package func drain() -> [Item] {
        condition.lock()
        defer { condition.unlock() }
        let out = items
        items.removeAll()
        condition.broadcast()
        return out
    }

    /// Puts items taken by `drain` back at the front, in order (they were admitted once, so the
    /// capacity does not apply): results that could not be sent wait for the next try.
    package func putBack(_ returned: [Item]) {
        guard !returned.isEmpty else { return }
        condition.lock()
        items.insert(contentsOf: returned, at: 0)
        condition.broadcast()
        condition.unlock()
    }

    package var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    package func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
