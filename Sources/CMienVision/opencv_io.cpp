// OpenCV's imgcodecs and videoio, linked like its other modules (Package.swift's openCVModules).
#include "opencv_io.hpp"

namespace mien::cvio {

const ImageCodecs *image_codecs(std::string &) {
    static const ImageCodecs codecs{&cv::imread, &cv::imwrite, &cv::haveImageReader, &cv::haveImageWriter};
    return &codecs;
}

cv::VideoWriter *new_video_writer(std::string &) { return new cv::VideoWriter(); }

bool open_video_writer(cv::VideoWriter &writer, const std::string &path, int api, int fourcc, double fps,
                       const cv::Size &size, const std::vector<int> &params) {
    return writer.open(path, api, fourcc, fps, size, params);
}

}  // namespace mien::cvio
