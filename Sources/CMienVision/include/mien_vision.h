/* C API of Mien's OpenCV/dlib shim. Opaque handles, create/destroy pairs; every call that can
 * fail returns a mien_status (mien_status.h) and fills an error buffer; no C++ exception crosses
 * this boundary. Still images and pixel helpers: mien_image.h; video decoding and seeking:
 * mien_video.h; face detection, landmarks and crops: mien_detect.h. */
#ifndef MIEN_VISION_H
#define MIEN_VISION_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Returns the OpenCV version string the shim was built against (static storage). */
const char *mien_cv_version(void);

/* CPUs this process may run on (cv::getNumberOfCPUs: the affinity mask, cpusets and cgroup CPU
 * quotas), at least 1. */
int mien_cpus_available(void);

/* Messages of the libraries under the shim, each line without its line break: FFmpeg's (av_log:
 * "moov atom not found", a damaged stream's details; warnings and errors only), whatever C++
 * code writes to std::cerr (OpenCV's own log, at warning level with `verbose`, else silenced),
 * and what libpng and libjpeg print while OpenCV reads or writes an image ("libpng warning:
 * iCCP: …", "Corrupt JPEG data: …"). `sink` receives them (from any thread; Mien logs them at
 * debug level); NULL drops them. Without a call they are dropped too: none is printed raw. */
typedef void (*mien_log_sink)(const char *line);
void mien_route_library_logs(mien_log_sink sink, int verbose);

#ifdef __cplusplus
}
#endif
#endif
