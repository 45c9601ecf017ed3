/* edgeq's minimal stand-in for the Unity test framework: just the assertions CMSIS-NN's unit tests
 * use. A failed assertion prints where and jumps back to the runner written by
 * scripts/cmsis_nn_conformance.py, which ends that test case as failed. */
#ifndef EDGEQ_UNITY_SHIM_H
#define EDGEQ_UNITY_SHIM_H
#include <setjmp.h>
#include <stdio.h>

extern jmp_buf edgeq_unity_jmp;

#define EDGEQ_UNITY_FAIL(what)                                                                     \
    do {                                                                                           \
        printf("%s:%d: assertion failed: %s\n", __FILE__, __LINE__, what);                        \
        longjmp(edgeq_unity_jmp, 1);                                                               \
    } while (0)

#define TEST_ASSERT_EQUAL(expected, actual)                                                        \
    do {                                                                                           \
        long long edgeq_e_ = (long long)(expected), edgeq_a_ = (long long)(actual);                \
        if (edgeq_e_ != edgeq_a_) {                                                                \
            printf("expected %lld, got %lld\n", edgeq_e_, edgeq_a_);                               \
            EDGEQ_UNITY_FAIL(#expected " == " #actual);                                            \
        }                                                                                          \
    } while (0)

#define TEST_ASSERT_TRUE(cond)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            EDGEQ_UNITY_FAIL(#cond);                                                               \
    } while (0)

#define TEST_ASSERT_FALSE(cond) TEST_ASSERT_TRUE(!(cond))
#define TEST_ASSERT(cond) TEST_ASSERT_TRUE(cond)

#endif
