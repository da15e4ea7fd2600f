// libMienOpenCVIO.so: the few imgcodecs and videoio calls Mien makes, behind C functions
// (include/mien_opencv_io.h). This file is the only one that links those two libraries.
#include "mien_opencv_io.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

namespace {

void put(char *err, size_t err_len, const std::string &message) {
    if (err && err_len > 0) std::snprintf(err, err_len, "%s", message.c_str());
}

/// Runs `body`; a C++ exception becomes `failed` with its message in `err`.
template <typename T, typename F> T guarded(char *err, size_t err_len, T failed, F body) {
    try {
        return body();
    } catch (const cv::Exception &e) {
        put(err, err_len, std::string("OpenCV error: ") + e.what());
    } catch (const std::exception &e) {
        put(err, err_len, std::string("C++ exception: ") + e.what());
    } catch (...) {
        put(err, err_len, "unknown C++ exception");
    }
    return failed;
}

int imread(const char *path, int flags, void *out, char *err, size_t err_len) {
    return guarded(err, err_len, -1, [&] {
        *static_cast<cv::Mat *>(out) = cv::imread(path, flags);
        return 1;
    });
}

int imwrite(const char *path, const void *image, char *err, size_t err_len) {
    return guarded(err, err_len, -1, [&] { return cv::imwrite(path, *static_cast<const cv::Mat *>(image), std::vector<int>()) ? 1 : 0; });
}

int have_image_reader(const char *path) {
    return guarded(nullptr, 0, 0, [&] { return cv::haveImageReader(path) ? 1 : 0; });
}

int have_image_writer(const char *path) {
    return guarded(nullptr, 0, 0, [&] { return cv::haveImageWriter(path) ? 1 : 0; });
}

void *video_writer_open(const char *path, int api, int fourcc, double fps, int width, int height, int is_color,
                        char *err, size_t err_len) {
    return guarded(err, err_len, static_cast<void *>(nullptr), [&] {
        auto *writer = new cv::VideoWriter();
        try {
            writer->open(path, api, fourcc, fps, cv::Size(width, height),
                         std::vector<int>{cv::VIDEOWRITER_PROP_IS_COLOR, is_color ? 1 : 0});
        } catch (...) {
            delete writer;
            throw;
        }
        return static_cast<void *>(writer);
    });
}

const mien_opencv_io table{MIEN_OPENCV_IO_VERSION, imread, imwrite, have_image_reader, have_image_writer, video_writer_open};

}  // namespace

extern "C" const mien_opencv_io *mien_opencv_io_v1(void) { return &table; }
