// A persistent worker pool for fork-join loops. A decode step runs hundreds of short parallel
// loops (each layer's projections, attention, activations), so waking threads through a
// general-purpose queue costs as much as the work; here workers spin on a job counter after
// each job, so the next one starts within a microsecond, then sleep on a condition variable so
// an idle engine uses no CPU.
#include "ckernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define MK_PAUSE() __asm__ __volatile__("yield")
#else
#define MK_PAUSE() ((void)0)
#endif

// How long a worker spins for the next job before it sleeps. After a short gap between jobs
// it spins long: decode steps leave gaps of tens of microseconds between their loops, and a
// futex wake-up in a VM costs about as much as a small loop (measured on Zen 3: q4 decode 5.2 →
// 6.2 steps/s, patch decoder 130 → 85 ms). After a long gap it spins briefly: in the codec the
// gaps hold OpenBLAS calls, whose threads a spinning worker would rob of the core (~15 % slower).
#define MK_SPIN_LONG_NS 500000
#define MK_SPIN_SHORT_NS 5000

static uint64_t mk_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

typedef struct {
    mk_task_fn fn;
    void *ctx;
    size_t count;
} mk_job;

struct mk_pool {
    int workers;
    pthread_t *threads;
    pthread_mutex_t submit;   // one job at a time; a second caller runs its loop inline
    pthread_mutex_t lock;     // guards sleeping workers and the condition variable
    pthread_cond_t wake;
    // The current job's number (high 32 bits; idle workers watch it for new work) and its next
    // unclaimed index (low 32 bits). A task is claimed by a compare-and-swap that also checks
    // the job number, so a worker still looking for work of a finished job can never take, or
    // run twice, an index of the next one (a plain counter reset per job let a late increment
    // do both: a task ran twice, the job "finished" early and the caller's stack was still in use).
    _Alignas(64) _Atomic uint64_t ticket;
    _Alignas(64) _Atomic size_t done;   // its own cache line: every finished task writes it
    _Atomic int sleeping;
    _Atomic int stop;
    // Job n lives in jobs[n % 2]: the caller fills the other slot while late workers may still
    // read this one, and a slot is rewritten only two jobs later, after this one completed.
    _Alignas(64) mk_job jobs[2];
};

static inline uint32_t mk_job_number(uint64_t ticket) { return (uint32_t)(ticket >> 32); }

static void mk_pool_work(mk_pool *p) {
    for (;;) {
        // Acquire pairs with the caller's release store of the ticket: a worker that sees job n
        // also sees jobs[n % 2].
        uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        const mk_job *job = &p->jobs[mk_job_number(t) & 1];
        size_t i = (uint32_t)t;
        // `count` may already be a later job's if the caller moved on; the exchange then fails.
        if (i >= job->count) return;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel, memory_order_relaxed))
            continue;
        // Claimed: the job cannot complete, so its slot cannot be reused, until this task is done.
        job->fn(job->ctx, i);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *mk_pool_main(void *arg) {
    mk_pool *p = arg;
    uint32_t seen = 0;
    uint64_t spin = MK_SPIN_SHORT_NS;
    for (;;) {
        uint64_t idle = mk_now_ns(), now = idle;
        unsigned polls = 0;
        while (mk_job_number(atomic_load_explicit(&p->ticket, memory_order_acquire)) == seen && !atomic_load(&p->stop)) {
            MK_PAUSE();
            if (++polls % 64 != 0 || (now = mk_now_ns()) - idle < spin) continue;
            pthread_mutex_lock(&p->lock);
            atomic_fetch_add(&p->sleeping, 1);
            while (mk_job_number(atomic_load(&p->ticket)) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->wake, &p->lock);
            atomic_fetch_sub(&p->sleeping, 1);
            pthread_mutex_unlock(&p->lock);
            now = mk_now_ns();
            break;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = mk_job_number(atomic_load_explicit(&p->ticket, memory_order_acquire));
        spin = now - idle < MK_SPIN_LONG_NS ? MK_SPIN_LONG_NS : MK_SPIN_SHORT_NS;
        mk_pool_work(p);
    }
}

mk_pool *mk_pool_create(int threads) {
    mk_pool *p = aligned_alloc(64, sizeof *p);   // the hot atomics each start a cache line
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->workers = threads > 1 ? threads - 1 : 0;   // the caller is the last worker
    pthread_mutex_init(&p->submit, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)(p->workers > 0 ? p->workers : 1), sizeof(pthread_t));
    if (!p->threads) { free(p); return NULL; }
    for (int t = 0; t < p->workers; t++) {
        if (pthread_create(&p->threads[t], NULL, mk_pool_main, p) != 0) { p->workers = t; break; }
    }
    return p;
}

void mk_pool_destroy(mk_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int t = 0; t < p->workers; t++) pthread_join(p->threads[t], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->submit);
    free(p->threads);
    free(p);
}

void mk_pool_run(mk_pool *p, mk_task_fn fn, void *ctx, size_t count) {
    if (count == 0) return;
    // Single tasks, no workers, more tasks than the ticket's 32-bit index holds, or the pool
    // already busy (a nested or concurrent loop): inline.
    if (!p || p->workers == 0 || count == 1 || count > UINT32_MAX || pthread_mutex_trylock(&p->submit) != 0) {
        for (size_t i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    // Only the caller (under `submit`) changes the job number; workers only advance the index.
    uint32_t n = mk_job_number(atomic_load_explicit(&p->ticket, memory_order_relaxed)) + 1;
    p->jobs[n & 1] = (mk_job){fn, ctx, count};
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    // Sequentially consistent (and so a release of the job slot) with the `sleeping` check
    // below and the workers' mirror-image check, so a worker either sees the new job or is woken.
    atomic_store(&p->ticket, (uint64_t)n << 32);
    if (atomic_load(&p->sleeping) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    mk_pool_work(p);
    while (atomic_load_explicit(&p->done, memory_order_acquire) < count) MK_PAUSE();
    pthread_mutex_unlock(&p->submit);
}
