/*
 * The 3×3, stride-1 depthwise row kernel of kernels_avx2.c, written once and instantiated there
 * for two vector widths: AVX2 (8 channels a vector) and AVX-512 (16). Per channel both run the
 * same fused multiply-adds in the same order, so they give identical results. Before including,
 * define DW_NAME (the function), DW_VEC (vector type), DW_WIDTH (floats a vector), DW_LOAD,
 * DW_STORE, DW_FMA (a·b + c) and DW_ZERO; c must be a multiple of DW_WIDTH. The macros are
 * undefined at the end, ready for the next instantiation.
 */
/* Output rows [oh0, oh1) of a 3×3, stride-1 depthwise convolution into out [oh1 − oh0, outW, c].
   Kernel rows that fall outside the image get zero weights and a valid row pointer (adding 0·x
   changes nothing), so the interior has no branches; it runs 4 output pixels at a time
   (4 independent FMA chains), the 9 taps of the channel block in registers. The channel block
   is the outer loop so its taps are loaded once for all rows. */
static void DW_NAME(const float *x, int h, int w, int c, const float *dw, int padTop, int padLeft,
                         int oh0, int oh1, int outW, float *out) {
    /* output columns whose 3 input columns are all inside: iw0 = ow − padLeft ∈ [0, w − 3] */
    int lo = imin(imax(padLeft, 0), outW), hi = imax(imin(w - 3 + padLeft + 1, outW), lo);
    /* 'same' padding: one edge column each side, each missing one kernel column */
    int sameEdges = padLeft == 1 && lo == 1 && hi == outW - 1 && outW == w;
    for (int cb = 0; cb < c; cb += DW_WIDTH) {
        DW_VEC wk[9];
        for (int t = 0; t < 9; t++) wk[t] = DW_LOAD(dw + (ptrdiff_t)t * c + cb);
        for (int oh = oh0; oh < oh1; oh++) {
            int ih0 = oh - padTop;
            const float *r[3];
            DW_VEC wv[9];
            for (int i = 0; i < 3; i++) {
                int ih = ih0 + i, valid = ih >= 0 && ih < h;
                r[i] = x + (ptrdiff_t)imin(imax(ih, 0), h - 1) * w * c + cb;
                for (int j = 0; j < 3; j++) wv[3 * i + j] = valid ? wk[3 * i + j] : DW_ZERO;
            }
            const float *r0 = r[0], *r1 = r[1], *r2 = r[2];
            float *row = out + (ptrdiff_t)(oh - oh0) * outW * c + cb;
            int ow = lo;
            for (; ow + 4 <= hi; ow += 4) {
                ptrdiff_t o = (ptrdiff_t)(ow - padLeft) * c;
                DW_VEC a0 = DW_ZERO, a1 = a0, a2 = a0, a3 = a0;
#define DW_TAP(R, J, T) \
                a0 = DW_FMA(DW_LOAD(R + o + (J) * c), wv[T], a0); \
                a1 = DW_FMA(DW_LOAD(R + o + (J + 1) * c), wv[T], a1); \
                a2 = DW_FMA(DW_LOAD(R + o + (J + 2) * c), wv[T], a2); \
                a3 = DW_FMA(DW_LOAD(R + o + (J + 3) * c), wv[T], a3);
                DW_TAP(r0, 0, 0) DW_TAP(r0, 1, 1) DW_TAP(r0, 2, 2)
                DW_TAP(r1, 0, 3) DW_TAP(r1, 1, 4) DW_TAP(r1, 2, 5)
                DW_TAP(r2, 0, 6) DW_TAP(r2, 1, 7) DW_TAP(r2, 2, 8)
#undef DW_TAP
                float *d = row + (ptrdiff_t)ow * c;
                DW_STORE(d, a0);
                DW_STORE(d + c, a1);
                DW_STORE(d + 2 * c, a2);
                DW_STORE(d + 3 * c, a3);
            }
            for (; ow < hi; ow++) {
                ptrdiff_t o = (ptrdiff_t)(ow - padLeft) * c;
                DW_VEC a = DW_ZERO;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++)
                        a = DW_FMA(DW_LOAD(r[i] + o + j * c), wv[3 * i + j], a);
                DW_STORE(row + (ptrdiff_t)ow * c, a);
            }
            if (sameEdges) {
                /* left: input columns 0, 1 under kernel columns 1, 2; right: w − 2, w − 1 under 0, 1 */
                DW_VEC a = DW_ZERO, b = a;
                ptrdiff_t e = (ptrdiff_t)(w - 2) * c;
                for (int i = 0; i < 3; i++) {
                    a = DW_FMA(DW_LOAD(r[i]), wv[3 * i + 1], a);
                    a = DW_FMA(DW_LOAD(r[i] + c), wv[3 * i + 2], a);
                    b = DW_FMA(DW_LOAD(r[i] + e), wv[3 * i], b);
                    b = DW_FMA(DW_LOAD(r[i] + e + c), wv[3 * i + 1], b);
                }
                DW_STORE(row, a);
                DW_STORE(row + (ptrdiff_t)(outW - 1) * c, b);
                continue;
            }
            /* other edge columns (and every column when the image is narrower than the kernel) */
            for (int e = 0; e < outW; e++) {
                if (e == lo && hi > lo) { e = hi - 1; continue; }
                int iw0 = e - padLeft;
                int j0 = imax(0, -iw0), j1 = imin(3, w - iw0);
                DW_VEC a = DW_ZERO;
                for (int i = 0; i < 3; i++)
                    for (int j = j0; j < j1; j++)
                        a = DW_FMA(DW_LOAD(r[i] + (ptrdiff_t)(iw0 + j) * c), wv[3 * i + j], a);
                DW_STORE(row + (ptrdiff_t)e * c, a);
            }
        }
    }
}

#undef DW_NAME
#undef DW_VEC
#undef DW_WIDTH
#undef DW_LOAD
#undef DW_STORE
#undef DW_FMA
#undef DW_ZERO
