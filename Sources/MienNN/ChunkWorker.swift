import Foundation
import Synchronization

/// The second thread of `BatchChunks` when it runs on two: one persistent worker thread that
/// takes the odd chunks of every call while the caller takes the even ones.
///
/// Why not `DispatchQueue.concurrentPerform` (used for more threads): a training step makes
/// ~70 parallel calls (every layer's passes), each a few hundred µs; handing work to a pool
/// thread through the kernel costs tens of µs a call, and which thread takes which chunk
/// changes from call to call, so a chunk's activations, written into one core's cache by one
/// layer, were often read from the other core's by the next. Here the worker spins briefly for
/// the next call before it sleeps, and chunk c is always computed by the same thread.
final class ChunkWorker: @unchecked Sendable {
    static let shared = ChunkWorker()

    /// Generation of the last call posted / finished by the worker.
    private let posted = Atomic<Int>(0), finished = Atomic<Int>(0)
    private let sleeping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    /// The posted call (written before `posted` is raised, read after it is seen).
    private var job: (body: (Int) -> Void, flush: Bool)?
    /// Marks the worker thread, so that a call made from inside a chunk runs there serially.
    private let thread = ThreadFlag()

    private init() {
        let t = Thread { [unowned self] in self.loop() }
        t.name = "mien-chunks"
        t.start()
    }

    /// Taken by the caller whose call the worker serves.
    private let busy = Atomic<Bool>(false)

    /// Runs `body(0)` on the caller and `body(1)` on the worker; returns when both are done.
    /// Returns false without running anything when the worker is serving another caller (two
    /// trainers in one process): that caller then uses another way.
    func run(flush: Bool, _ body: (Int) -> Void) -> Bool {
        if thread.isCurrent { body(0); body(1); return true }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { b in
            job = (b, flush)
            let generation = posted.add(1, ordering: .sequentiallyConsistent).newValue
            if sleeping.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }
            b(0)
            var spins = 0
            while finished.load(ordering: .acquiring) != generation {
                spins += 1
                if spins > 2_000 { sched_yield() }
            }
            job = nil
        }
        return true
    }

    private func loop() {
        thread.markCurrent()
        var seen = 0
        while true {
            var spins = 0
            while posted.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < 20_000 { continue }
                // No call for 20 000 polls (tens of µs): sleep until the next one.
                sleeping.store(true, ordering: .sequentiallyConsistent)
                if posted.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                sleeping.store(false, ordering: .sequentiallyConsistent)
                spins = 0
            }
            seen = posted.load(ordering: .acquiring)
            if let job { Denormals.with(flush: job.flush) { job.body(1) } }
            finished.store(seen, ordering: .releasing)
        }
    }
}

/// Which thread is the worker (a pthread-specific flag).
private final class ThreadFlag: @unchecked Sendable {
    private let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()
    func markCurrent() { pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1)) }
    var isCurrent: Bool { pthread_getspecific(key) != nil }
}
