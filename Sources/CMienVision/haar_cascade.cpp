// Mien's evaluator of OpenCV stump-based Haar cascades (see haar_cascade.hpp).
//
// It reproduces what OpenCV 4.6's cv::CascadeClassifier::detectMultiScale does for a new-format
// HAAR cascade whose weak classifiers are stumps (checked against the installed libopencv by
// FaceDetectorTests), with its own implementation:
// - scales: factor = 1, f, f², ... (double) while the rounded window fits the image; kept as
//   float; a scale is used if its window (rounded from the float) is within [min, max] (a
//   window above max ends the list); if none is, the one whose window is nearest to min_size.
// - per scale s: the image resized to round(w / s) × round(h / s) (float division) with
//   cv::resize INTER_LINEAR_EXACT; its integral and squared integral, both int32
//   (as cv::integral computes them); windows of the cascade's size (24 × 24) at every ystep-th x and y, ystep = 1
//   when s ≥ 2 else 2; rows only up to what OpenCV's parallel stripes cover (with an odd number
//   of positions the last row is left out when the stripes do not reach it).
// - per window: the sum and squared sum (unsigned) of the inner rectangle (1, 1, 22, 22) give
//   nf = area·sqsum − sum² (double); nf ≤ 0 or area/√nf ≥ 0.1 rejects the window ("flat"),
//   else the norm factor is (float)(1/√nf).
// - per stump: feature = Σ weight·rectsum in float (no fused multiply-add, as libopencv's
//   baseline SSE2 build), times the norm factor; left leaf if < threshold else right, summed
//   in double per stage and compared with the stage threshold − 1e-5 (float).
// - a window rejected by the first stage makes the scan skip the next window of its row (but
//   not one rejected as flat).
// - candidates are (round(x·s), round(y·s), round(24·s)²), in OpenCV's one-thread order (scale, y, x);
//   grouping is cv::groupRectangles(eps 0.2) and boxes are clipped to the image.
//   (OpenCV on one thread finds them scale by scale, row by row; on several the order varies.)
// With AVX2, 8 neighbouring windows of a row are evaluated at once, with plain vector loads from
// integral images laid out so that neighbouring windows are neighbouring ints (see Layout), until
// all 8 are rejected; the scalar path evaluates a row's windows in lists compacted between stages.
#include "haar_cascade.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#if defined(__x86_64__) || defined(__i386__)
#define MIEN_HAAR_X86 1
#include <immintrin.h>
#endif

// The float arithmetic must round like OpenCV's: no contraction into fused multiply-adds.
#ifdef __clang__
#pragma clang fp contract(off)
#endif

namespace mien {

namespace {

struct WeightedRect {
    int x, y, w, h;
    float weight;
};
struct Feature {
    WeightedRect r[3];
    int nrects;
};
struct Stage {
    int first, ntrees;
    float threshold;  // the file's threshold - 1e-5f
};
struct Stump {
    int feature;
    float threshold, left, right;
};

/// A stump with its feature's rectangle corners as offsets into integral images in one of a
/// plan's two layouts (top-left, top-right, bottom-left, bottom-right).
struct CompiledStump {
    int ofs[3][4];
    float w[3];
    int nrects;
    float threshold, left, right;
};

struct ScaleStep {
    float scale;
    cv::Size size;   // the resized image
    cv::Size win;    // the window in pixels of the input image
    int ystep;
    int nx;          // windows per row
    int ylimit;      // rows y < ylimit are scanned
};

/// The integral images of a scale are laid out so that a row's windows are neighbours: as they
/// are where windows step 1 px; where they step 2 px, each row split into its even columns
/// followed by its odd ones (at `half`), so that window i of a row starts at offset i in either
/// case. The row stride is the same for every image size until a wider one comes, so the
/// cascade compiled for the layout (corner offsets in it) is kept across sizes.
struct Layout {
    int stride = 0;  // ints per row
    int half = 0;    // 0: columns as they are; else where a row's odd columns start
    std::vector<CompiledStump> stumps;
    int nofs[4];     // the norm rectangle's corners
};

/// What is computed once per image size and parameters (kept across calls).
struct Plan {
    int w, h;
    double factor;
    cv::Size min_size, max_size;
    std::vector<ScaleStep> steps;
    int width = 0, rows = 0;  // of the largest integral image
};

/// Windows at these offsets into the integral images: norm factors and whether the window is
/// not flat (OpenCV's HaarEvaluator::setWindow).
void variance_scalar(const int *sum, const int *sq, const int *offs, int n, const int *nofs, double area, float *vnf,
                     uint8_t *ok) {
    for (int i = 0; i < n; i++) {
        const int *p = sum + offs[i];
        const unsigned *q = (const unsigned *)(sq + offs[i]);
        int s = p[nofs[0]] - p[nofs[1]] - p[nofs[2]] + p[nofs[3]];
        unsigned s2 = q[nofs[0]] - q[nofs[1]] - q[nofs[2]] + q[nofs[3]];
        double nf = area * s2 - (double)s * s;
        if (nf > 0.) {
            float v = (float)(1. / std::sqrt(nf));
            vnf[i] = v;
            ok[i] = area * v < 1e-1;
        } else {
            vnf[i] = 1.f;
            ok[i] = 0;
        }
    }
}

inline float feature_scalar(const int *p, const CompiledStump &s) {
    const int(*o)[4] = s.ofs;
    float f = s.w[0] * (float)(p[o[0][0]] - p[o[0][1]] - p[o[0][2]] + p[o[0][3]]) +
              s.w[1] * (float)(p[o[1][0]] - p[o[1][1]] - p[o[1][2]] + p[o[1][3]]);
    if (s.nrects > 2) f += s.w[2] * (float)(p[o[2][0]] - p[o[2][1]] - p[o[2][2]] + p[o[2][3]]);
    return f;
}

/// Whether each window passes one stage (stumps st[0..ntrees)).
void stage_scalar(const int *sum, const CompiledStump *st, int ntrees, float threshold, const int *offs,
                  const float *vnf, int n, uint8_t *pass) {
    for (int i = 0; i < n; i++) {
        const int *p = sum + offs[i];
        double acc = 0;
        for (int t = 0; t < ntrees; t++) {
            float value = feature_scalar(p, st[t]) * vnf[i];
            acc += value < st[t].threshold ? st[t].left : st[t].right;
        }
        pass[i] = !(acc < threshold);
    }
}

#ifdef MIEN_HAAR_X86
/// What the AVX2 scan of one row needs: integral images in the scale's layout, the cascade
/// compiled for that layout.
struct RowScan {
    const int *sum, *sq;
    const int *nofs;
    double area;
    const CompiledStump *stumps;
    const Stage *stages;
    int nstages;
    bool flat_norm;  // debug mode 1: norm factor 1
};

__attribute__((target("avx2"))) inline __m256i rect_sum(const int *p, const int *o) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(p + o[0]));
    __m256i b = _mm256_loadu_si256((const __m256i *)(p + o[1]));
    __m256i c = _mm256_loadu_si256((const __m256i *)(p + o[2]));
    __m256i d = _mm256_loadu_si256((const __m256i *)(p + o[3]));
    return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(a, b), c), d);
}

/// Norm factors of 8 neighbouring windows (p = the first one's corner in both integral images);
/// `ok` receives a bit per window that is not flat.
__attribute__((target("avx2"))) inline __m256 norm_factors(const RowScan &c, const int *ps, const int *pq, int &ok) {
    const __m256d area = _mm256_set1_pd(c.area), one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
    const __m256d tenth = _mm256_set1_pd(1e-1), two31 = _mm256_set1_pd(2147483648.0);
    const __m128i flip = _mm_set1_epi32((int)0x80000000u);
    __m256i s = rect_sum(ps, c.nofs), s2 = rect_sum(pq, c.nofs);
    __m128 v[2];
    ok = 0;
    for (int half = 0; half < 2; half++) {
        __m128i si = half ? _mm256_extracti128_si256(s, 1) : _mm256_castsi256_si128(s);
        __m128i qi = half ? _mm256_extracti128_si256(s2, 1) : _mm256_castsi256_si128(s2);
        __m256d sd = _mm256_cvtepi32_pd(si);
        // the squared sum is unsigned: flip the sign bit, convert, add 2^31 (all exact)
        __m256d qd = _mm256_add_pd(_mm256_cvtepi32_pd(_mm_xor_si128(qi, flip)), two31);
        __m256d nf = _mm256_sub_pd(_mm256_mul_pd(area, qd), _mm256_mul_pd(sd, sd));
        __m256d pos = _mm256_cmp_pd(nf, zero, _CMP_GT_OQ);
        __m128 vf = _mm256_cvtpd_ps(_mm256_div_pd(one, _mm256_sqrt_pd(_mm256_blendv_pd(one, nf, pos))));
        __m256d good = _mm256_and_pd(pos, _mm256_cmp_pd(_mm256_mul_pd(area, _mm256_cvtps_pd(vf)), tenth, _CMP_LT_OQ));
        v[half] = _mm_blendv_ps(_mm_set1_ps(1.f), vf, _mm256_cvtpd_ps(pos));
        ok |= _mm256_movemask_pd(good) << (4 * half);
    }
    if (c.flat_norm) return _mm256_set1_ps(1.f);
    return _mm256_set_m128(v[1], v[0]);
}

/// A bit per window of 8 neighbouring ones (p = the first one's corner) whose stage sum is below
/// the stage threshold (rejected).
__attribute__((target("avx2"))) inline int stage_rejects(const int *p, const CompiledStump *st, const Stage &stage,
                                                         __m256 v) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    for (int t = 0; t < stage.ntrees; t++) {
        const CompiledStump &s = st[t];
        __m256 f = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(s.w[0]), _mm256_cvtepi32_ps(rect_sum(p, s.ofs[0]))),
                                 _mm256_mul_ps(_mm256_set1_ps(s.w[1]), _mm256_cvtepi32_ps(rect_sum(p, s.ofs[1]))));
        if (s.nrects > 2)
            f = _mm256_add_ps(f, _mm256_mul_ps(_mm256_set1_ps(s.w[2]), _mm256_cvtepi32_ps(rect_sum(p, s.ofs[2]))));
        __m256 value = _mm256_mul_ps(f, v);
        __m256 lt = _mm256_cmp_ps(value, _mm256_set1_ps(s.threshold), _CMP_LT_OQ);
        __m256 leaf = _mm256_blendv_ps(_mm256_set1_ps(s.right), _mm256_set1_ps(s.left), lt);
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(leaf)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(leaf, 1)));
    }
    const __m256d thr = _mm256_set1_pd((double)stage.threshold);
    return _mm256_movemask_pd(_mm256_cmp_pd(acc0, thr, _CMP_LT_OQ)) |
           (_mm256_movemask_pd(_mm256_cmp_pd(acc1, thr, _CMP_LT_OQ)) << 4);
}

/// Scans one row of nx windows (the first at offset `base` of the layout), 8 neighbouring
/// windows at a time through the whole cascade until all 8 are rejected; writes the indices of
/// the accepted windows to `found` and returns their number.
__attribute__((target("avx2"))) int scan_row_avx2(const RowScan &c, int base, int nx, int *found) {
    int count = 0;
    bool skip = false;
    for (int i = 0; i < nx; i += 8) {
        const int *ps = c.sum + base + i, *pq = c.sq + base + i;
        int ok;
        __m256 v = norm_factors(c, ps, pq, ok);
        int rejected = stage_rejects(ps, c.stumps + c.stages[0].first, c.stages[0], v);
        // OpenCV's scan: a window rejected by the first stage skips the next one
        int alive = 0, m = std::min(8, nx - i);
        for (int k = 0; k < m; k++) {
            if (skip) {
                skip = false;
            } else if ((ok >> k) & 1) {
                if ((rejected >> k) & 1)
                    skip = true;
                else
                    alive |= 1 << k;
            }
        }
        for (int si = 1; si < c.nstages && alive; si++)
            alive &= ~stage_rejects(ps, c.stumps + c.stages[si].first, c.stages[si], v);
        while (alive) {
            found[count++] = i + __builtin_ctz(alive);
            alive &= alive - 1;
        }
    }
    return count;
}
#endif

bool cpu_has_avx2() {
#ifdef MIEN_HAAR_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

}  // namespace

struct HaarCascade::Impl {
    cv::Size win;
    std::vector<Feature> features;
    std::vector<Stage> stages;
    std::vector<Stump> stumps;
    int mode = 0;
    bool avx2 = cpu_has_avx2();
    std::vector<std::unique_ptr<Plan>> plans;  // most recently used first
    // scratch
    std::vector<int> sum, sq, found;          // integral images in a scale's layout
    std::vector<int> row_sum;                 // one row of them
    std::vector<uint32_t> row_sq;
    cv::Mat resized;
    std::vector<int> offs, offs2;
    std::vector<float> vnf, vnf2;
    std::vector<uint8_t> ok, pass;

    bool use_avx2() const { return avx2 && mode != 4; }
    const Plan &plan(cv::Size img, double factor, cv::Size min_size, cv::Size max_size);
    Layout step1, step2;  // for the scales whose windows step 1 px / 2 px
    /// Makes the layouts' row stride at least `width` ints (recompiling the cascade if it grows).
    void reserve_width(int width);
    void compile(Layout &layout) const;
    void scan(const cv::Mat &gray, const Plan &p, std::vector<cv::Rect> &out);
    int scan_row_scalar(const int *s, const int *q, const Layout &layout, int base, int nx);
    void integrals(const cv::Mat &img, const Layout &layout);
};

/// The integral image of img and that of its squares, as cv::integral(img, sum, sqsum, noArray(),
/// CV_32S, CV_32S) computes them (the squares' sums wrap around at 2^32 on large images, which
/// leaves every window's sum, a difference of four, exact), into sum and sq in the layout.
void HaarCascade::Impl::integrals(const cv::Mat &img, const Layout &l) {
    const int w = img.cols + 1, h = img.rows + 1;
    auto store = [&](int r) {
        int *ds = sum.data() + (size_t)r * l.stride, *dq = sq.data() + (size_t)r * l.stride;
        if (!l.half) {
            std::memcpy(ds, row_sum.data(), w * sizeof(int));
            std::memcpy(dq, row_sq.data(), w * sizeof(int));
        } else {
            for (int x = 0; x < w; x++) {
                size_t o = (x & 1) * (size_t)l.half + (x >> 1);
                ds[o] = row_sum[x];
                dq[o] = (int)row_sq[x];
            }
        }
    };
    std::fill(row_sum.begin(), row_sum.begin() + w, 0);
    std::fill(row_sq.begin(), row_sq.begin() + w, 0u);
    store(0);
    for (int r = 1; r < h; r++) {
        const uint8_t *px = img.ptr<uint8_t>(r - 1);
        int s = 0;
        uint32_t q = 0;
        for (int x = 1; x < w; x++) {
            int v = px[x - 1];
            s += v;
            q += (uint32_t)(v * v);
            row_sum[x] += s;
            row_sq[x] += q;
        }
        store(r);
    }
}

void HaarCascade::Impl::reserve_width(int width) {
    if (step1.stride >= width) return;
    int stride = (width + 31) / 32 * 32;
    step1.stride = stride;
    step1.half = 0;
    step2.half = (stride + 1) / 2;
    step2.stride = 2 * step2.half;
    compile(step1);
    compile(step2);
}

void HaarCascade::Impl::compile(Layout &l) const {
    // corner (cx, cy) of a window whose corner is at offset 0
    auto at = [&](int cx, int cy) { return cy * l.stride + (l.half ? (cx & 1) * l.half + (cx >> 1) : cx); };
    auto offsets = [&](int *o, int x, int y, int w, int h) {
        o[0] = at(x, y);
        o[1] = at(x + w, y);
        o[2] = at(x, y + h);
        o[3] = at(x + w, y + h);
    };
    offsets(l.nofs, 1, 1, win.width - 2, win.height - 2);
    l.stumps.clear();
    for (const Stump &s : stumps) {
        CompiledStump c{};
        const Feature &f = features[s.feature];
        for (int k = 0; k < 3; k++) {
            const WeightedRect &r = f.r[k];
            offsets(c.ofs[k], r.x, r.y, r.w + (mode == 3 && k == 0 ? 1 : 0), r.h);
            c.w[k] = r.weight;
        }
        c.nrects = f.r[2].weight != 0.f ? 3 : 2;  // OpenCV adds the third rectangle only if weighted
        c.threshold = s.threshold;
        c.left = s.left;
        c.right = s.right;
        l.stumps.push_back(c);
    }
}

const Plan &HaarCascade::Impl::plan(cv::Size img, double factor, cv::Size min_size, cv::Size max_size) {
    for (size_t i = 0; i < plans.size(); i++) {
        const Plan &p = *plans[i];
        if (p.w == img.width && p.h == img.height && p.factor == factor && p.min_size == min_size && p.max_size == max_size) {
            if (i > 0) std::rotate(plans.begin(), plans.begin() + i, plans.begin() + i + 1);
            return *plans[0];
        }
    }
    auto p = std::make_unique<Plan>();
    p->w = img.width;
    p->h = img.height;
    p->factor = factor;
    p->min_size = min_size;
    p->max_size = max_size;
    if (max_size.width == 0 || max_size.height == 0) max_size = img;
    std::vector<float> all, scales;
    if (img.width >= win.width && img.height >= win.height) {
        for (double f = 1;; f *= factor) {
            if ((int)std::lrint(win.width * f) > img.width || (int)std::lrint(win.height * f) > img.height) break;
            all.push_back((float)f);
        }
    }
    auto window = [&](float s) { return cv::Size((int)std::lrintf(win.width * s), (int)std::lrintf(win.height * s)); };
    for (float s : all) {
        cv::Size ws = window(s);
        if (ws.width > max_size.width || ws.height > max_size.height) break;
        if (ws.width < min_size.width || ws.height < min_size.height) continue;
        scales.push_back(s);
    }
    if (scales.empty() && !all.empty()) {
        // no scale in [min, max]: the one whose window is nearest to min_size
        size_t best = 0;
        double best_d = 0;
        for (size_t i = 0; i < all.size(); i++) {
            cv::Size ws = window(all[i]);
            double d = (double)(min_size.width - ws.width) * (min_size.width - ws.width) +
                       (double)(min_size.height - ws.height) * (min_size.height - ws.height);
            if (i == 0 || best_d > d) best = i, best_d = d;
        }
        scales.push_back(all[best]);
    }
    int nstripes = 0;
    for (size_t i = 0; i < scales.size(); i++) {
        ScaleStep st;
        st.scale = scales[i];
        st.size = cv::Size((int)std::lrintf((float)img.width / st.scale), (int)std::lrintf((float)img.height / st.scale));
        st.win = window(st.scale);
        st.ystep = (st.scale >= 2 || mode == 2) ? 1 : 2;
        cv::Size work(std::max(st.size.width + 1 - win.width, 0), std::max(st.size.height + 1 - win.height, 0));
        if (i == 0) nstripes = (int)std::ceil(work.width / 32.);
        st.nx = (work.width + st.ystep - 1) / st.ystep;
        // OpenCV scans rows in nstripes stripes of this height: with an odd number of positions
        // they can end before the last row
        int stripe = std::max((work.height / st.ystep + nstripes - 1) / std::max(nstripes, 1), 1) * st.ystep;
        st.ylimit = std::min(work.height, nstripes * stripe);
        p->steps.push_back(st);
        p->width = std::max(p->width, st.size.width + 1);
        p->rows = std::max(p->rows, st.size.height + 1);
    }
    plans.insert(plans.begin(), std::move(p));
    if (plans.size() > 64) plans.pop_back();
    return *plans[0];
}

/// Scalar scan of one row (as scan_row_avx2): windows in lists, the survivors of each stage
/// compacted before the next.
int HaarCascade::Impl::scan_row_scalar(const int *s, const int *q, const Layout &l, int base, int nx) {
    const double area = (double)(win.width - 2) * (win.height - 2);
    if (offs.size() < (size_t)nx) offs.resize(nx), vnf.resize(nx), ok.resize(nx), pass.resize(nx);
    for (int i = 0; i < nx; i++) offs[i] = base + i;
    variance_scalar(s, q, offs.data(), nx, l.nofs, area, vnf.data(), ok.data());
    if (mode == 1) std::fill(vnf.begin(), vnf.begin() + nx, 1.f);
    stage_scalar(s, &l.stumps[stages[0].first], stages[0].ntrees, stages[0].threshold, offs.data(), vnf.data(), nx, pass.data());
    offs2.clear();
    vnf2.clear();
    bool skip = false;
    for (int i = 0; i < nx; i++) {
        if (skip) {
            skip = false;  // not scanned: the window before was rejected by the first stage
        } else if (ok[i]) {  // (a flat window is rejected without skipping the next)
            if (!pass[i])
                skip = true;
            else
                offs2.push_back(offs[i]), vnf2.push_back(vnf[i]);
        }
    }
    for (size_t k = 1; k < stages.size() && !offs2.empty(); k++) {
        int n = (int)offs2.size();
        std::copy(offs2.begin(), offs2.end(), offs.begin());
        std::copy(vnf2.begin(), vnf2.end(), vnf.begin());
        stage_scalar(s, &l.stumps[stages[k].first], stages[k].ntrees, stages[k].threshold, offs.data(), vnf.data(), n, pass.data());
        offs2.clear();
        vnf2.clear();
        for (int i = 0; i < n; i++)
            if (pass[i]) offs2.push_back(offs[i]), vnf2.push_back(vnf[i]);
    }
    for (size_t i = 0; i < offs2.size(); i++) found[i] = offs2[i] - base;
    return (int)offs2.size();
}

void HaarCascade::Impl::scan(const cv::Mat &gray, const Plan &p, std::vector<cv::Rect> &out) {
    out.clear();
    reserve_width(p.width);
    size_t cells = (size_t)(p.rows + 2) * step2.stride + 64;  // 8-wide loads may read past a row's end
    if (sum.size() < cells) sum.resize(cells), sq.resize(cells);
    if (row_sum.size() < (size_t)p.width) row_sum.resize(p.width), row_sq.resize(p.width);
    for (size_t si = 0; si < p.steps.size(); si++) {
        const ScaleStep &st = p.steps[si];
        if (st.nx == 0 || st.ylimit <= 0) continue;  // no window at this scale
        cv::Mat img;
        if (st.size == gray.size()) {
            img = gray;
        } else {
            resized.create(st.size, CV_8U);
            cv::resize(gray, resized, st.size, 1. / st.scale, 1. / st.scale, cv::INTER_LINEAR_EXACT);
            img = resized;
        }
        const Layout &l = st.ystep == 1 ? step1 : step2;
        integrals(img, l);
        const int *s = sum.data(), *q = sq.data();
        if (found.size() < (size_t)st.nx + 8) found.resize(st.nx + 8);
#ifdef MIEN_HAAR_X86
        const double area = (double)(win.width - 2) * (win.height - 2);
        RowScan rs{s, q, l.nofs, area, l.stumps.data(), stages.data(), (int)stages.size(), mode == 1};
#endif
        for (int y = 0; y < st.ylimit; y += st.ystep) {
            int base = y * l.stride, n;
#ifdef MIEN_HAAR_X86
            if (use_avx2())
                n = scan_row_avx2(rs, base, st.nx, found.data());
            else
#endif
                n = scan_row_scalar(s, q, l, base, st.nx);
            for (int k = 0; k < n; k++) {
                int x = found[k] * st.ystep;
                out.emplace_back((int)std::lrintf(x * st.scale), (int)std::lrintf(y * st.scale), st.win.width, st.win.height);
            }
        }
    }
}

HaarCascade::HaarCascade() : impl(new Impl) {}
HaarCascade::~HaarCascade() = default;

void HaarCascade::set_debug_mode(int mode) {
    impl->mode = mode;
    impl->plans.clear();
    impl->step1.stride = 0;  // recompiled (mode 3 changes the features)
    impl->reserve_width(1);
}

bool HaarCascade::uses_avx2() const { return impl->use_avx2(); }

std::unique_ptr<HaarCascade> HaarCascade::load(const std::string &path, std::string &why) {
    cv::FileStorage fs(path, cv::FileStorage::READ);
    if (!fs.isOpened()) {
        why = "cannot open the cascade file";
        return nullptr;
    }
    cv::FileNode root = fs.getFirstTopLevelNode();
    if (root.empty() || !root.isMap() || root["stages"].empty() || root["features"].empty()) {
        why = "not a cascade in OpenCV's current XML format (old-format cascades are not supported)";
        return nullptr;
    }
    std::string stage_type = (std::string)root["stageType"], feature_type = (std::string)root["featureType"];
    if (stage_type != "BOOST") {
        why = "stage type '" + stage_type + "' is not BOOST";
        return nullptr;
    }
    if (feature_type != "HAAR") {
        why = "feature type '" + feature_type + "' is not supported (only HAAR; LBP and HOG cascades are evaluated by OpenCV)";
        return nullptr;
    }
    if ((int)root["featureParams"]["maxCatCount"] != 0) {
        why = "categorical features are not supported";
        return nullptr;
    }
    std::unique_ptr<HaarCascade> c(new HaarCascade());
    Impl &d = *c->impl;
    d.win = cv::Size((int)root["width"], (int)root["height"]);
    if (d.win.width < 3 || d.win.height < 3) {
        why = "window size must be at least 3 x 3";
        return nullptr;
    }
    for (cv::FileNodeIterator it = root["features"].begin(); it != root["features"].end(); ++it) {
        cv::FileNode fn = *it;
        Feature f{};
        if ((int)fn["tilted"] != 0) {
            why = "tilted (45 degree) features are not supported";
            return nullptr;
        }
        cv::FileNode rects = fn["rects"];
        if (rects.size() < 1 || rects.size() > 3) {
            why = "a feature must have 1 to 3 rectangles";
            return nullptr;
        }
        for (cv::FileNodeIterator r = rects.begin(); r != rects.end(); ++r) {
            WeightedRect &w = f.r[f.nrects++];
            cv::FileNodeIterator v = (*r).begin();
            v >> w.x >> w.y >> w.w >> w.h >> w.weight;
            if (w.x < 0 || w.y < 0 || w.w < 0 || w.h < 0 || w.x + w.w > d.win.width || w.y + w.h > d.win.height) {
                why = "a feature rectangle lies outside the window";
                return nullptr;
            }
        }
        d.features.push_back(f);
    }
    for (cv::FileNodeIterator it = root["stages"].begin(); it != root["stages"].end(); ++it) {
        cv::FileNode sn = *it;
        Stage stage;
        stage.threshold = (float)sn["stageThreshold"] - 1e-5f;
        cv::FileNode weak = sn["weakClassifiers"];
        if (weak.empty()) {
            why = "a stage has no weak classifiers";
            return nullptr;
        }
        stage.first = (int)d.stumps.size();
        stage.ntrees = (int)weak.size();
        for (cv::FileNodeIterator w = weak.begin(); w != weak.end(); ++w) {
            cv::FileNode nodes = (*w)["internalNodes"], leaves = (*w)["leafValues"];
            if (nodes.size() != 4 || leaves.size() != 2) {
                why = "only stump-based cascades (one node per weak classifier) are supported";
                return nullptr;
            }
            Stump s;
            s.feature = (int)nodes[2];
            s.threshold = (float)nodes[3];
            s.left = (float)leaves[0];
            s.right = (float)leaves[1];
            if (s.feature < 0 || s.feature >= (int)d.features.size()) {
                why = "a weak classifier refers to a missing feature";
                return nullptr;
            }
            d.stumps.push_back(s);
        }
        d.stages.push_back(stage);
    }
    if (d.stages.empty()) {
        why = "the cascade has no stages";
        return nullptr;
    }
    return c;
}

void HaarCascade::candidates(const cv::Mat &gray, double scale_factor, cv::Size min_size, cv::Size max_size,
                             std::vector<cv::Rect> &out) {
    CV_Assert(gray.type() == CV_8UC1 && scale_factor > 1);
    out.clear();
    const Plan &p = impl->plan(gray.size(), scale_factor, min_size, max_size);
    impl->scan(gray, p, out);
}

void HaarCascade::detect(const cv::Mat &gray, std::vector<cv::Rect> &rects, std::vector<int> &neighbours,
                         double scale_factor, int min_neighbors, cv::Size min_size, cv::Size max_size) {
    candidates(gray, scale_factor, min_size, max_size, rects);
    neighbours.clear();
    cv::groupRectangles(rects, neighbours, min_neighbors, 0.2);
    // clipped to the image; boxes left empty are dropped
    cv::Rect image(0, 0, gray.cols, gray.rows);
    size_t j = 0;
    for (size_t i = 0; i < rects.size(); i++) {
        cv::Rect r = image & rects[i];
        if (r.area() > 0) {
            rects[j] = r;
            neighbours[j] = neighbours[i];
            j++;
        }
    }
    rects.resize(j);
    neighbours.resize(j);
}

}  // namespace mien
