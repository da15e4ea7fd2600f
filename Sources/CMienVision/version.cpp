#include "mien_vision.h"
#include <opencv2/core/version.hpp>

extern "C" const char *mien_cv_version(void) { return CV_VERSION; }
