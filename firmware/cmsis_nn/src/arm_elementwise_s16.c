/*
 * edgeq portable kernels -- int16 elementwise add and multiply (16x8 models: zero points 0,
 * TFLM's general-scale ADD with left_shift 15; the products of MUL fit in 32 bits).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"

#define EDGEQ_EW_ADD arm_elementwise_add_s16
#define EDGEQ_EW_MUL arm_elementwise_mul_s16
#define EDGEQ_EW_T int16_t
#include "edgeq_elementwise_impl.h"
