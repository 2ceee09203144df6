#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Whether the half-precision-weight kernels below run here at full speed:
/// the CPU can run them (ck_half_kernels_supported) and this file was
/// compiled with optimisation (unoptimised, the kernels are correct but
/// slower than BLAS).
int ck_half_kernels_fast(void);

/// Whether the CPU can run the kernels at all: AVX-512F, or AVX2, with FMA
/// and F16C.
int ck_half_kernels_supported(void);

/// The output columns per panel of the kernels this CPU runs: 32 with
/// AVX-512, 16 with AVX2 only, 0 when it runs neither.
int ck_half_panel_width(void);

/// Converts a PyTorch Linear weight, `outputs` rows of `inner` floats, to half
/// precision in panels of P = ck_half_panel_width() output columns:
/// `out[(n / P) * P * inner + k * P + n % P] = half(weight[n * inner + k])`.
/// `outputs` must be a multiple of P; `out` holds `outputs * inner` values.
/// Requires ck_half_kernels_supported().
void ck_pack_half_panels(const float *weight, int outputs, int inner, uint16_t *out);

/// `c[rows x outputs] (+)= a[rows x inner] * w`, where `w` is a weight converted
/// by ck_pack_half_panels. `outputs` must be a multiple of the panel width. `accumulate`
/// adds to `c` (which then holds, say, a bias or residual) instead of
/// overwriting it. Requires ck_half_kernels_supported().
void ck_gemm_half_weights(int rows, int outputs, int inner, const float *a, int lda,
                          const uint16_t *w, float *c, int ldc, int accumulate);

#endif
