/* ann.h - approximate nearest neighbours by inner product, for collections beyond what exact
 * search handles (`nnclr dedup --approx K`). Built on FAISS's HNSW graph index (Debian
 * libfaiss-dev; CMake option NNCLR_FAISS: AUTO, on when FAISS is found) in ann_faiss.cpp;
 * without FAISS, ann_none.c answers with an error saying so. Debian ships FAISS's C++ static
 * library only (its C API headers without their compiled functions), hence one C++ file, and
 * it is linked into the nnclr tool only, not into libnnclr (libfaiss.a is not built for a
 * shared library). */
#ifndef NNCLR_CLI_ANN_H
#define NNCLR_CLI_ANN_H

#include "nnclr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when built with FAISS. */
int ann_available(void);

/* For each query row, the k base rows of largest inner product (approximately), best first:
 * idx, sim: (nq, k); missing neighbours (k > what the graph reaches) are idx -1, sim -inf.
 * HNSW with 32 links per node; ef_search >= k (larger: better recall, slower). */
nnclr_status ann_knn(const float *base, int nb, const float *query, int nq, int dim, int k,
                     int ef_search, int *idx, float *sim);

#ifdef __cplusplus
}
#endif

#endif
