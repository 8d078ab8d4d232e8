/* dist.c - the process group on Open MPI (or a group of one). See dist.h.
 *
 * nnclr_dist_init joins MPI_COMM_WORLD only when the process was started by an MPI launcher
 * (mpirun sets OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK); a plain start is a group of one
 * without touching MPI, so single-process runs never depend on an MPI runtime. Counts above
 * INT_MAX are sent in chunks, because MPI counts are int. */
#include "dist/dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#ifdef NNCLR_HAVE_MPI
#include <mpi.h>
#endif

/* Time inside MPI collectives (one process-wide counter: only the thread that made the group
 * calls MPI). */
static double g_comm_seconds;

double dist_comm_seconds(void) { return g_comm_seconds; }

struct nnclr_dist {
    int rank, world;
    int finalize;   /* this group called MPI_Init and finalizes MPI when freed */
#ifdef NNCLR_HAVE_MPI
    MPI_Comm comm;
#endif
};

int dist_rank(const dist *d) { return d ? d->rank : 0; }
int dist_world(const dist *d) { return d ? d->world : 1; }
int nnclr_dist_rank(const nnclr_dist *d) { return dist_rank(d); }
int nnclr_dist_world(const nnclr_dist *d) { return dist_world(d); }

int nnclr_dist_available(void) {
#ifdef NNCLR_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

/* World size announced by a launcher, 0 when none is visible. */
static int launcher_world(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return getenv("PMIX_RANK") ? 1 : 0;
}

nnclr_status nnclr_dist_self(nnclr_dist **out) {
    *out = nnclr_calloc(1, sizeof **out);
    if (!*out) return NNCLR_ERR_NOMEM;
    (*out)->world = 1;
#ifdef NNCLR_HAVE_MPI
    (*out)->comm = MPI_COMM_SELF;
#endif
    return NNCLR_OK;
}

#ifdef NNCLR_HAVE_MPI
static nnclr_status mpi_check(int rc, const char *what) {
    if (rc == MPI_SUCCESS) return NNCLR_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", rc);
    return nnclr_fail(NNCLR_ERR_BACKEND, "MPI %s failed: %s", what, msg);
}
#endif

nnclr_status nnclr_dist_init(nnclr_dist **out, int *argc, char ***argv) {
    *out = NULL;
    int launched = launcher_world();
#ifdef NNCLR_HAVE_MPI
    if (launched < 1) return nnclr_dist_self(out);
    int inited = 0;
    MPI_Initialized(&inited);
    nnclr_dist *d = nnclr_calloc(1, sizeof *d);
    if (!d) return NNCLR_ERR_NOMEM;
    if (!inited) {
        int provided = 0;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
            free(d);
            return nnclr_fail(NNCLR_ERR_BACKEND, "MPI_Init_thread failed");
        }
        d->finalize = 1;
    }
    /* Errors come back as return codes instead of aborting inside MPI. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    d->comm = MPI_COMM_WORLD;
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->world);
    *out = d;
    return NNCLR_OK;
#else
    (void)argc;
    (void)argv;
    if (launched > 1)
        return nnclr_fail(NNCLR_ERR_ARG, "started as one of %d processes, but nnclr was built without MPI "
                          "(install libopenmpi-dev and rebuild)", launched);
    return nnclr_dist_self(out);
#endif
}

void nnclr_dist_free(nnclr_dist *d) {
    if (!d) return;
#ifdef NNCLR_HAVE_MPI
    if (d->finalize) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) MPI_Finalize();
    }
#endif
    free(d);
}

void dist_abort(const dist *d, int code) {
#ifdef NNCLR_HAVE_MPI
    if (d && d->world > 1) MPI_Abort(d->comm, code);
#else
    (void)d;
    (void)code;
#endif
}

#ifdef NNCLR_HAVE_MPI
/* In-place sum all-reduce in chunks of at most INT_MAX elements. */
static nnclr_status allreduce(const dist *d, void *x, size_t n, MPI_Datatype t, size_t elem, MPI_Op op) {
    const double t0 = MPI_Wtime();
    nnclr_status s = NNCLR_OK;
    char *p = x;
    while (n > 0) {
        int k = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if ((s = mpi_check(MPI_Allreduce(MPI_IN_PLACE, p, k, t, op, d->comm), "all-reduce"))) break;
        p += (size_t)k * elem;
        n -= (size_t)k;
    }
    g_comm_seconds += MPI_Wtime() - t0;
    return s;
}
#endif

nnclr_status dist_allreduce_sum_f(const dist *d, float *x, size_t n) {
    if (dist_world(d) == 1) return NNCLR_OK;
#ifdef NNCLR_HAVE_MPI
    return allreduce(d, x, n, MPI_FLOAT, sizeof(float), MPI_SUM);
#else
    (void)x; (void)n;
    return NNCLR_OK;
#endif
}

nnclr_status dist_allreduce_sum_d(const dist *d, double *x, size_t n) {
    if (dist_world(d) == 1) return NNCLR_OK;
#ifdef NNCLR_HAVE_MPI
    return allreduce(d, x, n, MPI_DOUBLE, sizeof(double), MPI_SUM);
#else
    (void)x; (void)n;
    return NNCLR_OK;
#endif
}

nnclr_status dist_allreduce_max_i(const dist *d, int *x) {
    if (dist_world(d) == 1) return NNCLR_OK;
#ifdef NNCLR_HAVE_MPI
    return allreduce(d, x, 1, MPI_INT, sizeof(int), MPI_MAX);
#else
    (void)x;
    return NNCLR_OK;
#endif
}

nnclr_status dist_allreduce_maxloc(const dist *d, float *val, int *idx, size_t n) {
    if (dist_world(d) == 1) return NNCLR_OK;
#ifdef NNCLR_HAVE_MPI
    struct { float v; int i; } *pairs = nnclr_malloc(n * sizeof *pairs);
    if (!pairs) return NNCLR_ERR_NOMEM;
    for (size_t k = 0; k < n; k++) { pairs[k].v = val[k]; pairs[k].i = idx[k]; }
    nnclr_status s = allreduce(d, pairs, n, MPI_FLOAT_INT, sizeof *pairs, MPI_MAXLOC);
    for (size_t k = 0; !s && k < n; k++) { val[k] = pairs[k].v; idx[k] = pairs[k].i; }
    free(pairs);
    return s;
#else
    (void)val; (void)idx; (void)n;
    return NNCLR_OK;
#endif
}

#ifdef NNCLR_HAVE_MPI
/* All-gather of `bytes` per rank as MPI_BYTE. Pieces too large for an int count travel in
 * chunks through a bounce buffer. */
static nnclr_status allgather_chunks(const dist *d, const void *local, void *global, size_t bytes) {
    const size_t chunk = (size_t)INT_MAX / (size_t)d->world;
    if (bytes <= chunk)
        return mpi_check(MPI_Allgather(local, (int)bytes, MPI_BYTE, global, (int)bytes, MPI_BYTE, d->comm),
                         "all-gather");
    char *tmp = nnclr_malloc(chunk * (size_t)d->world);
    if (!tmp) return NNCLR_ERR_NOMEM;
    nnclr_status s = NNCLR_OK;
    for (size_t off = 0; off < bytes && !s; off += chunk) {
        size_t k = bytes - off < chunk ? bytes - off : chunk;
        s = mpi_check(MPI_Allgather((const char *)local + off, (int)k, MPI_BYTE, tmp, (int)k, MPI_BYTE, d->comm),
                      "all-gather");
        for (int r = 0; !s && r < d->world; r++)
            memcpy((char *)global + (size_t)r * bytes + off, tmp + (size_t)r * k, k);
    }
    free(tmp);
    return s;
}

static nnclr_status allgather_bytes(const dist *d, const void *local, void *global, size_t bytes) {
    const double t0 = MPI_Wtime();
    nnclr_status s = allgather_chunks(d, local, global, bytes);
    g_comm_seconds += MPI_Wtime() - t0;
    return s;
}
#endif

/* bytes per rank, any element type; a group of one copies. */
static nnclr_status allgather(const dist *d, const void *local, void *global, size_t bytes) {
    if (dist_world(d) == 1) {
        memcpy(global, local, bytes);
        return NNCLR_OK;
    }
#ifdef NNCLR_HAVE_MPI
    return allgather_bytes(d, local, global, bytes);
#else
    return NNCLR_OK;
#endif
}

nnclr_status dist_allgather_f(const dist *d, const float *local, float *global, size_t n) {
    return allgather(d, local, global, n * sizeof(float));
}

nnclr_status dist_allgather_i(const dist *d, const int *local, int *global, size_t n) {
    return allgather(d, local, global, n * sizeof(int));
}

nnclr_status dist_allgatherv_f(const dist *d, const float *local, float *global, const size_t *counts) {
    int w = dist_world(d), r = dist_rank(d);
    size_t off = 0;
    for (int i = 0; i < r; i++) off += counts[i];
    if (w == 1) {
        memmove(global + off, local, counts[r] * sizeof(float));
        return NNCLR_OK;
    }
#ifdef NNCLR_HAVE_MPI
    /* One broadcast per rank keeps every count an int-chunked byte stream. */
    memmove(global + off, local, counts[r] * sizeof(float));
    off = 0;
    for (int i = 0; i < w; i++) {
        NNCLR_TRY(dist_bcast(d, global + off, counts[i] * sizeof(float), i));
        off += counts[i];
    }
    return NNCLR_OK;
#else
    return NNCLR_OK;
#endif
}

nnclr_status dist_bcast(const dist *d, void *data, size_t bytes, int root) {
    if (dist_world(d) == 1) return NNCLR_OK;
#ifdef NNCLR_HAVE_MPI
    const double t0 = MPI_Wtime();
    nnclr_status s = NNCLR_OK;
    char *p = data;
    while (bytes > 0 && !s) {
        int k = bytes > (size_t)INT_MAX ? INT_MAX : (int)bytes;
        s = mpi_check(MPI_Bcast(p, k, MPI_BYTE, root, d->comm), "broadcast");
        p += k;
        bytes -= (size_t)k;
    }
    g_comm_seconds += MPI_Wtime() - t0;
    return s;
#else
    (void)data; (void)bytes; (void)root;
    return NNCLR_OK;
#endif
}
