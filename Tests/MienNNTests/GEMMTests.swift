import XCTest
@testable import MienNN

final class GEMMTests: XCTestCase {
    /// BLAS sgemm against the naive Double-accumulating reference, every transpose combination,
    /// odd sizes, alpha/beta. Tolerance: 1e-4 relative to the row's magnitude.
    func testBLASMatchesNaiveReference() {
        var rng = SeededRandom(seed: 1)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 9, 33), (64, 65, 31)] {
            for transA in [false, true] { for transB in [false, true] {
                let a = rng.uniformTensor(transA ? [k, m] : [m, k])
                let b = rng.uniformTensor(transB ? [n, k] : [k, n])
                var c1 = rng.uniformTensor([m, n]), c2 = c1
                a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in
                    c1.data.withUnsafeMutableBufferPointer { cp in
                        GEMM.blas(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: a.shape[1],
                                  b: bp.baseAddress!, ldb: b.shape[1], beta: 2, c: cp.baseAddress!, ldc: n)
                    }
                    c2.data.withUnsafeMutableBufferPointer { cp in
                        GEMM.naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: a.shape[1],
                                   b: bp.baseAddress!, ldb: b.shape[1], beta: 2, c: cp.baseAddress!, ldc: n)
                    }
                }}
                let diff = c1.maxAbsDifference(c2)
                XCTAssertLessThan(diff, 1e-4 * Float(k).squareRoot() + 1e-5, "m=\(m) n=\(n) k=\(k) tA=\(transA) tB=\(transB)")
            }}
        }
    }

    func testMatmulKnownValues() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], data: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(GEMM.matmul(a, b).data, [58, 64, 139, 154])
        XCTAssertEqual(GEMM.matmul(a, b, reference: true).data, [58, 64, 139, 154])
    }
}
