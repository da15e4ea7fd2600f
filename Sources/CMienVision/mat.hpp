// The opaque mien_mat: a cv::Mat owned by the C API.
#pragma once
#include <opencv2/core.hpp>

struct mien_mat {
    cv::Mat m;
};
