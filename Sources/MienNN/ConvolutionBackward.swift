import CMienKernels

/// How `Conv2D.backward` computes one chunk of images, decided once per call from the layer's
/// shape and the CPU:
/// - kernel gradient dW = colsᵀ · dOut with OpenBLAS, or the direct 3×3 kernel for few input
///   channels (no im2col) when no col2im needs the columns either;
/// - input gradient: col2im(dOut · Wᵀ); written directly by the direct kernel for few
///   channels (ConvolutionDirect.swift), by the pointwise tiles for a 1×1 convolution, or by
///   OpenBLAS where the tiles do not apply.
/// Partials of the chunk: dW [K, cout] then, with a bias, Σ dOut [cout].
struct ConvBackward: @unchecked Sendable {
    let g: ConvGeometry
    let cout: Int, wantsBias: Bool, inputGradient: Bool
    let directDx: Bool, directDW: Bool, pointwiseDx: Bool
    /// Wᵀ [cout, K] for the pointwise tiles.
    let kernelT: [Float]

    init(_ g: ConvGeometry, kernel: Tensor, bias: Bool, inputGradient: Bool) {
        self.g = g
        cout = kernel.shape[3]
        wantsBias = bias
        self.inputGradient = inputGradient
        directDx = inputGradient && !g.isPointwiseIdentity && g.hasDirectInputGradient(cout: cout)
        directDW = g.hasDirectKernelGradient(cout: cout) && (directDx || !inputGradient)
        pointwiseDx = inputGradient && g.isPointwiseIdentity && PointwiseProduct.applies(n: g.patchSize)
        kernelT = pointwiseDx ? PointwiseProduct.transposed(kernel, k: g.patchSize, n: cout) : []
    }

    var partialSize: Int { g.patchSize * cout + (wantsBias ? cout : 0) }

    /// dx for the whole batch: zeroed where col2im adds into it, uninitialised where it is written.
    func inputGradientTensor() -> Tensor {
        let shape = [g.batch, g.height, g.width, g.inChannels]
        if !inputGradient { return Tensor(shape: [0]) }
        return g.isPointwiseIdentity || directDx ? Tensor(uninitialized: shape) : Tensor(shape: shape)
    }

    /// The gradients of chunk `images`: adds dW (and Σ dOut) into `partial`, writes or adds dx.
    func chunk(_ images: Range<Int>, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, w: UnsafePointer<Float>,
               partial: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?) {
        let P = g.outPixels, K = g.patchSize, rows = images.count * P
        let imageIn = g.height * g.width * g.inChannels, imageOut = P * cout
        let go = dy + images.lowerBound * imageOut
        let cols: UnsafeMutablePointer<Float>? = g.isPointwiseIdentity || directDW ? nil : .allocate(capacity: rows * K)
        let scratch: UnsafeMutablePointer<Float>? = directDW || directDx ? .allocate(capacity: g.directScratch(cout: cout)) : nil
        defer { cols?.deallocate(); scratch?.deallocate() }
        if let cols {
            for (i, n) in images.enumerated() { g.im2col(x + n * imageIn, into: cols + i * P * K) }
        }
        if directDW {
            for n in images { g.directKernelGradient(x + n * imageIn, gradOutput: dy + n * imageOut, cout: cout, into: partial, scratch: scratch!) }
        } else {
            let a = cols.map { UnsafePointer($0) } ?? x + images.lowerBound * imageIn
            GEMM.blas(transA: true, m: K, n: cout, k: rows, a: a, lda: K, b: go, ldb: cout, c: partial, ldc: cout)
        }
        if wantsBias {
            for r in 0..<rows { mien_t_add(partial + K * cout, go + r * cout, cout) }
        }
        guard inputGradient, let dx else { return }
        let dxChunk = dx + images.lowerBound * imageIn
        if directDx {
            for n in images { g.directInputGradient(dy + n * imageOut, kernel: w, cout: cout, into: dx + n * imageIn, scratch: scratch!) }
        } else if let cols {
            // dCols = dOut · Wᵀ, then scattered back image by image.
            GEMM.blas(transB: true, m: rows, n: K, k: cout, a: go, lda: cout, b: w, ldb: cout, c: cols, ldc: K)
            for (i, n) in images.enumerated() { g.col2imAdd(cols + i * P * K, into: dx + n * imageIn) }
        } else if pointwiseDx {
            kernelT.withUnsafeBufferPointer { PointwiseProduct.multiply(go, rows: rows, k: cout, $0.baseAddress!, n: K, into: dxChunk) }
        } else {
            GEMM.blas(transB: true, m: rows, n: K, k: cout, a: go, lda: cout, b: w, ldb: cout, c: dxChunk, ldc: K)
        }
    }
}
