// Video files through OpenCV's FFmpeg backend, with verified frame-exact seeking
// (see include/mien_video.h).
#include "mien_video.h"
#include "shim_util.hpp"

#include <sys/stat.h>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

struct mien_video {
    std::string path;
    cv::VideoCapture cap;
    mien_video_info info{};
    int64_t next = 0;          // index the next handed-out frame has
    bool pending = false;      // the capture holds frame `next`, grabbed but not yet handed out
    double pending_ts = 0;
    int64_t current = -1;      // index of the frame retrieve() converts (-1: none)
    int64_t last_ts_index = -1;
    double last_ts = 0;
    mien_video_seek_stats stats{};
};

namespace {

constexpr int64_t kStepLimit = 32;       // decode forward instead of seeking when this close
const int64_t kBackoffs[] = {0, 16, 64};  // how far before the target a verified seek may land

void quiet_opencv_logs() {
    static std::once_flag once;
    std::call_once(once, [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR); });
}

const char *container_name(const char *path) {
    FILE *f = std::fopen(path, "rb");
    if (!f) return nullptr;
    unsigned char h[16] = {0};
    size_t n = std::fread(h, 1, sizeof h, f);
    std::fclose(f);
    if (n >= 12 && std::memcmp(h + 4, "ftyp", 4) == 0) return "MP4/MOV";
    if (n >= 12 && std::memcmp(h, "RIFF", 4) == 0 && std::memcmp(h + 8, "AVI ", 4) == 0) return "AVI";
    if (n >= 4 && h[0] == 0x1A && h[1] == 0x45 && h[2] == 0xDF && h[3] == 0xA3) return "Matroska/WebM";
    if (n >= 4 && std::memcmp(h + 4, "moov", 4) == 0) return "MOV";
    if (n >= 4 && std::memcmp(h + 4, "mdat", 4) == 0) return "MOV";
    if (n >= 9 && std::memcmp(h, "YUV4MPEG2", 9) == 0) return "Y4M";
    if (n >= 3 && h[0] == 'F' && h[1] == 'L' && h[2] == 'V') return "FLV";
    if (n >= 1 && h[0] == 0x47) return nullptr;  // possibly MPEG-TS; not claimed
    return nullptr;
}

/// Timestamp (s) of the frame just grabbed as frame `index`: OpenCV's POS_MSEC, which is the
/// frame's pts minus the stream start; OpenCV 4.6 reports 0 for frames flushed out of the decoder
/// at the end of a stream (lost pts), so those continue the previous frame's time by 1/fps.
double grabbed_timestamp(mien_video *v, int64_t index) {
    double t = v->cap.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
    double fps = v->info.fps > 0 ? v->info.fps : 25.0;
    if (!(t > 0) && index > 0) {
        if (v->last_ts_index == index - 1)
            t = v->last_ts + 1.0 / fps;
        else
            t = index / fps;
    }
    v->last_ts = t;
    v->last_ts_index = index;
    return t;
}

bool open_capture(mien_video *v) {
    v->cap.release();
    v->next = 0;
    v->pending = false;
    v->current = -1;
    v->last_ts_index = -1;
    return v->cap.open(v->path, cv::CAP_FFMPEG) && v->cap.isOpened();
}

/// Hands out the next frame: the pending one, or a newly grabbed one.
mien_status grab_next(mien_video *v, int64_t *index, double *ts) {
    if (v->pending) {
        v->pending = false;
        v->current = v->next;
        *index = v->next;
        *ts = v->pending_ts;
        v->next++;
        return MIEN_OK;
    }
    if (!v->cap.grab()) {
        v->current = -1;
        return MIEN_ERR_END;
    }
    v->stats.decoded++;
    *index = v->next;
    *ts = grabbed_timestamp(v, v->next);
    v->current = v->next;
    v->next++;
    return MIEN_OK;
}

/// Decodes forward so that the next frame handed out is `target` (>= v->next).
mien_status step_to(mien_video *v, int64_t target) {
    while (v->next < target) {
        int64_t i;
        double t;
        mien_status s = grab_next(v, &i, &t);
        if (s != MIEN_OK) return s;
    }
    return MIEN_OK;
}

}  // namespace

extern "C" {

void mien_set_num_threads(int n) { cv::setNumThreads(n <= 0 ? -1 : n); }
int mien_get_num_threads(void) { return cv::getNumThreads(); }

mien_status mien_video_open(const char *path, uint64_t max_pixels, mien_video **out, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!path || !out) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        *out = nullptr;
        quiet_opencv_logs();
        struct stat st;
        if (stat(path, &st) != 0) return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "no such file");
        if (S_ISDIR(st.st_mode)) return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, "is a directory, not a video file");
        if (st.st_size == 0) return mien::fail(err, err_len, MIEN_ERR_EMPTY, "the file is empty (0 bytes)");
        FILE *probe = std::fopen(path, "rb");
        if (!probe) return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "cannot open the file for reading (permissions?)");
        std::fclose(probe);
        const char *container = container_name(path);
        std::unique_ptr<mien_video> v(new mien_video());
        v->path = path;
        if (!open_capture(v.get())) {
            if (container)
                return mien::fail(err, err_len, MIEN_ERR_CORRUPT,
                                  mien::fmt("looks like %s but FFmpeg cannot open it (truncated or damaged: e.g. an MP4 whose index, the moov box, is missing)", container));
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, "not a video OpenCV's FFmpeg backend can open");
        }
        int w = (int)v->cap.get(cv::CAP_PROP_FRAME_WIDTH);
        int h = (int)v->cap.get(cv::CAP_PROP_FRAME_HEIGHT);
        if (w <= 0 || h <= 0)
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, mien::fmt("the video stream reports a size of %d x %d", w, h));
        if (max_pixels > 0 && (uint64_t)w * (uint64_t)h > max_pixels)
            return mien::fail(err, err_len, MIEN_ERR_TOO_LARGE,
                              mien::fmt("frames are %d x %d = %llu pixels, above the limit of %llu pixels", w, h,
                                        (unsigned long long)w * h, (unsigned long long)max_pixels));
        mien_video_info &info = v->info;
        info.width = w;
        info.height = h;
        info.fps = v->cap.get(cv::CAP_PROP_FPS);
        if (!(info.fps > 0) || info.fps > 1000) info.fps = 0;
        double n = v->cap.get(cv::CAP_PROP_FRAME_COUNT);
        info.frame_count = n > 0 ? (int64_t)std::llround(n) : 0;
        info.frame_count_exact = 0;
        info.duration = info.fps > 0 ? info.frame_count / info.fps : 0;
        int fourcc = (int)v->cap.get(cv::CAP_PROP_FOURCC);
        int k = 0;
        for (int i = 0; i < 4; i++) {
            char c = (char)((fourcc >> (8 * i)) & 0xFF);
            if (c >= 32 && c < 127) info.fourcc[k++] = c;
        }
        info.fourcc[k] = '\0';
        // Decode frame 0 now: a file that opens but cannot decode a frame is corrupt.
        if (!v->cap.grab())
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "the video opens but no frame can be decoded (damaged or truncated stream)");
        v->stats.decoded++;
        v->pending = true;
        v->pending_ts = grabbed_timestamp(v.get(), 0);
        v->current = 0;
        *out = v.release();
        return MIEN_OK;
    })
}

void mien_video_destroy(mien_video *v) {
    try {
        delete v;
    } catch (...) {
    }
}

void mien_video_get_info(const mien_video *v, mien_video_info *info) {
    if (v && info) *info = v->info;
}

void mien_video_get_seek_stats(const mien_video *v, mien_video_seek_stats *stats) {
    if (v && stats) *stats = v->stats;
}

mien_status mien_video_count_frames(mien_video *v, int64_t *count, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!v || !count) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        cv::VideoCapture c;
        if (!c.open(v->path, cv::CAP_FFMPEG) || !c.isOpened())
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "cannot reopen the video to count its frames");
        int64_t n = 0;
        while (c.grab()) n++;
        v->info.frame_count = n;
        v->info.frame_count_exact = 1;
        v->info.duration = v->info.fps > 0 ? n / v->info.fps : 0;
        *count = n;
        return MIEN_OK;
    })
}

mien_status mien_video_seek(mien_video *v, int64_t index, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!v) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null video");
        if (index < 0) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("frame index %lld is negative", (long long)index));
        if (v->info.frame_count_exact && index >= v->info.frame_count)
            return mien::fail(err, err_len, MIEN_ERR_END,
                              mien::fmt("frame %lld is past the last frame (%lld frames)", (long long)index, (long long)v->info.frame_count));
        auto past_end = [&] {
            return mien::fail(err, err_len, MIEN_ERR_END, mien::fmt("the video ends before frame %lld", (long long)index));
        };
        if (index == v->next) return MIEN_OK;
        if (index > v->next && index - v->next <= kStepLimit) {
            v->stats.stepped++;
            return step_to(v, index) == MIEN_OK ? MIEN_OK : past_end();
        }
        double fps = v->info.fps;
        if (fps > 0) {
            for (int64_t back : kBackoffs) {
                int64_t s = index - back > 0 ? index - back : 0;
                if (!v->cap.set(cv::CAP_PROP_POS_FRAMES, (double)s)) continue;
                v->pending = false;
                v->current = -1;
                v->last_ts_index = -1;
                if (!v->cap.grab()) continue;
                v->stats.decoded++;
                double t = v->cap.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
                bool verified = s == 0 ? std::fabs(t * fps) < 0.5 : (t > 0 && std::fabs(t * fps - (double)s) < 0.5);
                if (!verified) continue;
                v->next = s;
                v->pending = true;
                v->pending_ts = t;
                v->current = s;
                v->last_ts = t;
                v->last_ts_index = s;
                if (step_to(v, index) != MIEN_OK) return past_end();
                if (back == 0) v->stats.direct++; else v->stats.backoff++;
                return MIEN_OK;
            }
        }
        // Last resort: reopen and decode from the start (exact by definition of the index).
        v->stats.sequential++;
        if (!open_capture(v)) return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "cannot reopen the video to seek");
        return step_to(v, index) == MIEN_OK ? MIEN_OK : past_end();
    })
}

mien_status mien_video_grab(mien_video *v, int64_t *index, double *timestamp, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!v || !index || !timestamp) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        mien_status s = grab_next(v, index, timestamp);
        if (s == MIEN_ERR_END) return mien::fail(err, err_len, MIEN_ERR_END, "end of video");
        return s;
    })
}

mien_status mien_video_retrieve(mien_video *v, int channels, uint8_t *dst, size_t dst_len, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!v || !dst) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (channels != 1 && channels != 3) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "channels must be 1 or 3");
        if (v->current < 0 || v->pending) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "no grabbed frame to retrieve");
        size_t need = (size_t)v->info.width * v->info.height * channels;
        if (dst_len < need) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("buffer of %zu bytes, need %zu", dst_len, need));
        cv::Mat frame;
        if (!v->cap.retrieve(frame) || frame.empty())
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, mien::fmt("frame %lld cannot be decoded", (long long)v->current));
        if (frame.cols != v->info.width || frame.rows != v->info.height || frame.type() != CV_8UC3)
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT,
                              mien::fmt("frame %lld is %d x %d (type %d), the stream said %d x %d BGR", (long long)v->current,
                                        frame.cols, frame.rows, frame.type(), v->info.width, v->info.height));
        cv::Mat d(v->info.height, v->info.width, channels == 1 ? CV_8UC1 : CV_8UC3, dst);
        if (channels == 1)
            cv::cvtColor(frame, d, cv::COLOR_BGR2GRAY);
        else
            frame.copyTo(d);
        if (d.data != dst) return mien::fail(err, err_len, MIEN_ERR_INTERNAL, "conversion reallocated the output");
        return MIEN_OK;
    })
}

}  // extern "C"
