// Mien's own evaluator of OpenCV stump-based Haar cascades (C++ only; see haar_cascade.cpp).
#pragma once
#include <memory>
#include <string>
#include <vector>
#include <opencv2/core.hpp>

namespace mien {

/// A stump-based Haar cascade in OpenCV's XML format (e.g. haarcascade_frontalface_default.xml),
/// evaluated with the same arithmetic as OpenCV 4.6's cv::CascadeClassifier so that it gives the
/// same raw candidate windows (and so, grouped with cv::groupRectangles, the same boxes and
/// neighbour counts), many windows at a time (AVX2 when the CPU has it, a scalar path otherwise).
/// Not thread-safe: it keeps per-image-size plans and scratch buffers.
class HaarCascade {
public:
    /// Loads a cascade; nullptr with the reason in `why` if it is not one this evaluator can
    /// evaluate exactly (LBP or HOG features, trees of more than one node, tilted features,
    /// OpenCV's old XML format, ...). The caller falls back to cv::CascadeClassifier then.
    static std::unique_ptr<HaarCascade> load(const std::string &path, std::string &why);
    ~HaarCascade();

    /// The raw candidate windows of cv::CascadeClassifier::detectMultiScale (before grouping),
    /// in the order OpenCV finds them on one thread.
    void candidates(const cv::Mat &gray, double scale_factor, cv::Size min_size, cv::Size max_size,
                    std::vector<cv::Rect> &out);
    /// As cv::CascadeClassifier::detectMultiScale(gray, rects, neighbours, scale_factor,
    /// min_neighbors, 0, min_size, max_size).
    void detect(const cv::Mat &gray, std::vector<cv::Rect> &rects, std::vector<int> &neighbours,
                double scale_factor, int min_neighbors, cv::Size min_size, cv::Size max_size);

    /// Test hook: 0 = normal; 1..3 break the evaluator on purpose (1: no variance normalisation,
    /// 2: windows stepped by 1 px instead of 2, 3: each feature's first rectangle one pixel
    /// wider), so a test can check that the equality tests notice; 4 forces the scalar path.
    void set_debug_mode(int mode);
    /// Whether the AVX2 path runs (the CPU has AVX2 and debug mode 4 is off).
    bool uses_avx2() const;

    struct Impl;
private:
    HaarCascade();
    std::unique_ptr<Impl> impl;
};

}  // namespace mien
