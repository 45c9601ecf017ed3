/* Observation hooks in the generated model code (issue 14: per-layer profile, first diverging
 * layer). The generated NAME.c calls EDGEQ_LAYERS_BEGIN() before its first kernel and
 * EDGEQ_LAYER_DONE(layer, output, bytes) after every layer. Without EDGEQ_OBSERVE both expand to
 * nothing: a release build carries no observation code at all.
 *
 * With EDGEQ_OBSERVE defined (`flash-and-test --profile`, `edgeq diff-device`), they call into the
 * firmware (the test harness implements them): edgeq_observe_begin() starts the per-layer clock,
 * edgeq_observe_layer() records the layer's ticks and returns nonzero when the host asked to stop
 * after this layer (its output is then still intact in the arena: invoke returns
 * EDGEQ_OBSERVE_STOPPED and the harness sends the output back). An op with several outputs
 * (SPLIT, UNPACK...) first calls EDGEQ_LAYER_OUTPUT(layer, output, bytes) for each output after
 * its first: the harness sends all of them, in order, when it stops after that layer. */
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
void edgeq_observe_output(uint32_t layer, const void *output, uint32_t bytes);
#define EDGEQ_LAYERS_BEGIN() edgeq_observe_begin()
#define EDGEQ_LAYER_OUTPUT(layer, output, bytes) edgeq_observe_output((layer), (output), (bytes))
#define EDGEQ_LAYER_DONE(layer, output, bytes)                                                  \
    do {                                                                                        \
        if (edgeq_observe_layer((layer), (output), (bytes)))                                    \
            return EDGEQ_OBSERVE_STOPPED;                                                       \
    } while (0)
#else
#define EDGEQ_LAYERS_BEGIN() ((void)0)
#define EDGEQ_LAYER_OUTPUT(layer, output, bytes) ((void)0)
#define EDGEQ_LAYER_DONE(layer, output, bytes) ((void)0)
#endif

/* Saturation telemetry (opt-in, production-safe: no harness needed). Built with EDGEQ_STATS, the
 * generated code keeps `edgeq_stats_t NAME_stats`: per layer, how many output values were at the
 * output type's minimum and maximum, summed over `inferences` invocations since the last
 * NAME_stats_reset(). A rate well above the one on the calibration data is a drift signal. */
typedef struct {
    uint32_t layers;         /* entries in at_limits */
    uint32_t inferences;     /* invoke() calls counted */
    uint32_t (*at_limits)[2]; /* [layer][0]: values == type min, [layer][1]: values == type max */
} edgeq_stats_t;

#if defined(EDGEQ_STATS) && EDGEQ_STATS
static inline void edgeq_count_limits_s8(const int8_t *p, uint32_t n, uint32_t *c)
{
    uint32_t lo = 0, hi = 0;
    for (uint32_t i = 0; i < n; i++) {
        lo += p[i] == INT8_MIN;
        hi += p[i] == INT8_MAX;
    }
    c[0] += lo;
    c[1] += hi;
}

static inline void edgeq_count_limits_s16(const int16_t *p, uint32_t n, uint32_t *c)
{
    uint32_t lo = 0, hi = 0;
    for (uint32_t i = 0; i < n; i++) {
        lo += p[i] == INT16_MIN;
        hi += p[i] == INT16_MAX;
    }
    c[0] += lo;
    c[1] += hi;
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_OBSERVE_H */
