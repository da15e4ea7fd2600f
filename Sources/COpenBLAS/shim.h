#ifndef MIEN_COPENBLAS_SHIM_H
#define MIEN_COPENBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extensions: thread control. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* Stops OpenBLAS's thread pool (exported by OpenBLAS for fork handling); the next call that
   wants more than one thread starts it again. */
int blas_thread_shutdown_(void);
/* OpenBLAS's run-time kernel choice (DYNAMIC_ARCH builds such as Debian's): the name of the
   core whose kernels run, and the pair of functions OpenBLAS's own start-up calls to choose them
   (the choice reads OPENBLAS_CORETYPE). Used by BLASCore to correct a choice that is too weak
   for the CPU (an unrecognised CPU model falls back to Prescott's SSE3 kernels). */
char *openblas_get_corename(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
#endif
