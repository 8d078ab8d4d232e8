/* model_state.h - the model's whole training state in checkpoint sections: parameters and BN
 * statistics (by name, so a checkpoint also loads into a model whose table differs in order),
 * optimizer state, the support set (entries, labels, write position, fill), the RNG and the
 * step counter. Used by the CLI's checkpoints; the container is io/checkpoint.c. */
#ifndef NNCLR_MODEL_MODEL_STATE_H
#define NNCLR_MODEL_MODEL_STATE_H

#include "io/checkpoint.h"
#include "model/nnclr_model.h"

/* Adds the model's sections (copies; ck owns them). */
nnclr_status model_state_add(const nnclr_model *m, checkpoint *ck);
/* Restores everything model_state_add saved. With weights_only, only parameters and BN
 * statistics are read (for evaluation / fine-tuning from a checkpoint), and tensors missing
 * from the checkpoint are an error either way. */
nnclr_status model_state_load(nnclr_model *m, const checkpoint *ck, int weights_only);
/* Copies the tensors of `table` whose names are in the checkpoint section `sec` (written as
 * "<sec>.names" + "<sec>"); every tensor must be found with the same size. */
nnclr_status model_state_load_table(const checkpoint *ck, const char *sec, const tensor_table *table, float *dst);

#endif
