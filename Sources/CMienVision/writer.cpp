// Video writer of the vision shim: cv::VideoWriter over FFmpeg, behind a C API (OpenCV's videoio
// is opened on the first writer, through libMienOpenCVIO.so: opencv_io.hpp).
#include "mien_video_writer.h"
#include "opencv_io.hpp"
#include "shim_util.hpp"

#include <cerrno>
#include <pthread.h>
#include <sched.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

struct mien_video_writer {
    cv::VideoWriter *writer = nullptr;  // from the library's video_writer_open
    std::string path;
    int width = 0;
    int height = 0;
    int channels = 3;
    int64_t frames = 0;

    ~mien_video_writer() { delete writer; }
};

extern "C" mien_status mien_video_writer_open(const char *path, int width, int height, double fps,
                                              const char *fourcc, int is_color, mien_video_writer **out,
                                              char *err, size_t err_len) {
    if (!path || !out || !fourcc) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null path, codec or output pointer");
    *out = nullptr;
    if (std::strlen(fourcc) != 4)
        return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("codec tag '%s' must be 4 characters, e.g. avc1 or mp4v", fourcc));
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
        return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("frame size %dx%d must be within 1..16384", width, height));
    if (!(fps > 0 && fps <= 1000))
        return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("fps %g must be in (0, 1000]", fps));
    MIEN_GUARD(err, err_len, {
        // cv::VideoWriter reports an unwritable path only as "not opened"; probe the path
        // ourselves first so the message can say why.
        FILE *probe = std::fopen(path, "wb");
        if (!probe) {
            int e = errno;
            return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND,
                              mien::fmt("cannot create the file: %s", std::strerror(e)));
        }
        std::fclose(probe);
        std::string why;
        const mien_opencv_io *io = mien::cvio::library(why);
        if (!io) {
            std::remove(path);
            return mien::fail(err, err_len, MIEN_ERR_MISSING_LIBRARY, why);
        }
        auto *w = new mien_video_writer();
        w->path = path;
        w->width = width;
        w->height = height;
        w->channels = is_color ? 3 : 1;
        // cv::VideoWriter::fourcc, which lives in videoio
        int tag = (fourcc[0] & 255) | ((fourcc[1] & 255) << 8) | ((fourcc[2] & 255) << 16) | ((fourcc[3] & 255) << 24);
        // libx264 (FFmpeg's default for it: threads = auto) sizes its thread pool from the CPUs
        // the opening thread may run on, 1.5 per CPU, and OpenCV 4.6 offers no way to pass
        // "threads". The output bytes depend on the thread count, so a clip encoded on a
        // 2-core and an 8-core machine would differ. Opening the encoder while this thread is
        // confined to one CPU makes x264 choose one thread everywhere; the mask is restored
        // right after.
        cpu_set_t saved;
        bool pinned = false;
        if (pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) == 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            for (int c = 0; c < CPU_SETSIZE; ++c)
                if (CPU_ISSET(c, &saved)) { CPU_SET(c, &one); break; }
            pinned = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
        }
        char failure[512] = "";
        w->writer = static_cast<cv::VideoWriter *>(
            io->video_writer_open(path, cv::CAP_FFMPEG, tag, fps, width, height, is_color ? 1 : 0, failure, sizeof failure));
        if (pinned) pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
        if (!w->writer) {
            delete w;
            std::remove(path);
            return mien::fail(err, err_len, MIEN_ERR_INTERNAL, std::string("cannot open the video writer: ") + failure);
        }
        if (!w->writer->isOpened()) {
            delete w;
            std::remove(path);
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED,
                              mien::fmt("OpenCV's FFmpeg backend cannot encode codec '%s' into this container "
                                        "(is FFmpeg built with that encoder, and does the extension name a container it knows?)",
                                        fourcc));
        }
        *out = w;
        return MIEN_OK;
    })
}

extern "C" mien_status mien_video_writer_write(mien_video_writer *w, const uint8_t *pixels, size_t row_bytes,
                                               char *err, size_t err_len) {
    if (!w || !pixels) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null writer or pixels");
    if (row_bytes < static_cast<size_t>(w->width) * w->channels)
        return mien::fail(err, err_len, MIEN_ERR_ARGUMENT,
                          mien::fmt("row of %zu bytes is shorter than width %d x %d channels", row_bytes, w->width, w->channels));
    MIEN_GUARD(err, err_len, {
        cv::Mat frame(w->height, w->width, w->channels == 3 ? CV_8UC3 : CV_8UC1, const_cast<uint8_t *>(pixels), row_bytes);
        w->writer->write(frame);
        w->frames += 1;
        return MIEN_OK;
    })
}

extern "C" int64_t mien_video_writer_frames(const mien_video_writer *w) { return w ? w->frames : 0; }

extern "C" mien_status mien_video_writer_close(mien_video_writer *w, char *err, size_t err_len) {
    if (!w) return MIEN_OK;
    mien_status status = MIEN_OK;
    try {
        w->writer->release();
    } catch (const cv::Exception &e) {
        status = mien::fail(err, err_len, MIEN_ERR_INTERNAL, std::string("OpenCV error while finishing the video: ") + e.what());
    } catch (const std::exception &e) {
        status = mien::fail(err, err_len, MIEN_ERR_INTERNAL, std::string("C++ exception while finishing the video: ") + e.what());
    } catch (...) {
        status = mien::fail(err, err_len, MIEN_ERR_INTERNAL, "unknown C++ exception while finishing the video");
    }
    delete w;
    return status;
}
