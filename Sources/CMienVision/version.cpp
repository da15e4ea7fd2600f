#include "mien_vision.h"
#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/core/version.hpp>

extern "C" const char *mien_cv_version(void) { return CV_VERSION; }

extern "C" int mien_cpus_available(void) { return std::max(1, cv::getNumberOfCPUs()); }
