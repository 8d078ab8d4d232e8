/* ann_none.c - ann.h for builds without FAISS. */
#include "ann.h"

#include "core/status.h"

int ann_available(void) { return 0; }

nnclr_status ann_knn(const float *base, int nb, const float *query, int nq, int dim, int k,
                     int ef_search, int *idx, float *sim) {
    (void)base, (void)nb, (void)query, (void)nq, (void)dim, (void)k, (void)ef_search, (void)idx, (void)sim;
    return nnclr_fail(NNCLR_ERR_ARG, "approximate search needs FAISS: this nnclr was built without it "
                      "(install libfaiss-dev and rebuild)");
}
