/* Video files through OpenCV's FFmpeg backend, with frame-exact seeking.
 * Frame indices count decoded frames from 0 in decode-output (presentation) order, exactly as a
 * full sequential decode numbers them; timestamps are seconds from the stream's start. */
#ifndef MIEN_VIDEO_H
#define MIEN_VIDEO_H
#include <stddef.h>
#include <stdint.h>
#include "mien_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mien_video mien_video;

/* What the container and codec report about the video stream. */
typedef struct mien_video_info {
    double fps;            /* frames per second reported by the stream (average for VFR); 0 if unknown */
    int64_t frame_count;   /* container's count, or duration*fps estimate (see frame_count_exact) */
    int frame_count_exact; /* 1 if frame_count came from counting decoded frames (mien_video_count_frames) */
    int width, height;     /* decoded frame size in pixels */
    double duration;       /* seconds: frame_count / fps */
    char fourcc[8];        /* codec four-character code, NUL-terminated (e.g. "avc1", "FMP4", "MJPG"; "" if none) */
} mien_video_info;

/* Seek accounting, for tests and diagnostics. */
typedef struct mien_video_seek_stats {
    int64_t direct;      /* seeks satisfied by OpenCV's seek, verified by the landing frame's timestamp */
    int64_t stepped;     /* seeks satisfied by decoding forward from the current position */
    int64_t backoff;     /* seeks done by seeking to an earlier frame, verifying it, and decoding forward */
    int64_t sequential;  /* seeks that fell back to reopening and decoding from frame 0 */
    int64_t decoded;     /* frames grabbed, counting those decoded only to be skipped or to verify a
                            seek; not those OpenCV's seek decodes internally from the keyframe before
                            its target, nor mien_video_count_frames' own pass */
} mien_video_seek_stats;

/* Opens a video file with OpenCV's FFmpeg backend. Refuses (MIEN_ERR_TOO_LARGE) streams whose
 * width*height exceeds max_pixels (0 = no limit). Errors name what is wrong: missing file, empty
 * file, not a video (MIEN_ERR_UNSUPPORTED), undecodable first frame (MIEN_ERR_CORRUPT). */
mien_status mien_video_open(const char *path, uint64_t max_pixels, mien_video **out, char *err, size_t err_len);
void mien_video_destroy(mien_video *v);

/* Fills *info. */
void mien_video_get_info(const mien_video *v, mien_video_info *info);

/* Counts the frames by decoding the whole stream (grab only, no colour conversion), records the
 * exact count in the info (frame_count_exact = 1) and rewinds to frame 0. */
mien_status mien_video_count_frames(mien_video *v, int64_t *count, char *err, size_t err_len);

/* Positions the stream so that the next mien_video_grab returns frame `index` exactly.
 * Strategy: decode forward if the target is at most 32 frames ahead; otherwise OpenCV's seek,
 * verified by the landing frame's timestamp (index = round(t * fps)); if that cannot be verified,
 * seek to 16 or 64 frames earlier, verify, and decode forward; as a last resort reopen and decode
 * from frame 0. Returns MIEN_ERR_END if the video has no frame `index`. */
mien_status mien_video_seek(mien_video *v, int64_t index, char *err, size_t err_len);

/* Decodes the next frame without converting it. On success *index and *timestamp (seconds)
 * describe it; returns MIEN_ERR_END after the last frame (not an error for sequential reads). */
mien_status mien_video_grab(mien_video *v, int64_t *index, double *timestamp, char *err, size_t err_len);

/* Converts the last grabbed frame into the caller's tightly packed buffer of
 * width*height*channels bytes: channels 3 = BGR, 1 = gray (cvtColor BGR2GRAY). */
mien_status mien_video_retrieve(mien_video *v, int channels, uint8_t *dst, size_t dst_len, char *err, size_t err_len);

void mien_video_get_seek_stats(const mien_video *v, mien_video_seek_stats *stats);

/* Sets the number of threads OpenCV's own parallel loops (resize, colour conversion, cascade
 * detection) use in this process; 0 = OpenCV's default (all cores). */
void mien_set_num_threads(int n);
int mien_get_num_threads(void);

#ifdef __cplusplus
}
#endif
#endif
