/// Moves non-Sendable values (sockets, open files) to the thread that will own them.
///
/// ZeroMQ allows a socket to migrate between threads with a full memory barrier between
/// the last use on one and the first on the other; `Thread.start` provides it. The creating
/// thread must not touch the value afterwards.
package struct HandOff<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}
