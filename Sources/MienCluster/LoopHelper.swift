import Foundation

/// A thread of its own that turns requests into results, in submission order, for a socket
/// loop that must never wait on the work (a video probe, a decode): the loop submits, polls
/// `wake.readFD`, and collects. Bounded: at most `capacity` requests are submitted and not yet
/// collected — the loop keeps under it, so neither queue ever blocks it.
final class LoopHelper<Request, Result>: @unchecked Sendable {
    /// Readable when results are waiting.
    let wake: WakePipe
    private let requests: WorkQueue<Request>
    private let results: WorkQueue<Result>
    private let stopped = DispatchSemaphore(value: 0)
    let capacity: Int
    /// Submitted and not yet collected (the loop's thread only).
    private(set) var pending = 0

    /// - Parameter makeWork: called once, on the helper's thread: what it needs there (e.g. a
    ///   decoder with open files) and the function it applies to each request.
    init(name: String, capacity: Int, makeWork: @escaping @Sendable () -> (Request) -> Result) throws {
        self.capacity = max(1, capacity)
        wake = try WakePipe()
        requests = WorkQueue(capacity: self.capacity)
        results = WorkQueue(capacity: self.capacity)
        let (requests, results, wake, stopped) = (requests, results, wake, stopped)
        let thread = Thread {
            let work = makeWork()
            while !requests.isClosed {
                guard let request = requests.take(timeout: 0.5) else { continue }
                results.put(work(request))
                wake.wake()
            }
            stopped.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Queues a request. More than `capacity` uncollected would block the caller's loop for
    /// good (it is the one that collects): a bug, so stop.
    func submit(_ request: Request) {
        precondition(pending < capacity, "\(Request.self) helper: more than \(capacity) requests submitted and not collected")
        pending += 1
        requests.put(request)
    }

    /// The results so far, in submission order.
    func collect() -> [Result] {
        wake.drain()
        let out = results.drain()
        pending -= out.count
        return out
    }

    /// Ends the thread after the request it is working on, if any; with `wait`, waits for that.
    func stop(wait: Bool) {
        requests.close()
        results.close()
        if wait { stopped.wait() }
    }
}
