import COpenBLAS

/// Single-precision matrix multiply `C = alpha · op(A) · op(B) + beta · C`, row-major.
///
/// `op(A)` is `m×k`, `op(B)` is `k×n`, `C` is `m×n`. `lda`, `ldb`, `ldc` are the row strides
/// (elements) of the stored matrices, as in BLAS. Two kernels share this signature:
/// `GEMM.blas` (OpenBLAS `cblas_sgemm`, used everywhere) and `GEMM.naive` (a readable triple
/// loop accumulating in Double, the test oracle).
public enum GEMM {
    /// OpenBLAS `cblas_sgemm` (row-major).
    @inline(__always)
    public static func blas(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C scaled by beta; do the same without calling into it.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        _ = BLASCore.selectForCPU()
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Reference kernel: the textbook triple loop, accumulating each dot product in Double.
    public static func naive(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * s + prior)
            }
        }
    }

    /// `op(A)·op(B)` of two rank-2 tensors with BLAS (convenience for tests and small work).
    public static func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false,
                              reference: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs rank-2 tensors, got \(a.shape) and \(b.shape)")
        let m = transA ? a.shape[1] : a.shape[0]
        let k = transA ? a.shape[0] : a.shape[1]
        let kb = transB ? b.shape[1] : b.shape[0]
        let n = transB ? b.shape[0] : b.shape[1]
        precondition(k == kb, "matmul inner dimensions differ: \(a.shape)\(transA ? "ᵀ" : "") · \(b.shape)\(transB ? "ᵀ" : "")")
        var c = Tensor(shape: [m, n])
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                c.data.withUnsafeMutableBufferPointer { cp in
                    if reference {
                        naive(transA: transA, transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: a.shape[1],
                              b: bp.baseAddress!, ldb: b.shape[1], c: cp.baseAddress!, ldc: n)
                    } else {
                        blas(transA: transA, transB: transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: a.shape[1],
                             b: bp.baseAddress!, ldb: b.shape[1], c: cp.baseAddress!, ldc: n)
                    }
                }
            }
        }
        return c
    }
}
