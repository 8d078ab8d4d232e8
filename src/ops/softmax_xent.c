/* softmax_xent.c - softmax cross-entropy of one row. See softmax_xent.h. */
#include "ops/softmax_xent.h"

#include <math.h>

double softmax_xent_row(const float *l, int k, int label, double scale, float *grad) {
    float m = l[0];
    for (int j = 1; j < k; j++) m = l[j] > m ? l[j] : m;
    double s = 0;
    for (int j = 0; j < k; j++) s += exp((double)l[j] - m);
    double loss = m + log(s) - l[label];
    if (grad)
        for (int j = 0; j < k; j++) grad[j] = (float)(scale * (exp((double)l[j] - m) / s - (j == label)));
    return loss;
}
