/* Video writing for Mien's vision shim (C API over OpenCV's cv::VideoWriter, FFmpeg backend).
 * Opaque handle; create / write / close. Every fallible call returns a mien_status and, unless
 * MIEN_OK, fills the caller's error buffer. No C++ exception crosses this boundary. */
#ifndef MIEN_VIDEO_WRITER_H
#define MIEN_VIDEO_WRITER_H
#include <stddef.h>
#include <stdint.h>
#include "mien_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mien_video_writer mien_video_writer;

/* Opens `path` for writing a video of `width` x `height` pixels at `fps` frames per second with
 * OpenCV's FFmpeg backend. `fourcc` is a 4-character codec tag ("avc1" = H.264 via libx264,
 * "mp4v" = MPEG-4 part 2, "MJPG", ...); the container follows the file extension. `is_color`
 * 1 means frames are BGR (3 bytes a pixel), 0 means gray (1 byte a pixel).
 * The encoder is opened while the calling thread is confined to one CPU (its affinity mask is
 * restored right after), so libx264 picks one thread on every machine and the same frames give
 * the same bytes on the same FFmpeg/x264 build. Observed limit (Debian 12, FFmpeg 5.1, x264
 * 164): at frame heights that are not a multiple of 32 (e.g. 120, 240) the second and later
 * encodes of a process can differ between runs; heights 192, 288, 480 are byte-stable. See
 * docs/SYNTH.md. On success *out owns the writer; release
 * it with mien_video_writer_close. */
mien_status mien_video_writer_open(const char *path, int width, int height, double fps, const char *fourcc,
                                   int is_color, mien_video_writer **out, char *err, size_t err_len);

/* Appends one frame: `height` rows of `row_bytes` bytes each, the first width*channels used. */
mien_status mien_video_writer_write(mien_video_writer *w, const uint8_t *pixels, size_t row_bytes,
                                    char *err, size_t err_len);

/* Number of frames written so far. */
int64_t mien_video_writer_frames(const mien_video_writer *w);

/* Finishes the file (flushes the encoder, writes the container index) and frees the writer.
 * Safe with NULL. After this call `w` is invalid whatever the status. */
mien_status mien_video_writer_close(mien_video_writer *w, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
