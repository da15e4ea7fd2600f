/*
 * The kernel gradient of a 3×3, stride-1 depthwise convolution (multiplier 1), for training:
 * written once like dw3x3_body.h and instantiated in kernels_avx2.c for AVX2 (8 channels a
 * vector) and AVX-512 (16). Before including, define DWG_NAME, DWG_VEC, DWG_WIDTH, DWG_LOAD,
 * DWG_FMA, DWG_ADD_STORE (dst += v) and DWG_ZERO; c must be a multiple of DWG_WIDTH. The macros
 * are undefined at the end.
 */
/* dk[i, j, ch] += Σ over output pixels (oh, ow) of x[oh − padTop + i, ow − padLeft + j, ch] ·
   dy[oh, ow, ch], for one image: x [h, w, c], dy [outH, outW, c], dk [3, 3, c]. Per channel
   block the 9 taps accumulate in 9 registers over the whole image (9 independent FMA chains)
   and are added to dk once. Kernel rows outside the image read `zeros` (≥ w·c zero floats), so
   the interior columns have no branches; edge columns run only their valid taps. */
static void DWG_NAME(const float *x, int h, int w, int c, const float *dy, int padTop, int padLeft,
                     int outH, int outW, const float *zeros, float *dk) {
    /* output columns whose 3 input columns are all inside: iw0 = ow − padLeft ∈ [0, w − 3] */
    int lo = imin(imax(padLeft, 0), outW), hi = imax(imin(w - 3 + padLeft + 1, outW), lo);
    for (int cb = 0; cb < c; cb += DWG_WIDTH) {
        DWG_VEC acc[9];
        for (int t = 0; t < 9; t++) acc[t] = DWG_ZERO;
        for (int oh = 0; oh < outH; oh++) {
            int ih0 = oh - padTop;
            const float *r[3];
            for (int i = 0; i < 3; i++) {
                int ih = ih0 + i;
                r[i] = (ih >= 0 && ih < h ? x + (ptrdiff_t)ih * w * c : zeros) + cb;
            }
            const float *g = dy + (ptrdiff_t)oh * outW * c + cb;
            for (int ow = lo; ow < hi; ow++) {
                ptrdiff_t o = (ptrdiff_t)(ow - padLeft) * c;
                DWG_VEC gv = DWG_LOAD(g + (ptrdiff_t)ow * c);
                for (int i = 0; i < 3; i++) {
                    acc[3 * i] = DWG_FMA(DWG_LOAD(r[i] + o), gv, acc[3 * i]);
                    acc[3 * i + 1] = DWG_FMA(DWG_LOAD(r[i] + o + c), gv, acc[3 * i + 1]);
                    acc[3 * i + 2] = DWG_FMA(DWG_LOAD(r[i] + o + 2 * c), gv, acc[3 * i + 2]);
                }
            }
            /* edge columns (every column when the image is narrower than the kernel) */
            for (int e = 0; e < outW; e++) {
                if (e == lo && hi > lo) { e = hi - 1; continue; }
                int iw0 = e - padLeft;
                int j0 = imax(0, -iw0), j1 = imin(3, w - iw0);
                DWG_VEC gv = DWG_LOAD(g + (ptrdiff_t)e * c);
                for (int i = 0; i < 3; i++)
                    for (int j = j0; j < j1; j++)
                        acc[3 * i + j] = DWG_FMA(DWG_LOAD(r[i] + (ptrdiff_t)(iw0 + j) * c), gv, acc[3 * i + j]);
            }
        }
        for (int t = 0; t < 9; t++) DWG_ADD_STORE(dk + (ptrdiff_t)t * c + cb, acc[t]);
    }
}

#undef DWG_NAME
#undef DWG_VEC
#undef DWG_WIDTH
#undef DWG_LOAD
#undef DWG_FMA
#undef DWG_ADD_STORE
#undef DWG_ZERO
