// OpenCV Haar-cascade face detection (see include/mien_detect.h).
#include "mien_detect.h"
#include "mien_vision_testing.h"
#include "shim_util.hpp"
#include "haar_cascade.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <vector>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

struct mien_haar {
    std::string path;
    cv::CascadeClassifier cascade;            // OpenCV's evaluator: the fallback (loaded at creation),
                                              // or the reference (loaded on first use)
    std::unique_ptr<mien::HaarCascade> own;   // Mien's, when it can evaluate the cascade exactly
    std::string why_not_own;                  // why not, otherwise
};

namespace mien {

/// Validates detection parameters; returns an empty string if they are fine.
std::string check_params(const mien_detect_params *p) {
    if (!p) return "null parameters";
    if (!(p->scale_factor > 1.0) || p->scale_factor > 4.0) return fmt("scale_factor must be in (1, 4], got %g", p->scale_factor);
    if (p->min_neighbors < 0) return fmt("min_neighbors must be >= 0, got %d", p->min_neighbors);
    if (p->min_size < 0) return fmt("min_size must be >= 0, got %d", p->min_size);
    if (p->max_size < 0 || (p->max_size > 0 && p->max_size < p->min_size))
        return fmt("max_size must be 0 (no limit) or >= min_size (%d), got %d", p->min_size, p->max_size);
    if (p->upsample < 0 || p->upsample > 1) return fmt("upsample must be 0 or 1, got %d", p->upsample);
    if (p->max_side < 0 || (p->max_side > 0 && p->max_side < 32)) return fmt("max_side must be 0 (off) or >= 32, got %d", p->max_side);
    return "";
}

/// Prepares the gray image detection runs on: downscaled (INTER_AREA) so its longer side is at
/// most max_side, optionally histogram-equalised. `scale` receives original/working size.
///
/// The downscale averages whole blocks of k × k pixels first (k = the factor's integer part;
/// OpenCV's INTER_AREA is ~5× cheaper with a whole-number factor) and only the remaining < 2×
/// step at an arbitrary factor, on the k²-times smaller image: 0.07 instead of 0.35 ms for a
/// follower's 350-px search region. The last w mod k columns and h mod k rows are left out.
cv::Mat working_gray(const uint8_t *gray, int w, int h, size_t step, const mien_detect_params *p, double &scale) {
    cv::Mat src(h, w, CV_8UC1, const_cast<uint8_t *>(gray), step);
    cv::Mat work = src;
    scale = 1.0;
    int longer = std::max(w, h);
    if (p->max_side > 0 && longer > p->max_side) {
        double s = (double)longer / p->max_side;
        int k = (int)std::floor(s);
        cv::Mat from = src;
        int fw = w, fh = h;
        if (k >= 2 && w / k >= 1 && h / k >= 1) {
            fw = w / k * k;
            fh = h / k * k;
            cv::resize(src(cv::Rect(0, 0, fw, fh)), from, cv::Size(w / k, h / k), 0, 0, cv::INTER_AREA);
        }
        int nw = std::max(1, (int)std::lround(fw / s));
        int nh = std::max(1, (int)std::lround(fh / s));
        if (from.cols != nw || from.rows != nh)
            cv::resize(from, work, cv::Size(nw, nh), 0, 0, cv::INTER_AREA);
        else
            work = from;
        scale = (double)fw / nw;
    }
    if (p->equalize) {
        cv::Mat eq;
        cv::equalizeHist(work, eq);
        work = eq;
    }
    return work;
}

/// Loads the cascade into OpenCV's classifier; false, with OpenCV's reason in `why`, when the
/// file is not a cascade it can read (a garbled XML makes OpenCV's parser throw, which is the
/// file's fault, not an internal failure).
bool load_opencv_cascade(cv::CascadeClassifier &cascade, const std::string &path, std::string &why) {
    try {
        if (cascade.load(path) && !cascade.empty()) return true;
        why = "OpenCV finds no cascade in it";
    } catch (const cv::Exception &e) {
        why = e.msg.empty() ? std::string(e.what()) : e.msg;
    }
    return false;
}

}  // namespace mien

extern "C" {

mien_status mien_haar_create(const char *cascade_path, mien_haar **out, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!cascade_path || !out) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        *out = nullptr;
        struct stat st;
        if (stat(cascade_path, &st) != 0)
            return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "cascade file not found (Debian package opencv-data installs them under /usr/share/opencv4/haarcascades)");
        auto d = new mien_haar();
        d->path = cascade_path;
        try {
            d->own = mien::HaarCascade::load(cascade_path, d->why_not_own);
        } catch (const std::exception &e) {
            d->why_not_own = std::string("cannot read the cascade: ") + e.what();
        }
        // OpenCV parses the XML only when Mien's evaluator cannot take the cascade (which also
        // tells a corrupt file apart); as the reference it is loaded on first use.
        std::string why;
        if (!d->own && !mien::load_opencv_cascade(d->cascade, cascade_path, why)) {
            delete d;
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "not a valid OpenCV cascade XML: " + why);
        }
        *out = d;
        return MIEN_OK;
    })
}

void mien_haar_destroy(mien_haar *d) { delete d; }

}  // extern "C"

namespace {

/// mien_haar_detect with OpenCV's evaluator (`reference`) or Mien's (when the cascade has one).
mien_status haar_detect(mien_haar *d, bool reference, const uint8_t *gray, int w, int h, size_t step,
                        const mien_detect_params *params, mien_face_box *out, int capacity, int *count,
                        char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!d || !gray || !count || (capacity > 0 && !out)) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (w <= 0 || h <= 0 || step < (size_t)w) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("bad image size %dx%d step %zu", w, h, step));
        std::string bad = mien::check_params(params);
        if (!bad.empty()) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, bad);
        double scale;
        cv::Mat work = mien::working_gray(gray, w, h, step, params, scale);
        int min_side = (int)std::floor(params->min_size / scale);
        int max_side = params->max_size > 0 ? (int)std::ceil(params->max_size / scale) : 0;
        std::vector<cv::Rect> rects;
        std::vector<int> neighbours;
        if (d->own && !reference)
            d->own->detect(work, rects, neighbours, params->scale_factor, params->min_neighbors,
                           cv::Size(min_side, min_side), cv::Size(max_side, max_side));
        else if (std::string why; d->cascade.empty() && !mien::load_opencv_cascade(d->cascade, d->path, why))
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "not a valid OpenCV cascade XML: " + why);
        else
            d->cascade.detectMultiScale(work, rects, neighbours, params->scale_factor, params->min_neighbors, 0,
                                        cv::Size(min_side, min_side), cv::Size(max_side, max_side));
        std::vector<mien_face_box> boxes;
        for (size_t i = 0; i < rects.size(); i++) {
            const cv::Rect &r = rects[i];
            mien_face_box b;
            b.x = (float)(r.x * scale);
            b.y = (float)(r.y * scale);
            b.w = (float)(r.width * scale);
            b.h = (float)(r.height * scale);
            b.score = i < neighbours.size() ? (float)neighbours[i] : 0.f;
            if (b.w + 0.5f >= params->min_size && (params->max_size == 0 || b.w - 0.5f <= params->max_size)) boxes.push_back(b);
        }
        std::stable_sort(boxes.begin(), boxes.end(), [](const mien_face_box &a, const mien_face_box &b) { return a.score > b.score; });
        *count = (int)boxes.size();
        for (int i = 0; i < capacity && i < (int)boxes.size(); i++) out[i] = boxes[i];
        return MIEN_OK;
    })
}

}  // namespace

extern "C" {

mien_status mien_haar_detect(mien_haar *d, const uint8_t *gray, int w, int h, size_t step,
                             const mien_detect_params *params, mien_face_box *out, int capacity, int *count,
                             char *err, size_t err_len) {
    return haar_detect(d, false, gray, w, h, step, params, out, capacity, count, err, err_len);
}

mien_status mien_haar_detect_reference(mien_haar *d, const uint8_t *gray, int w, int h, size_t step,
                                       const mien_detect_params *params, mien_face_box *out, int capacity,
                                       int *count, char *err, size_t err_len) {
    return haar_detect(d, true, gray, w, h, step, params, out, capacity, count, err, err_len);
}

int mien_haar_evaluator(const mien_haar *d, char *why, size_t why_len) {
    if (!d) return -1;
    if (!d->own) {
        mien::set_err(why, why_len, d->why_not_own);
        return 0;
    }
    mien::set_err(why, why_len, d->own->uses_avx2() ? "mien (AVX2)" : "mien (scalar)");
    return 1;
}

void mien_haar_set_debug_mode(mien_haar *d, int mode) {
    if (d && d->own) d->own->set_debug_mode(mode);
}

}  // extern "C"
