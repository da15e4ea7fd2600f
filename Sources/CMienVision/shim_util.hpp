// Internal helpers of the vision shim (C++ only, not part of the C API).
#pragma once
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <opencv2/core.hpp>
#include "mien_status.h"

namespace mien {

/// Writes a message into the caller's error buffer (NUL-terminated, truncated to fit).
inline void set_err(char *err, size_t err_len, const std::string &msg) {
    if (!err || err_len == 0) return;
    size_t n = msg.size() < err_len - 1 ? msg.size() : err_len - 1;
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
}

inline mien_status fail(char *err, size_t err_len, mien_status code, const std::string &msg) {
    set_err(err, err_len, msg);
    return code;
}

inline std::string fmt(const char *f, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

/// Routes FFmpeg's messages and whatever C++ code writes to std::cerr (OpenCV's) through
/// `mien_route_library_logs`' sink (once; library_log.cpp).
void install_library_log();

/// While alive, what this thread prints with C stdio's `stderr` (libpng's and libjpeg's warnings
/// inside imgcodecs) goes to that sink too, a line at a time; other threads' output is untouched.
struct StdioCapture {
    StdioCapture();
    ~StdioCapture();
    StdioCapture(const StdioCapture &) = delete;
    StdioCapture &operator=(const StdioCapture &) = delete;
};

}  // namespace mien

/// Wraps a shim body so that no C++ exception leaves it: cv::Exception, std::exception and
/// anything else become MIEN_ERR_INTERNAL with the exception's text in the error buffer.
#define MIEN_GUARD(err, err_len, ...)                                                         \
    try {                                                                                      \
        __VA_ARGS__                                                                            \
    } catch (const cv::Exception &e) {                                                         \
        return mien::fail(err, err_len, MIEN_ERR_INTERNAL, std::string("OpenCV error: ") + e.what()); \
    } catch (const std::bad_alloc &) {                                                         \
        return mien::fail(err, err_len, MIEN_ERR_TOO_LARGE, "out of memory (image or video too large)"); \
    } catch (const std::exception &e) {                                                        \
        return mien::fail(err, err_len, MIEN_ERR_INTERNAL, std::string("C++ exception: ") + e.what()); \
    } catch (...) {                                                                            \
        return mien::fail(err, err_len, MIEN_ERR_INTERNAL, "unknown C++ exception");           \
    }
