import XCTest
@testable import MienNN

final class BLASThreadsTests: XCTestCase {
    func testSetsOpenBLASThreadCount() {
        let before = BLASThreads.count
        BLASThreads.set(1)
        XCTAssertEqual(BLASThreads.count, 1)
        BLASThreads.set(max(before, 1))
    }

    /// `mien` stops OpenBLAS's pool at start-up; a command that then asks for threads must still
    /// get correct products (the pool starts again on the first multi-threaded call). Checked
    /// against the float64 triple loop on a product large enough for OpenBLAS to split.
    func testMultiThreadedProductsAfterStoppingThePool() {
        let before = BLASThreads.count
        defer { BLASThreads.set(max(before, 1)) }
        let n = 256
        let a = (0..<n * n).map { Float(($0 * 7919) % 97) / 97 - 0.5 }
        let b = (0..<n * n).map { Float(($0 * 104729) % 89) / 89 - 0.5 }
        var reference = [Float](repeating: 0, count: n * n)
        GEMM.naive(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &reference, ldc: n)
        for threads in [1, 2, 1, 2] {
            BLASThreads.stopIdlePool()
            BLASThreads.set(threads)
            var c = [Float](repeating: .nan, count: n * n)
            GEMM.blas(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &c, ldc: n)
            let worst = zip(c, reference).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-3, "\(threads) thread(s)")
        }
    }
}
