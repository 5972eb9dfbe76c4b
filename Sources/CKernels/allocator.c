#include "ckernels.h"
#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#endif

void mk_keep_freed_memory(void) {
#if defined(__linux__) && defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}
