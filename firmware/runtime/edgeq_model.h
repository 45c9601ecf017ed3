/* The contract between generated model code and everything that runs it (test harness, apps).
 * `edgeq generate` emits one `const edgeq_model_t NAME_model` describing the model; the firmware's
 * serial test harness only ever talks to the model through this struct. */
#ifndef EDGEQ_MODEL_H
#define EDGEQ_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEQ_DTYPE_INT8 0
#define EDGEQ_DTYPE_UINT8 1
#define EDGEQ_DTYPE_INT16 2
#define EDGEQ_DTYPE_FLOAT32 3
#define EDGEQ_DTYPE_INT32 4 /* indices (ARG_MAX / ARG_MIN outputs) */

#define EDGEQ_MAX_RANK 4

typedef struct {
    uint8_t dtype;                   /* EDGEQ_DTYPE_* */
    uint8_t rank;                    /* <= EDGEQ_MAX_RANK, batch axis included */
    int32_t shape[EDGEQ_MAX_RANK];   /* unused entries are 0 */
    uint32_t bytes;                  /* product(shape) * sizeof(dtype) */
    float scale;                     /* quantization of the tensor (1.0/0 for float) */
    int32_t zero_point;
} edgeq_tensor_info_t;

typedef struct {
    const char *name;
    uint8_t sha256[32];              /* sha256 of the .tflite the code was generated from */
    uint32_t arena_bytes;            /* the static activation arena (incl. scratch) */
    uint8_t num_inputs;
    uint8_t num_outputs;
    const edgeq_tensor_info_t *inputs;
    const edgeq_tensor_info_t *outputs;
    /* Runs one inference. inputs[i] / outputs[i] point to buffers of inputs[i].bytes /
     * outputs[i].bytes. Returns 0 on success, a negative arm_cmsis_nn_status otherwise. */
    int (*invoke)(const void *const *inputs, void *const *outputs);
} edgeq_model_t;

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_MODEL_H */
