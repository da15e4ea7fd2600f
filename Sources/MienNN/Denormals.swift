import CMienKernels

/// How a thread treats denormal floats (magnitudes below `Float.leastNormalMagnitude`).
///
/// Training flushes them to zero, as TensorFlow's executor does: back-propagated gradients of a
/// deep net underflow into the denormal range, and every multiply that touches one then takes
/// the CPU's microcode path, tens of times slower. Measured on the Intel Xeon (AVX-512) machine:
/// `mien train cnn` on FER2013 faces ran at half speed without it, and the weights it wrote were
/// the same bit for bit with and without (the flushed values are far below anything they add
/// to). Inference keeps exact IEEE behaviour (no speed difference was measured there).
///
/// The setting is per thread (x86's MXCSR). `BatchChunks` gives its worker threads the
/// caller's setting for the duration of a call, so results do not depend on the thread count.
public enum Denormals {
    /// Whether this thread flushes denormals to zero now.
    public static var flushedOnThisThread: Bool { mien_fp_flushes_denormals() != 0 }

    /// Runs `body` on this thread with denormals flushed to zero, then restores the previous
    /// setting.
    public static func flushed<T>(_ body: () throws -> T) rethrows -> T {
        try with(flush: true, body)
    }

    /// Runs `body` with this thread's setting `flush`, then restores the previous one.
    @inline(__always)
    public static func with<T>(flush: Bool, _ body: () throws -> T) rethrows -> T {
        let was = mien_fp_flush_denormals(flush ? 1 : 0)
        defer { mien_fp_flush_denormals(was) }
        return try body()
    }
}
