/* The serial test harness: announces itself with READY, then answers PING / INFO / INFER / BYE
 * frames from the host (protocol: PROTOCOL.md next to this file). The model is reached only
 * through the edgeq_model_t contract (edgeq_model.h); EDGEQ_MODEL_SYMBOL names it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edgeq_crc.h"
#include "edgeq_model.h"
#include "edgeq_port.h"

#ifndef EDGEQ_MODEL_SYMBOL
#error "define EDGEQ_MODEL_SYMBOL to the generated model's `NAME_model` symbol"
#endif

#define EDGEQ_PROTOCOL_VERSION 2u

#define CMD_PING 0x01u
#define CMD_INFO 0x02u
#define CMD_INFER 0x03u
#define CMD_BYE 0x04u
#define CMD_INFER_FILE 0x05u /* emulated boards: inputs read from a host file (semihosting) */
#define CMD_LAYER_TICKS 0x06u /* observe builds: per-layer timer ticks of the last inference */
#define CMD_INFER_LAYER 0x07u /* observe builds: run up to one layer, send its output tensor */
#define CMD_STATS 0x08u /* telemetry builds: per-layer counts of outputs at the type's limits */
#define REPLY_BIT 0x80u
#define CMD_READY 0xA0u
#define CMD_NAK 0xF0u
#define CMD_ERROR 0xF1u

#define NAK_CRC 1u
#define NAK_TOO_LARGE 2u

#define ERR_UNKNOWN_CMD (-1)
#define ERR_BAD_LENGTH (-2)
#define ERR_TOO_MANY_IO (-3)
#define ERR_FILE (-4)
#define ERR_NO_OBSERVE (-5)
#define ERR_NO_LAYER (-6)

/* INFO feature bits */
#define FEATURE_OBSERVE 0x01u /* LAYER_TICKS and INFER_LAYER (built with EDGEQ_OBSERVE) */
#define FEATURE_STATS 0x02u   /* STATS (built with EDGEQ_STATS, the model's NAME_stats) */

#if defined(EDGEQ_OBSERVE) && EDGEQ_OBSERVE
#define FEATURES_OBSERVE FEATURE_OBSERVE
#else
#define FEATURES_OBSERVE 0u
#endif
#if defined(EDGEQ_MODEL_STATS)
#include "edgeq_observe.h"
extern edgeq_stats_t EDGEQ_MODEL_STATS;
#define FEATURES_STATS FEATURE_STATS
#else
#define FEATURES_STATS 0u
#endif

#define SYNC0 0xA5u
#define SYNC1 0x5Au
#define HEADER_BYTES 8u /* cmd, seq, len[4], hcrc[2] */

#ifndef EDGEQ_MAX_IO
#define EDGEQ_MAX_IO 16
#endif

extern const edgeq_model_t EDGEQ_MODEL_SYMBOL;
#define MODEL (&EDGEQ_MODEL_SYMBOL)

/* All RAM between the end of .bss and the bottom of the stack (from the linker script) holds
 * the received payload (= the input tensors) and the output tensors. */
extern uint8_t __edgeq_free_start[];
extern uint8_t __edgeq_free_end[];

static uint8_t *rx_buf;
static uint32_t rx_max;
static uint8_t *out_buf;

/* ---- byte input with push-back (for rescanning a rejected header) ---- */
static uint8_t pushback[2 * HEADER_BYTES]; /* never more than 8 are pending; room to spare */
static uint32_t pb_len, pb_pos;

static uint8_t get_byte(void)
{
    if (pb_pos < pb_len)
        return pushback[pb_pos++];
    return edgeq_uart_getc();
}

static void push_back(const uint8_t *p, uint32_t n)
{
    /* unread bytes still in the push-back buffer come after the ones pushed now */
    uint8_t rest[2 * HEADER_BYTES];
    uint32_t nrest = pb_len - pb_pos;
    memcpy(rest, pushback + pb_pos, nrest);
    memcpy(pushback, p, n);
    memcpy(pushback + n, rest, nrest);
    pb_len = n + nrest;
    pb_pos = 0;
}

/* ---- frame output (streamed, CRC computed on the fly) ---- */
typedef struct {
    uint32_t crc;
} tx_t;

static void tx_raw(const uint8_t *p, uint32_t n)
{
    while (n--)
        edgeq_uart_putc(*p++);
}

static void tx_begin(tx_t *t, uint8_t cmd, uint8_t seq, uint32_t len)
{
    uint8_t h[2 + HEADER_BYTES] = {SYNC0, SYNC1, cmd, seq, (uint8_t)len, (uint8_t)(len >> 8),
                                   (uint8_t)(len >> 16), (uint8_t)(len >> 24), 0, 0};
    uint16_t hc = edgeq_crc16(EDGEQ_CRC16_INIT, h + 2, 6);
    h[8] = (uint8_t)hc;
    h[9] = (uint8_t)(hc >> 8);
    tx_raw(h, sizeof h);
    t->crc = edgeq_crc32(0, h + 2, HEADER_BYTES);
}

static void tx_bytes(tx_t *t, const void *p, uint32_t n)
{
    t->crc = edgeq_crc32(t->crc, (const uint8_t *)p, n);
    tx_raw((const uint8_t *)p, n);
}

static void tx_u8(tx_t *t, uint8_t v) { tx_bytes(t, &v, 1); }

static void tx_u32(tx_t *t, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    tx_bytes(t, b, 4);
}

static void tx_u64(tx_t *t, uint64_t v)
{
    tx_u32(t, (uint32_t)v);
    tx_u32(t, (uint32_t)(v >> 32));
}

static void tx_f32(tx_t *t, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    tx_u32(t, v);
}

static uint32_t str_len8(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 255 ? 255 : (uint32_t)n;
}

static void tx_str8(tx_t *t, const char *s)
{
    uint32_t n = str_len8(s);
    tx_u8(t, (uint8_t)n);
    tx_bytes(t, s, n);
}

static void tx_end(tx_t *t) { tx_raw((const uint8_t[]){(uint8_t)t->crc, (uint8_t)(t->crc >> 8),
                                                      (uint8_t)(t->crc >> 16), (uint8_t)(t->crc >> 24)}, 4); }

static void send_frame(uint8_t cmd, uint8_t seq, const void *p, uint32_t n)
{
    tx_t t;
    tx_begin(&t, cmd, seq, n);
    tx_bytes(&t, p, n);
    tx_end(&t);
}

static void send_nak(uint8_t seq, uint8_t reason) { send_frame(CMD_NAK, seq, &reason, 1); }

static void send_error(uint8_t seq, int32_t code, const char *msg)
{
    tx_t t;
    uint32_t n = (uint32_t)strlen(msg);
    tx_begin(&t, CMD_ERROR, seq, 4 + n);
    tx_u32(&t, (uint32_t)code);
    tx_bytes(&t, msg, n);
    tx_end(&t);
}

/* ---- frame input ---- */
typedef struct {
    uint8_t cmd, seq;
    uint32_t len;
} frame_t;

/* Blocks until a frame with a good CRC arrives; NAKs bad ones on the way. */
static void recv_frame(frame_t *f)
{
    for (;;) {
        if (get_byte() != SYNC0)
            continue;
        uint8_t b = get_byte();
        while (b == SYNC0) /* "A5 A5 5A": the second A5 may start the frame */
            b = get_byte();
        if (b != SYNC1)
            continue;
        uint8_t h[HEADER_BYTES];
        for (uint32_t i = 0; i < HEADER_BYTES; i++)
            h[i] = get_byte();
        uint16_t hc = edgeq_crc16(EDGEQ_CRC16_INIT, h, 6);
        if ((uint8_t)hc != h[6] || (uint8_t)(hc >> 8) != h[7]) {
            /* rescan: a real sync may hide in the header we just rejected */
            push_back(h, HEADER_BYTES);
            continue;
        }
        f->cmd = h[0];
        f->seq = h[1];
        f->len = (uint32_t)h[2] | ((uint32_t)h[3] << 8) | ((uint32_t)h[4] << 16) |
                 ((uint32_t)h[5] << 24);
        if (f->len > rx_max) {
            for (uint32_t i = 0; i < f->len + 4u; i++)
                (void)get_byte();
            send_nak(f->seq, NAK_TOO_LARGE);
            continue;
        }
        uint32_t crc = edgeq_crc32(0, h, HEADER_BYTES);
        for (uint32_t i = 0; i < f->len; i++)
            rx_buf[i] = get_byte();
        crc = edgeq_crc32(crc, rx_buf, f->len);
        uint32_t got = 0;
        for (uint32_t i = 0; i < 4; i++)
            got |= (uint32_t)get_byte() << (8 * i);
        if (got != crc) {
            send_nak(f->seq, NAK_CRC);
            continue;
        }
        return;
    }
}

/* ---- commands ---- */
static uint32_t total_bytes(const edgeq_tensor_info_t *t, uint32_t n)
{
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += t[i].bytes;
    return s;
}

#define TENSOR_DESC_BYTES 30u

static void tx_tensor(tx_t *t, const edgeq_tensor_info_t *ti)
{
    tx_u8(t, ti->dtype);
    tx_u8(t, ti->rank);
    for (int i = 0; i < EDGEQ_MAX_RANK; i++)
        tx_u32(t, (uint32_t)ti->shape[i]);
    tx_u32(t, ti->bytes);
    tx_f32(t, ti->scale);
    tx_u32(t, (uint32_t)ti->zero_point);
}

static void do_info(uint8_t seq)
{
    const edgeq_model_t *m = MODEL;
    uint32_t len = 1 + 1 + 4 + 4 + 4 + 4 + 32 + 1 + str_len8(m->name) + 1 +
                   str_len8(EDGEQ_BOARD_NAME) + 1 + 1 +
                   TENSOR_DESC_BYTES * (uint32_t)(m->num_inputs + m->num_outputs) + 1;
    tx_t t;
    tx_begin(&t, CMD_INFO | REPLY_BIT, seq, len);
    tx_u8(&t, EDGEQ_PROTOCOL_VERSION);
    tx_u8(&t, edgeq_timer_kind());
    tx_u32(&t, EDGEQ_CPU_HZ);
    tx_u32(&t, edgeq_timer_hz());
    tx_u32(&t, m->arena_bytes);
    tx_u32(&t, rx_max);
    tx_bytes(&t, m->sha256, 32);
    tx_str8(&t, m->name);
    tx_str8(&t, EDGEQ_BOARD_NAME);
    tx_u8(&t, m->num_inputs);
    tx_u8(&t, m->num_outputs);
    for (uint32_t i = 0; i < m->num_inputs; i++)
        tx_tensor(&t, &m->inputs[i]);
    for (uint32_t i = 0; i < m->num_outputs; i++)
        tx_tensor(&t, &m->outputs[i]);
    tx_u8(&t, (uint8_t)(FEATURES_OBSERVE | FEATURES_STATS));
    tx_end(&t);
}

/* Runs the model on the inputs in rx_buf and sends the reply (INFER's layout) as `cmd` | 0x80. */
static void run_and_reply(uint8_t cmd, uint8_t seq)
{
    const edgeq_model_t *m = MODEL;
    uint32_t out_bytes = total_bytes(m->outputs, m->num_outputs);
    if (m->num_inputs > EDGEQ_MAX_IO || m->num_outputs > EDGEQ_MAX_IO) {
        send_error(seq, ERR_TOO_MANY_IO, "model has more tensors than EDGEQ_MAX_IO");
        return;
    }
    const void *ins[EDGEQ_MAX_IO];
    void *outs[EDGEQ_MAX_IO];
    uint32_t off = 0;
    for (uint32_t i = 0; i < m->num_inputs; i++) {
        ins[i] = rx_buf + off;
        off += m->inputs[i].bytes;
    }
    off = 0;
    for (uint32_t i = 0; i < m->num_outputs; i++) {
        outs[i] = out_buf + off;
        off += (m->outputs[i].bytes + 15u) & ~15u;
    }
    uint64_t t0 = edgeq_timer_now();
    int status = m->invoke(ins, outs);
    uint64_t t1 = edgeq_timer_now();

    tx_t t;
    tx_begin(&t, cmd | REPLY_BIT, seq, 4 + 1 + 8 + out_bytes);
    tx_u32(&t, (uint32_t)(int32_t)status);
    tx_u8(&t, edgeq_timer_kind());
    tx_u64(&t, t1 - t0);
    for (uint32_t i = 0; i < m->num_outputs; i++)
        tx_bytes(&t, outs[i], m->outputs[i].bytes);
    tx_end(&t);
}

static void do_infer(const frame_t *f)
{
    const edgeq_model_t *m = MODEL;
    if (f->len != total_bytes(m->inputs, m->num_inputs)) {
        send_error(f->seq, ERR_BAD_LENGTH, "INFER payload is not the model's input size");
        return;
    }
    run_and_reply(CMD_INFER, f->seq);
}

#if defined(EDGEQ_EMULATED) && EDGEQ_EMULATED
/* Arm semihosting (QEMU -semihosting): BKPT 0xAB with r0 = operation, r1 = argument block. */
static int32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

/* INFER_FILE payload: u32 byte offset, then the host file's path. The inputs (the model's total
 * input bytes) are read from the file at that offset: no UART transfer for large inputs. */
static void do_infer_file(const frame_t *f)
{
    const edgeq_model_t *m = MODEL;
    uint32_t in_bytes = total_bytes(m->inputs, m->num_inputs);
    char path[256];
    if (f->len < 5 || f->len - 4 >= sizeof path) {
        send_error(f->seq, ERR_BAD_LENGTH, "INFER_FILE payload: u32 offset + path (< 256 bytes)");
        return;
    }
    uint32_t offset = (uint32_t)rx_buf[0] | ((uint32_t)rx_buf[1] << 8) | ((uint32_t)rx_buf[2] << 16) |
                      ((uint32_t)rx_buf[3] << 24);
    uint32_t n = f->len - 4;
    memcpy(path, rx_buf + 4, n);
    path[n] = 0;
    if (in_bytes > rx_max) {
        send_error(f->seq, ERR_FILE, "inputs larger than the receive buffer");
        return;
    }
    const uint32_t open_args[3] = {(uint32_t)(uintptr_t)path, 1u /* "rb" */, n};
    int32_t h = semihost(0x01u /* SYS_OPEN */, open_args);
    if (h < 0) {
        send_error(f->seq, ERR_FILE, "cannot open the host file");
        return;
    }
    const uint32_t seek_args[2] = {(uint32_t)h, offset};
    const uint32_t read_args[3] = {(uint32_t)h, (uint32_t)(uintptr_t)rx_buf, in_bytes};
    const uint32_t close_args[1] = {(uint32_t)h};
    int32_t sought = semihost(0x0Au /* SYS_SEEK */, seek_args);
    int32_t unread = sought == 0 ? semihost(0x06u /* SYS_READ */, read_args) : -1;
    (void)semihost(0x02u /* SYS_CLOSE */, close_args);
    if (unread != 0) {
        send_error(f->seq, ERR_FILE, "short read from the host file");
        return;
    }
    run_and_reply(CMD_INFER_FILE, f->seq);
}
#endif

#if defined(EDGEQ_OBSERVE) && EDGEQ_OBSERVE
/* ---- observation (PROTOCOL.md, "Observe builds"): the generated code calls these hooks after
 * every layer (firmware/runtime/edgeq_observe.h). Compiled only into observe builds. */
#include "edgeq_observe.h"

#ifndef EDGEQ_MAX_LAYERS
#define EDGEQ_MAX_LAYERS 512
#endif
static uint32_t layer_ticks[EDGEQ_MAX_LAYERS];
static uint32_t layers_seen;
static uint64_t layer_t0;
static int32_t stop_layer = -1;
static const void *stop_output;
static uint32_t stop_bytes;
/* the stop layer's outputs after its first (a multi-output op: SPLIT, UNPACK), in order */
#ifndef EDGEQ_MAX_LAYER_OUTPUTS
#define EDGEQ_MAX_LAYER_OUTPUTS 64
#endif
static const void *extra_output[EDGEQ_MAX_LAYER_OUTPUTS];
static uint32_t extra_bytes[EDGEQ_MAX_LAYER_OUTPUTS];
static uint32_t extra_count;

void edgeq_observe_begin(void)
{
    layers_seen = 0;
    layer_t0 = edgeq_timer_now();
}

int edgeq_observe_layer(uint32_t layer, const void *output, uint32_t bytes)
{
    uint64_t now = edgeq_timer_now();
    if (layer < EDGEQ_MAX_LAYERS)
        layer_ticks[layer] = (uint32_t)(now - layer_t0);
    if (layer + 1u > layers_seen)
        layers_seen = layer + 1u;
    if ((int32_t)layer == stop_layer) {
        stop_output = output;
        stop_bytes = bytes;
        return 1;
    }
    layer_t0 = edgeq_timer_now(); /* the hook's own time is nobody's layer */
    return 0;
}

void edgeq_observe_output(uint32_t layer, const void *output, uint32_t bytes)
{
    if ((int32_t)layer == stop_layer && extra_count < EDGEQ_MAX_LAYER_OUTPUTS) {
        extra_output[extra_count] = output;
        extra_bytes[extra_count++] = bytes;
    }
}

static void do_layer_ticks(uint8_t seq)
{
    uint32_t n = layers_seen < EDGEQ_MAX_LAYERS ? layers_seen : EDGEQ_MAX_LAYERS;
    tx_t t;
    tx_begin(&t, CMD_LAYER_TICKS | REPLY_BIT, seq, 2 + 4 * n);
    tx_bytes(&t, (const uint8_t[]){(uint8_t)n, (uint8_t)(n >> 8)}, 2);
    for (uint32_t i = 0; i < n; i++)
        tx_u32(&t, layer_ticks[i]);
    tx_end(&t);
}

/* INFER_LAYER payload: u16 layer, then the inputs as INFER. Runs the model up to that layer and
 * sends the layer's output tensor (read from the arena before anything overwrites it). */
static void do_infer_layer(const frame_t *f)
{
    const edgeq_model_t *m = MODEL;
    uint32_t in_bytes = total_bytes(m->inputs, m->num_inputs);
    if (f->len != 2 + in_bytes) {
        send_error(f->seq, ERR_BAD_LENGTH, "INFER_LAYER payload is u16 layer + the model's inputs");
        return;
    }
    if (m->num_inputs > EDGEQ_MAX_IO || m->num_outputs > EDGEQ_MAX_IO) {
        send_error(f->seq, ERR_TOO_MANY_IO, "model has more tensors than EDGEQ_MAX_IO");
        return;
    }
    uint32_t layer = (uint32_t)rx_buf[0] | ((uint32_t)rx_buf[1] << 8);
    const void *ins[EDGEQ_MAX_IO];
    void *outs[EDGEQ_MAX_IO];
    uint32_t off = 2;
    for (uint32_t i = 0; i < m->num_inputs; i++) {
        ins[i] = rx_buf + off;
        off += m->inputs[i].bytes;
    }
    off = 0;
    for (uint32_t i = 0; i < m->num_outputs; i++) {
        outs[i] = out_buf + off;
        off += (m->outputs[i].bytes + 15u) & ~15u;
    }
    stop_layer = (int32_t)layer;
    stop_output = 0;
    extra_count = 0;
    int status = m->invoke(ins, outs);
    stop_layer = -1;
    if (stop_output == 0) {
        if (status != 0 && status != EDGEQ_OBSERVE_STOPPED) {
            tx_t t;
            tx_begin(&t, CMD_INFER_LAYER | REPLY_BIT, f->seq, 4 + 2 + 4);
            tx_u32(&t, (uint32_t)(int32_t)status);
            tx_bytes(&t, rx_buf, 2);
            tx_u32(&t, 0);
            tx_end(&t);
            return;
        }
        send_error(f->seq, ERR_NO_LAYER, "the model has no such layer");
        return;
    }
    uint32_t n = stop_bytes;
    for (uint32_t i = 0; i < extra_count; i++)
        n += extra_bytes[i];
    tx_t t;
    tx_begin(&t, CMD_INFER_LAYER | REPLY_BIT, f->seq, 4 + 2 + 4 + n);
    tx_u32(&t, 0);
    tx_bytes(&t, rx_buf, 2);
    tx_u32(&t, n);
    tx_bytes(&t, stop_output, stop_bytes);
    for (uint32_t i = 0; i < extra_count; i++)
        tx_bytes(&t, extra_output[i], extra_bytes[i]);
    tx_end(&t);
}
#endif

#if defined(EDGEQ_MODEL_STATS)
/* STATS payload: u8 reset (1: zero the counts after sending them). Reply: u32 inferences,
 * u16 layers, then per layer u32 count at the type's min, u32 count at its max. */
static void do_stats(const frame_t *f)
{
    edgeq_stats_t *st = &EDGEQ_MODEL_STATS;
    uint32_t n = st->layers > 0xFFFFu ? 0xFFFFu : st->layers;
    tx_t t;
    tx_begin(&t, CMD_STATS | REPLY_BIT, f->seq, 4 + 2 + 8 * n);
    tx_u32(&t, st->inferences);
    tx_bytes(&t, (const uint8_t[]){(uint8_t)n, (uint8_t)(n >> 8)}, 2);
    for (uint32_t i = 0; i < n; i++) {
        tx_u32(&t, st->at_limits[i][0]);
        tx_u32(&t, st->at_limits[i][1]);
    }
    tx_end(&t);
    if (f->len >= 1 && rx_buf[0] == 1u) {
        memset(st->at_limits, 0, 8u * st->layers);
        st->inferences = 0;
    }
}
#endif

static void do_ready(void)
{
    tx_t t;
    tx_begin(&t, CMD_READY, 0, 1 + 4 + 1 + str_len8(EDGEQ_BOARD_NAME));
    tx_u8(&t, EDGEQ_PROTOCOL_VERSION);
    tx_u32(&t, rx_max);
    tx_str8(&t, EDGEQ_BOARD_NAME);
    tx_end(&t);
}

__attribute__((weak)) void edgeq_board_init(void) {}

int main(void)
{
    const edgeq_model_t *m = MODEL;
    edgeq_board_init();
    edgeq_timer_init();
    edgeq_uart_init();

    /* free RAM: [outputs (16-byte aligned slots)][received payload] */
    uint32_t out_bytes = 0;
    for (uint32_t i = 0; i < m->num_outputs; i++)
        out_bytes += (m->outputs[i].bytes + 15u) & ~15u;
    uintptr_t start = ((uintptr_t)__edgeq_free_start + 15u) & ~(uintptr_t)15u;
    uintptr_t end = (uintptr_t)__edgeq_free_end & ~(uintptr_t)15u;
    out_buf = (uint8_t *)start;
    rx_buf = (uint8_t *)(start + out_bytes);
    rx_max = (end > start + out_bytes) ? (uint32_t)(end - (start + out_bytes)) : 0u;

    do_ready();
    for (;;) {
        frame_t f;
        recv_frame(&f);
        switch (f.cmd) {
        case CMD_PING:
            send_frame(CMD_PING | REPLY_BIT, f.seq, rx_buf, f.len);
            break;
        case CMD_INFO:
            do_info(f.seq);
            break;
        case CMD_INFER:
            do_infer(&f);
            break;
#if defined(EDGEQ_EMULATED) && EDGEQ_EMULATED
        case CMD_INFER_FILE:
            do_infer_file(&f);
            break;
#endif
#if defined(EDGEQ_OBSERVE) && EDGEQ_OBSERVE
        case CMD_LAYER_TICKS:
            do_layer_ticks(f.seq);
            break;
        case CMD_INFER_LAYER:
            do_infer_layer(&f);
            break;
#endif
#if defined(EDGEQ_MODEL_STATS)
        case CMD_STATS:
            do_stats(&f);
            break;
#endif
        case CMD_BYE:
            send_frame(CMD_BYE | REPLY_BIT, f.seq, 0, 0);
#if defined(EDGEQ_EMULATED) && EDGEQ_EMULATED
            edgeq_exit(0);
#endif
            break;
        default:
            send_error(f.seq, ERR_UNKNOWN_CMD, "unknown command");
            break;
        }
    }
}
