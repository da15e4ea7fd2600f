/* Still images and pixel buffers of Mien's vision shim (C API over OpenCV 4).
 * Pixel buffers are 8-bit, row-major, interleaved; BGR order for 3 channels. */
#ifndef MIEN_IMAGE_H
#define MIEN_IMAGE_H
#include <stddef.h>
#include <stdint.h>
#include "mien_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An owned 8-bit image (1 or 3 channels). Opaque; read its fields with the accessors. */
typedef struct mien_mat mien_mat;

int mien_mat_width(const mien_mat *m);
int mien_mat_height(const mien_mat *m);
int mien_mat_channels(const mien_mat *m);
/* Bytes between the starts of consecutive rows (>= width * channels). */
size_t mien_mat_step(const mien_mat *m);
const uint8_t *mien_mat_data(const mien_mat *m);
void mien_mat_destroy(mien_mat *m);

/* Reads the image at `path` in any format OpenCV's imgcodecs reads (PNG, JPEG, BMP, TIFF,
 * WebP, PPM/PGM, ...). `channels` is 1 (grayscale: the colour decode converted with
 * cv::cvtColor(COLOR_BGR2GRAY), BT.601 weights, as video frames are) or 3 (BGR). Images whose width*height exceeds `max_pixels` are refused with
 * MIEN_ERR_TOO_LARGE before their pixels are decoded when the header can be read (PNG, JPEG,
 * BMP, GIF, PNM); pass 0 for no limit of Mien's own (OpenCV's limit of 2^30 pixels remains).
 * On success *out owns a new image, to be released with mien_mat_destroy. */
mien_status mien_image_read(const char *path, int channels, uint64_t max_pixels,
                            mien_mat **out, char *err, size_t err_len);

/* Reads only the header of the image at `path` (PNG, JPEG, BMP, GIF, PNM) and reports its
 * size. Returns MIEN_ERR_UNSUPPORTED for formats whose header it does not parse. */
mien_status mien_image_peek_size(const char *path, int *width, int *height, char *err, size_t err_len);

/* Interpolation for mien_resize. */
typedef enum mien_interp {
    MIEN_INTERP_AREA = 0,    /* cv::INTER_AREA: pixel-area averaging, the right choice for shrinking */
    MIEN_INTERP_LINEAR = 1   /* cv::INTER_LINEAR: bilinear */
} mien_interp;

/* Resizes an 8-bit image with `channels` channels (1 or 3) from src (w x h, row stride
 * src_step bytes) into dst (dst_w x dst_h, tightly packed, dst_w*channels bytes a row). */
mien_status mien_resize_u8(const uint8_t *src, int w, int h, size_t src_step, int channels,
                           uint8_t *dst, int dst_w, int dst_h, mien_interp interp,
                           char *err, size_t err_len);

/* Converts tightly packed BGR (w x h x 3) into tightly packed gray (w x h), BT.601 weights
 * exactly as cv::cvtColor(COLOR_BGR2GRAY). */
mien_status mien_bgr_to_gray(const uint8_t *bgr, int w, int h, size_t src_step, uint8_t *gray,
                             char *err, size_t err_len);

/* Writes a tightly packed 8-bit image (1 or 3 channels, BGR) to `path`; the format follows
 * the extension (.png, .jpg, .bmp, .pgm, ...). */
mien_status mien_image_write(const char *path, const uint8_t *data, int w, int h, int channels,
                             char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
