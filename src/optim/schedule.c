/* schedule.c - linear warm-up + cosine learning-rate schedule. See schedule.h. */
#include "optim/schedule.h"

#include <math.h>
#include "core/status.h"

nnclr_status lr_schedule_init(lr_schedule *s, double base_lr, int batch, long warmup_steps,
                              long total_steps) {
    if (!s) return nnclr_fail(NNCLR_ERR_ARG, "lr_schedule_init: NULL schedule");
    if (!(base_lr >= 0) || !isfinite(base_lr))
        return nnclr_fail(NNCLR_ERR_ARG, "learning rate %g must be >= 0", base_lr);
    if (batch < 1) return nnclr_fail(NNCLR_ERR_ARG, "batch %d must be >= 1", batch);
    if (total_steps < 1 || warmup_steps < 0 || warmup_steps > total_steps)
        return nnclr_fail(NNCLR_ERR_ARG, "need 0 <= warm-up steps (%ld) <= total steps (%ld), total >= 1",
                          warmup_steps, total_steps);
    s->base_lr = base_lr;
    s->batch = batch;
    s->warmup_steps = warmup_steps;
    s->total_steps = total_steps;
    return NNCLR_OK;
}

double lr_schedule_at(const lr_schedule *s, long step) {
    double peak = s->base_lr * s->batch / 256.0;
    if (step < 0) step = 0;
    if (step >= s->total_steps) return 0.0;
    if (step < s->warmup_steps) return peak * (double)(step + 1) / (double)s->warmup_steps;
    double t = (double)(step - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps);
    return peak * 0.5 * (1.0 + cos(3.14159265358979323846 * t));
}

nnclr_status lr_schedule_cosine(lr_schedule *s, double peak, long total_steps) {
    /* batch 256: the peak is base_lr * 256 / 256 = base_lr exactly. */
    return lr_schedule_init(s, peak, 256, 0, total_steps);
}
