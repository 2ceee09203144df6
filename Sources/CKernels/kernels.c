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
// The code is compiled for the baseline CPU and enables AVX-512 or AVX2 per
// function, so the library runs anywhere and callers check
// ck_half_kernels_supported(). AVX-512 kernels take panels of 32 columns;
// CPUs with AVX2, FMA and F16C but not AVX-512 (AMD Zen 1 and 2, many cloud
// machines) get kernels of the same design on panels of 16 columns, which
// is what their 16 vector registers hold.

#include "ckernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define CK_X86 1
#endif

static int ck_has_avx512(void) {
#ifdef CK_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

static int ck_has_avx2(void) {
#ifdef CK_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

// Decided once, when the library is loaded and before any thread can call in.
static int ck_panel_width;

__attribute__((constructor)) static void ck_choose_kernels(void) {
    ck_panel_width = ck_has_avx512() ? 32 : ck_has_avx2() ? 16 : 0;
}

int ck_half_panel_width(void) {
    return ck_panel_width;
}

int ck_half_kernels_supported(void) {
    return ck_panel_width != 0;
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

// Output columns per panel: two AVX-512 registers of floats.
#define CK_PANEL 32

// The row loops must be unrolled for the accumulator arrays to become
// registers; -O3 does it unasked, -O2 (SwiftPM's release setting) only when told.
#if defined(__clang__)
#define CK_UNROLL _Pragma("clang loop unroll(full)")
#else
#define CK_UNROLL _Pragma("GCC unroll 16")
#endif

// Panels of 32 output columns: panel p holds, for k = 0..<inner, the 32
// weights w[p*32 ..< p*32+32][k] side by side, so a product reads each panel
// front to back as one contiguous stream. Stored as [k][outputs] instead, a
// 32-column block is a walk down memory at a stride of 2*outputs bytes, a new
// page every other step; measured on the benchmark machine (one short
// sentence, all six layers, median of 50): 5.05 ms that way, 2.31 ms in
// panels with the prefetch below.
CK_TARGET static void ck_pack_half_panels32(const float *weight, int outputs, int inner, uint16_t *out) {
    for (int n0 = 0; n0 < outputs; n0 += CK_PANEL) {
        uint16_t *panel = out + (size_t)n0 * inner;
        for (int k = 0; k < inner; k++) {
            float column[CK_PANEL];
            for (int j = 0; j < CK_PANEL; j++) column[j] = weight[(size_t)(n0 + j) * inner + k];
            __m256i low = _mm512_cvtps_ph(_mm512_loadu_ps(column), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m256i high = _mm512_cvtps_ph(_mm512_loadu_ps(column + 16), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm256_storeu_si256((__m256i *)(panel + (size_t)k * CK_PANEL), low);
            _mm256_storeu_si256((__m256i *)(panel + (size_t)k * CK_PANEL + 16), high);
        }
    }
}

// How far ahead, in panel rows (one 64-byte cache line each), the kernels ask
// for weights. The hardware prefetcher alone leaves the loop waiting on memory
// when the weights are not in cache; 24 lines ahead was the best of 8..48 on
// the benchmark machine (74.7 GFLOP/s without, 101 with, 11 rows).
#define CK_PREFETCH_LINES 24

// `rows` (a compile-time constant, so the 2 x ROWS accumulators live in
// registers: 24 of the 32 for 12 rows) times one panel of 32 columns.
// Prefetching runs past the panel's end into the next one, which is where
// the caller goes next; a prefetch beyond the allocation never faults.
#define CK_ROWS_KERNEL(ROWS)                                                                               \
    CK_TARGET static void ck_rows##ROWS(int inner, const float *a, int lda, const uint16_t *panel,         \
                                        float *c, int ldc, int accumulate) {                               \
        __m512 low[ROWS], high[ROWS];                                                                      \
        CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                         \
            low[m] = accumulate ? _mm512_loadu_ps(c + (size_t)m * ldc) : _mm512_setzero_ps();              \
            high[m] = accumulate ? _mm512_loadu_ps(c + (size_t)m * ldc + 16) : _mm512_setzero_ps();        \
        }                                                                                                  \
        for (int k = 0; k < inner; k++) {                                                                  \
            const uint16_t *row = panel + (size_t)k * CK_PANEL;                                            \
            _mm_prefetch((const char *)(row + CK_PREFETCH_LINES * CK_PANEL), _MM_HINT_T0);                 \
            __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)row));                         \
            __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 16)));                  \
            CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                     \
                __m512 x = _mm512_set1_ps(a[(size_t)m * lda + k]);                                         \
                low[m] = _mm512_fmadd_ps(x, w0, low[m]);                                                   \
                high[m] = _mm512_fmadd_ps(x, w1, high[m]);                                                 \
            }                                                                                              \
        }                                                                                                  \
        CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                         \
            _mm512_storeu_ps(c + (size_t)m * ldc, low[m]);                                                 \
            _mm512_storeu_ps(c + (size_t)m * ldc + 16, high[m]);                                           \
        }                                                                                                  \
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

typedef void (*ck_rows_kernel)(int, const float *, int, const uint16_t *, float *, int, int);
static const ck_rows_kernel ck_kernels[13] = {
    0, ck_rows1, ck_rows2, ck_rows3, ck_rows4, ck_rows5, ck_rows6,
    ck_rows7, ck_rows8, ck_rows9, ck_rows10, ck_rows11, ck_rows12,
};

static void ck_gemm_half_weights32(int rows, int outputs, int inner, const float *a, int lda,
                                   const uint16_t *w, float *c, int ldc, int accumulate) {
    // Rows in passes of at most 12, sized evenly (13 rows: 7 + 6, not 12 + 1),
    // so no pass runs with most registers idle. All passes over one panel run
    // back to back, so the later ones find it in L1 or L2 and the weights are
    // read from memory once however many rows there are.
    int passes = (rows + 11) / 12;
    for (int n0 = 0; n0 < outputs; n0 += CK_PANEL) {
        const uint16_t *panel = w + (size_t)n0 * inner;
        int done = 0;
        for (int pass = 0; pass < passes; pass++) {
            int take = (rows - done) / (passes - pass);
            ck_kernels[take](inner, a + (size_t)done * lda, lda, panel, c + (size_t)done * ldc + n0, ldc, accumulate);
            done += take;
        }
    }
}

// The AVX2 kernels: the same design on 16-column panels (two 8-float
// registers per row), up to 6 rows at a time, so the 12 accumulators, the two
// widened weight registers and the broadcast input fit the 16 registers.

#define CK_TARGET2 __attribute__((target("avx2,fma,f16c")))
#define CK_PANEL2 16
// 24 cache lines ahead, as above: 48 panel rows of 32 bytes.
#define CK_PREFETCH_ROWS2 48

CK_TARGET2 static void ck_pack_half_panels16(const float *weight, int outputs, int inner, uint16_t *out) {
    for (int n0 = 0; n0 < outputs; n0 += CK_PANEL2) {
        uint16_t *panel = out + (size_t)n0 * inner;
        for (int k = 0; k < inner; k++) {
            float column[CK_PANEL2];
            for (int j = 0; j < CK_PANEL2; j++) column[j] = weight[(size_t)(n0 + j) * inner + k];
            __m128i low = _mm256_cvtps_ph(_mm256_loadu_ps(column), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m128i high = _mm256_cvtps_ph(_mm256_loadu_ps(column + 8), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm_storeu_si128((__m128i *)(panel + (size_t)k * CK_PANEL2), low);
            _mm_storeu_si128((__m128i *)(panel + (size_t)k * CK_PANEL2 + 8), high);
        }
    }
}

#define CK_ROWS_KERNEL2(ROWS)                                                                              \
    CK_TARGET2 static void ck_rows2_##ROWS(int inner, const float *a, int lda, const uint16_t *panel,      \
                                           float *c, int ldc, int accumulate) {                            \
        __m256 low[ROWS], high[ROWS];                                                                      \
        CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                         \
            low[m] = accumulate ? _mm256_loadu_ps(c + (size_t)m * ldc) : _mm256_setzero_ps();              \
            high[m] = accumulate ? _mm256_loadu_ps(c + (size_t)m * ldc + 8) : _mm256_setzero_ps();         \
        }                                                                                                  \
        for (int k = 0; k < inner; k++) {                                                                  \
            const uint16_t *row = panel + (size_t)k * CK_PANEL2;                                           \
            _mm_prefetch((const char *)(row + CK_PREFETCH_ROWS2 * CK_PANEL2), _MM_HINT_T0);                \
            __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)row));                            \
            __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 8)));                      \
            CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                     \
                __m256 x = _mm256_broadcast_ss(a + (size_t)m * lda + k);                                   \
                low[m] = _mm256_fmadd_ps(x, w0, low[m]);                                                   \
                high[m] = _mm256_fmadd_ps(x, w1, high[m]);                                                 \
            }                                                                                              \
        }                                                                                                  \
        CK_UNROLL for (int m = 0; m < ROWS; m++) {                                                         \
            _mm256_storeu_ps(c + (size_t)m * ldc, low[m]);                                                 \
            _mm256_storeu_ps(c + (size_t)m * ldc + 8, high[m]);                                            \
        }                                                                                                  \
    }

CK_ROWS_KERNEL2(1)
CK_ROWS_KERNEL2(2)
CK_ROWS_KERNEL2(3)
CK_ROWS_KERNEL2(4)
CK_ROWS_KERNEL2(5)
CK_ROWS_KERNEL2(6)

static const ck_rows_kernel ck_kernels2[7] = {
    0, ck_rows2_1, ck_rows2_2, ck_rows2_3, ck_rows2_4, ck_rows2_5, ck_rows2_6,
};

static void ck_gemm_half_weights16(int rows, int outputs, int inner, const float *a, int lda,
                                   const uint16_t *w, float *c, int ldc, int accumulate) {
    // As ck_gemm_half_weights32, in turns of at most 6 rows.
    int passes = (rows + 5) / 6;
    for (int n0 = 0; n0 < outputs; n0 += CK_PANEL2) {
        const uint16_t *panel = w + (size_t)n0 * inner;
        int done = 0;
        for (int pass = 0; pass < passes; pass++) {
            int take = (rows - done) / (passes - pass);
            ck_kernels2[take](inner, a + (size_t)done * lda, lda, panel, c + (size_t)done * ldc + n0, ldc, accumulate);
            done += take;
        }
    }
}

void ck_pack_half_panels(const float *weight, int outputs, int inner, uint16_t *out) {
    if (ck_panel_width == 32) ck_pack_half_panels32(weight, outputs, inner, out);
    else ck_pack_half_panels16(weight, outputs, inner, out);
}

void ck_gemm_half_weights(int rows, int outputs, int inner, const float *a, int lda,
                          const uint16_t *w, float *c, int ldc, int accumulate) {
    if (ck_panel_width == 32) ck_gemm_half_weights32(rows, outputs, inner, a, lda, w, c, ldc, accumulate);
    else ck_gemm_half_weights16(rows, outputs, inner, a, lda, w, c, ldc, accumulate);
}

#else

void ck_pack_half_panels(const float *weight, int outputs, int inner, uint16_t *out) {
    (void)weight; (void)outputs; (void)inner; (void)out;
}

void ck_gemm_half_weights(int rows, int outputs, int inner, const float *a, int lda,
                          const uint16_t *w, float *c, int ldc, int accumulate) {
    (void)rows; (void)outputs; (void)inner; (void)a; (void)lda; (void)w; (void)c; (void)ldc; (void)accumulate;
}

#endif
