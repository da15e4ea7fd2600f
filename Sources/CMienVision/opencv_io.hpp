// OpenCV's image-file and video-writer modules (imgcodecs, videoio), behind the few functions the
// shim calls. They are linked (Package.swift): an earlier version opened them with dlopen on first
// use and looked up hand-written mangled C++ names with dlsym, calling a constructor and a
// non-virtual member through plain function pointers — undefined behaviour tied to one ABI — to
// save their share of the start-up (docs/BENCHMARKS.md "Process start" has the cost, measured).
// The functions keep their `why` out-parameter so a future lazy loader needs no caller change.
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

/// imgcodecs' functions (never nullptr now that the library is linked; `why` is left empty).
const ImageCodecs *image_codecs(std::string &why);

/// A new, closed `cv::VideoWriter`; delete it with `delete`.
cv::VideoWriter *new_video_writer(std::string &why);

/// `writer.open(path, apiPreference, fourcc, fps, size, params)`.
bool open_video_writer(cv::VideoWriter &writer, const std::string &path, int api, int fourcc, double fps,
                       const cv::Size &size, const std::vector<int> &params);

}  // namespace mien::cvio
