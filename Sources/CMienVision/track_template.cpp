// Template matching for following a face between detections (see include/mien_detect.h).
#include "mien_detect.h"
#include "shim_util.hpp"

#include <cmath>
#include <opencv2/imgproc.hpp>

namespace {

bool inside(int w, int h, int rx, int ry, int rw, int rh) {
    return rw > 0 && rh > 0 && rx >= 0 && ry >= 0 && rx + rw <= w && ry + rh <= h;
}

/// Offset in (-0.5, 0.5) of a peak from the parabola through it and its two neighbours.
float parabola(float left, float mid, float right) {
    float d = left - 2 * mid + right;
    if (!(d < 0)) return 0;  // not a strict maximum (flat or numerically degenerate)
    float o = 0.5f * (left - right) / d;
    return o > 0.5f ? 0.5f : (o < -0.5f ? -0.5f : o);
}

}  // namespace

extern "C" {

mien_status mien_template_cut(const uint8_t *gray, int w, int h, size_t step, int rx, int ry, int rw, int rh,
                              int tw, int th, uint8_t *out, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!gray || !out) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (!inside(w, h, rx, ry, rw, rh) || tw <= 0 || th <= 0)
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT,
                              mien::fmt("template region %d,%d %dx%d -> %dx%d not inside the %dx%d image", rx, ry, rw, rh, tw, th, w, h));
        cv::Mat src(h, w, CV_8UC1, const_cast<uint8_t *>(gray), step);
        cv::Mat dst(th, tw, CV_8UC1, out);
        cv::resize(src(cv::Rect(rx, ry, rw, rh)), dst, dst.size(), 0, 0, cv::INTER_AREA);
        if (dst.data != out) return mien::fail(err, err_len, MIEN_ERR_INTERNAL, "resize reallocated the template");
        return MIEN_OK;
    })
}

mien_status mien_template_find(const uint8_t *gray, int w, int h, size_t step, int rx, int ry, int rw, int rh,
                               int sw, int sh, const uint8_t *tmpl, int tw, int th, float *best_x, float *best_y,
                               float *score, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!gray || !tmpl || !best_x || !best_y || !score) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (!inside(w, h, rx, ry, rw, rh) || sw < tw || sh < th || tw <= 0 || th <= 0)
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT,
                              mien::fmt("search region %d,%d %dx%d -> %dx%d for a %dx%d template in a %dx%d image", rx, ry, rw, rh,
                                        sw, sh, tw, th, w, h));
        cv::Mat src(h, w, CV_8UC1, const_cast<uint8_t *>(gray), step);
        cv::Mat region;
        if (sw == rw && sh == rh)
            region = src(cv::Rect(rx, ry, rw, rh));
        else
            cv::resize(src(cv::Rect(rx, ry, rw, rh)), region, cv::Size(sw, sh), 0, 0, cv::INTER_AREA);
        cv::Mat t(th, tw, CV_8UC1, const_cast<uint8_t *>(tmpl));
        cv::Mat result;
        cv::matchTemplate(region, t, result, cv::TM_CCOEFF_NORMED);
        double maxv;
        cv::Point at;
        cv::minMaxLoc(result, nullptr, &maxv, nullptr, &at);
        float dx = 0, dy = 0;
        if (at.x > 0 && at.x < result.cols - 1)
            dx = parabola(result.at<float>(at.y, at.x - 1), result.at<float>(at.y, at.x), result.at<float>(at.y, at.x + 1));
        if (at.y > 0 && at.y < result.rows - 1)
            dy = parabola(result.at<float>(at.y - 1, at.x), result.at<float>(at.y, at.x), result.at<float>(at.y + 1, at.x));
        *best_x = at.x + dx;
        *best_y = at.y + dy;
        // A flat template (no texture) gives NaN or ±inf scores: report no match.
        *score = std::isfinite(maxv) ? (float)maxv : -1.f;
        return MIEN_OK;
    })
}

}  // extern "C"
