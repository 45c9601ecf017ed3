/* Observation hooks in the generated model code (issue 14: per-layer profile, first diverging
 * layer). The generated NAME.c calls EDGEQ_LAYERS_BEGIN() before its first kernel and
 * EDGEQ_LAYER_DONE(layer, output, bytes) after every layer. Without EDGEQ_OBSERVE both expand to
 * nothing: a release build carries no observation code at all.
 *
 * With EDGEQ_OBSERVE defined (`flash-and-test --profile`, `edgeq diff-device`), they call into the
 * firmware (the test harness implements them): edgeq_observe_begin() starts the per-layer clock,
 * edgeq_observe_layer() records the layer's ticks and returns nonzero when the host asked to stop
 * after this layer (its output is then still intact in the arena: invoke returns
 * EDGEQ_OBSERVE_STOPPED and the harness sends the output back). */
#ifndef EDGEQ_OBSERVE_H
#define EDGEQ_OBSERVE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEQ_OBSERVE_STOPPED 1 /* invoke's return value after a requested stop (not an error) */

#if defined(EDGEQ_OBSERVE) && EDGEQ_OBSERVE
void edgeq_observe_begin(void);
int edgeq_observe_layer(uint32_t layer, const void *output, uint32_t bytes);
#define EDGEQ_LAYERS_BEGIN() edgeq_observe_begin()
#define EDGEQ_LAYER_DONE(layer, output, bytes)                                                  \
    do {                                                                                        \
        if (edgeq_observe_layer((layer), (output), (bytes)))                                    \
            return EDGEQ_OBSERVE_STOPPED;                                                       \
    } while (0)
#else
#define EDGEQ_LAYERS_BEGIN() ((void)0)
#define EDGEQ_LAYER_DONE(layer, output, bytes) ((void)0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_OBSERVE_H */
