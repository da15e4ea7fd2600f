#ifndef MIEN_CLIBCEXTRAS_SHIM_H
#define MIEN_CLIBCEXTRAS_SHIM_H
#include <stddef.h>
/* glibc (>= 2.25) functions Swift's Glibc module does not import: stdlib.h declares them only
   under the ISO/IEC TS 18661-1 feature-test macro, which the module is built without. */

/* snprintf for one double with a "%[.precision]{a,e,f,g}" format, not variadic (Swift cannot
   call C variadic functions; the va_list route boxes every argument). */
int strfromd(char *restrict str, size_t n, const char *restrict format, double fp);
#endif
