// OpenCV's image-file and video-writer modules (imgcodecs, videoio), opened on first use.
//
// Why they are not linked: Debian's libopencv_imgcodecs pulls in GDAL, and libopencv_videoio
// GStreamer and more: ~100 of the 266 libraries a linked `mien` loaded, whose relocation and
// constructors cost ~0.09 s of every process start (`mien --version`: 0.15 s linked, 0.06 s
// without; docs/BENCHMARKS.md "Process start"). Most commands never touch them (videos are
// decoded with FFmpeg directly, video.cpp): only reading or writing an image file and encoding a
// video do. So those paths open the two libraries with dlopen the first time they need them.
//
// Only what has no virtual entry point is looked up by name (dlsym of the C++ symbol); the
// static_asserts below pin each name to the declaration it stands for, and the link itself
// proves no other imgcodecs or videoio symbol is referenced (neither library is linked).
#pragma once
#include <string>
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

namespace mien::cvio {

/// The imgcodecs functions Mien calls.
struct ImageCodecs {
    decltype(&cv::imread) imread;
    decltype(&cv::imwrite) imwrite;
    decltype(&cv::haveImageReader) haveImageReader;
    decltype(&cv::haveImageWriter) haveImageWriter;
};

/// imgcodecs, opened on the first call (thread-safe); nullptr, with the reason in `why`, when
/// the library or one of its functions cannot be found.
const ImageCodecs *image_codecs(std::string &why);

/// A new, closed `cv::VideoWriter` (constructed by videoio), or nullptr with the reason in `why`.
/// Delete it with `delete` (its destructor is virtual).
cv::VideoWriter *new_video_writer(std::string &why);

/// `writer.open(path, apiPreference, fourcc, fps, size, params)`: the one `open` overload that
/// is not virtual, so it is looked up in videoio too. Call only on a writer from `new_video_writer`.
bool open_video_writer(cv::VideoWriter &writer, const std::string &path, int api, int fourcc, double fps,
                       const cv::Size &size, const std::vector<int> &params);

}  // namespace mien::cvio
