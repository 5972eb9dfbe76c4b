#include "ckernels.h"
#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <stdint.h>
#include <stdlib.h>

void mk_keep_freed_memory(void) {
#if defined(__linux__) && defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

#define MK_HUGE (2u << 20)

void *mk_alloc_streamed(size_t bytes) {
#if defined(__linux__)
    if (bytes >= MK_HUGE) {
        void *p = NULL;
        if (posix_memalign(&p, MK_HUGE, bytes) != 0) return NULL;
        // Only whole huge pages: advising the tail would let a huge page cover bytes past the
        // end, resident for nothing.
        madvise(p, bytes / MK_HUGE * MK_HUGE, MADV_HUGEPAGE);
        return p;
    }
#endif
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) return NULL;
    return p;
}

void mk_free_streamed(void *p) { free(p); }
