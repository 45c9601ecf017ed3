/*
 * edgeq -- the Helium (MVE) intrinsics the edgeq_mve_* kernels use, and their host emulation.
 *
 * On a core with integer MVE (Cortex-M55: gcc -mcpu=cortex-m55 defines __ARM_FEATURE_MVE) this
 * includes <arm_mve.h>. With -DEDGEQ_EMULATE_MVE (host tests) it defines the same intrinsic
 * names in portable C instead: vectors are structs of lane arrays, predicates the 16-bit
 * byte-lane masks of the architecture (an element of n bytes is active when the bit of its
 * lowest byte is set), and every operation follows the instruction's definition (modulo-2^32
 * accumulation, saturation, rounding). Only the intrinsics the kernels use are emulated: a
 * kernel that needs another one fails to compile on the host, never silently differs.
 *
 * Include only from the edgeq_mve_*.c files (arm_mve.h is large, and the arm_* kernel files only
 * need EDGEQ_MVE from edgeq_mve_kernels.h).
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_MVE_H
#define EDGEQ_MVE_H

#include <stdint.h>

#include "edgeq_mve_kernels.h" /* decides EDGEQ_MVE */

#if defined(EDGEQ_MVE)

#if !defined(EDGEQ_EMULATE_MVE)
#include <arm_mve.h>
#define EDGEQ_MVE_INLINE static inline __attribute__((always_inline))
#else
#define EDGEQ_MVE_INLINE static inline

#include <string.h>

typedef struct { int8_t v[16]; } int8x16_t;
typedef struct { int16_t v[8]; } int16x8_t;
typedef struct { int32_t v[4]; } int32x4_t;
typedef struct { uint32_t v[4]; } uint32x4_t;
typedef uint16_t mve_pred16_t;

/* element i of esize bytes is active when predicate bit i * esize is set */
#define EDGEQ_EMU_ACTIVE(p, i, esize) ((((uint32_t)(p) >> ((i) * (esize))) & 1u) != 0)

/* VCTP: the first n elements active */
EDGEQ_MVE_INLINE mve_pred16_t edgeq_emu_vctp(uint32_t n, uint32_t esize)
{
    uint32_t bytes = n * esize;
    if (bytes >= 16)
    {
        return 0xFFFFu;
    }
    return (mve_pred16_t)((1u << bytes) - 1u);
}
EDGEQ_MVE_INLINE mve_pred16_t vctp8q(uint32_t n) { return edgeq_emu_vctp(n, 1); }
EDGEQ_MVE_INLINE mve_pred16_t vctp16q(uint32_t n) { return edgeq_emu_vctp(n, 2); }
EDGEQ_MVE_INLINE mve_pred16_t vctp32q(uint32_t n) { return edgeq_emu_vctp(n, 4); }

/* ---- loads (the _z forms zero the inactive elements and do not touch their memory) */
EDGEQ_MVE_INLINE int8x16_t vldrbq_z_s8(const int8_t *p, mve_pred16_t pred)
{
    int8x16_t r;
    int i;
    for (i = 0; i < 16; i++)
    {
        r.v[i] = EDGEQ_EMU_ACTIVE(pred, i, 1) ? p[i] : 0;
    }
    return r;
}
EDGEQ_MVE_INLINE int8x16_t vldrbq_s8(const int8_t *p) { return vldrbq_z_s8(p, 0xFFFFu); }
EDGEQ_MVE_INLINE int16x8_t vldrbq_z_s16(const int8_t *p, mve_pred16_t pred)
{
    int16x8_t r;
    int i;
    for (i = 0; i < 8; i++)
    {
        r.v[i] = EDGEQ_EMU_ACTIVE(pred, i, 2) ? (int16_t)p[i] : 0;
    }
    return r;
}
EDGEQ_MVE_INLINE int16x8_t vldrbq_s16(const int8_t *p) { return vldrbq_z_s16(p, 0xFFFFu); }
EDGEQ_MVE_INLINE int32x4_t vldrbq_z_s32(const int8_t *p, mve_pred16_t pred)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = EDGEQ_EMU_ACTIVE(pred, i, 4) ? (int32_t)p[i] : 0;
    }
    return r;
}
EDGEQ_MVE_INLINE int32x4_t vldrbq_s32(const int8_t *p) { return vldrbq_z_s32(p, 0xFFFFu); }
EDGEQ_MVE_INLINE int32x4_t vldrwq_z_s32(const int32_t *p, mve_pred16_t pred)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = EDGEQ_EMU_ACTIVE(pred, i, 4) ? p[i] : 0;
    }
    return r;
}
EDGEQ_MVE_INLINE int32x4_t vldrwq_s32(const int32_t *p) { return vldrwq_z_s32(p, 0xFFFFu); }
EDGEQ_MVE_INLINE uint32x4_t vldrwq_u32(const uint32_t *p)
{
    uint32x4_t r;
    memcpy(r.v, p, sizeof(r.v));
    return r;
}
/* VLDRW gather, offsets in elements (shifted left by 2) */
EDGEQ_MVE_INLINE int32x4_t vldrwq_gather_shifted_offset_z_s32(const int32_t *base, uint32x4_t off, mve_pred16_t pred)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = EDGEQ_EMU_ACTIVE(pred, i, 4) ? base[off.v[i]] : 0;
    }
    return r;
}

EDGEQ_MVE_INLINE int32x4_t vldrwq_gather_shifted_offset_s32(const int32_t *base, uint32x4_t off)
{
    return vldrwq_gather_shifted_offset_z_s32(base, off, 0xFFFFu);
}

/* ---- stores (the _p forms store the active elements only) */
EDGEQ_MVE_INLINE void vstrbq_p_s8(int8_t *p, int8x16_t x, mve_pred16_t pred)
{
    int i;
    for (i = 0; i < 16; i++)
    {
        if (EDGEQ_EMU_ACTIVE(pred, i, 1))
        {
            p[i] = x.v[i];
        }
    }
}
EDGEQ_MVE_INLINE void vstrbq_s8(int8_t *p, int8x16_t x) { vstrbq_p_s8(p, x, 0xFFFFu); }
/* VSTRB.16 / .32: the low byte of each element */
EDGEQ_MVE_INLINE void vstrbq_p_s16(int8_t *p, int16x8_t x, mve_pred16_t pred)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        if (EDGEQ_EMU_ACTIVE(pred, i, 2))
        {
            p[i] = (int8_t)(uint8_t)((uint16_t)x.v[i] & 0xFFu);
        }
    }
}
EDGEQ_MVE_INLINE void vstrbq_s16(int8_t *p, int16x8_t x) { vstrbq_p_s16(p, x, 0xFFFFu); }
EDGEQ_MVE_INLINE void vstrbq_p_s32(int8_t *p, int32x4_t x, mve_pred16_t pred)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        if (EDGEQ_EMU_ACTIVE(pred, i, 4))
        {
            p[i] = (int8_t)(uint8_t)((uint32_t)x.v[i] & 0xFFu);
        }
    }
}
EDGEQ_MVE_INLINE void vstrbq_s32(int8_t *p, int32x4_t x) { vstrbq_p_s32(p, x, 0xFFFFu); }
EDGEQ_MVE_INLINE void vstrwq_s32(int32_t *p, int32x4_t x) { memcpy(p, x.v, sizeof(x.v)); }

/* ---- dot products: VMLADAVA (sum of lane products + accumulator), VADDVA (sum of lanes +
 * accumulator); both add modulo 2^32 like the hardware */
EDGEQ_MVE_INLINE int32_t vmladavaq_s8(int32_t acc, int8x16_t a, int8x16_t b)
{
    uint32_t s = (uint32_t)acc;
    int i;
    for (i = 0; i < 16; i++)
    {
        s += (uint32_t)((int32_t)a.v[i] * (int32_t)b.v[i]);
    }
    return (int32_t)s;
}
/* VMLADAV: the same without an accumulator */
EDGEQ_MVE_INLINE int32_t vmladavq_s8(int8x16_t a, int8x16_t b) { return vmladavaq_s8(0, a, b); }
EDGEQ_MVE_INLINE int32_t vmladavaq_s16(int32_t acc, int16x8_t a, int16x8_t b)
{
    uint32_t s = (uint32_t)acc;
    int i;
    for (i = 0; i < 8; i++)
    {
        s += (uint32_t)((int32_t)a.v[i] * (int32_t)b.v[i]);
    }
    return (int32_t)s;
}
EDGEQ_MVE_INLINE int32_t vaddvaq_s8(int32_t acc, int8x16_t a)
{
    uint32_t s = (uint32_t)acc;
    int i;
    for (i = 0; i < 16; i++)
    {
        s += (uint32_t)(int32_t)a.v[i];
    }
    return (int32_t)s;
}

/* ---- 16-bit lanes */
EDGEQ_MVE_INLINE int16x8_t vaddq_n_s16(int16x8_t a, int16_t b)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        a.v[i] = (int16_t)(uint16_t)((uint32_t)(uint16_t)a.v[i] + (uint32_t)(uint16_t)b);
    }
    return a;
}
EDGEQ_MVE_INLINE int16x8_t vaddq_s16(int16x8_t a, int16x8_t b)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        a.v[i] = (int16_t)(uint16_t)((uint32_t)(uint16_t)a.v[i] + (uint32_t)(uint16_t)b.v[i]);
    }
    return a;
}
/* VMOVL(B|T).S16: the even (bottom) / odd (top) elements sign-extended to 32-bit lanes */
EDGEQ_MVE_INLINE int32x4_t vmovlbq_s16(int16x8_t a)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = a.v[2 * i];
    }
    return r;
}
EDGEQ_MVE_INLINE int32x4_t vmovltq_s16(int16x8_t a)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = a.v[2 * i + 1];
    }
    return r;
}
EDGEQ_MVE_INLINE void vstrhq_s16(int16_t *p, int16x8_t x) { memcpy(p, x.v, sizeof(x.v)); }
/* VMULL(B|T).S16: the products of the even (bottom) / odd (top) elements, as 32-bit lanes */
EDGEQ_MVE_INLINE int32x4_t vmullbq_int_s16(int16x8_t a, int16x8_t b)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = (int32_t)a.v[2 * i] * (int32_t)b.v[2 * i];
    }
    return r;
}
EDGEQ_MVE_INLINE int32x4_t vmulltq_int_s16(int16x8_t a, int16x8_t b)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = (int32_t)a.v[2 * i + 1] * (int32_t)b.v[2 * i + 1];
    }
    return r;
}
/* VMOVN(B|T).I32: the low halves of b's lanes into the even / odd elements of a */
EDGEQ_MVE_INLINE int16x8_t vmovnbq_s32(int16x8_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[2 * i] = (int16_t)(uint16_t)((uint32_t)b.v[i] & 0xFFFFu);
    }
    return a;
}
EDGEQ_MVE_INLINE int16x8_t vmovntq_s32(int16x8_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[2 * i + 1] = (int16_t)(uint16_t)((uint32_t)b.v[i] & 0xFFFFu);
    }
    return a;
}
/* VQMOVN(B|T).S32: b's lanes saturated to int16 into the even / odd elements of a */
EDGEQ_MVE_INLINE int16_t edgeq_emu_sat16(int32_t x)
{
    return (int16_t)(x > INT16_MAX ? INT16_MAX : (x < INT16_MIN ? INT16_MIN : x));
}
EDGEQ_MVE_INLINE int16x8_t vqmovnbq_s32(int16x8_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[2 * i] = edgeq_emu_sat16(b.v[i]);
    }
    return a;
}
EDGEQ_MVE_INLINE int16x8_t vqmovntq_s32(int16x8_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[2 * i + 1] = edgeq_emu_sat16(b.v[i]);
    }
    return a;
}
/* VQSHL.S16 #n (saturating left shift, 0 <= n <= 15) and VSHR.S16 #n (arithmetic, 1 <= n <= 16) */
EDGEQ_MVE_INLINE int16x8_t edgeq_emu_vqshl16(int16x8_t a, int n)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        a.v[i] = edgeq_emu_sat16((int32_t)a.v[i] * (1 << n));
    }
    return a;
}
#define vqshlq_n_s16(a, n) edgeq_emu_vqshl16((a), (n))
EDGEQ_MVE_INLINE int16x8_t edgeq_emu_vshr16(int16x8_t a, int n)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        a.v[i] = (int16_t)((int32_t)a.v[i] >> n);
    }
    return a;
}
#define vshrq_n_s16(a, n) edgeq_emu_vshr16((a), (n))
/* (edgeq_mve_depthwise_rows.c) VMAX / VMIN.S16 */
EDGEQ_MVE_INLINE int16x8_t vmaxq_s16(int16x8_t a, int16x8_t b)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    }
    return a;
}
EDGEQ_MVE_INLINE int16x8_t vminq_s16(int16x8_t a, int16x8_t b)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        a.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
    }
    return a;
}
/* (edgeq_mve_depthwise_rows.c) VSTRW.32 scatter, byte offsets; the bytes of a vector as int32 lanes
 * (little-endian, as on the target); an unsigned lane set */
EDGEQ_MVE_INLINE void vstrwq_scatter_offset_s32(int32_t *base, uint32x4_t off, int32x4_t x)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        memcpy((int8_t *)base + off.v[i], &x.v[i], 4);
    }
}
EDGEQ_MVE_INLINE int32x4_t vreinterpretq_s32_s8(int8x16_t a)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = (int32_t)((uint32_t)(uint8_t)a.v[4 * i] | ((uint32_t)(uint8_t)a.v[4 * i + 1] << 8) |
                           ((uint32_t)(uint8_t)a.v[4 * i + 2] << 16) | ((uint32_t)(uint8_t)a.v[4 * i + 3] << 24));
    }
    return r;
}
EDGEQ_MVE_INLINE uint32x4_t vsetq_lane_u32(uint32_t x, uint32x4_t a, int lane)
{
    a.v[lane] = x;
    return a;
}
/* (edgeq_mve_depthwise_rows.c) VQADD.S16 with a scalar; VQMOVNB.S16: b saturated to int8 into the
 * even bytes of a; a vector's bytes as 16-bit lanes (little-endian) */
EDGEQ_MVE_INLINE int16x8_t vqaddq_n_s16(int16x8_t a, int16_t b)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        a.v[i] = edgeq_emu_sat16((int32_t)a.v[i] + b);
    }
    return a;
}
EDGEQ_MVE_INLINE int8x16_t vqmovnbq_s16(int8x16_t a, int16x8_t b)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        a.v[2 * i] = (int8_t)(b.v[i] > 127 ? 127 : (b.v[i] < -128 ? -128 : b.v[i]));
    }
    return a;
}
EDGEQ_MVE_INLINE int16x8_t vreinterpretq_s16_s8(int8x16_t a)
{
    int16x8_t r;
    int i;
    for (i = 0; i < 8; i++)
    {
        r.v[i] = (int16_t)(uint16_t)((uint32_t)(uint8_t)a.v[2 * i] | ((uint32_t)(uint8_t)a.v[2 * i + 1] << 8));
    }
    return r;
}
EDGEQ_MVE_INLINE int8x16_t vdupq_n_s8(int8_t x)
{
    int8x16_t r;
    memset(r.v, (uint8_t)x, sizeof(r.v));
    return r;
}
/* VPSEL: the active byte lanes from a, the others from b */
EDGEQ_MVE_INLINE int8x16_t vpselq_s8(int8x16_t a, int8x16_t b, mve_pred16_t pred)
{
    int i;
    for (i = 0; i < 16; i++)
    {
        a.v[i] = EDGEQ_EMU_ACTIVE(pred, i, 1) ? a.v[i] : b.v[i];
    }
    return a;
}
EDGEQ_MVE_INLINE int16x8_t vdupq_n_s16(int16_t x)
{
    int16x8_t r;
    int i;
    for (i = 0; i < 8; i++)
    {
        r.v[i] = x;
    }
    return r;
}

/* ---- 32-bit lanes */
EDGEQ_MVE_INLINE int32x4_t vdupq_n_s32(int32_t x)
{
    int32x4_t r;
    int i;
    for (i = 0; i < 4; i++)
    {
        r.v[i] = x;
    }
    return r;
}
EDGEQ_MVE_INLINE int32x4_t vsetq_lane_s32(int32_t x, int32x4_t a, int lane)
{
    a.v[lane] = x;
    return a;
}
EDGEQ_MVE_INLINE int32x4_t vaddq_s32(int32x4_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = (int32_t)((uint32_t)a.v[i] + (uint32_t)b.v[i]);
    }
    return a;
}
EDGEQ_MVE_INLINE int32x4_t vaddq_n_s32(int32x4_t a, int32_t b) { return vaddq_s32(a, vdupq_n_s32(b)); }
EDGEQ_MVE_INLINE int32x4_t vmulq_n_s32(int32x4_t a, int32_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = (int32_t)((uint32_t)a.v[i] * (uint32_t)b);
    }
    return a;
}
EDGEQ_MVE_INLINE int32x4_t vandq_s32(int32x4_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = (int32_t)((uint32_t)a.v[i] & (uint32_t)b.v[i]);
    }
    return a;
}
EDGEQ_MVE_INLINE int32x4_t vmaxq_s32(int32x4_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    }
    return a;
}
EDGEQ_MVE_INLINE int32x4_t vminq_s32(int32x4_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
    }
    return a;
}
EDGEQ_MVE_INLINE int32_t edgeq_emu_sat32(int64_t x)
{
    return x > INT32_MAX ? INT32_MAX : (x < INT32_MIN ? INT32_MIN : (int32_t)x);
}
EDGEQ_MVE_INLINE int32x4_t vqaddq_s32(int32x4_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = edgeq_emu_sat32((int64_t)a.v[i] + b.v[i]);
    }
    return a;
}
/* VMAXV: the largest of a and the lanes of b */
EDGEQ_MVE_INLINE int32_t vmaxvq_s32(int32_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a = b.v[i] > a ? b.v[i] : a;
    }
    return a;
}
/* VQRDMULH: saturate((2 * a * b + 2^31) >> 32) */
EDGEQ_MVE_INLINE int32_t edgeq_emu_qrdmulh(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
    {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}
EDGEQ_MVE_INLINE int32x4_t vqrdmulhq_s32(int32x4_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = edgeq_emu_qrdmulh(a.v[i], b.v[i]);
    }
    return a;
}
EDGEQ_MVE_INLINE int32x4_t vqrdmulhq_n_s32(int32x4_t a, int32_t b) { return vqrdmulhq_s32(a, vdupq_n_s32(b)); }
/* VSHR #n (arithmetic, 1 <= n <= 32) */
EDGEQ_MVE_INLINE int32x4_t edgeq_emu_vshr(int32x4_t a, int n)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = (int32_t)((int64_t)a.v[i] >> n);
    }
    return a;
}
#define vshrq_n_s32(a, n) edgeq_emu_vshr((a), (n))
/* VSHL / VRSHL by a signed amount (the low byte of the lane or register): left for positive
 * (bits shifted out are lost), right for negative (VSHL truncates, VRSHL adds 2^(n-1) first, in
 * full precision) */
EDGEQ_MVE_INLINE int32_t edgeq_emu_shl(int32_t x, int32_t n, int rounding)
{
    n = (int8_t)(uint8_t)((uint32_t)n & 0xFFu);
    if (n >= 0)
    {
        return n >= 32 ? 0 : (int32_t)((uint32_t)x << n);
    }
    n = -n;
    if (n > 32)
    {
        n = 32; /* the result no longer depends on n */
    }
    if (rounding)
    {
        return (int32_t)(((int64_t)x + ((int64_t)1 << (n - 1))) >> n);
    }
    return (int32_t)((int64_t)x >> n);
}
EDGEQ_MVE_INLINE int32x4_t vshlq_s32(int32x4_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = edgeq_emu_shl(a.v[i], b.v[i], 0);
    }
    return a;
}
EDGEQ_MVE_INLINE int32x4_t vshlq_r_s32(int32x4_t a, int32_t b) { return vshlq_s32(a, vdupq_n_s32(b)); }
EDGEQ_MVE_INLINE int32x4_t vrshlq_s32(int32x4_t a, int32x4_t b)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = edgeq_emu_shl(a.v[i], b.v[i], 1);
    }
    return a;
}
EDGEQ_MVE_INLINE int32x4_t vrshlq_n_s32(int32x4_t a, int32_t b) { return vrshlq_s32(a, vdupq_n_s32(b)); }
/* VMLA (vector by scalar): a + b * c in each lane, modulo 2^32 */
EDGEQ_MVE_INLINE int32x4_t vmlaq_n_s32(int32x4_t a, int32x4_t b, int32_t c)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        a.v[i] = (int32_t)((uint32_t)a.v[i] + (uint32_t)b.v[i] * (uint32_t)c);
    }
    return a;
}

/* (edgeq_mve_depthwise_rows.c's dot route) sixteen byte offsets; VLDRB.U8; the byte gather
 * VLDRB.S8 [base, offsets] (zeroing, the inactive lanes not read); the byte scatter VSTRB.32
 * [base, offsets] of each lane's low byte (predicated: the active lanes only) */
typedef struct { uint8_t v[16]; } uint8x16_t;
EDGEQ_MVE_INLINE uint8x16_t vldrbq_u8(const uint8_t *p)
{
    uint8x16_t r;
    memcpy(r.v, p, 16);
    return r;
}
EDGEQ_MVE_INLINE int8x16_t vldrbq_gather_offset_z_s8(const int8_t *base, uint8x16_t off, mve_pred16_t pred)
{
    int8x16_t r;
    int i;
    for (i = 0; i < 16; i++)
    {
        r.v[i] = EDGEQ_EMU_ACTIVE(pred, i, 1) ? base[off.v[i]] : 0;
    }
    return r;
}
EDGEQ_MVE_INLINE void vstrbq_scatter_offset_p_s32(int8_t *base, uint32x4_t off, int32x4_t x, mve_pred16_t pred)
{
    int i;
    for (i = 0; i < 4; i++)
    {
        if (EDGEQ_EMU_ACTIVE(pred, i, 4))
        {
            base[off.v[i]] = (int8_t)x.v[i];
        }
    }
}
EDGEQ_MVE_INLINE void vstrbq_scatter_offset_s32(int8_t *base, uint32x4_t off, int32x4_t x)
{
    vstrbq_scatter_offset_p_s32(base, off, x, 0xFFFFu);
}
/* eight 16-bit offsets (VLDRH.U16); the byte scatter VSTRB.16 [base, offsets] of each 16-bit
 * lane's low byte (predicated: the active lanes only) */
typedef struct { uint16_t v[8]; } uint16x8_t;
EDGEQ_MVE_INLINE uint16x8_t vldrhq_u16(const uint16_t *p)
{
    uint16x8_t r;
    memcpy(r.v, p, 16);
    return r;
}
EDGEQ_MVE_INLINE void vstrbq_scatter_offset_p_s16(int8_t *base, uint16x8_t off, int16x8_t x, mve_pred16_t pred)
{
    int i;
    for (i = 0; i < 8; i++)
    {
        if (EDGEQ_EMU_ACTIVE(pred, i, 2))
        {
            base[off.v[i]] = (int8_t)x.v[i];
        }
    }
}
EDGEQ_MVE_INLINE void vstrbq_scatter_offset_s16(int8_t *base, uint16x8_t off, int16x8_t x)
{
    vstrbq_scatter_offset_p_s16(base, off, x, 0xFFFFu);
}
#endif /* EDGEQ_EMULATE_MVE */

/* ------------------------------------------------------------------ shared helpers */

/* Keeps GCC from hoisting the loads and products of later taps above this point (it would keep
 * them all live at once and spill the eight Q registers to the stack): two vectors pinned in
 * registers, memory ordered. No effect on the result; nothing on the host. */
#if defined(EDGEQ_EMULATE_MVE)
#define EDGEQ_MVE_ORDER2(a, b) ((void)0)
#else
#define EDGEQ_MVE_ORDER2(a, b) __asm__ volatile("" : "+w"(a), "+w"(b) : : "memory")
#endif

/* [a0, a1, a2, a1]: three scalars into the lanes of a vector, three instructions (VDUP, two
 * VMOV.32; lane 3 is a don't-care). (The two-lane VMOV Qd[2], Qd[0], Rt, Rt2 would save one, but
 * GCC 12's own use of it and QEMU 7.2 disagree on which register goes to which lane.) */
EDGEQ_MVE_INLINE int32x4_t edgeq_mve_lanes3(int32_t a0, int32_t a1, int32_t a2)
{
    return vsetq_lane_s32(a2, vsetq_lane_s32(a0, vdupq_n_s32(a1), 0), 2);
}

/* edgeq_mve_requantize when every lane's shift is negative (right > 0, no left shift: the
 * usual case, multipliers below 1): the same result with three instructions fewer. */
EDGEQ_MVE_INLINE int32x4_t edgeq_mve_requantize_right(int32x4_t acc, int32x4_t mult, int32x4_t shift)
{
    int32x4_t x = vqrdmulhq_s32(acc, mult);
    x = vqaddq_s32(x, vshrq_n_s32(x, 31));
    return vrshlq_s32(x, shift);
}

/*
 * TFLite's double-rounding requantization of four int32 lanes, bit-exact with edgeq_requantize:
 *   VQRDMULH is exactly SaturatingRoundingDoublingHighMul: saturate(floor((2ab + 2^31) / 2^32)),
 *     i.e. floor((ab + 2^30) / 2^31) -- the reference's sign-dependent nudge with truncation
 *     gives the same integer for both signs (see edgeq_srdhm), and both saturate INT32_MIN^2.
 *   VRSHL by -e rounds ties toward +infinity; RoundingDivideByPOT rounds them away from zero.
 *     They differ only for negative x exactly halfway: subtracting 1 from negative x first
 *     (saturating; e > 0 only) turns floor((x + 2^(e-1)) / 2^e) into
 *     floor((x - 1 + 2^(e-1)) / 2^e), the reference's rounding for x < 0.
 * left = max(shift, 0) (a wrapping VSHL, as edgeq_shl), right_neg = min(shift, 0) (<= 0). The
 * fix-up lane mask: (x & right_neg) is negative exactly when x < 0 and right > 0.
 */
EDGEQ_MVE_INLINE int32x4_t edgeq_mve_requantize(int32x4_t acc, int32x4_t mult, int32x4_t left, int32x4_t right_neg)
{
    int32x4_t x = vqrdmulhq_s32(vshlq_s32(acc, left), mult);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right_neg), 31));
    return vrshlq_s32(x, right_neg);
}

#endif /* EDGEQ_MVE */

#endif /* EDGEQ_MVE_H */
