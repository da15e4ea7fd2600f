// OpenCV's image-file and video-writer modules (imgcodecs, videoio), opened on first use.
//
// Why they are not linked: Debian's libopencv_imgcodecs pulls in GDAL, and libopencv_videoio
// GStreamer and more: ~100 of the 266 libraries a linked `mien` loaded, whose relocation and
// constructors cost ~0.09 s of every process start (`mien --version`: 0.15 s linked, 0.06 s
// without; docs/BENCHMARKS.md "Process start"). Most commands never touch them (videos are
// decoded with FFmpeg directly, video.cpp): only reading or writing an image file and encoding a
// video do. Those calls live in Mien's own small library, libMienOpenCVIO.so (the
// CMienOpenCVIO target, a product of this package built beside `mien`), which links the two
// modules and offers them as C functions (mien_opencv_io.h); the paths that need them open it
// with dlopen the first time, beside the executable or in its ../lib.
#pragma once
#include <string>
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>  // constants only (IMREAD_COLOR): no function of it is linked
#include <opencv2/videoio.hpp>

#include "mien_opencv_io.h"

namespace mien::cvio {

/// The library's functions, loaded on the first call (thread-safe); nullptr, with the reason in
/// `why` (which library is missing and what to install), when it cannot be loaded.
const mien_opencv_io *library(std::string &why);

/// The imgcodecs calls Mien makes, over `library()` (a C++ exception inside comes out as
/// `std::runtime_error`). What the image libraries print meanwhile goes to Mien's log
/// (`StdioCapture`, library_log.cpp).
struct ImageCodecs {
    const mien_opencv_io *io;

    bool haveImageReader(const std::string &path) const;
    bool haveImageWriter(const std::string &path) const;
    cv::Mat imread(const std::string &path, int flags) const;
    bool imwrite(const std::string &path, const cv::Mat &image) const;
};

/// imgcodecs, loaded on first use; false with the reason in `why` when it cannot be.
bool image_codecs(ImageCodecs &codecs, std::string &why);

}  // namespace mien::cvio
