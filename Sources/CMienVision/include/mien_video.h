/* Video files decoded with FFmpeg (libavformat + libavcodec), with frame-exact seeking.
 * Frame indices count decoded frames from 0 in decode-output (presentation) order, exactly as a
 * full sequential decode numbers them; timestamps are seconds from the stream's start (each
 * frame's best-effort timestamp). Frames are turned upright by the stream's display matrix (90°,
 * 180°, 270°) as FFmpeg's own tools turn them — OpenCV 4.6's VideoCapture turned 90° and 270° the
 * opposite way, upside down (opencv/opencv#22088); width and height are the upright ones. */
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
    double fps;            /* frames per second reported by the stream (av_guess_frame_rate: the real base
                              rate, the average for VFR), as OpenCV reported it; 0 if unknown */
    int64_t frame_count;   /* container's count, or duration*fps estimate (see frame_count_exact) */
    int frame_count_exact; /* 1 if frame_count came from counting decoded frames (mien_video_count_frames) */
    int width, height;     /* decoded frame size in pixels */
    double duration;       /* seconds: frame_count / fps */
    char fourcc[8];        /* codec four-character code, NUL-terminated (e.g. "avc1", "FMP4", "MJPG"; "" if none) */
} mien_video_info;

/* Seek accounting, for tests and diagnostics. */
typedef struct mien_video_seek_stats {
    int64_t direct;      /* seeks satisfied by a keyframe seek to the target, verified by timestamps */
    int64_t stepped;     /* seeks satisfied by decoding forward from the current position */
    int64_t backoff;     /* seeks done by seeking to an earlier frame, verifying it, and decoding forward */
    int64_t sequential;  /* seeks that fell back to reopening and decoding from frame 0 */
    int64_t decoded;     /* frames decoded, counting those decoded only to be skipped and those decoded
                            from a seek's keyframe up to its target; not mien_video_count_frames' own pass */
} mien_video_seek_stats;

/* Opens a video file: its best video stream, decoded with `decoder_threads` threads (0 = FFmpeg's
 * choice: frame threads, one more than the CPUs; see mien_video_default_decoder_threads).
 * Refuses (MIEN_ERR_TOO_LARGE) streams whose width*height exceeds max_pixels (0 = no limit). Errors name what is wrong: missing file, empty
 * file, not a video or no decoder for its codec (MIEN_ERR_UNSUPPORTED), a recognised container
 * FFmpeg cannot open or an undecodable first frame (MIEN_ERR_CORRUPT). */
mien_status mien_video_open(const char *path, uint64_t max_pixels, int decoder_threads, mien_video **out, char *err,
                            size_t err_len);
void mien_video_destroy(mien_video *v);

/* The decoder thread count OpenCV 4.6's VideoCapture used, one per CPU (cv::getNumberOfCPUs()):
 * VideoFileSource's default. On 2 busy CPUs it decodes faster than FFmpeg's choice (3 threads). */
int mien_video_default_decoder_threads(void);

/* Fills *info. */
void mien_video_get_info(const mien_video *v, mien_video_info *info);

/* Counts the frames by decoding the whole stream (every frame, no colour conversion) with a decoder
 * of its own, and records the exact count in the info (frame_count_exact = 1); the position of `v`
 * does not change. MIEN_ERR_CORRUPT if a frame cannot be decoded. */
mien_status mien_video_count_frames(mien_video *v, int64_t *count, char *err, size_t err_len);

/* Positions the stream so that the next mien_video_grab returns frame `index` exactly.
 * Strategy: decode forward if the target is at most 32 frames ahead; otherwise seek to the keyframe
 * before the time of frame target - 16 and decode forward to the frame whose timestamp says it is
 * the target (index = round((t - t0) * fps), t0 = frame 0's time; the frames on the way, at least
 * the one before the target, must be 1/fps apart);
 * if that cannot be verified, do the same for 16 or 64 frames earlier and decode forward; as a
 * last resort reopen and decode from frame 0. Returns MIEN_ERR_END if the video has no frame
 * `index`, MIEN_ERR_CORRUPT if a frame on the way cannot be decoded.
 * Caveat (as with OpenCV's seek before): timestamps identify indices in constant-rate video. In
 * variable-rate video the checks reject most seeks (which then decode from frame 0), but a frame
 * whose time is a whole number of frame periods off its index — every frame after a dropped one —
 * passes them: a seek there lands by time, not by count. */
mien_status mien_video_seek(mien_video *v, int64_t index, char *err, size_t err_len);

/* Decodes the next frame without converting it. On success *index and *timestamp (seconds)
 * describe it; returns MIEN_ERR_END after the last frame (not an error for sequential reads) — a
 * read error, as in a truncated file, ends the stream like FFmpeg's own tools end it — and
 * MIEN_ERR_CORRUPT, naming the frame, for a packet the decoder cannot decode (a later call goes on
 * with the next packet). */
mien_status mien_video_grab(mien_video *v, int64_t *index, double *timestamp, char *err, size_t err_len);

/* Converts the last grabbed frame into the caller's tightly packed buffer of
 * width*height*channels bytes. channels 1 = gray: for 8-bit planar / semi-planar YUV and gray8
 * the luma plane, copied if full range, else expanded from 16-235 to 0-255 — which is, within 2
 * grey levels, the BT.601 gray of the BGR frame; other formats through swscale to full-range
 * GRAY8. channels 3 = BGR through swscale, as OpenCV's VideoCapture made it. */
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
