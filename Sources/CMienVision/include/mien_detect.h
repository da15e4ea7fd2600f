/* Face detection in Mien's vision shim. Boxes are in pixels of the image passed in
 * (x, y = top-left corner; w, h = size), whatever internal downscaling was used. */
#ifndef MIEN_DETECT_H
#define MIEN_DETECT_H
#include <stddef.h>
#include <stdint.h>
#include "mien_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One detected face. `score` is detector-specific: for the Haar cascade it is the number of
 * neighbouring raw detections merged into this box (higher = more certain); for dlib's HOG
 * detector it is the SVM margin (> 0 means detected at the default threshold). */
typedef struct mien_face_box {
    float x, y, w, h;
    float score;
} mien_face_box;

/* Detection parameters shared by the detectors.
 * scale_factor: image pyramid step of the Haar cascade (> 1, e.g. 1.1); ignored by HOG.
 * min_neighbors: Haar's minimum neighbour count for a box to be kept (e.g. 5); ignored by HOG.
 * min_size: smallest face side in pixels of the ORIGINAL image (>= 0).
 * max_side: if the longer image side exceeds this, detection runs on a copy downscaled
 *           (INTER_AREA) so that the longer side equals max_side; 0 = never downscale.
 * equalize: non-zero to histogram-equalise the (downscaled) gray image first.
 * threshold: HOG only: minimum SVM score (0 = dlib's default operating point). */
typedef struct mien_detect_params {
    double scale_factor;
    int min_neighbors;
    int min_size;
    int max_side;
    int equalize;
    double threshold;
} mien_detect_params;

/* ---- OpenCV Haar cascade ---- */
typedef struct mien_haar mien_haar;

/* Loads a cascade XML (e.g. /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml). */
mien_status mien_haar_create(const char *cascade_path, mien_haar **out, char *err, size_t err_len);
void mien_haar_destroy(mien_haar *d);

/* Detects faces in a gray 8-bit image (w x h, row stride `step` bytes). Writes at most
 * `capacity` boxes to `out` (sorted by descending score) and the total number found to *count
 * (which may exceed capacity: call again with a larger buffer). Not thread-safe per handle. */
mien_status mien_haar_detect(mien_haar *d, const uint8_t *gray, int w, int h, size_t step,
                             const mien_detect_params *params, mien_face_box *out, int capacity,
                             int *count, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
