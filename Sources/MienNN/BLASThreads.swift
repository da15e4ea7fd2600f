import COpenBLAS

/// Process-wide control of OpenBLAS's worker threads.
///
/// OpenBLAS keeps one global pool; Mien workers set it once at start-up from `--threads`.
public enum BLASThreads {
    /// The number of threads OpenBLAS uses for one call.
    public static var count: Int {
        get { Int(openblas_get_num_threads()) }
    }

    /// Sets the number of threads OpenBLAS uses for one call (≥ 1).
    public static func set(_ n: Int) {
        precondition(n >= 1, "BLAS thread count must be at least 1, got \(n)")
        BLASCore.selectForCPU()
        // OpenBLAS starts its pool again whenever the count is set (`goto_set_num_threads`); with
        // one thread the pool is never used, so stop it before it busy-waits, and do not start it
        // for nothing when the count is already one.
        if n == 1, count == 1 { return }
        openblas_set_num_threads(Int32(n))
        if n == 1 { stopIdlePool() }
    }

    /// Stops OpenBLAS's thread pool until a call wants more than one thread.
    ///
    /// OpenBLAS starts one pool thread per extra CPU when the library is loaded, and each busy-waits
    /// (`sched_yield`) for 2^28 cycles, ~0.1 s, before it sleeps: ~0.1 s of CPU per extra core
    /// spent at every process start, while the process loads its models (`perf` of `mien run`
    /// on 2 cores: the pool thread took half a core for the first 0.2 s). Called first thing by
    /// the `mien` command line, and by `set(1)`. The thread count is kept: the first BLAS call that
    /// would use more than one thread, or `set`, starts the pool again, so commands that want
    /// threads (`--threads`) lose nothing.
    public static func stopIdlePool() {
        _ = blas_thread_shutdown_()
    }
}
