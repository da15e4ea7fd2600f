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

#ifdef __cplusplus
}
#endif
#endif
