/* Test hooks of the vision shim: not part of its C API. Swift sees them only through the explicit
 * submodule CMienVision.Testing (include/module.modulemap), which only test targets import. */
#ifndef MIEN_VISION_TESTING_H
#define MIEN_VISION_TESTING_H
#include "mien_detect.h"
#ifdef __cplusplus
extern "C" {
#endif

/* 0 = normal; 1..3 break Mien's Haar evaluator on purpose (1: no variance normalisation, 2:
 * windows stepped by 1 px, 3: a feature rectangle 1 px wider), so a test can show that its
 * comparison with OpenCV catches each; 4 = its scalar path instead of AVX2. No effect when OpenCV
 * evaluates the cascade. */
void mien_haar_set_debug_mode(mien_haar *d, int mode);

#ifdef __cplusplus
}
#endif
#endif
