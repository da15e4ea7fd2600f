/*
 * Training kernels (see include/mien_train_kernels.h for why they exist and the layouts).
 *
 * Each kernel is written once as plain C (`..._impl`, always inlined) and compiled three times
 * by DISPATCH: for AVX-512 (F, BW, DQ, VL), for AVX2+FMA and for the baseline; the public entry
 * calls the one the CPU supports (`mien_cpu_level`, decided once). clang's `target_clones`
 * would do this with an ifunc, but its resolver picked the baseline on the Intel Xeon machines
 * (its CPU-feature bits come from libgcc there), so the choice is explicit.
 */
#include "mien_train_kernels.h"
#include <math.h>
#include <string.h>

#define RESTRICT __restrict__
#define IMPL static inline __attribute__((always_inline))

#if defined(__x86_64__) || defined(__i386__)
static int level = -1;

void mien_cpu_level_limit(int limit) {
    level = -1;
    int l = mien_cpu_level();
    level = limit < l ? limit : l;
}

int mien_cpu_level(void) {
    if (level < 0) {
        __builtin_cpu_init();
        int l = 0;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
        if (l == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) l = 2;
        level = l;
    }
    return level;
}

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"), noinline))
#define AVX2 __attribute__((target("avx2,fma"), noinline))
#define DISPATCH(name, params, args) \
    AVX512 static void name##_avx512 params { name##_impl args; } \
    AVX2 static void name##_avx2 params { name##_impl args; } \
    __attribute__((noinline)) static void name##_base params { name##_impl args; } \
    void name params { \
        switch (mien_cpu_level()) { \
        case 2: name##_avx512 args; break; \
        case 1: name##_avx2 args; break; \
        default: name##_base args; \
        } \
    }
#include <xmmintrin.h>
#define MXCSR_FTZ_DAZ 0x8040u /* flush to zero (bit 15), denormals are zero (bit 6) */

int mien_fp_flushes_denormals(void) { return (_mm_getcsr() & MXCSR_FTZ_DAZ) == MXCSR_FTZ_DAZ; }

int mien_fp_flush_denormals(int on) {
    int was = mien_fp_flushes_denormals();
    unsigned csr = _mm_getcsr();
    _mm_setcsr(on ? (csr | MXCSR_FTZ_DAZ) : (csr & ~MXCSR_FTZ_DAZ));
    return was;
}
#else
int mien_cpu_level(void) { return 0; }
void mien_cpu_level_limit(int limit) { (void)limit; }
int mien_fp_flushes_denormals(void) { return 0; }
int mien_fp_flush_denormals(int on) { (void)on; return 0; }
#define DISPATCH(name, params, args) void name params { name##_impl args; }
#endif

static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* The valid tap range [lo, hi) of a window starting at `start` over an axis of length n. */
static inline void taps(int start, int k, int n, int *lo, int *hi) {
    *lo = imax(0, -start);
    *hi = imin(k, n - start);
}

IMPL void mien_t_depthwise_forward_impl(const float *RESTRICT x, int h, int w, int c, const float *RESTRICT k, int kh, int kw,
                              int stride, int padTop, int padLeft, int outH, int outW, float *RESTRICT out) {
    for (int oh = 0; oh < outH; oh++) {
        int ih0 = oh * stride - padTop, i0, i1;
        taps(ih0, kh, h, &i0, &i1);
        for (int ow = 0; ow < outW; ow++) {
            int iw0 = ow * stride - padLeft, j0, j1;
            taps(iw0, kw, w, &j0, &j1);
            float *RESTRICT o = out + ((size_t)oh * outW + ow) * c;
            for (int ch = 0; ch < c; ch++) o[ch] = 0;
            for (int i = i0; i < i1; i++) {
                for (int j = j0; j < j1; j++) {
                    const float *RESTRICT xi = x + ((size_t)(ih0 + i) * w + (iw0 + j)) * c;
                    const float *RESTRICT ki = k + ((size_t)i * kw + j) * c;
                    for (int ch = 0; ch < c; ch++) o[ch] += xi[ch] * ki[ch];
                }
            }
        }
    }
}

IMPL void mien_t_depthwise_backward_impl(const float *RESTRICT x, const float *RESTRICT dy, int h, int w, int c,
                               const float *RESTRICT k, int kh, int kw, int stride, int padTop, int padLeft,
                               int outH, int outW, float *RESTRICT dk, float *RESTRICT dx) {
    for (int oh = 0; oh < outH; oh++) {
        int ih0 = oh * stride - padTop, i0, i1;
        taps(ih0, kh, h, &i0, &i1);
        for (int ow = 0; ow < outW; ow++) {
            int iw0 = ow * stride - padLeft, j0, j1;
            taps(iw0, kw, w, &j0, &j1);
            const float *RESTRICT g = dy + ((size_t)oh * outW + ow) * c;
            for (int i = i0; i < i1; i++) {
                for (int j = j0; j < j1; j++) {
                    size_t off = ((size_t)(ih0 + i) * w + (iw0 + j)) * c;
                    const float *RESTRICT xi = x + off;
                    float *RESTRICT dxi = dx + off;
                    const float *RESTRICT ki = k + ((size_t)i * kw + j) * c;
                    float *RESTRICT dki = dk + ((size_t)i * kw + j) * c;
                    for (int ch = 0; ch < c; ch++) {
                        dki[ch] += xi[ch] * g[ch];
                        dxi[ch] += ki[ch] * g[ch];
                    }
                }
            }
        }
    }
}

/* memcpy of n floats; the sizes of the first layers' runs (1–3 taps of 1 or 8 channels) are
   constants the compiler turns into a few moves instead of a call per run. */
IMPL void copy_floats(float *RESTRICT d, const float *RESTRICT s, size_t n) {
    switch (n) {
    case 1: memcpy(d, s, 4); return;
    case 2: memcpy(d, s, 8); return;
    case 3: memcpy(d, s, 12); return;
    case 8: memcpy(d, s, 32); return;
    case 16: memcpy(d, s, 64); return;
    case 24: memcpy(d, s, 96); return;
    default: memcpy(d, s, sizeof(float) * n);
    }
}

IMPL void mien_t_im2col_impl(const float *RESTRICT x, int h, int w, int c, int kh, int kw, int stride, int padTop, int padLeft,
                   int outH, int outW, float *RESTRICT cols) {
    size_t patch = (size_t)kh * kw * c, row = (size_t)kw * c;
    for (int oh = 0; oh < outH; oh++) {
        for (int ow = 0; ow < outW; ow++) {
            float *RESTRICT dst = cols + ((size_t)oh * outW + ow) * patch;
            int iw0 = ow * stride - padLeft;
            int jlo = imax(0, -iw0), jhi = imin(kw, w - iw0);   /* taps inside the image: [jlo, jhi) */
            for (int i = 0; i < kh; i++, dst += row) {
                int ih = oh * stride - padTop + i;
                if (ih < 0 || ih >= h || jlo >= jhi) {
                    memset(dst, 0, sizeof(float) * row);
                    continue;
                }
                /* the taps of one kernel row are neighbouring pixels: one run of (jhi − jlo)·c floats */
                if (jlo > 0) memset(dst, 0, sizeof(float) * (size_t)jlo * c);
                copy_floats(dst + (size_t)jlo * c, x + ((size_t)ih * w + iw0 + jlo) * c, (size_t)(jhi - jlo) * c);
                if (jhi < kw) memset(dst + (size_t)jhi * c, 0, sizeof(float) * (size_t)(kw - jhi) * c);
            }
        }
    }
}

IMPL void mien_t_col2im_add_impl(const float *RESTRICT cols, int h, int w, int c, int kh, int kw, int stride, int padTop,
                       int padLeft, int outH, int outW, float *RESTRICT dx) {
    size_t patch = (size_t)kh * kw * c;
    for (int oh = 0; oh < outH; oh++) {
        for (int ow = 0; ow < outW; ow++) {
            const float *RESTRICT src = cols + ((size_t)oh * outW + ow) * patch;
            for (int i = 0; i < kh; i++) {
                int ih = oh * stride - padTop + i;
                for (int j = 0; j < kw; j++) {
                    int iw = ow * stride - padLeft + j;
                    if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
                        float *RESTRICT d = dx + ((size_t)ih * w + iw) * c;
                        for (int ch = 0; ch < c; ch++) d[ch] += src[ch];
                    }
                    src += c;
                }
            }
        }
    }
}

IMPL void mien_t_column_sums_squares_impl(const float *RESTRICT x, size_t rows, int c, double *RESTRICT sum,
                                         double *RESTRICT squares) {
    for (size_t r = 0; r < rows; r++) {
        const float *RESTRICT xr = x + r * (size_t)c;
        for (int j = 0; j < c; j++) {
            double v = (double)xr[j];
            sum[j] += v;
            squares[j] += v * v;
        }
    }
}

/* The batch norm's per-element maths, shared by its three passes so that each recomputes x̂ and
   the fused ReLU's mask exactly as the forward did. */
#define BN_XHAT(j) ((xr[j] - mean[j]) * invStd[j])
#define BN_OUT(j, hv) (gamma[j] * (hv) + beta[j])

IMPL void mien_t_bn_normalize_impl(const float *RESTRICT x, size_t rows, int c, const float *RESTRICT mean,
                         const float *RESTRICT invStd, const float *RESTRICT gamma, const float *RESTRICT beta,
                         int relu, float *RESTRICT y) {
    for (size_t r = 0; r < rows; r++) {
        const float *RESTRICT xr = x + r * (size_t)c;
        float *RESTRICT yr = y + r * (size_t)c;
        if (relu) {
            for (int j = 0; j < c; j++) {
                float v = BN_OUT(j, BN_XHAT(j));
                yr[j] = v > 0 ? v : 0;
            }
        } else {
            for (int j = 0; j < c; j++) yr[j] = BN_OUT(j, BN_XHAT(j));
        }
    }
}

IMPL void mien_t_bn_grad_sums_impl(const float *RESTRICT dy, const float *RESTRICT x, size_t rows, int c,
                         const float *RESTRICT mean, const float *RESTRICT invStd, const float *RESTRICT gamma,
                         const float *RESTRICT beta, int relu, double *RESTRICT sumDy, double *RESTRICT sumDyXhat) {
    for (size_t r = 0; r < rows; r++) {
        const float *RESTRICT gr = dy + r * (size_t)c;
        const float *RESTRICT xr = x + r * (size_t)c;
        if (relu) {
            for (int j = 0; j < c; j++) {
                float hv = BN_XHAT(j);
                double g = BN_OUT(j, hv) > 0 ? (double)gr[j] : 0.0;
                sumDy[j] += g;
                sumDyXhat[j] += g * (double)hv;
            }
        } else {
            for (int j = 0; j < c; j++) {
                double g = (double)gr[j];
                sumDy[j] += g;
                sumDyXhat[j] += g * (double)BN_XHAT(j);
            }
        }
    }
}

IMPL void mien_t_bn_grad_input_impl(const float *RESTRICT dy, const float *RESTRICT x, size_t rows, int c,
                          const float *RESTRICT mean, const float *RESTRICT invStd, const float *RESTRICT gamma,
                          const float *RESTRICT beta, int relu, const float *RESTRICT k, float m,
                          const float *RESTRICT sumDy, const float *RESTRICT sumDyXhat, float *RESTRICT dx) {
    for (size_t r = 0; r < rows; r++) {
        const float *RESTRICT gr = dy + r * (size_t)c;
        const float *RESTRICT xr = x + r * (size_t)c;
        float *RESTRICT dr = dx + r * (size_t)c;
        if (relu) {
            for (int j = 0; j < c; j++) {
                float hv = BN_XHAT(j);
                float g = BN_OUT(j, hv) > 0 ? gr[j] : 0.0f;
                dr[j] = k[j] * (m * g - sumDy[j] - hv * sumDyXhat[j]);
            }
        } else {
            for (int j = 0; j < c; j++) dr[j] = k[j] * (m * gr[j] - sumDy[j] - BN_XHAT(j) * sumDyXhat[j]);
        }
    }
}

#undef BN_XHAT
#undef BN_OUT

IMPL void mien_t_maxpool_forward_impl(const float *RESTRICT x, int h, int w, int c, int size, int stride, int padTop,
                                      int padLeft, int outH, int outW, float *RESTRICT out, int *RESTRICT argmax, int base) {
    for (int oh = 0; oh < outH; oh++) {
        int h0 = imax(oh * stride - padTop, 0), h1 = imin(oh * stride - padTop + size, h);
        for (int ow = 0; ow < outW; ow++) {
            int w0 = imax(ow * stride - padLeft, 0), w1 = imin(ow * stride - padLeft + size, w);
            size_t o = ((size_t)oh * outW + ow) * c;
            float *RESTRICT op = out + o;
            int first = 1;
            for (int ih = h0; ih < h1; ih++) {
                for (int iw = w0; iw < w1; iw++) {
                    int at = (ih * w + iw) * c;
                    const float *RESTRICT xi = x + at;
                    if (first) {
                        for (int k = 0; k < c; k++) op[k] = xi[k];
                        if (argmax) for (int k = 0; k < c; k++) argmax[o + k] = base + at + k;
                        first = 0;
                    } else if (argmax) {
                        for (int k = 0; k < c; k++) {
                            int better = xi[k] > op[k];
                            op[k] = better ? xi[k] : op[k];
                            argmax[o + k] = better ? base + at + k : argmax[o + k];
                        }
                    } else {
                        for (int k = 0; k < c; k++) op[k] = xi[k] > op[k] ? xi[k] : op[k];
                    }
                }
            }
        }
    }
}

/* Cephes' expf as MienNN's fastExp: clamp, k = round(x / ln 2), degree-6 polynomial, 2^k. */
static inline __attribute__((always_inline)) float fast_exp(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float magic = 12582912.0f;
    float k = (x * 1.44269504f + magic) - magic;
    float r = x - k * 0.693359375f - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { unsigned u; float f; } scale = { .u = (unsigned)((int)k + 127) << 23 };
    return p * scale.f;
}
static inline __attribute__((always_inline)) float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }
static inline __attribute__((always_inline)) float fast_tanh(float x) { return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f); }

IMPL void mien_t_lstm_cell_impl(float *RESTRICT z, const float *RESTRICT bias, const float *RESTRICT cPrev, float *RESTRICT c,
                                float *RESTRICT h, int u) {
    if (bias) {
        for (int j = 0; j < 2 * u; j++) z[j] = fast_sigmoid(z[j] + bias[j]);
        for (int j = 2 * u; j < 3 * u; j++) z[j] = fast_tanh(z[j] + bias[j]);
        for (int j = 3 * u; j < 4 * u; j++) z[j] = fast_sigmoid(z[j] + bias[j]);
    } else {
        for (int j = 0; j < 2 * u; j++) z[j] = fast_sigmoid(z[j]);
        for (int j = 2 * u; j < 3 * u; j++) z[j] = fast_tanh(z[j]);
        for (int j = 3 * u; j < 4 * u; j++) z[j] = fast_sigmoid(z[j]);
    }
    for (int j = 0; j < u; j++) {
        float cv = z[u + j] * (cPrev ? cPrev[j] : 0.0f) + z[j] * z[2 * u + j];
        c[j] = cv;
        h[j] = z[3 * u + j] * fast_tanh(cv);
    }
}

IMPL void mien_t_lstm_cell_backward_impl(const float *RESTRICT g, const float *RESTRICT c, const float *RESTRICT cPrev,
                                         const float *RESTRICT dy, const float *RESTRICT dh, float *RESTRICT dc,
                                         float *RESTRICT dz, int u) {
    for (int j = 0; j < u; j++) {
        float ig = g[j], fg = g[u + j], gg = g[2 * u + j], og = g[3 * u + j];
        float cp = cPrev ? cPrev[j] : 0.0f;
        float tc = fast_tanh(c[j]);
        float dhj = dy[j] + dh[j];
        float dcj = dhj * og * (1 - tc * tc) + dc[j];
        dz[j] = dcj * gg * ig * (1 - ig);
        dz[u + j] = dcj * cp * fg * (1 - fg);
        dz[2 * u + j] = dcj * ig * (1 - gg * gg);
        dz[3 * u + j] = dhj * tc * og * (1 - og);
        dc[j] = dcj * fg;
    }
}

IMPL void mien_t_relu_impl(const float *RESTRICT x, size_t n, float *RESTRICT y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

IMPL void mien_t_relu_backward_impl(const float *RESTRICT x, const float *RESTRICT dy, size_t n, float *RESTRICT dx) {
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}

IMPL void mien_t_add_impl(float *RESTRICT out, const float *RESTRICT a, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] += a[i];
}

IMPL void mien_t_adam_impl(float *RESTRICT p, const float *RESTRICT g, float *RESTRICT m, float *RESTRICT v, size_t n,
                 float lr, float b1, float b2, float c1, float c2, float eps, float wd) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float old = p[i];
        p[i] = old - lr * (mi / c1) / (sqrtf(vi / c2) + eps) - lr * wd * old;
    }
}

/* ---- the public entries ---- */

DISPATCH(mien_t_depthwise_forward, (const float *RESTRICT x, int h, int w, int c, const float *RESTRICT k, int kh, int kw, int stride, int padTop, int padLeft, int outH, int outW, float *RESTRICT out), (x, h, w, c, k, kh, kw, stride, padTop, padLeft, outH, outW, out))
DISPATCH(mien_t_depthwise_backward, (const float *RESTRICT x, const float *RESTRICT dy, int h, int w, int c, const float *RESTRICT k, int kh, int kw, int stride, int padTop, int padLeft, int outH, int outW, float *RESTRICT dk, float *RESTRICT dx), (x, dy, h, w, c, k, kh, kw, stride, padTop, padLeft, outH, outW, dk, dx))
DISPATCH(mien_t_im2col, (const float *RESTRICT x, int h, int w, int c, int kh, int kw, int stride, int padTop, int padLeft, int outH, int outW, float *RESTRICT cols), (x, h, w, c, kh, kw, stride, padTop, padLeft, outH, outW, cols))
DISPATCH(mien_t_col2im_add, (const float *RESTRICT cols, int h, int w, int c, int kh, int kw, int stride, int padTop, int padLeft, int outH, int outW, float *RESTRICT dx), (cols, h, w, c, kh, kw, stride, padTop, padLeft, outH, outW, dx))
DISPATCH(mien_t_column_sums_squares, (const float *RESTRICT x, size_t rows, int c, double *RESTRICT sum, double *RESTRICT squares), (x, rows, c, sum, squares))
DISPATCH(mien_t_bn_normalize, (const float *RESTRICT x, size_t rows, int c, const float *RESTRICT mean, const float *RESTRICT invStd, const float *RESTRICT gamma, const float *RESTRICT beta, int relu, float *RESTRICT y), (x, rows, c, mean, invStd, gamma, beta, relu, y))
DISPATCH(mien_t_bn_grad_sums, (const float *RESTRICT dy, const float *RESTRICT x, size_t rows, int c, const float *RESTRICT mean, const float *RESTRICT invStd, const float *RESTRICT gamma, const float *RESTRICT beta, int relu, double *RESTRICT sumDy, double *RESTRICT sumDyXhat), (dy, x, rows, c, mean, invStd, gamma, beta, relu, sumDy, sumDyXhat))
DISPATCH(mien_t_bn_grad_input, (const float *RESTRICT dy, const float *RESTRICT x, size_t rows, int c, const float *RESTRICT mean, const float *RESTRICT invStd, const float *RESTRICT gamma, const float *RESTRICT beta, int relu, const float *RESTRICT k, float m, const float *RESTRICT sumDy, const float *RESTRICT sumDyXhat, float *RESTRICT dx), (dy, x, rows, c, mean, invStd, gamma, beta, relu, k, m, sumDy, sumDyXhat, dx))
DISPATCH(mien_t_maxpool_forward, (const float *RESTRICT x, int h, int w, int c, int size, int stride, int padTop, int padLeft, int outH, int outW, float *RESTRICT out, int *RESTRICT argmax, int base), (x, h, w, c, size, stride, padTop, padLeft, outH, outW, out, argmax, base))
DISPATCH(mien_t_lstm_cell, (float *RESTRICT z, const float *RESTRICT bias, const float *RESTRICT cPrev, float *RESTRICT c, float *RESTRICT h, int u), (z, bias, cPrev, c, h, u))
DISPATCH(mien_t_lstm_cell_backward, (const float *RESTRICT g, const float *RESTRICT c, const float *RESTRICT cPrev, const float *RESTRICT dy, const float *RESTRICT dh, float *RESTRICT dc, float *RESTRICT dz, int u), (g, c, cPrev, dy, dh, dc, dz, u))
DISPATCH(mien_t_relu, (const float *RESTRICT x, size_t n, float *RESTRICT y), (x, n, y))
DISPATCH(mien_t_relu_backward, (const float *RESTRICT x, const float *RESTRICT dy, size_t n, float *RESTRICT dx), (x, dy, n, dx))
DISPATCH(mien_t_add, (float *RESTRICT out, const float *RESTRICT a, size_t n), (out, a, n))
DISPATCH(mien_t_adam, (float *RESTRICT p, const float *RESTRICT g, float *RESTRICT m, float *RESTRICT v, size_t n, float lr, float b1, float b2, float c1, float c2, float eps, float wd), (p, g, m, v, n, lr, b1, b2, c1, c2, eps, wd))
