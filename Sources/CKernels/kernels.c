// Matrix products for a few rows against weights stored in half precision.
//
// Embedding one short sentence multiplies ~10 token rows by every weight of
// the model once: the time goes to streaming 42 MB of float weights through
// the caches, and general BLAS kernels, tuned for large products, reach a
// third of the machine's peak on such skinny shapes. Here the weights are
// transposed and halved (21 MB) once at load, and each product keeps the
// accumulators of all its rows in AVX-512 registers while reading each
// weight exactly once. Arithmetic stays in single precision; only the stored
// weights are rounded (relative error 2^-11), which moves the embeddings of
// all-MiniLM-L6-v2 by a cosine of less than 1e-6.
//
// The code is compiled for the baseline CPU and enables AVX-512 per function,
// so the library runs anywhere and callers check ck_half_kernels_supported().

#include "ckernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define CK_X86 1
#endif

int ck_half_kernels_supported(void) {
#ifdef CK_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

int ck_half_kernels_fast(void) {
#if defined(CK_X86) && defined(__OPTIMIZE__)
    return ck_half_kernels_supported();
#else
    return 0;
#endif
}

#ifdef CK_X86

#define CK_TARGET __attribute__((target("avx512f,fma,f16c")))

// The row loops must be unrolled for the accumulator arrays to become
// registers; -O3 does it unasked, -O2 (SwiftPM's release setting) only when told.
#if defined(__clang__)
#define CK_UNROLL _Pragma("clang loop unroll(full)")
#else
#define CK_UNROLL _Pragma("GCC unroll 16")
#endif

CK_TARGET void ck_transpose_to_half(const float *weight, int outputs, int inner, uint16_t *out) {
    // 16 outputs at a time: gather one column of 16 rows, convert, store.
    for (int n0 = 0; n0 < outputs; n0 += 16) {
        int width = outputs - n0 < 16 ? outputs - n0 : 16;
        for (int k = 0; k < inner; k++) {
            float column[16] = {0};
            for (int j = 0; j < width; j++) column[j] = weight[(size_t)(n0 + j) * inner + k];
            __m256i half = _mm512_cvtps_ph(_mm512_loadu_ps(column), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            uint16_t converted[16];
            _mm256_storeu_si256((__m256i *)converted, half);
            for (int j = 0; j < width; j++) out[(size_t)k * outputs + n0 + j] = converted[j];
        }
    }
}

// One pass over `rows` (a compile-time constant, so the 2 x ROWS accumulators
// live in registers: 24 of the 32 for 12 rows) and 32 output columns at a time.
#define CK_ROWS_KERNEL(ROWS)                                                                              \
    CK_TARGET static void ck_rows##ROWS(int outputs, int inner, const float *a, int lda, const uint16_t *w, \
                                        float *c, int ldc, int accumulate) {                              \
        for (int n0 = 0; n0 < outputs; n0 += 32) {                                                        \
            __m512 low[ROWS], high[ROWS];                                                                 \
            CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                    \
                low[m] = accumulate ? _mm512_loadu_ps(c + (size_t)m * ldc + n0) : _mm512_setzero_ps();    \
                high[m] = accumulate ? _mm512_loadu_ps(c + (size_t)m * ldc + n0 + 16) : _mm512_setzero_ps(); \
            }                                                                                             \
            const uint16_t *column = w + n0;                                                              \
            for (int k = 0; k < inner; k++) {                                                             \
                const uint16_t *row = column + (size_t)k * outputs;                                       \
                __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)row));                    \
                __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 16)));             \
                CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                \
                    __m512 x = _mm512_set1_ps(a[(size_t)m * lda + k]);                                    \
                    low[m] = _mm512_fmadd_ps(x, w0, low[m]);                                              \
                    high[m] = _mm512_fmadd_ps(x, w1, high[m]);                                            \
                }                                                                                         \
            }                                                                                             \
            CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                    \
                _mm512_storeu_ps(c + (size_t)m * ldc + n0, low[m]);                                       \
                _mm512_storeu_ps(c + (size_t)m * ldc + n0 + 16, high[m]);                                 \
            }                                                                                             \
        }                                                                                                 \
    }

CK_ROWS_KERNEL(1)
CK_ROWS_KERNEL(2)
CK_ROWS_KERNEL(3)
CK_ROWS_KERNEL(4)
CK_ROWS_KERNEL(5)
CK_ROWS_KERNEL(6)
CK_ROWS_KERNEL(7)
CK_ROWS_KERNEL(8)
CK_ROWS_KERNEL(9)
CK_ROWS_KERNEL(10)
CK_ROWS_KERNEL(11)
CK_ROWS_KERNEL(12)

typedef void (*ck_rows_kernel)(int, int, const float *, int, const uint16_t *, float *, int, int);
static const ck_rows_kernel ck_kernels[13] = {
    0, ck_rows1, ck_rows2, ck_rows3, ck_rows4, ck_rows5, ck_rows6,
    ck_rows7, ck_rows8, ck_rows9, ck_rows10, ck_rows11, ck_rows12,
};

void ck_gemm_half_weights(int rows, int outputs, int inner, const float *a, int lda,
                          const uint16_t *w, float *c, int ldc, int accumulate) {
    // Rows in passes of at most 12, sized evenly (13 rows: 7 + 6, not 12 + 1),
    // so no pass runs with most registers idle.
    int passes = (rows + 11) / 12;
    int done = 0;
    for (int pass = 0; pass < passes; pass++) {
        int take = (rows - done) / (passes - pass);
        ck_kernels[take](outputs, inner, a + (size_t)done * lda, lda, w, c + (size_t)done * ldc, ldc, accumulate);
        done += take;
    }
}

#else

void ck_transpose_to_half(const float *weight, int outputs, int inner, uint16_t *out) {
    (void)weight; (void)outputs; (void)inner; (void)out;
}

void ck_gemm_half_weights(int rows, int outputs, int inner, const float *a, int lda,
                          const uint16_t *w, float *c, int ldc, int accumulate) {
    (void)rows; (void)outputs; (void)inner; (void)a; (void)lda; (void)w; (void)c; (void)ldc; (void)accumulate;
}

#endif
