/* C API of Mien's OpenCV shim. Opaque handles, create/destroy pairs; every call that can
 * fail returns a status and fills an error buffer; no C++ exception crosses this boundary.
 * (The vision work fills this in; see issue "Vision front-end".) */
#ifndef MIEN_VISION_H
#define MIEN_VISION_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Returns the OpenCV version string the shim was built against (static storage). */
const char *mien_cv_version(void);

#ifdef __cplusplus
}
#endif
#endif
