/*
 * AVX2+FMA kernels for FoldedCNN (see include/mien_kernels.h for why they exist and the layouts),
 * with AVX-512 pointwise tiles at the end of the file.
 *
 * Every function here carries the avx2,fma target attribute (the pragma below) or, in the last
 * section, avx512f (chosen at run time by `mien_cpu_level()`), so this file compiles for the
 * x86-64 baseline like the rest of the package and the kernels only run after
 * `mien_kernels_avx2_available()` returned 1. Vectors run over output channels (8 per __m256,
 * 16 per __m512); small register tiles of pixels × channels accumulate in registers and are
 * stored once, with bias and ReLU applied on the way out.
 */
#include "mien_kernels.h"
#include "mien_train_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

int mien_kernels_avx2_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* The pointwise rows have an AVX-512 variant (32 channels a tile, defined after the AVX2 code);
   both compute every output channel with the same fused multiply-adds in the same order, so they
   give identical results. */
#define AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
__attribute__((target("avx2,fma"))) static void pw_cols8(const float *x, ptrdiff_t xs, int n, int cin, const float *k,
                                                         int cout, const float *bias, int relu, float *out);
AVX512_TARGET static void pw_row512(const float *x, ptrdiff_t xs, int n, int cin, const float *k, int cout,
                                    const float *bias, int relu, float *out);
AVX512_TARGET static void dw_rows3x3s1_512(const float *x, int h, int w, int c, const float *dw, int padTop, int padLeft,
                                           int oh0, int oh1, int outW, float *out);
AVX512_TARGET static void dw_grad3x3s1_512(const float *x, int h, int w, int c, const float *dy, int padTop, int padLeft,
                                           int outH, int outW, const float *zeros, float *dk);
AVX512_TARGET static void conv3_planar512(const float *x, int h, int w, int cin, const float *k, int kh, int cout,
                                          const float *bias, int relu, float *out, float *scratch);

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

#define INLINE static inline __attribute__((always_inline))

INLINE int imax(int a, int b) { return a > b ? a : b; }
INLINE int imin(int a, int b) { return a < b ? a : b; }

INLINE __m256 finish(__m256 v, int relu) {
    return relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v;
}

/* ---- pointwise (1×1) tiles: P pixels (stride xs floats apart) × 8·NB output channels ---- */

INLINE void pw_tile(const float *x, ptrdiff_t xs, int P, int cin, const float *k, int cout, int NB,
                    const float *bias, int relu, float *out) {
    __m256 acc[6][2];
    for (int p = 0; p < P; p++)
        for (int b = 0; b < NB; b++)
            acc[p][b] = bias ? _mm256_loadu_ps(bias + 8 * b) : _mm256_setzero_ps();
    for (int ci = 0; ci < cin; ci++) {
        const float *kr = k + (ptrdiff_t)ci * cout;
        __m256 w0 = _mm256_loadu_ps(kr);
        __m256 w1 = NB > 1 ? _mm256_loadu_ps(kr + 8) : w0;
        for (int p = 0; p < P; p++) {
            __m256 xv = _mm256_broadcast_ss(x + p * xs + ci);
            acc[p][0] = _mm256_fmadd_ps(xv, w0, acc[p][0]);
            if (NB > 1) acc[p][1] = _mm256_fmadd_ps(xv, w1, acc[p][1]);
        }
    }
    for (int p = 0; p < P; p++)
        for (int b = 0; b < NB; b++)
            _mm256_storeu_ps(out + (ptrdiff_t)p * cout + 8 * b, finish(acc[p][b], relu));
}

#define PW_CASE(P, NB) case P: pw_tile(xp, xs, P, cin, kc, cout, NB, bc, relu, op); break;

/* n pixels: x + p·xs → out + p·cout, all cout channels. */
static void pw_row(const float *x, ptrdiff_t xs, int n, int cin, const float *k, int cout,
                   const float *bias, int relu, float *out) {
    int cb = 0;
    for (; cb + 16 <= cout; cb += 16) {
        const float *kc = k + cb, *bc = bias ? bias + cb : NULL;
        for (int p = 0; p < n; p += 6) {
            const float *xp = x + p * xs;
            float *op = out + (ptrdiff_t)p * cout + cb;
            switch (imin(6, n - p)) { PW_CASE(6, 2) PW_CASE(5, 2) PW_CASE(4, 2) PW_CASE(3, 2) PW_CASE(2, 2) PW_CASE(1, 2) }
        }
    }
    if (cb < cout) pw_cols8(x, xs, n, cin, k + cb, cout, bias ? bias + cb : NULL, relu, out + cb);  /* 8 left */
}

/* The last 8 output channels of n pixels: k, bias and out already offset to them. */
static void pw_cols8(const float *x, ptrdiff_t xs, int n, int cin, const float *kc, int cout,
                     const float *bc, int relu, float *out) {
    for (int p = 0; p < n; p += 6) {
        const float *xp = x + p * xs;
        float *op = out + (ptrdiff_t)p * cout;
        switch (imin(6, n - p)) { PW_CASE(6, 1) PW_CASE(5, 1) PW_CASE(4, 1) PW_CASE(3, 1) PW_CASE(2, 1) PW_CASE(1, 1) }
    }
}

/* n pixels × all channels with the widest vectors the CPU has (mien_cpu_level: 2 = AVX-512). */
static void pw_rows(const float *x, ptrdiff_t xs, int n, int cin, const float *k, int cout,
                    const float *bias, int relu, float *out) {
    if (mien_cpu_level() >= 2) pw_row512(x, xs, n, cin, k, cout, bias, relu, out);
    else pw_row(x, xs, n, cin, k, cout, bias, relu, out);
}

void mien_conv1x1(const float *x, int h, int w, int cin, int stride, int outH, int outW,
                  const float *k, int cout, const float *bias, int relu, float *out, float *scratch) {
    if (stride == 1) {
        pw_rows(x, cin, h * w, cin, k, cout, bias, relu, out);
        return;
    }
    if (outW >= 24) {  /* wide rows: tiles of strided pixels straight from x */
        for (int oh = 0; oh < outH; oh++)
            pw_rows(x + (ptrdiff_t)oh * stride * w * cin, (ptrdiff_t)stride * cin, outW, cin, k, cout, bias, relu,
                   out + (ptrdiff_t)oh * outW * cout);
        return;
    }
    /* narrow rows: gather the strided pixels first so the tiles run over all outH·outW at once */
    for (int oh = 0; oh < outH; oh++)
        for (int ow = 0; ow < outW; ow++) {
            const float *src = x + ((ptrdiff_t)oh * stride * w + (ptrdiff_t)ow * stride) * cin;
            float *dst = scratch + ((ptrdiff_t)oh * outW + ow) * cin;
            for (int ci = 0; ci < cin; ci++) dst[ci] = src[ci];
        }
    pw_rows(scratch, cin, outH * outW, cin, k, cout, bias, relu, out);
}

/* ---- direct convolution, stride 1, no padding: P pixels of a row × 8 output channels ---- */

INLINE void conv_tile(const float *x, int w, int cin, const float *k, int kh, int kw, int cout, int P,
                      const float *bias, int relu, float *out) {
    __m256 acc[8];
    for (int p = 0; p < P; p++) acc[p] = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) {
            const float *xr = x + ((ptrdiff_t)i * w + j) * cin;
            const float *kr = k + (ptrdiff_t)(i * kw + j) * cin * cout;
            for (int ci = 0; ci < cin; ci++) {
                __m256 wv = _mm256_loadu_ps(kr + (ptrdiff_t)ci * cout);
                for (int p = 0; p < P; p++)
                    acc[p] = _mm256_fmadd_ps(_mm256_broadcast_ss(xr + p * cin + ci), wv, acc[p]);
            }
        }
    for (int p = 0; p < P; p++) _mm256_storeu_ps(out + (ptrdiff_t)p * cout, finish(acc[p], relu));
}

/* The same for kw == 3 and up to 10 pixels (10 accumulators + 3 taps + 1 broadcast fill the 16
   registers; 12 spills), sliding along the row: each input value is broadcast once and used by
   the (up to) 3 output pixels whose window covers it, instead of once per tap. */
INLINE void conv_tile_kw3(const float *x, int w, int cin, const float *k, int kh, int cout, int P,
                          const float *bias, int relu, float *out) {
    __m256 acc[10];
    for (int p = 0; p < P; p++) acc[p] = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    for (int i = 0; i < kh; i++) {
        const float *xr = x + (ptrdiff_t)i * w * cin;
        const float *kr = k + (ptrdiff_t)i * 3 * cin * cout;
        for (int ci = 0; ci < cin; ci++) {
            __m256 w0 = _mm256_loadu_ps(kr + (ptrdiff_t)ci * cout);
            __m256 w1 = _mm256_loadu_ps(kr + (ptrdiff_t)(cin + ci) * cout);
            __m256 w2 = _mm256_loadu_ps(kr + (ptrdiff_t)(2 * cin + ci) * cout);
            for (int c = 0; c < P + 2; c++) {
                __m256 b = _mm256_broadcast_ss(xr + c * cin + ci);
                if (c < P) acc[c] = _mm256_fmadd_ps(b, w0, acc[c]);
                if (c >= 1 && c - 1 < P) acc[c - 1] = _mm256_fmadd_ps(b, w1, acc[c - 1]);
                if (c >= 2) acc[c - 2] = _mm256_fmadd_ps(b, w2, acc[c - 2]);
            }
        }
    }
    for (int p = 0; p < P; p++) _mm256_storeu_ps(out + (ptrdiff_t)p * cout, finish(acc[p], relu));
}

#define CONV_CASE(P) case P: conv_tile(xp, w, cin, kc, kh, kw, cout, P, bc, relu, op); break;
#define K3_CASE(P) case P: conv_tile_kw3(xp, w, cin, kc, kh, cout, P, bc, relu, op); break;

void mien_conv_valid_s1(const float *x, int h, int w, int cin,
                        const float *k, int kh, int kw, int cout,
                        const float *bias, int relu, float *out, float *scratch) {
    if (kw == 3 && cin <= 16 && mien_cpu_level() >= 2) {
        conv3_planar512(x, h, w, cin, k, kh, cout, bias, relu, out, scratch);
        return;
    }
    int outH = h - kh + 1, outW = w - kw + 1;
    for (int oh = 0; oh < outH; oh++)
        for (int cb = 0; cb < cout; cb += 8) {
            const float *kc = k + cb, *bc = bias ? bias + cb : NULL;
            if (kw == 3) {
                for (int ow = 0; ow < outW; ow += 10) {
                    const float *xp = x + ((ptrdiff_t)oh * w + ow) * cin;
                    float *op = out + ((ptrdiff_t)oh * outW + ow) * cout + cb;
                    switch (imin(10, outW - ow)) {
                        K3_CASE(10) K3_CASE(9) K3_CASE(8) K3_CASE(7) K3_CASE(6) K3_CASE(5) K3_CASE(4) K3_CASE(3) K3_CASE(2) K3_CASE(1)
                    }
                }
            } else {
                for (int ow = 0; ow < outW; ow += 8) {
                    const float *xp = x + ((ptrdiff_t)oh * w + ow) * cin;
                    float *op = out + ((ptrdiff_t)oh * outW + ow) * cout + cb;
                    switch (imin(8, outW - ow)) {
                        CONV_CASE(8) CONV_CASE(7) CONV_CASE(6) CONV_CASE(5) CONV_CASE(4) CONV_CASE(3) CONV_CASE(2) CONV_CASE(1)
                    }
                }
            }
        }
}

/* ---- separable: depthwise rows into scratch, then pointwise over them ---- */

/* 3×3 stride-1 depthwise rows (dw3x3_body.h), 8 channels a vector. */
#define DW_NAME dw_rows3x3s1
#define DW_VEC __m256
#define DW_WIDTH 8
#define DW_LOAD _mm256_loadu_ps
#define DW_STORE _mm256_storeu_ps
#define DW_FMA _mm256_fmadd_ps
#define DW_ZERO _mm256_setzero_ps()
#include "dw3x3_body.h"   /* undefines the DW_ macros */

/* One output row of the depthwise convolution (multiplier 1, any size/stride) into row [outW, c]. */
static void dw_row(const float *x, int h, int w, int c, const float *dw, int kh, int kw, int stride,
                   int padTop, int padLeft, int oh, int outW, float *row) {
    int ih0 = oh * stride - padTop;
    int i0 = imax(0, -ih0), i1 = imin(kh, h - ih0);
    for (int ow = 0; ow < outW; ow++) {
        int iw0 = ow * stride - padLeft;
        int j0 = imax(0, -iw0), j1 = imin(kw, w - iw0);
        for (int cb = 0; cb < c; cb += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++)
                    acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + ((ptrdiff_t)(ih0 + i) * w + iw0 + j) * c + cb),
                                          _mm256_loadu_ps(dw + (ptrdiff_t)(i * kw + j) * c + cb), acc);
            _mm256_storeu_ps(row + (ptrdiff_t)ow * c + cb, acc);
        }
    }
}

void mien_separable(const float *x, int h, int w, int cin,
                    const float *dw, int kh, int kw, int stride, int padTop, int padLeft,
                    int outH, int outW, const float *pw, int cout,
                    const float *bias, int relu, float *out, float *scratch) {
    /* depthwise rows in blocks of ≥ 48 pixels (whole small images), then the pointwise tiles
       over the block's pixels, so narrow rows do not leave most tiles partly empty */
    int rows = imax(1, (48 + outW - 1) / outW);
    for (int oh = 0; oh < outH; oh += rows) {
        int nr = imin(rows, outH - oh);
        if (kh == 3 && kw == 3 && stride == 1 && cin % 16 == 0 && mien_cpu_level() >= 2)
            dw_rows3x3s1_512(x, h, w, cin, dw, padTop, padLeft, oh, oh + nr, outW, scratch);
        else if (kh == 3 && kw == 3 && stride == 1)
            dw_rows3x3s1(x, h, w, cin, dw, padTop, padLeft, oh, oh + nr, outW, scratch);
        else
            for (int r = 0; r < nr; r++)
                dw_row(x, h, w, cin, dw, kh, kw, stride, padTop, padLeft, oh + r, outW, scratch + (ptrdiff_t)r * outW * cin);
        pw_rows(scratch, cin, nr * outW, cin, pw, cout, bias, relu, out + (ptrdiff_t)oh * outW * cout);
    }
}

/* ---- training: 3×3 stride-1 depthwise forward and backward (multiplier 1) ---- */

/* The kernel gradient of dw_rows3x3s1 (dw3x3_grad_body.h), 8 channels a vector. */
#define DWG_NAME dw_grad3x3s1
#define DWG_VEC __m256
#define DWG_WIDTH 8
#define DWG_LOAD _mm256_loadu_ps
#define DWG_FMA _mm256_fmadd_ps
#define DWG_ADD_STORE(d, v) _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), v))
#define DWG_ZERO _mm256_setzero_ps()
#include "dw3x3_grad_body.h"   /* undefines the DWG_ macros */

INLINE void dw_rows_any(const float *x, int h, int w, int c, const float *k, int padTop, int padLeft,
                        int outH, int outW, float *out) {
    if (c % 16 == 0 && mien_cpu_level() >= 2) dw_rows3x3s1_512(x, h, w, c, k, padTop, padLeft, 0, outH, outW, out);
    else dw_rows3x3s1(x, h, w, c, k, padTop, padLeft, 0, outH, outW, out);
}

void mien_t_dw3x3s1_forward(const float *x, int h, int w, int c, const float *k, int padTop, int padLeft,
                            int outH, int outW, float *out) {
    dw_rows_any(x, h, w, c, k, padTop, padLeft, outH, outW, out);
}

void mien_t_dw3x3s1_backward(const float *x, const float *dy, int h, int w, int c, const float *k, int padTop,
                             int padLeft, int outH, int outW, float *dk, float *dx, float *scratch) {
    /* dx is the depthwise convolution of dy with the kernel turned by 180°, padded so that
       input pixel (ih, iw) collects the outputs it fed: oh = ih + padTop − i. */
    float *flipped = scratch, *zeros = scratch + 9 * (ptrdiff_t)c;
    for (int t = 0; t < 9; t++) memcpy(flipped + (ptrdiff_t)(8 - t) * c, k + (ptrdiff_t)t * c, sizeof(float) * (size_t)c);
    dw_rows_any(dy, outH, outW, c, flipped, 2 - padTop, 2 - padLeft, h, w, dx);
    memset(zeros, 0, sizeof(float) * (size_t)w * c);
    if (c % 16 == 0 && mien_cpu_level() >= 2) dw_grad3x3s1_512(x, h, w, c, dy, padTop, padLeft, outH, outW, zeros, dk);
    else dw_grad3x3s1(x, h, w, c, dy, padTop, padLeft, outH, outW, zeros, dk);
}

/* ---- training: the kernel gradient of a 3×3 convolution with few input channels ---- */

void mien_t_conv3x3_weight_grad(const float *x, int h, int w, int cin, const float *dy, int cout, float *dk) {
    /* per block of 8 output channels and input channel: the 9 taps in 9 registers over the whole
       image; each output pixel loads its 8 gradients once and broadcasts its 9 input values */
    const int outH = h - 2, outW = w - 2;
    for (int cb = 0; cb < cout; cb += 8)
        for (int ci = 0; ci < cin; ci++) {
            __m256 acc[9];
            for (int t = 0; t < 9; t++) acc[t] = _mm256_setzero_ps();
            for (int oh = 0; oh < outH; oh++) {
                const float *xr = x + (ptrdiff_t)oh * w * cin + ci;
                const float *g = dy + (ptrdiff_t)oh * outW * cout + cb;
                for (int ow = 0; ow < outW; ow++) {
                    const __m256 gv = _mm256_loadu_ps(g + (ptrdiff_t)ow * cout);
                    const float *xp = xr + (ptrdiff_t)ow * cin;
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++)
                            acc[3 * i + j] = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + ((ptrdiff_t)i * w + j) * cin), gv,
                                                             acc[3 * i + j]);
                }
            }
            for (int t = 0; t < 9; t++) {
                float *d = dk + ((ptrdiff_t)t * cin + ci) * cout + cb;
                _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), acc[t]));
            }
        }
}

/* ---- max pooling (+ optional residual add) ---- */

void mien_maxpool(const float *x, int h, int w, int c, int size, int stride, int padTop, int padLeft,
                  int outH, int outW, const float *add, float *out, float *scratch) {
    /* per output row: the max over the window's input rows into scratch [w, c] (contiguous, so
       one vector loop), then the max over each window's columns */
    ptrdiff_t rowLen = (ptrdiff_t)w * c;
    for (int oh = 0; oh < outH; oh++) {
        int ih0 = oh * stride - padTop;
        int h0 = imax(ih0, 0), h1 = imin(ih0 + size, h);
        const float *r0 = x + h0 * rowLen;
        if (h1 - h0 == 3) {
            const float *r1 = r0 + rowLen, *r2 = r1 + rowLen;
            for (ptrdiff_t q = 0; q < rowLen; q += 8)
                _mm256_storeu_ps(scratch + q, _mm256_max_ps(_mm256_max_ps(_mm256_loadu_ps(r0 + q), _mm256_loadu_ps(r1 + q)),
                                                            _mm256_loadu_ps(r2 + q)));
        } else if (h1 - h0 == 2) {
            const float *r1 = r0 + rowLen;
            for (ptrdiff_t q = 0; q < rowLen; q += 8)
                _mm256_storeu_ps(scratch + q, _mm256_max_ps(_mm256_loadu_ps(r0 + q), _mm256_loadu_ps(r1 + q)));
        } else {
            for (ptrdiff_t q = 0; q < rowLen; q += 8) {
                __m256 m = _mm256_loadu_ps(r0 + q);
                for (int ih = h0 + 1; ih < h1; ih++) m = _mm256_max_ps(m, _mm256_loadu_ps(x + ih * rowLen + q));
                _mm256_storeu_ps(scratch + q, m);
            }
        }
        float *orow = out + (ptrdiff_t)oh * outW * c;
        const float *arow = add ? add + (ptrdiff_t)oh * outW * c : NULL;
        for (int ow = 0; ow < outW; ow++) {
            int iw0 = ow * stride - padLeft;
            int w0 = imax(iw0, 0), w1 = imin(iw0 + size, w);
            const float *s0 = scratch + (ptrdiff_t)w0 * c;
            float *o = orow + (ptrdiff_t)ow * c;
            if (w1 - w0 == 3) {
                for (int cb = 0; cb < c; cb += 8) {
                    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_loadu_ps(s0 + cb), _mm256_loadu_ps(s0 + c + cb)),
                                             _mm256_loadu_ps(s0 + 2 * c + cb));
                    if (arow) m = _mm256_add_ps(m, _mm256_loadu_ps(arow + (ptrdiff_t)ow * c + cb));
                    _mm256_storeu_ps(o + cb, m);
                }
            } else {
                for (int cb = 0; cb < c; cb += 8) {
                    __m256 m = _mm256_loadu_ps(s0 + cb);
                    for (int iw = w0 + 1; iw < w1; iw++) m = _mm256_max_ps(m, _mm256_loadu_ps(scratch + (ptrdiff_t)iw * c + cb));
                    if (arow) m = _mm256_add_ps(m, _mm256_loadu_ps(arow + (ptrdiff_t)ow * c + cb));
                    _mm256_storeu_ps(o + cb, m);
                }
            }
        }
    }
}

#pragma clang attribute pop

/* ---- AVX-512 pointwise tiles: P pixels × 16·NB output channels ---- */

#pragma clang attribute push(AVX512_TARGET, apply_to = function)

INLINE void pw_tile512(const float *x, ptrdiff_t xs, int P, int cin, const float *k, int cout, int NB,
                       const float *bias, int relu, float *out) {
    __m512 acc[6][2];
    for (int p = 0; p < P; p++)
        for (int b = 0; b < NB; b++)
            acc[p][b] = bias ? _mm512_loadu_ps(bias + 16 * b) : _mm512_setzero_ps();
    for (int ci = 0; ci < cin; ci++) {
        const float *kr = k + (ptrdiff_t)ci * cout;
        __m512 w0 = _mm512_loadu_ps(kr);
        __m512 w1 = NB > 1 ? _mm512_loadu_ps(kr + 16) : w0;
        for (int p = 0; p < P; p++) {
            __m512 xv = _mm512_set1_ps(x[p * xs + ci]);
            acc[p][0] = _mm512_fmadd_ps(xv, w0, acc[p][0]);
            if (NB > 1) acc[p][1] = _mm512_fmadd_ps(xv, w1, acc[p][1]);
        }
    }
    for (int p = 0; p < P; p++)
        for (int b = 0; b < NB; b++) {
            __m512 v = relu ? _mm512_max_ps(acc[p][b], _mm512_setzero_ps()) : acc[p][b];
            _mm512_storeu_ps(out + (ptrdiff_t)p * cout + 16 * b, v);
        }
}

#define PW512_CASE(P, NB) case P: pw_tile512(xp, xs, P, cin, kc, cout, NB, bc, relu, op); break;

static void pw_row512(const float *x, ptrdiff_t xs, int n, int cin, const float *k, int cout,
                      const float *bias, int relu, float *out) {
    int cb = 0;
    for (; cb + 16 <= cout; ) {
        int nb = cb + 32 <= cout ? 2 : 1;
        const float *kc = k + cb, *bc = bias ? bias + cb : NULL;
        for (int p = 0; p < n; p += 6) {
            const float *xp = x + p * xs;
            float *op = out + (ptrdiff_t)p * cout + cb;
            if (nb == 2) {
                switch (imin(6, n - p)) { PW512_CASE(6, 2) PW512_CASE(5, 2) PW512_CASE(4, 2) PW512_CASE(3, 2) PW512_CASE(2, 2) PW512_CASE(1, 2) }
            } else {
                switch (imin(6, n - p)) { PW512_CASE(6, 1) PW512_CASE(5, 1) PW512_CASE(4, 1) PW512_CASE(3, 1) PW512_CASE(2, 1) PW512_CASE(1, 1) }
            }
        }
        cb += 16 * nb;
    }
    if (cb < cout) pw_cols8(x, xs, n, cin, k + cb, cout, bias ? bias + cb : NULL, relu, out + cb);  /* 8 left */
}

/* 3×3 stride-1 depthwise rows (dw3x3_body.h), 16 channels a vector. */
#define DW_NAME dw_rows3x3s1_512
#define DW_VEC __m512
#define DW_WIDTH 16
#define DW_LOAD _mm512_loadu_ps
#define DW_STORE _mm512_storeu_ps
#define DW_FMA _mm512_fmadd_ps
#define DW_ZERO _mm512_setzero_ps()
#include "dw3x3_body.h"   /* undefines the DW_ macros */

/* The kernel gradient, 16 channels a vector. */
#define DWG_NAME dw_grad3x3s1_512
#define DWG_VEC __m512
#define DWG_WIDTH 16
#define DWG_LOAD _mm512_loadu_ps
#define DWG_FMA _mm512_fmadd_ps
#define DWG_ADD_STORE(d, v) _mm512_storeu_ps(d, _mm512_add_ps(_mm512_loadu_ps(d), v))
#define DWG_ZERO _mm512_setzero_ps()
#include "dw3x3_grad_body.h"   /* undefines the DWG_ macros */

/* ---- AVX-512 direct convolution for few input channels (the CNN's first two layers) ----
   With 1–16 input channels, the channel-vector tiles above (conv_tile_kw3) do one broadcast
   load per multiply-add and run at ~40 % of the FMA units. Here the vectors run along the image
   row instead: the input is made planar ([cin][h][w], in `scratch`; a 1-channel image already
   is), so 16 neighbouring output pixels of one input channel are one load, and each weight,
   broadcast once, serves two output rows (16 accumulators: 2 rows × 8 output channels of 16
   pixels). Every output is the same chain of fused multiply-adds as in conv_tile_kw3 (bias
   first, then kernel row i, input channel ci, kernel column j), so the two give identical
   results. The 8×16 accumulator blocks go back to NHWC through two 8×8 transposes. */

INLINE void transpose8x8_store(__m256 r[8], float *out, ptrdiff_t stride, int n);

/* NHWC → planar [c][h·w]; 8 channels go through 8×8 transposes. */
INLINE void to_planar(const float *x, ptrdiff_t pixels, int c, float *planar) {
    ptrdiff_t px = 0;
    if (c == 8)
        for (; px + 8 <= pixels; px += 8) {
            __m256 r[8];
            for (int p = 0; p < 8; p++) r[p] = _mm256_loadu_ps(x + (px + p) * 8);
            transpose8x8_store(r, planar + px, pixels, 8);
        }
    for (; px < pixels; px++)
        for (int ci = 0; ci < c; ci++) planar[(ptrdiff_t)ci * pixels + px] = x[px * c + ci];
}

INLINE void transpose8x8_store(__m256 r[8], float *out, ptrdiff_t stride, int n) {
    __m256 t[8], u[8];
    for (int q = 0; q < 8; q += 2) {
        t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
        t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
    }
    for (int q = 0; q < 8; q += 4) {
        u[q] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    __m256 v[8];
    for (int p = 0; p < 4; p++) {
        v[p] = _mm256_permute2f128_ps(u[p], u[4 + p], 0x20);
        v[4 + p] = _mm256_permute2f128_ps(u[p], u[4 + p], 0x31);
    }
    for (int p = 0; p < n; p++) _mm256_storeu_ps(out + (ptrdiff_t)p * stride, v[p]);
}

/* Stores 16 pixels (n of them) × 8 channels from 8 per-channel vectors to out [pixel, cout]. */
INLINE void store_px16x8(__m512 acc[8], int relu, float *out, int cout, int n) {
    __m256 lo[8], hi[8];
    for (int q = 0; q < 8; q++) {
        __m512 v = relu ? _mm512_max_ps(acc[q], _mm512_setzero_ps()) : acc[q];
        lo[q] = _mm512_castps512_ps256(v);
        hi[q] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    }
    transpose8x8_store(lo, out, cout, imin(n, 8));
    if (n > 8) transpose8x8_store(hi, out + (ptrdiff_t)8 * cout, cout, n - 8);
}

static void conv3_planar512(const float *x, int h, int w, int cin, const float *k, int kh, int cout,
                            const float *bias, int relu, float *out, float *scratch) {
    const int outH = h - kh + 1, outW = w - 2;
    const float *xp = x;
    if (cin > 1) {
        to_planar(x, (ptrdiff_t)h * w, cin, scratch);
        xp = scratch;
    }
    for (int cb = 0; cb < cout; cb += 8) {
        for (int oh = 0; oh < outH; oh += 2) {
            const int two = oh + 1 < outH;
            for (int ow = 0; ow < outW; ow += 16) {
                const int n = imin(16, outW - ow);
                const __mmask16 m = (__mmask16)((1u << n) - 1);
                __m512 a0[8], a1[8];
                for (int q = 0; q < 8; q++) a0[q] = a1[q] = bias ? _mm512_set1_ps(bias[cb + q]) : _mm512_setzero_ps();
                for (int i = 0; i < kh; i++)
                    for (int ci = 0; ci < cin; ci++) {
                        const float *row = xp + ((ptrdiff_t)ci * h + oh + i) * w + ow;
                        for (int j = 0; j < 3; j++) {
                            const __m512 x0 = _mm512_maskz_loadu_ps(m, row + j);
                            const __m512 x1 = two ? _mm512_maskz_loadu_ps(m, row + w + j) : x0;
                            const float *kq = k + ((ptrdiff_t)(i * 3 + j) * cin + ci) * cout + cb;
                            for (int q = 0; q < 8; q++) {
                                const __m512 wq = _mm512_set1_ps(kq[q]);
                                a0[q] = _mm512_fmadd_ps(x0, wq, a0[q]);
                                a1[q] = _mm512_fmadd_ps(x1, wq, a1[q]);
                            }
                        }
                    }
                store_px16x8(a0, relu, out + ((ptrdiff_t)oh * outW + ow) * cout + cb, cout, n);
                if (two) store_px16x8(a1, relu, out + ((ptrdiff_t)(oh + 1) * outW + ow) * cout + cb, cout, n);
            }
        }
    }
}

#pragma clang attribute pop

#else  /* not x86: no kernels; FoldedCNN keeps its portable path */

int mien_kernels_avx2_available(void) { return 0; }
void mien_t_conv3x3_weight_grad(const float *x, int h, int w, int cin, const float *dy, int cout, float *dk) { __builtin_trap(); }
void mien_t_dw3x3s1_forward(const float *x, int h, int w, int c, const float *k, int padTop, int padLeft,
                            int outH, int outW, float *out) { __builtin_trap(); }
void mien_t_dw3x3s1_backward(const float *x, const float *dy, int h, int w, int c, const float *k, int padTop,
                             int padLeft, int outH, int outW, float *dk, float *dx, float *scratch) { __builtin_trap(); }
void mien_conv_valid_s1(const float *x, int h, int w, int cin, const float *k, int kh, int kw, int cout,
                        const float *bias, int relu, float *out, float *scratch) { __builtin_trap(); }
void mien_conv1x1(const float *x, int h, int w, int cin, int stride, int outH, int outW,
                  const float *k, int cout, const float *bias, int relu, float *out, float *scratch) { __builtin_trap(); }
void mien_separable(const float *x, int h, int w, int cin, const float *dw, int kh, int kw, int stride,
                    int padTop, int padLeft, int outH, int outW, const float *pw, int cout,
                    const float *bias, int relu, float *out, float *scratch) { __builtin_trap(); }
void mien_maxpool(const float *x, int h, int w, int c, int size, int stride, int padTop, int padLeft,
                  int outH, int outW, const float *add, float *out, float *scratch) { __builtin_trap(); }

#endif
