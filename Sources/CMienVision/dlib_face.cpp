// dlib's HOG face detector and shape predictor, plus affine crops (see include/mien_detect.h).
#include "mien_detect.h"
#include "shape_model.hpp"
#include "shim_util.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <mutex>
#include <vector>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <opencv2/imgproc.hpp>

struct mien_hog {
    dlib::frontal_face_detector detector;
};

/// The model in Mien's flat layout (what mien_landmarker_fit evaluates) and, loaded from the same
/// file on first use only, dlib's own shape_predictor (the reference).
struct mien_landmarker {
    mien::ShapeModel model;
    std::string path;
    std::mutex reference_lock;
    std::unique_ptr<dlib::shape_predictor> reference;
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

/// The caller's gray pixels as a dlib image (dlib's generic image interface), without a copy.
struct GrayView {
    const uint8_t *pixels;
    long rows, cols;
    size_t step;
};
long num_rows(const GrayView &v) { return v.rows; }
long num_columns(const GrayView &v) { return v.cols; }
const void *image_data(const GrayView &v) { return v.pixels; }
long width_step(const GrayView &v) { return (long)v.step; }

/// dlib's shape_predictor for the model, loaded from its file on first use (callers serialise
/// on the handle's lock only here; the predictor is then used from any thread).
const dlib::shape_predictor &reference_predictor(mien_landmarker *l) {
    std::lock_guard<std::mutex> lock(l->reference_lock);
    if (!l->reference) {
        auto predictor = std::make_unique<dlib::shape_predictor>();
        dlib::deserialize(l->path) >> *predictor;
        l->reference = std::move(predictor);
    }
    return *l->reference;
}

}  // namespace

namespace dlib {
template <>
struct image_traits<GrayView> {
    typedef unsigned char pixel_type;
};
}  // namespace dlib

namespace mien {

/// Fits the face in `box` with the flat evaluator or, with `reference`, with dlib's; writes the
/// points to `xy` and, if `leaves` is not null, the leaf each tree chose to it (in dlib's
/// numbering).
mien_status landmarker_fit(mien_landmarker *l, const uint8_t *gray, int w, int h, size_t step, const mien_face_box *box,
                           bool reference, float *xy, std::vector<int32_t> *leaves, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!l || !gray || !box || !xy) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (w <= 0 || h <= 0 || step < (size_t)w) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "bad image size");
        // Far beyond any image, and within the ±2^30 pixels the flat evaluator rounds through.
        constexpr float limit = 1 << 24;
        if (!(std::fabs(box->x) < limit && std::fabs(box->y) < limit && box->w < limit && box->h < limit))
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "face box is not finite or lies beyond 2^24 pixels");
        if (!(box->w > 0) || !(box->h > 0)) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "empty face box");
        if (box->x >= w || box->y >= h || box->x + box->w <= 0 || box->y + box->h <= 0)
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "face box lies outside the image");
        // dlib's rectangle: whole pixels, right and bottom inclusive.
        const dlib::rectangle rect(std::lround(box->x), std::lround(box->y), std::lround(box->x + box->w) - 1,
                                   std::lround(box->y + box->h) - 1);
        if (!reference) {
            if (leaves) leaves->resize(l->model.num_trees());
            l->model.fit(gray, w, h, step, rect, xy, leaves ? leaves->data() : nullptr);
            return MIEN_OK;
        }
        const GrayView image{gray, h, w, step};
        std::vector<std::pair<unsigned long, int>> feats;
        const dlib::full_object_detection shape = leaves ? reference_predictor(l)(image, rect, feats) : reference_predictor(l)(image, rect);
        for (const auto &f : feats) leaves->push_back((int32_t)f.first);
        for (unsigned long i = 0; i < shape.num_parts(); i++) {
            xy[2 * i] = (float)shape.part(i).x();
            xy[2 * i + 1] = (float)shape.part(i).y();
        }
        return MIEN_OK;
    })
}

/// mien_landmarker_create, reading the model with Mien's reader or with dlib's stream decoding.
mien_status landmarker_create(const char *model_path, bool dlib_decoding, mien_landmarker **out, int *num_points, char *err,
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
            if (dlib_decoding)
                dlib::deserialize(model_path) >> l->model;
            else
                load(l->model, model_path);
        } catch (const dlib::serialization_error &e) {
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, std::string("not a dlib shape-predictor model: ") + e.what());
        } catch (const mien::unsupported_model &e) {
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, std::string("dlib shape-predictor model Mien cannot evaluate: ") + e.what());
        }
        unsigned long parts = l->model.num_parts();
        if (parts != 68 && parts != 5)
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, mien::fmt("model has %lu points; Mien uses the 68- or 5-point models", parts));
        l->path = model_path;
        *num_points = (int)parts;
        *out = l.release();
        return MIEN_OK;
    })
}

}  // namespace mien

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
    return mien::landmarker_create(model_path, false, out, num_points, err, err_len);
}

mien_status mien_landmarker_create_dlib_decoding(const char *model_path, mien_landmarker **out, int *num_points, char *err,
                                                 size_t err_len) {
    return mien::landmarker_create(model_path, true, out, num_points, err, err_len);
}

int mien_landmarker_identical(const mien_landmarker *a, const mien_landmarker *b) {
    return a && b && a->model.identical(b->model);
}

void mien_landmarker_destroy(mien_landmarker *l) { delete l; }

mien_status mien_landmarker_fit(mien_landmarker *l, const uint8_t *gray, int w, int h, size_t step,
                                const mien_face_box *box, float *xy, char *err, size_t err_len) {
    return mien::landmarker_fit(l, gray, w, h, step, box, false, xy, nullptr, err, err_len);
}

mien_status mien_landmarker_fit_reference(mien_landmarker *l, const uint8_t *gray, int w, int h, size_t step,
                                          const mien_face_box *box, float *xy, char *err, size_t err_len) {
    return mien::landmarker_fit(l, gray, w, h, step, box, true, xy, nullptr, err, err_len);
}

mien_status mien_landmarker_leaves(mien_landmarker *l, const uint8_t *gray, int w, int h, size_t step,
                                   const mien_face_box *box, int reference, int32_t *leaves, int capacity, int *count,
                                   char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!l || !count || (capacity > 0 && !leaves)) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        std::vector<float> xy(2 * l->model.num_parts());
        std::vector<int32_t> chosen;
        mien_status status = mien::landmarker_fit(l, gray, w, h, step, box, reference != 0, xy.data(), &chosen, err, err_len);
        if (status != MIEN_OK) return status;
        *count = (int)chosen.size();
        std::copy_n(chosen.begin(), std::min((size_t)std::max(capacity, 0), chosen.size()), leaves);
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
