/*
 * Which optional kernel routes get linked.
 *
 * Several kernels pick a faster variant at run time from the layer's shape and quantization
 * (the 1x1 doubly-widened / table / pixel-pair loops, the first-layer field table, the 3x3
 * depthwise blocks, Helium's pixel-pair loops and depthwise rows, ...). Each such branch
 * references its variant, so the linker keeps every variant although one model runs only a few. `edgeq generate` knows every shape and constant
 * and writes edgeq_kernel_routes.h: one EDGEQ_NEED_<ROUTE> 0/1 per route (per core family,
 * under EDGEQ_MVE / EDGEQ_DOT_DSP). A build that compiles the kernels for exactly that model
 * defines EDGEQ_KERNEL_ROUTES and puts the model directory on the kernels' include path; the
 * branch of a route set to 0 then folds away and its code is not linked.
 *
 * A route set to 0 is only ever a fast path with a more general one behind it (the general DSP
 * loop, else the portable loop), so a wrong guess costs speed, never the result: every route is
 * bit-exact with every other. Without EDGEQ_KERNEL_ROUTES every route is compiled (the library
 * serves any model: tests, model sets, hand-written callers).
 */
#ifndef EDGEQ_ROUTE_GUARDS_H
#define EDGEQ_ROUTE_GUARDS_H

#include "edgeq_mve_kernels.h" /* EDGEQ_MVE, EDGEQ_DOT_DSP: the generated header keys on them */

#if defined(EDGEQ_KERNEL_ROUTES)
#include "edgeq_kernel_routes.h"
#endif

/* arm_convolve_s8, DSP: the first-layer field table (few input channels) */
#ifndef EDGEQ_NEED_CONV_FIELD_DSP
#define EDGEQ_NEED_CONV_FIELD_DSP 1
#endif
/* arm_convolve_s8, DSP: im2col + two channels x two pixels (any other conv; else the portable loop) */
#ifndef EDGEQ_NEED_CONV_GENERIC_DSP
#define EDGEQ_NEED_CONV_GENERIC_DSP 1
#endif
/* arm_convolve_1x1_s8*, DSP: the doubly-widened route (8..256 input channels, multipliers >= 0) */
#ifndef EDGEQ_NEED_1X1D_DSP
#define EDGEQ_NEED_1X1D_DSP 1
#endif
/* arm_convolve_1x1_s8*, DSP: the table route (at most 16 input channels, stride 1) */
#ifndef EDGEQ_NEED_1X1S_DSP
#define EDGEQ_NEED_1X1S_DSP 1
#endif
/* arm_convolve_1x1_s8*, DSP: the pixel-pair loop of the general 1x1 path (stride 1) */
#ifndef EDGEQ_NEED_1X1_PAIRS_DSP
#define EDGEQ_NEED_1X1_PAIRS_DSP 1
#endif
/* arm_depthwise_conv_s8, DSP: 3x3 (dilation 1) channel blocks prepared at run time (the blocks
 * prepared at generation time, edgeq_depthwise_conv_3x3_packed_s8, need no guard: only their
 * generated calls reference them) */
#ifndef EDGEQ_NEED_DW_3X3_DSP
#define EDGEQ_NEED_DW_3X3_DSP 1
#endif
/* arm_depthwise_conv_s8, DSP: any other filter per pixel (else the portable loop) */
#ifndef EDGEQ_NEED_DW_GENERIC_DSP
#define EDGEQ_NEED_DW_GENERIC_DSP 1
#endif
/* edgeq_mve_convolve_s8, MVE: the pixel-pair loop of receptive fields of 17-48 taps */
#ifndef EDGEQ_NEED_CONV_PAIRS_MVE
#define EDGEQ_NEED_CONV_PAIRS_MVE 1
#endif
/* edgeq_mve_convolve_1x1_s8, MVE: the pixel-pair loop of depths <= 48 (stride 1) */
#ifndef EDGEQ_NEED_1X1_PAIRS_MVE
#define EDGEQ_NEED_1X1_PAIRS_MVE 1
#endif
/* arm_depthwise_conv_s8, MVE: the 3x3 row-buffer route (calls of >= 16 output pixels) */
#ifndef EDGEQ_NEED_DW_ROWS_MVE
#define EDGEQ_NEED_DW_ROWS_MVE 1
#endif
/* (a route this list does not name is not guarded: always linked) */

#endif /* EDGEQ_ROUTE_GUARDS_H */
