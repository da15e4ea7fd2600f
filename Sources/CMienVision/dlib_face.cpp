// dlib's HOG face detector and shape predictor, plus affine crops (see include/mien_detect.h).
#include "mien_detect.h"
#include "shim_util.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <fstream>
#include <vector>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <opencv2/imgproc.hpp>

struct mien_hog {
    dlib::frontal_face_detector detector;
};

struct mien_landmarker {
    dlib::shape_predictor predictor;
};

namespace mien {
std::string check_params(const mien_detect_params *p);
cv::Mat working_gray(const uint8_t *gray, int w, int h, size_t step, const mien_detect_params *p, double &scale);
}  // namespace mien

namespace {

/// Copies a gray cv::Mat into a dlib image.
void to_dlib(const cv::Mat &m, dlib::array2d<unsigned char> &img) {
    img.set_size(m.rows, m.cols);
    for (int y = 0; y < m.rows; y++) {
        const unsigned char *row = m.ptr<unsigned char>(y);
        for (int x = 0; x < m.cols; x++) img[y][x] = row[x];
    }
}

}  // namespace

extern "C" {

mien_status mien_hog_create(mien_hog **out, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!out) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        *out = new mien_hog{dlib::get_frontal_face_detector()};
        return MIEN_OK;
    })
}

void mien_hog_destroy(mien_hog *d) { delete d; }

mien_status mien_hog_detect(mien_hog *d, const uint8_t *gray, int w, int h, size_t step,
                            const mien_detect_params *params, mien_face_box *out, int capacity, int *count,
                            char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!d || !gray || !count || (capacity > 0 && !out)) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (w <= 0 || h <= 0 || step < (size_t)w) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("bad image size %dx%d", w, h));
        std::string bad = mien::check_params(params);
        if (!bad.empty()) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, bad);
        double scale;
        cv::Mat work = mien::working_gray(gray, w, h, step, params, scale);
        dlib::array2d<unsigned char> img;
        to_dlib(work, img);
        if (params->upsample > 0) {
            dlib::pyramid_up(img);
            scale /= 2.0;
        }
        std::vector<dlib::rect_detection> dets;
        d->detector(img, dets, params->threshold);
        std::vector<mien_face_box> boxes;
        for (const auto &det : dets) {
            const dlib::rectangle &r = det.rect;
            mien_face_box b;
            b.x = (float)(r.left() * scale);
            b.y = (float)(r.top() * scale);
            b.w = (float)(r.width() * scale);
            b.h = (float)(r.height() * scale);
            b.score = (float)det.detection_confidence;
            if (b.w + 0.5f >= params->min_size && (params->max_size == 0 || b.w - 0.5f <= params->max_size)) boxes.push_back(b);
        }
        std::stable_sort(boxes.begin(), boxes.end(), [](const mien_face_box &a, const mien_face_box &b) { return a.score > b.score; });
        *count = (int)boxes.size();
        for (int i = 0; i < capacity && i < (int)boxes.size(); i++) out[i] = boxes[i];
        return MIEN_OK;
    })
}

mien_status mien_landmarker_create(const char *model_path, mien_landmarker **out, int *num_points, char *err,
                                   size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!model_path || !out || !num_points) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        *out = nullptr;
        struct stat st;
        if (stat(model_path, &st) != 0)
            return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND,
                              "shape-predictor model not found (Mien ships models/landmarks/shape_predictor_5_face_landmarks.dat: run from the repository, set MIEN_MODELS to its models folder, or give --landmark-model; Debian's libdlib-data installs a 68-point one at /usr/share/dlib/shape_predictor_68_face_landmarks.dat)");
        if (st.st_size == 0) return mien::fail(err, err_len, MIEN_ERR_EMPTY, "the model file is empty");
        std::unique_ptr<mien_landmarker> l(new mien_landmarker());
        try {
            dlib::deserialize(model_path) >> l->predictor;
        } catch (const dlib::serialization_error &e) {
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, std::string("not a dlib shape-predictor model: ") + e.what());
        }
        unsigned long parts = l->predictor.num_parts();
        if (parts != 68 && parts != 5)
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, mien::fmt("model has %lu points; Mien uses the 68- or 5-point models", parts));
        *num_points = (int)parts;
        *out = l.release();
        return MIEN_OK;
    })
}

void mien_landmarker_destroy(mien_landmarker *l) { delete l; }

mien_status mien_landmarker_fit(mien_landmarker *l, const uint8_t *gray, int w, int h, size_t step,
                                const mien_face_box *box, float *xy, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!l || !gray || !box || !xy) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (w <= 0 || h <= 0 || step < (size_t)w) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "bad image size");
        if (!(box->w > 0) || !(box->h > 0)) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "empty face box");
        // The shape predictor only reads pixels near the box: wrap just that region (box plus a
        // half-box margin, clipped to the image) to avoid copying the whole frame.
        int mx = (int)(box->w * 0.5f) + 2, my = (int)(box->h * 0.5f) + 2;
        int x0 = std::max(0, (int)std::floor(box->x) - mx), y0 = std::max(0, (int)std::floor(box->y) - my);
        int x1 = std::min(w, (int)std::ceil(box->x + box->w) + mx), y1 = std::min(h, (int)std::ceil(box->y + box->h) + my);
        if (x1 <= x0 || y1 <= y0) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "face box lies outside the image");
        cv::Mat region(y1 - y0, x1 - x0, CV_8UC1, const_cast<uint8_t *>(gray) + (size_t)y0 * step + x0, step);
        dlib::array2d<unsigned char> img;
        to_dlib(region, img);
        dlib::rectangle r((long)std::lround(box->x - x0), (long)std::lround(box->y - y0),
                          (long)std::lround(box->x + box->w - x0) - 1, (long)std::lround(box->y + box->h - y0) - 1);
        dlib::full_object_detection shape = l->predictor(img, r);
        for (unsigned long i = 0; i < shape.num_parts(); i++) {
            xy[2 * i] = (float)(shape.part(i).x() + x0);
            xy[2 * i + 1] = (float)(shape.part(i).y() + y0);
        }
        return MIEN_OK;
    })
}

mien_status mien_warp_affine_gray(const uint8_t *gray, int w, int h, size_t step, const double *m, uint8_t *dst,
                                  int dst_w, int dst_h, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!gray || !m || !dst) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (w <= 0 || h <= 0 || dst_w <= 0 || dst_h <= 0) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "bad sizes");
        for (int i = 0; i < 6; i++)
            if (!std::isfinite(m[i])) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "affine matrix is not finite");
        cv::Mat src(h, w, CV_8UC1, const_cast<uint8_t *>(gray), step);
        cv::Mat M(2, 3, CV_64F, const_cast<double *>(m));
        cv::Mat d(dst_h, dst_w, CV_8UC1, dst);
        cv::warpAffine(src, d, M, d.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
        if (d.data != dst) return mien::fail(err, err_len, MIEN_ERR_INTERNAL, "warp reallocated the output");
        return MIEN_OK;
    })
}

}  // extern "C"
