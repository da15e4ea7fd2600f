import CMienKernels
import COpenBLAS
import Foundation

/// Which of OpenBLAS's kernel sets runs, corrected where OpenBLAS's own choice is too weak.
///
/// Debian's OpenBLAS (0.3.21, DYNAMIC_ARCH) picks its kernels from the CPU's family and model
/// numbers. On the Intel Xeon machines these sessions run on (AVX-512, a model 0.3.21 does not
/// know) it falls back to "Prescott", SSE3 kernels: sgemm then runs at a fraction of what the
/// CPU does, and every GEMM in MienNN with it. OpenBLAS reads `OPENBLAS_CORETYPE` only when it
/// chooses, at load time, so `selectForCPU` sets it and makes OpenBLAS choose again through the
/// two functions its own start-up calls. A choice OpenBLAS made with AVX2 kernels or better is
/// kept, and so is any `OPENBLAS_CORETYPE` the user set.
public enum BLASCore {
    /// The kernel set in use (OpenBLAS's name, e.g. "SkylakeX", "Haswell", "Zen", "Prescott").
    public static var name: String { String(cString: openblas_get_corename()) }

    /// Cores whose kernels use no AVX2: OpenBLAS falls back to these on CPUs it does not know.
    static let weakCores: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Unknown"]

    /// What `selectForCPU` did: the core before and after (equal when nothing changed).
    public struct Choice: Sendable { public let before: String, after: String }

    private static let choice: Choice = {
        let before = name
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, weakCores.contains(before) else {
            return Choice(before: before, after: before)
        }
        let wanted: String
        switch mien_cpu_level() {
        case 2: wanted = "SkylakeX"
        case 1: wanted = "Haswell"
        default: return Choice(before: before, after: before)
        }
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        gotoblas_dynamic_quit()
        gotoblas_dynamic_init()
        unsetenv("OPENBLAS_CORETYPE")
        return Choice(before: before, after: name)
    }()

    /// Corrects OpenBLAS's kernel choice once per process (see the type's comment); later calls
    /// return the first call's result. Called before the first GEMM.
    @discardableResult
    public static func selectForCPU() -> Choice { choice }
}
