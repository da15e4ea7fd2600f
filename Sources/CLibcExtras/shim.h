#ifndef MIEN_CLIBCEXTRAS_SHIM_H
#define MIEN_CLIBCEXTRAS_SHIM_H
#include <stddef.h>
/* glibc (>= 2.25) functions Swift's Glibc module does not import: stdlib.h declares them only
   under the ISO/IEC TS 18661-1 feature-test macro, which the module is built without. */

/* snprintf for one double with a "%[.precision]{a,e,f,g}" format, not variadic (Swift cannot
   call C variadic functions; the va_list route boxes every argument). */
int strfromd(char *restrict str, size_t n, const char *restrict format, double fp);
/* malloc.h's tuning call, which the Glibc module does not import: M_TRIM_THRESHOLD is -1 and
   M_MMAP_THRESHOLD is -3 in glibc's malloc.h. */
int mallopt(int param, int value);
enum { MIEN_M_TRIM_THRESHOLD = -1, MIEN_M_MMAP_THRESHOLD = -3 };
#endif
