/* Status codes shared by every call of Mien's vision shim.
 * Every fallible call returns one of these and, unless it returns MIEN_OK, writes a
 * NUL-terminated, human-readable message into the caller's error buffer (truncated to fit). */
#ifndef MIEN_STATUS_H
#define MIEN_STATUS_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mien_status {
    MIEN_OK = 0,
    MIEN_ERR_NOT_FOUND = 1,     /* the path does not exist or cannot be opened for reading */
    MIEN_ERR_EMPTY = 2,         /* the file has zero bytes, or a folder holds no readable frame */
    MIEN_ERR_UNSUPPORTED = 3,   /* not an image format OpenCV reads, or a video FFmpeg cannot read or decode (or a non-media file) */
    MIEN_ERR_CORRUPT = 4,       /* recognised format but the data cannot be decoded (truncated, garbled) */
    MIEN_ERR_TOO_LARGE = 5,     /* dimensions exceed the caller's pixel limit */
    MIEN_ERR_ARGUMENT = 6,      /* invalid argument (null pointer, bad size, out-of-range index) */
    MIEN_ERR_INTERNAL = 7,      /* OpenCV/dlib raised an exception or failed unexpectedly */
    MIEN_ERR_END = 8,           /* end of stream reached (not an error for sequential reads) */
    MIEN_ERR_MISSING_LIBRARY = 9 /* a system library opened on first use (OpenCV's imgcodecs, videoio) cannot be loaded */
} mien_status;

#ifdef __cplusplus
}
#endif
#endif
