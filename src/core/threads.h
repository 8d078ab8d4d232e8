/* threads.h - how many compute threads a process can use: the CPUs in its affinity mask
 * (what `taskset`, cgroups' cpusets and mpirun's binding leave it), else the online CPUs.
 * More OpenMP threads than that never help and can stall a run: every parallel region ends in
 * a barrier that waits for all threads, and with 1000 threads on 2 CPUs each barrier waits for
 * hundreds of descheduled threads (a step went from 0.5 s to minutes). So requests above it are
 * capped, with a note. */
#ifndef NNCLR_CORE_THREADS_H
#define NNCLR_CORE_THREADS_H

#include <stddef.h>

/* CPUs this process may run on (>= 1). */
int threads_usable(void);

/* Sets OpenMP's thread count to min(requested, threads_usable()) when requested > 0 (0: leave
 * OpenMP's default). Returns the count set; when it capped, note (may be NULL) gets a sentence
 * saying so, else note[0] = 0. */
int threads_apply(int requested, char *note, size_t note_size);

#endif
