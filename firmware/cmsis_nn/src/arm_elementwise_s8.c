/*
 * edgeq portable kernels -- int8 elementwise add and multiply (same-shape operands).
 * ADD: each input is offset, shifted left by `left_shift`, requantized to a common scale;
 * the sum is requantized to the output. MUL: the product of the offset inputs is requantized.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"

#define EDGEQ_EW_ADD arm_elementwise_add_s8
#define EDGEQ_EW_MUL arm_elementwise_mul_s8
#define EDGEQ_EW_T int8_t
#include "edgeq_elementwise_impl.h"
