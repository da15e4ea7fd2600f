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
        openblas_set_num_threads(Int32(n))
    }
}
