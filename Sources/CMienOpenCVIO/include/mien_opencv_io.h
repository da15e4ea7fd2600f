// Mien's OpenCV image-file and video-writer library (libMienOpenCVIO.so): OpenCV's imgcodecs
// and videoio behind one C entry point, so the vision shim can open them with dlopen on first
// use instead of linking them (CMienVision/opencv_io.hpp says why) and call them through
// declared C functions. Built by SwiftPM as a product of this package beside `mien`; never
// linked into it.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Bumped when a function below changes: the loader checks it.
#define MIEN_OPENCV_IO_VERSION 1

/// The functions. Images and writers are OpenCV objects passed as pointers (`cv::Mat *`,
/// `cv::VideoWriter *`): caller and library are built against the same OpenCV headers. No C++
/// exception leaves a function: one thrown inside returns -1 / NULL with its message in `err`.
typedef struct mien_opencv_io {
    int version;
    /// `*out = cv::imread(path, flags)` (`out`: a `cv::Mat *`; empty when it cannot be read): 1.
    int (*imread)(const char *path, int flags, void *out, char *err, size_t err_len);
    /// `cv::imwrite(path, *image)` with no parameters (`image`: a `const cv::Mat *`): 1, or 0
    /// when the file could not be written.
    int (*imwrite)(const char *path, const void *image, char *err, size_t err_len);
    /// `cv::haveImageReader(path)` / `cv::haveImageWriter(path)`: 1 or 0.
    int (*have_image_reader)(const char *path);
    int (*have_image_writer)(const char *path);
    /// A new `cv::VideoWriter` opened with `open(path, api, fourcc, fps, {width, height},
    /// {VIDEOWRITER_PROP_IS_COLOR, is_color})`, or NULL with the reason. It may be closed (check
    /// `isOpened()`); delete it with `delete` (its destructor is virtual).
    void *(*video_writer_open)(const char *path, int api, int fourcc, double fps, int width, int height, int is_color,
                               char *err, size_t err_len);
} mien_opencv_io;

/// The table (the one symbol the loader looks up).
const mien_opencv_io *mien_opencv_io_v1(void);

#ifdef __cplusplus
}
#endif
