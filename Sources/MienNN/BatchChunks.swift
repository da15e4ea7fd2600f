import Dispatch

/// How the layers of `CNNGraph` split a mini-batch across threads.
///
/// A batch is cut into chunks of `imagesPerChunk` images whatever the thread count; each chunk is
/// computed by one thread with single-threaded BLAS, and what is summed over the batch (weight
/// gradients, batch-norm statistics) is summed per chunk and then over the chunks in chunk
/// order. A result therefore does not depend on the number of threads or on which thread ran
/// which chunk: training is reproducible bit for bit across `threads` settings.
public enum BatchChunks {
    /// Images per chunk (fixed: changing it changes the order of floating-point sums).
    public static let imagesPerChunk = 8

    /// Threads that run chunks (1: the caller's thread only). Set by the trainer before a run;
    /// OpenBLAS should then run with one thread, as chunks are already parallel.
    nonisolated(unsafe) public static var threads = 1

    /// Number of chunks of a batch of `batch` images.
    @inline(__always)
    public static func count(_ batch: Int) -> Int { (batch + imagesPerChunk - 1) / imagesPerChunk }

    /// The images of chunk `c` of a batch of `batch`.
    @inline(__always)
    public static func images(_ c: Int, of batch: Int) -> Range<Int> {
        (c * imagesPerChunk)..<min((c + 1) * imagesPerChunk, batch)
    }

    /// Calls `body(chunk, images)` once for every chunk of a batch of `batch` images, on up to
    /// `threads` threads, each with the caller's denormal setting (`Denormals`). Chunks must
    /// write disjoint memory.
    public static func forEach(batch: Int, _ body: (Int, Range<Int>) -> Void) {
        let n = count(batch)
        let workers = min(threads, n)
        if workers <= 1 {
            for c in 0..<n { body(c, images(c, of: batch)) }
            return
        }
        let flush = Denormals.flushedOnThisThread
        // Two threads: chunk c on thread c % 2, always the same one (ChunkWorker).
        if workers == 2, ChunkWorker.shared.run(flush: flush, { w in
            var c = w
            while c < n {
                body(c, images(c, of: batch))
                c += 2
            }
        }) { return }
        withoutActuallyEscaping(body) { run in
            let box = UncheckedSendable(run)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                Denormals.with(flush: flush) {
                    var c = w
                    while c < n {
                        box.value(c, images(c, of: batch))
                        c += workers
                    }
                }
            }
        }
    }

    /// Runs `body` per chunk with a zeroed partial buffer of `size` values each (weight
    /// gradients in Float, statistics in Double), then returns the partials summed in chunk order.
    public static func sum<T: BinaryFloatingPoint>(batch: Int, size: Int, _ body: (Range<Int>, UnsafeMutablePointer<T>) -> Void) -> [T] {
        let n = count(batch)
        let partials = UnsafeMutablePointer<T>.allocate(capacity: max(n * size, 1))
        defer { partials.deallocate() }
        partials.initialize(repeating: 0, count: n * size)
        forEach(batch: batch) { c, range in body(range, partials + c * size) }
        var total = [T](repeating: 0, count: size)
        total.withUnsafeMutableBufferPointer { t in
            for c in 0..<n { for j in 0..<size { t[j] += partials[c * size + j] } }
        }
        return total
    }
}

/// A value handed to threads that only read it or write disjoint parts of what it points to.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
