#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Whether the half-precision-weight kernels below run here at full speed:
/// the CPU has AVX-512F, FMA and F16C, and this file was compiled with
/// optimisation (unoptimised, the kernels are correct but slower than BLAS).
int ck_half_kernels_fast(void);

/// Whether the CPU can run the kernels at all (AVX-512F, FMA and F16C).
int ck_half_kernels_supported(void);

/// Converts a PyTorch Linear weight, `outputs` rows of `inner` floats, to half
/// precision in panels of 32 output columns:
/// `out[(n / 32) * 32 * inner + k * 32 + n % 32] = half(weight[n * inner + k])`.
/// `outputs` must be a multiple of 32; `out` holds `outputs * inner` values.
/// Requires ck_half_kernels_supported().
void ck_pack_half_panels(const float *weight, int outputs, int inner, uint16_t *out);

/// `c[rows x outputs] (+)= a[rows x inner] * w`, where `w` is a weight converted
/// by ck_pack_half_panels. `outputs` must be a multiple of 32. `accumulate`
/// adds to `c` (which then holds, say, a bias or residual) instead of
/// overwriting it. Requires ck_half_kernels_supported().
void ck_gemm_half_weights(int rows, int outputs, int inner, const float *a, int lda,
                          const uint16_t *w, float *c, int ldc, int accumulate);

#endif
