/* threads.c - see threads.h. */
#define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */
#include "core/threads.h"

#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

int threads_usable(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int threads_apply(int requested, char *note, size_t note_size) {
    if (note && note_size) note[0] = 0;
    if (requested <= 0) return omp_get_max_threads();
    int usable = threads_usable(), n = requested;
    if (requested > usable) {
        n = usable;
        if (note && note_size)
            snprintf(note, note_size, "--threads %d is more than the %d CPU%s this process can use; using %d", requested,
                     usable, usable == 1 ? "" : "s", usable);
    }
    omp_set_num_threads(n);
    return n;
}
