// ann_faiss.cpp - ann.h on FAISS's IndexHNSWFlat (inner product). C++ exceptions stop here:
// every failure becomes an nnclr_status with FAISS's message.
#include "ann.h"

#include <faiss/IndexHNSW.h>
#include <faiss/MetricType.h>

#include <cmath>
#include <exception>
#include <vector>

extern "C" {
#include "core/status.h"
}

extern "C" int ann_available(void) { return 1; }

extern "C" nnclr_status ann_knn(const float *base, int nb, const float *query, int nq, int dim, int k,
                                int ef_search, int *idx, float *sim) {
    if (!base || !query || nb <= 0 || nq <= 0 || dim <= 0 || k <= 0)
        return nnclr_fail(NNCLR_ERR_ARG, "approximate search: need rows (%d base, %d queries of %d) and k > 0 (%d)", nb, nq,
                          dim, k);
    try {
        faiss::IndexHNSWFlat index(dim, 32, faiss::METRIC_INNER_PRODUCT);
        index.hnsw.efConstruction = 64;
        index.hnsw.efSearch = ef_search > k ? ef_search : k;
        index.add(nb, base);
        std::vector<float> d((size_t)nq * k);
        std::vector<faiss::Index::idx_t> l((size_t)nq * k);
        index.search(nq, query, k, d.data(), l.data());
        for (size_t i = 0; i < (size_t)nq * k; i++) {
            idx[i] = l[i] < 0 ? -1 : (int)l[i];
            sim[i] = l[i] < 0 ? -INFINITY : d[i];
        }
    } catch (const std::bad_alloc &) {
        return NNCLR_ERR_NOMEM;
    } catch (const std::exception &e) {
        return nnclr_fail(NNCLR_ERR_BACKEND, "FAISS: %s", e.what());
    }
    return NNCLR_OK;
}
