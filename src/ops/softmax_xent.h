/* softmax_xent.h - softmax cross-entropy of one row of logits: the one implementation behind
 * the InfoNCE loss (ssl/loss.c), the linear probe (eval/linear_probe.c) and fine-tuning
 * (eval/finetune.c).
 *
 *     loss = logsumexp(l) - l[label]           (max-shifted, summed in double)
 *     grad = scale (softmax(l) - onehot(label))
 */
#ifndef NNCLR_OPS_SOFTMAX_XENT_H
#define NNCLR_OPS_SOFTMAX_XENT_H

/* l: (k) logits, 0 <= label < k. grad: (k) OUT or NULL; it may be l itself (the loss is
 * computed first). Returns the row's loss. */
double softmax_xent_row(const float *l, int k, int label, double scale, float *grad);

#endif
