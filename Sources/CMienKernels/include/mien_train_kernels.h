#ifndef MIEN_TRAIN_KERNELS_H
#define MIEN_TRAIN_KERNELS_H
/*
 * CPU kernels for MienNN's training passes (forward with batch statistics and backward) of the
 * layers that are not matrix multiplies: depthwise convolution, im2col/col2im, batch
 * normalisation, ReLU, global average pooling and the optimiser's update.
 *
 * Why C: Swift compiles for the x86-64 baseline (SSE2) and has no per-function target attribute.
 * Each kernel here is compiled three times (AVX-512, AVX2+FMA, baseline) and the one the CPU
 * supports is chosen at run time, so the same binary runs on the AMD and Intel machines and on
 * CPUs without AVX. The loops are
 * plain C written so that the compiler vectorises them over channels; the tests compare every
 * kernel with MienNN's Double-precision references.
 *
 * Layouts are NHWC (channels innermost), float32, dense. Depthwise kernels are [kh, kw, c]
 * (depth multiplier 1). "Accumulate" means the kernel adds into the output; otherwise it writes.
 * Sums of statistics are in double, in a fixed order, so a result never depends on the thread
 * that computed it.
 */
#include <stddef.h>

/* What the CPU supports, decided once: 2 = AVX-512 (F, BW, DQ, VL), 1 = AVX2 + FMA, 0 = neither
   (or not x86). */
int mien_cpu_level(void);
/* Caps the level the kernels use (tests run every path the CPU has; not for production use). */
void mien_cpu_level_limit(int limit);

/* This thread's denormal handling: nonzero when results below FLT_MIN are flushed to zero and
   such inputs read as zero (x86 MXCSR's FTZ and DAZ bits, both or neither). Training turns it on
   (as TensorFlow's executor does): gradients that underflow into the denormal range otherwise
   take the CPU's slow microcode path, which halved training speed. Returns the previous setting.
   Not x86: reads 0, setting does nothing. */
int mien_fp_flush_denormals(int on);
int mien_fp_flushes_denormals(void);

/* Depthwise convolution of one image, multiplier 1: out[oh, ow, c] = Σ x[ih, iw, c]·k[i, j, c]
   over the taps inside the image (zero padding). x [h, w, c], out [outH, outW, c] (written). */
void mien_t_depthwise_forward(const float *x, int h, int w, int c, const float *k, int kh, int kw,
                              int stride, int padTop, int padLeft, int outH, int outW, float *out);

/* Its gradients for one image: dk += Σ x·dy (accumulate), dx += Σ k·dy (accumulate). */
void mien_t_depthwise_backward(const float *x, const float *dy, int h, int w, int c, const float *k,
                               int kh, int kw, int stride, int padTop, int padLeft, int outH, int outW,
                               float *dk, float *dx);

/* im2col of one image: rows = outH·outW, columns = kh·kw·c in (kh, kw, c) order (written, zeros
   in the padding). col2im_add adds such a matrix back into the image gradient (accumulate). */
void mien_t_im2col(const float *x, int h, int w, int c, int kh, int kw, int stride, int padTop, int padLeft,
                   int outH, int outW, float *cols);
void mien_t_col2im_add(const float *cols, int h, int w, int c, int kh, int kw, int stride, int padTop, int padLeft,
                       int outH, int outW, float *dx);

/* 3×3, stride-1 depthwise convolution (multiplier 1) of one image with the AVX2 / AVX-512
   row kernels of FoldedCNN (kernels_avx2.c), for training. Usable when
   c % 8 == 0 and mien_cpu_level() >= 1 (AVX2+FMA); otherwise use
   mien_t_depthwise_forward/backward. Forward: out [outH, outW, c] (written). Backward: dk [3, 3, c]
   accumulated, dx [h, w, c] written (the convolution of dy with the kernel turned by 180°);
   scratch holds (9 + w)·c floats. */
void mien_t_dw3x3s1_forward(const float *x, int h, int w, int c, const float *k, int padTop, int padLeft,
                            int outH, int outW, float *out);
void mien_t_dw3x3s1_backward(const float *x, const float *dy, int h, int w, int c, const float *k, int padTop,
                             int padLeft, int outH, int outW, float *dk, float *dx, float *scratch);

/* Kernel gradient of a 3×3 'valid' stride-1 convolution of one image (AVX2+FMA; 'same' runs on a
   zero-padded copy): dk[i, j, ci, co] += Σ x[oh + i, ow + j, ci] · dy[oh, ow, co] over the
   (h − 2) × (w − 2) output pixels. x [h, w, cin], dy [h − 2, w − 2, cout], cout % 8 == 0; meant
   for few input channels (the first layers), where im2col + GEMM spends its time packing. */
void mien_t_conv3x3_weight_grad(const float *x, int h, int w, int cin, const float *dy, int cout, float *dk);

/* Column sums and sums of squares of a rows × c matrix, added into sum[c] and squares[c] (double). */
void mien_t_column_sums_squares(const float *x, size_t rows, int c, double *sum, double *squares);
/* Batch norm of a rows × c matrix x with the batch's statistics (mean, invStd = 1/√(var + ε)):
   x̂ = (x − mean)·invStd, y = gamma·x̂ + beta, then max(y, 0) when relu != 0 (a ReLU fused after
   the batch norm). The backward passes take x and recompute x̂ (and the ReLU's mask) exactly as
   the forward did, so neither is stored.
   Forward: y written. Σ dy and Σ dy·x̂ per column added into sumDy[c] and sumDyXhat[c] (double),
   dy counted only where the fused ReLU passed. Input gradient: dx = k·(m·dy − sumDy − x̂·sumDyXhat)
   per column (written), dy masked the same way. */
void mien_t_bn_normalize(const float *x, size_t rows, int c, const float *mean, const float *invStd,
                         const float *gamma, const float *beta, int relu, float *y);
void mien_t_bn_grad_sums(const float *dy, const float *x, size_t rows, int c, const float *mean, const float *invStd,
                         const float *gamma, const float *beta, int relu, double *sumDy, double *sumDyXhat);
void mien_t_bn_grad_input(const float *dy, const float *x, size_t rows, int c, const float *mean, const float *invStd,
                          const float *gamma, const float *beta, int relu, const float *k, float m,
                          const float *sumDy, const float *sumDyXhat, float *dx);

/* ReLU: y = max(x, 0) (written); backward dx = x > 0 ? dy : 0 (written). */
void mien_t_relu(const float *x, size_t n, float *y);
void mien_t_relu_backward(const float *x, const float *dy, size_t n, float *dx);

/* Max pooling of one image, size×size windows, stride s, padding padTop/padLeft (padding never
   wins): x [h, w, c], out [outH, outW, c] (written). When argmax is not NULL it receives, per
   output, the index of the winning input element plus `base` (the image's offset in its batch). */
void mien_t_maxpool_forward(const float *x, int h, int w, int c, int size, int stride, int padTop, int padLeft,
                            int outH, int outW, float *out, int *argmax, int base);

/* One LSTM step for one sequence: z = [i | f | c̃ | o] pre-activations (4u) to which bias (4u;
   NULL: none) is added, then activated in place (σ, σ, tanh, σ); c = f·cPrev + i·c̃ (cPrev NULL:
   zeros), h = o·tanh(c). exp is Cephes' expf, the same polynomial as MienNN's `fastExp`. */
void mien_t_lstm_cell(float *z, const float *bias, const float *cPrev, float *c, float *h, int u);
/* Its backward for one sequence: from the activated gates g, this step's cell c and the previous
   one (NULL: zeros), dy (∂L/∂h from above) plus dh (from the next step) and dc (in: from the next
   step, out: to the previous one), writes dz (∂L/∂ pre-activations, 4u). */
void mien_t_lstm_cell_backward(const float *g, const float *c, const float *cPrev, const float *dy, const float *dh,
                               float *dc, float *dz, int u);

/* The time loop of an LSTM layer's forward pass over n sequences of t steps (lstm_steps.c).
   z [n, t, 4u] holds the input projection x·W (bias not added); it is overwritten with the
   activated gates. rp is the recurrent kernel R [u, 4u] packed by mien_lstm_pack_recurrent
   (mien_lstm_packed_count floats); c and h [n, t, u] receive every step's cell and hidden state.
   With reverse, steps run from t − 1 down to 0. Only when mien_lstm_steps_applies(u). */
int mien_lstm_steps_applies(int u);
static inline size_t mien_lstm_packed_count(int u) { return (size_t)u * 4 * (size_t)u; }
void mien_lstm_pack_recurrent(const float *r, int u, float *packed);
void mien_lstm_forward_steps(float *z, const float *rp, const float *bias, float *c, float *h, int n, int t, int u, int reverse);

/* out[i] += a[i] (accumulate), n elements. */
void mien_t_add(float *out, const float *a, size_t n);

/* Adam(W) update of n parameters: m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²;
   p −= lr·((m / c1) / (sqrt(v / c2) + eps) + wd·p). wd = 0 is Adam. */
void mien_t_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                 float c1, float c2, float eps, float wd);

#endif
