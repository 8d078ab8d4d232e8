/* env.h - the environment variables that tune nnclr's kernels, checked in one place:
 *   NNCLR_CONV_ALGO      direct | winograd | auto     3x3 convolution algorithm (ops/conv2d.c)
 *   NNCLR_WINOGRAD_TILE  2 | 4                        Winograd output tile (ops/winograd.c)
 *   NNCLR_CBLOCK         8 | 16                       activation channel block (core/dnn.c)
 * Each reader treats an unset variable as "choose automatically"; a set variable with another
 * value is an error here (nnclr_model_create calls env_check), never a silent fallback. */
#ifndef NNCLR_CORE_ENV_H
#define NNCLR_CORE_ENV_H

#include "nnclr.h"

nnclr_status env_check(void);

#endif
