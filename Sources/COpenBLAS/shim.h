#ifndef MIEN_COPENBLAS_SHIM_H
#define MIEN_COPENBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extensions: thread control. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* Stops OpenBLAS's thread pool (exported by OpenBLAS for fork handling); the next call that
   wants more than one thread starts it again. */
int blas_thread_shutdown_(void);
#endif
