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
 * threshold: HOG only: minimum SVM score (0 = dlib's default operating point).
 * upsample: HOG only: times the working image is doubled before detection (0 or 1; dlib's
 *           80x80 px window finds faces down to ~40 px after one doubling).
 * max_size: largest face side in pixels of the ORIGINAL image (0 = no limit). The Haar
 *           cascade stops its pyramid there (fewer scales: faster); HOG filters its boxes. */
typedef struct mien_detect_params {
    double scale_factor;
    int min_neighbors;
    int min_size;
    int max_side;
    int equalize;
    double threshold;
    int upsample;
    int max_size;
} mien_detect_params;

/* ---- OpenCV Haar cascade ---- */
typedef struct mien_haar mien_haar;

/* Loads a cascade XML (e.g. /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml).
 * Stump-based HAAR cascades (like that one) are evaluated by Mien's own evaluator (haar_cascade.cpp:
 * exactly OpenCV 4.6's candidate windows, several times faster); others (LBP, trees, tilted
 * features, old format) by OpenCV's cv::CascadeClassifier. */
mien_status mien_haar_create(const char *cascade_path, mien_haar **out, char *err, size_t err_len);
void mien_haar_destroy(mien_haar *d);

/* Detects faces in a gray 8-bit image (w x h, row stride `step` bytes). Writes at most
 * `capacity` boxes to `out` (sorted by descending score) and the total number found to *count
 * (which may exceed capacity: call again with a larger buffer). Not thread-safe per handle. */
mien_status mien_haar_detect(mien_haar *d, const uint8_t *gray, int w, int h, size_t step,
                             const mien_detect_params *params, mien_face_box *out, int capacity,
                             int *count, char *err, size_t err_len);

/* As mien_haar_detect, always with OpenCV's cv::CascadeClassifier::detectMultiScale: the reference
 * Mien's evaluator is tested and timed against. */
mien_status mien_haar_detect_reference(mien_haar *d, const uint8_t *gray, int w, int h, size_t step,
                                       const mien_detect_params *params, mien_face_box *out, int capacity,
                                       int *count, char *err, size_t err_len);
/* Which evaluator mien_haar_detect uses: 1 = Mien's (`why` receives "mien (AVX2)" or
 * "mien (scalar)"), 0 = OpenCV's (`why` receives the reason), -1 = null handle. */
int mien_haar_evaluator(const mien_haar *d, char *why, size_t why_len);

/* ---- dlib's HOG + linear SVM frontal face detector (dlib::get_frontal_face_detector) ---- */
typedef struct mien_hog mien_hog;

mien_status mien_hog_create(mien_hog **out, char *err, size_t err_len);
void mien_hog_destroy(mien_hog *d);
/* As mien_haar_detect; score = SVM margin. */
mien_status mien_hog_detect(mien_hog *d, const uint8_t *gray, int w, int h, size_t step,
                            const mien_detect_params *params, mien_face_box *out, int capacity,
                            int *count, char *err, size_t err_len);

/* ---- dlib shape predictor (facial landmarks) ---- */
typedef struct mien_landmarker mien_landmarker;

/* Loads a dlib shape-predictor model (.dat), e.g. Debian libdlib-data's
 * /usr/share/dlib/shape_predictor_68_face_landmarks.dat, into Mien's flat layout (dlib's
 * serialisation format decoded from the file's bytes by Mien's reader; shape_model.cpp);
 * *num_points receives its point count (68 or 5). A file that is not such a model (truncated,
 * garbled) gives MIEN_ERR_CORRUPT with the byte where decoding failed. Loading takes ~15 ms for
 * the bundled 5-point model, ~0.13 s for the 68-point one (100 MB file, 71 MB in memory). */
mien_status mien_landmarker_create(const char *model_path, mien_landmarker **out, int *num_points,
                                   char *err, size_t err_len);
/* For tests and benchmarks: mien_landmarker_create decoding the file with dlib's own stream
 * decoding (dlib::deserialize through a std::ifstream) into the same flat layout: the reference
 * Mien's reader is tested and timed against. */
mien_status mien_landmarker_create_dlib_decoding(const char *model_path, mien_landmarker **out,
                                                 int *num_points, char *err, size_t err_len);
/* For tests: 1 when the two handles hold the same flat model bit for bit (every array and size). */
int mien_landmarker_identical(const mien_landmarker *a, const mien_landmarker *b);
void mien_landmarker_destroy(mien_landmarker *l);
/* Fits the landmarks of the face in `box` (pixels of the gray image, which is read in place;
 * the box must overlap the image); writes num_points (x, y) pairs in whole pixels to xy
 * (2*num_points floats): exactly dlib's shape_predictor result, from Mien's flat evaluator.
 * One handle can be used from several threads at once. */
mien_status mien_landmarker_fit(mien_landmarker *l, const uint8_t *gray, int w, int h, size_t step,
                                const mien_face_box *box, float *xy, char *err, size_t err_len);
/* As mien_landmarker_fit, evaluated by dlib's own dlib::shape_predictor::operator(): the
 * reference the flat evaluator is tested and timed against. The first call loads dlib's copy of
 * the model from the handle's file with dlib's own decoding (4-6x as long as
 * mien_landmarker_create; kept until destroy). */
mien_status mien_landmarker_fit_reference(mien_landmarker *l, const uint8_t *gray, int w, int h, size_t step,
                                          const mien_face_box *box, float *xy, char *err, size_t err_len);
/* For tests: the leaf each regression tree chose for the face in `box`, in cascade order, as
 * dlib numbers them (the leaf index plus the leaves of all trees before it), from the flat
 * evaluator (reference = 0) or from dlib's (reference = 1; loads it as above). Writes at most
 * `capacity` numbers to `leaves` and the number of trees to *count. */
mien_status mien_landmarker_leaves(mien_landmarker *l, const uint8_t *gray, int w, int h, size_t step,
                                   const mien_face_box *box, int reference, int32_t *leaves, int capacity,
                                   int *count, char *err, size_t err_len);

/* ---- crops ---- */
/* Warps a gray image into a dst_w x dst_h output through the 2x3 affine matrix m (row-major,
 * mapping SOURCE pixel coordinates to DESTINATION ones, as cv::warpAffine's M), bilinear,
 * pixels outside the source replicate the nearest edge pixel. */
mien_status mien_warp_affine_gray(const uint8_t *gray, int w, int h, size_t step, const double *m,
                                  uint8_t *dst, int dst_w, int dst_h, char *err, size_t err_len);

/* ---- Template matching: following a face between detections ---- */

/* Cuts a template: the region (rx, ry, rw, rh) of the gray image (must lie inside it) resized
 * with pixel-area averaging to tw x th pixels, written to `out` (tw*th bytes, rows packed). */
mien_status mien_template_cut(const uint8_t *gray, int w, int h, size_t step, int rx, int ry, int rw, int rh,
                              int tw, int th, uint8_t *out, char *err, size_t err_len);

/* Looks for a template (tw x th packed bytes) in the region (rx, ry, rw, rh) of the gray image
 * (inside it), resized to sw x sh (>= the template) with pixel-area averaging: normalised
 * cross-correlation (OpenCV's TM_CCOEFF_NORMED, -1..1, invariant to brightness and contrast),
 * best position refined to sub-pixel by a parabola through the peak and its neighbours. Writes
 * the template's top-left corner in pixels of the resized region and the score (-1 when the
 * correlation is undefined, e.g. a flat template). */
mien_status mien_template_find(const uint8_t *gray, int w, int h, size_t step, int rx, int ry, int rw, int rh,
                               int sw, int sh, const uint8_t *tmpl, int tw, int th, float *best_x, float *best_y,
                               float *score, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
