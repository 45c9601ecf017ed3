/*
 * edgeq host runner: runs a generated model on the build machine, for bit-exact comparison
 * with the reference interpreter.
 *
 *   edgeq_host_runner [INPUT_FILE [OUTPUT_FILE]]   (default: stdin / stdout, "-" for either)
 *   edgeq_host_runner --info                       prints the model's I/O description
 *
 * The input stream is a concatenation of samples; each sample is the raw bytes of every model
 * input in order. For each sample the runner writes the raw bytes of every output in order.
 * Exit status: 0 ok, 1 invoke failed (message on stderr), 2 usage / truncated input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeq_model.h"

#ifndef EDGEQ_MODEL_SYMBOL
#error "define EDGEQ_MODEL_SYMBOL as the generated model's edgeq_model_t symbol"
#endif

extern const edgeq_model_t EDGEQ_MODEL_SYMBOL;

static void print_tensor(const char *kind, int i, const edgeq_tensor_info_t *t)
{
    int d;
    printf("%s %d dtype %d bytes %lu scale %.9g zero_point %ld shape", kind, i, (int)t->dtype,
           (unsigned long)t->bytes, (double)t->scale, (long)t->zero_point);
    for (d = 0; d < t->rank; d++)
    {
        printf(" %ld", (long)t->shape[d]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    const edgeq_model_t *m = &EDGEQ_MODEL_SYMBOL;
    FILE *in = stdin, *out = stdout;
    void *in_bufs[16], *out_bufs[16];
    unsigned long samples = 0;
    int i;

    if (argc > 1 && strcmp(argv[1], "--info") == 0)
    {
        printf("name %s\narena_bytes %lu\nsha256 ", m->name, (unsigned long)m->arena_bytes);
        for (i = 0; i < 32; i++)
        {
            printf("%02x", m->sha256[i]);
        }
        printf("\n");
        for (i = 0; i < m->num_inputs; i++)
        {
            print_tensor("input", i, &m->inputs[i]);
        }
        for (i = 0; i < m->num_outputs; i++)
        {
            print_tensor("output", i, &m->outputs[i]);
        }
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "-") != 0 && (in = fopen(argv[1], "rb")) == NULL)
    {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 2;
    }
    if (argc > 2 && strcmp(argv[2], "-") != 0 && (out = fopen(argv[2], "wb")) == NULL)
    {
        fprintf(stderr, "cannot open %s\n", argv[2]);
        return 2;
    }
    if (m->num_inputs > 16 || m->num_outputs > 16)
    {
        fprintf(stderr, "too many model inputs/outputs\n");
        return 2;
    }
    for (i = 0; i < m->num_inputs; i++)
    {
        in_bufs[i] = malloc(m->inputs[i].bytes ? m->inputs[i].bytes : 1);
    }
    for (i = 0; i < m->num_outputs; i++)
    {
        out_bufs[i] = malloc(m->outputs[i].bytes ? m->outputs[i].bytes : 1);
    }
    for (;;)
    {
        int status;
        for (i = 0; i < m->num_inputs; i++)
        {
            size_t got = fread(in_bufs[i], 1, m->inputs[i].bytes, in);
            if (got != m->inputs[i].bytes)
            {
                if (got == 0 && i == 0 && feof(in))
                {
                    fflush(out);
                    return 0; /* clean end of the sample stream */
                }
                fprintf(stderr, "truncated input after %lu samples\n", samples);
                return 2;
            }
        }
        status = m->invoke((const void *const *)in_bufs, (void *const *)out_bufs);
        if (status != 0)
        {
            fprintf(stderr, "invoke failed with status %d on sample %lu\n", status, samples);
            return 1;
        }
        for (i = 0; i < m->num_outputs; i++)
        {
            if (fwrite(out_bufs[i], 1, m->outputs[i].bytes, out) != m->outputs[i].bytes)
            {
                fprintf(stderr, "write failed\n");
                return 2;
            }
        }
        samples++;
    }
}
