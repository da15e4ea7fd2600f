/*
 * The time loop of an LSTM layer's forward pass (MienNN's `LSTM.forward`), after its input
 * projection: per step, the recurrent product z_b += h_{b,prev} · R for every sequence b, then
 * the gates and the cell update (mien_t_lstm_cell) on the same rows while they are in L1.
 *
 * Why not sgemm per step: the recurrent product is small (batch × 4u × u; 64 × 256 × 64 for
 * Mien's BiLSTM) and repeated T − 1 times with the same R. OpenBLAS packs R and the h rows again
 * on every call (~7 % of an inference) and writes z back before the cell reads it. Here R is
 * packed once per forward call into panels of 64 columns ([4u / 64][u][64], one panel ~16 KB for
 * u = 64, so it stays in L1 while a block of rows is multiplied), and each row block goes straight
 * on to its cell update.
 *
 * Register tiles: AVX-512, 4 rows × 64 columns (16 accumulators); AVX2+FMA, 2 rows × 32 columns
 * (8). Every z element is the same chain of fused multiply-adds, z + h_0·R_0 + h_1·R_1 + … in
 * k order, on both, so AVX2 and AVX-512 give identical results. Needs u % 16 == 0
 * (`mien_lstm_steps_applies`).
 */
#include "mien_train_kernels.h"
#include <stddef.h>

#define PANEL 64

int mien_lstm_steps_applies(int u) { return u > 0 && u % 16 == 0 && mien_cpu_level() >= 1; }

void mien_lstm_pack_recurrent(const float *r, int u, float *packed) {
    int g4 = 4 * u;
    for (int p = 0; p < g4 / PANEL; p++)
        for (int k = 0; k < u; k++)
            for (int j = 0; j < PANEL; j++) packed[((ptrdiff_t)p * u + k) * PANEL + j] = r[(ptrdiff_t)k * g4 + p * PANEL + j];
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* z rows [rows, ldz] += h rows [rows, ldh] · R (packed), ROWS a compile-time block height. */
#define LSTM_REC(NAME, TARGET, VEC, W, LOAD, STORE, FMA, SET1, ROWS, VECS) \
    TARGET static void NAME(float *z, ptrdiff_t ldz, const float *h, ptrdiff_t ldh, const float *rp, int u) { \
        int g4 = 4 * u; \
        for (int p = 0; p < g4 / PANEL; p++) { \
            const float *panel = rp + (ptrdiff_t)p * u * PANEL; \
            for (int sub = 0; sub < PANEL; sub += (VECS) * (W)) { \
                VEC acc[ROWS][VECS]; \
                for (int r = 0; r < (ROWS); r++) \
                    for (int q = 0; q < (VECS); q++) acc[r][q] = LOAD(z + r * ldz + p * PANEL + sub + q * (W)); \
                for (int k = 0; k < u; k++) { \
                    VEC w[VECS]; \
                    for (int q = 0; q < (VECS); q++) w[q] = LOAD(panel + (ptrdiff_t)k * PANEL + sub + q * (W)); \
                    for (int r = 0; r < (ROWS); r++) { \
                        VEC hb = SET1(h[r * ldh + k]); \
                        for (int q = 0; q < (VECS); q++) acc[r][q] = FMA(w[q], hb, acc[r][q]); \
                    } \
                } \
                for (int r = 0; r < (ROWS); r++) \
                    for (int q = 0; q < (VECS); q++) STORE(z + r * ldz + p * PANEL + sub + q * (W), acc[r][q]); \
            } \
        } \
    }

#define T512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))
LSTM_REC(rec512x4, T512, __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, _mm512_set1_ps, 4, 4)
LSTM_REC(rec512x1, T512, __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, _mm512_set1_ps, 1, 4)
LSTM_REC(rec256x2, T256, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_set1_ps, 2, 4)
LSTM_REC(rec256x1, T256, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_set1_ps, 1, 4)

void mien_lstm_forward_steps(float *z, const float *rp, const float *bias, float *c, float *h, int n, int t, int u, int reverse) {
    int g4 = 4 * u, wide = mien_cpu_level() >= 2, block = wide ? 4 : 2;
    ptrdiff_t ldz = (ptrdiff_t)t * g4, ldh = (ptrdiff_t)t * u;
    for (int s = 0; s < t; s++) {
        int step = reverse ? t - 1 - s : s, prev = reverse ? step + 1 : step - 1;
        float *zs = z + (ptrdiff_t)step * g4;
        for (int b0 = 0; b0 < n; b0 += block) {
            int rows = n - b0 < block ? n - b0 : block;
            float *zb = zs + b0 * ldz;
            if (s > 0) {
                const float *hb = h + (ptrdiff_t)prev * u + b0 * ldh;
                if (rows == block) {
                    if (wide) rec512x4(zb, ldz, hb, ldh, rp, u); else rec256x2(zb, ldz, hb, ldh, rp, u);
                } else {
                    for (int r = 0; r < rows; r++) {
                        if (wide) rec512x1(zb + r * ldz, ldz, hb + r * ldh, ldh, rp, u);
                        else rec256x1(zb + r * ldz, ldz, hb + r * ldh, ldh, rp, u);
                    }
                }
            }
            for (int r = 0; r < rows; r++) {
                ptrdiff_t row = (ptrdiff_t)(b0 + r) * t;
                mien_t_lstm_cell(zb + r * ldz, bias, s > 0 ? c + (row + prev) * u : NULL, c + (row + step) * u,
                                 h + (row + step) * u, u);
            }
        }
    }
}

#else
void mien_lstm_forward_steps(float *z, const float *rp, const float *bias, float *c, float *h, int n, int t, int u, int reverse) {
    __builtin_trap();
}
#endif
