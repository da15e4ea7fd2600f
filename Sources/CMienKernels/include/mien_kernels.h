#ifndef MIEN_KERNELS_H
#define MIEN_KERNELS_H
/*
 * Hand-written CPU kernels for MienNN's CNN inference (FoldedCNN).
 *
 * Why they exist: Swift compiles for the x86-64 baseline (SSE2), so MienNN's SIMD8 kernels run
 * as pairs of 128-bit instructions, and Swift has no per-function target attribute to use AVX2
 * where the CPU has it; OpenBLAS's sgemm is slow on the CNN's many tiny matrices (k, n = 8…128),
 * and no library on this machine offers fused depthwise/pointwise convolutions callable from
 * Swift (onnxruntime is only the Python reference). These kernels are compiled for AVX2+FMA
 * with a target attribute and used only when `mien_kernels_avx2_available()` says the CPU has
 * them; otherwise FoldedCNN keeps its portable Swift/OpenBLAS path, which the tests compare
 * them against.
 *
 * All tensors are NHWC, one image per call, float32, dense. Kernels are HWIO. `bias` may be NULL.
 * `relu` != 0 applies max(·, 0) after the bias.
 */
#include <stddef.h>

/* 1 when the CPU (and OS) support AVX2 and FMA, the kernels below may be called. */
int mien_kernels_avx2_available(void);

/* Direct KH×KW convolution, stride 1, no padding ('valid'): x [h, w, cin], k [kh, kw, cin, cout],
   out [h-kh+1, w-kw+1, cout]. cout % 8 == 0. scratch: h·w·cin floats (on AVX-512 CPUs a 3-wide
   kernel over ≤ 16 channels runs on a planar copy of x there). */
void mien_conv_valid_s1(const float *x, int h, int w, int cin,
                        const float *k, int kh, int kw, int cout,
                        const float *bias, int relu, float *out, float *scratch);

/* 1×1 convolution with stride s and no padding: out[oh, ow, :] = x[oh·s, ow·s, :] · k (+ bias).
   x [h, w, cin], k [cin, cout], out [outH, outW, cout]; scratch holds outH·outW·cin floats
   (used when s > 1 and outW < 24). cout % 8 == 0. */
void mien_conv1x1(const float *x, int h, int w, int cin, int stride, int outH, int outW,
                  const float *k, int cout, const float *bias, int relu, float *out, float *scratch);

/* Separable convolution: depthwise KH×KW (multiplier 1, stride s, padding padTop/padLeft, zero
   outside) then pointwise cin → cout, bias, ReLU, computed a block of output rows at a time (the
   depthwise rows stay in L1). x [h, w, cin], dw [kh, kw, cin], pw [cin, cout],
   out [outH, outW, cout]; scratch holds min(outH·outW, 48 + outW)·cin floats.
   cin % 8 == 0, cout % 8 == 0. */
void mien_separable(const float *x, int h, int w, int cin,
                    const float *dw, int kh, int kw, int stride, int padTop, int padLeft,
                    int outH, int outW, const float *pw, int cout,
                    const float *bias, int relu, float *out, float *scratch);

/* Max pooling size×size, stride s, padding padTop/padLeft (padding never wins, like −inf):
   x [h, w, c], out [outH, outW, c]. c % 8 == 0. When `add` is not NULL it is [outH, outW, c]
   and is added to the pooled value (the residual add that follows the pool in mini-Xception).
   scratch holds w·c floats. Every window must overlap the image (true for 'same' and 'valid'). */
void mien_maxpool(const float *x, int h, int w, int c, int size, int stride, int padTop, int padLeft,
                  int outH, int outW, const float *add, float *out, float *scratch);

#endif
