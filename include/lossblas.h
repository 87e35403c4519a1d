/*
 * lossblas.h - batched softmax, cross-entropy and regression loss kernels.
 *
 * The one public header of lossblas. Every kernel exists as _f32 (float) and
 * _f64 (double) with identical semantics; only the _f32 form is documented in
 * full, the _f64 twin takes double (and const double * class weights).
 *
 * Conventions shared by every function
 * ------------------------------------
 * - Matrices are row-major. A rows x cols matrix A with leading dimension ld
 *   holds element (i, j) at A[i*ld + j]; ld >= cols is required. Elements
 *   between cols and ld ("padding") are never read for meaning and never
 *   written.
 * - Every kernel returns lb_status. On any status other than LB_OK no output
 *   has been written: all arguments are validated before the first write.
 *   When several arguments are wrong, the status is the first that applies in
 *   the order NULL_POINTER, BAD_DIMENSION, OVERFLOW, BAD_VALUE, BAD_TARGET.
 * - rows == 0 is valid and a no-op (matrix pointers may then be NULL), except
 *   that a LB_SUM loss writes 0 and a LB_MEAN loss follows the empty-mean
 *   rule (see cross-entropy). cols == 0 is LB_ERR_BAD_DIMENSION.
 * - A matrix whose extent ((rows-1)*ld + cols elements) cannot be addressed
 *   (more than PTRDIFF_MAX bytes), and a Jacobian dimension above INT_MAX
 *   (OpenBLAS takes int), is LB_ERR_OVERFLOW.
 * - Memory: the caller owns every buffer. No function allocates, keeps a
 *   pointer after it returns, prints, exits or aborts. Stack use in
 *   lossblas's own code stays below about 8 KiB per call and thread (GCC
 *   -fstack-usage: the deepest chain, cross-entropy's driver and its row
 *   kernel, is about 7 KiB); OpenBLAS's frames come on top in the BLAS
 *   Jacobian.
 * - Passes larger than the caches (inputs plus outputs over 24 MiB) may
 *   write their outputs with non-temporal (streaming) stores, which bypass
 *   the caches: the same values, one memory write per output line instead
 *   of a read for ownership plus a write-back. An output of such a pass is
 *   then not in cache afterwards. The softmax backward pass, MSE/MAE, the
 *   f64 log-softmax and the avx512 f32 log-softmax backward pass do;
 *   cross-entropy and the f32 forward passes, bound by their exp
 *   arithmetic, keep ordinary stores (README, "Threads, determinism and
 *   instruction sets", lists them all).
 * - Aliasing: an output may be the very same buffer as an input (same pointer
 *   and same ld) only where a function says so; any other overlap is
 *   undefined.
 * - Outputs are overwritten, never accumulated into.
 * - Threads: rows are spread over OpenMP threads (lb_set_num_threads); small
 *   problems stay on the calling thread. Results are bitwise identical for
 *   every thread count: row reductions use a fixed order that depends only on
 *   the number of rows.
 * - Accuracy (measured maxima, README "Accuracy and ISA differences"):
 *   f32 kernels accumulate row sums (normalizer, dot products, losses) in
 *   double, f64 kernels in double with blocked summation.
 *   - f32 softmax: at most 2 ULP from the correctly rounded result (scalar:
 *     0-1 ULP); f32 log-softmax: within 4u(1 + |y|), u = 2^-24, which keeps
 *     a dominant class's tiny log-probability to a few ULP (log1p of the sum
 *     without the maximum's own term).
 *   - f64: x - m is rounded in double (there is no wider type to form it
 *     in), so an output whose logit lies d below the maximum carries up to
 *     about d * 2^-53 relative error: measured at most 22 ULP for logits
 *     within +-5 and 78 ULP within +-60, on every kernel set.
 *   - Losses: within 1e-6 (f32) / 1e-12 (f64) relative error of a
 *     long-double reference at up to 131072 classes, small losses of a
 *     dominant class included; a row loss below FLT_MIN (f32) may round
 *     to 0.
 *   - The AVX2 and AVX-512 kernels use a vector exp whose maximum error is
 *     1 ULP (f32: every float of [-104, 0], exp(x - m) with x - m formed
 *     exactly, the same bits on both sets; f64: sampled over [-746, 0]),
 *     with correct subnormal results.
 *
 * Thread safety: every function may be called from many threads at once on
 * different (or read-only shared) buffers. lb_set_num_threads changes a
 * process-wide setting that each call reads once when it starts.
 */
#ifndef LOSSBLAS_H
#define LOSSBLAS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* LB_API marks exported symbols; the library is built with hidden default
 * visibility. Define LOSSBLAS_STATIC when linking the static library on
 * platforms where it matters (not needed on ELF). */
#if defined(_WIN32) && !defined(LOSSBLAS_STATIC)
#  ifdef LOSSBLAS_BUILDING
#    define LB_API __declspec(dllexport)
#  else
#    define LB_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define LB_API __attribute__((visibility("default")))
#else
#  define LB_API
#endif

#define LB_VERSION_MAJOR 0
#define LB_VERSION_MINOR 1
#define LB_VERSION_PATCH 0
#define LB_VERSION_STRING "0.1.0"
/* The version this header describes, in lb_version()'s encoding. */
#define LB_VERSION (LB_VERSION_MAJOR * 10000 + LB_VERSION_MINOR * 100 + LB_VERSION_PATCH)

/* ------------------------------------------------------------------------ */
/* Status                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum lb_status {
    LB_OK = 0,
    LB_ERR_NULL_POINTER,  /* a required pointer was NULL */
    LB_ERR_BAD_DIMENSION, /* cols == 0, or a leading dimension < cols */
    LB_ERR_BAD_TARGET,    /* a class index outside [0, cols) that is not ignore_index */
    LB_ERR_BAD_VALUE,     /* an option or class weight out of range */
    LB_ERR_OVERFLOW,      /* sizes too large to index or to pass to BLAS */
    LB_ERR_NO_MEMORY,     /* a needed workspace could not be allocated (no function allocates today) */
    LB_ERR_UNSUPPORTED    /* reserved: an operation this build or CPU cannot perform */
} lb_status;

/* A static, human-readable description of s. Never NULL, also for codes
 * outside the enum ("unknown lb_status"). */
LB_API const char *lb_status_string(lb_status s);

/* ------------------------------------------------------------------------ */
/* Library information and control                                          */
/* ------------------------------------------------------------------------ */

/* Version of the linked library: MAJOR*10000 + MINOR*100 + PATCH. Compare
 * with LB_VERSION to detect a header/library mismatch. */
LB_API unsigned lb_version(void);

/* Kernel set in use: exactly "scalar", "avx2" or "avx512" on x86-64. Chosen
 * once, on first use, from the CPU; the environment variable LOSSBLAS_ISA
 * (scalar | avx2 | avx512) forces a set at or below what the CPU supports.
 * An unknown value, or one the CPU lacks, is ignored. The string is static. */
LB_API const char *lb_isa(void);

/* Number of OpenMP threads the kernels may use. n <= 0 restores the default,
 * OpenMP's omp_get_max_threads() at the time of each call. Process-wide;
 * safe to call while other threads run kernels (each call reads it once). */
LB_API void lb_set_num_threads(int n);
/* The value last set, or the default when none (or n <= 0) was set. */
LB_API int lb_get_num_threads(void);

/* ------------------------------------------------------------------------ */
/* Softmax family                                                           */
/* ------------------------------------------------------------------------ */

/* Row-wise softmax: y[i,j] = exp(x[i,j] - m_i) / sum_k exp(x[i,k] - m_i),
 * m_i = max_k x[i,k] (max subtraction keeps exp from overflowing).
 *   rows, cols   shape of x and y (cols >= 1)
 *   x, ldx       input, ldx >= cols
 *   y, ldy       output, ldy >= cols; y may be x (in place, then ldy == ldx)
 * Per row: any NaN or +inf gives a row of NaN; -inf entries get exactly 0;
 * a row that is entirely -inf gives all zeros. */
LB_API lb_status lb_softmax_f32(size_t rows, size_t cols, const float *x, size_t ldx,
                                float *y, size_t ldy);
LB_API lb_status lb_softmax_f64(size_t rows, size_t cols, const double *x, size_t ldx,
                                double *y, size_t ldy);

/* Row-wise log-softmax: y = x - m - log(sum exp(x - m)). Same arguments,
 * aliasing and edge rows as lb_softmax (-inf entries give -inf, an all -inf
 * row gives all -inf, NaN or +inf gives NaN). */
LB_API lb_status lb_log_softmax_f32(size_t rows, size_t cols, const float *x, size_t ldx,
                                    float *y, size_t ldy);
LB_API lb_status lb_log_softmax_f64(size_t rows, size_t cols, const double *x, size_t ldx,
                                    double *y, size_t ldy);

/* Softmax backward (vector-Jacobian product), per row:
 *   dx = y * (dy - <dy, y>)      (= J^T dy with J = diag(y) - y y^T)
 *   y, ldy       softmax output of the forward pass
 *   dy, lddy     upstream gradient
 *   dx, lddx     result; dx may be dy (then lddx == lddy). dx must not
 *                overlap y. */
LB_API lb_status lb_softmax_backward_f32(size_t rows, size_t cols, const float *y, size_t ldy,
                                         const float *dy, size_t lddy, float *dx, size_t lddx);
LB_API lb_status lb_softmax_backward_f64(size_t rows, size_t cols, const double *y, size_t ldy,
                                         const double *dy, size_t lddy, double *dx, size_t lddx);

/* Log-softmax backward, per row:  dx = dy - exp(logy) * sum(dy).
 *   logy, ldlogy log-softmax output of the forward pass
 *   dy, lddy     upstream gradient
 *   dx, lddx     result; dx may be dy (then lddx == lddy), not logy. */
LB_API lb_status lb_log_softmax_backward_f32(size_t rows, size_t cols, const float *logy,
                                             size_t ldlogy, const float *dy, size_t lddy,
                                             float *dx, size_t lddx);
LB_API lb_status lb_log_softmax_backward_f64(size_t rows, size_t cols, const double *logy,
                                             size_t ldlogy, const double *dy, size_t lddy,
                                             double *dx, size_t lddx);

/* ------------------------------------------------------------------------ */
/* Full softmax Jacobian                                                    */
/* ------------------------------------------------------------------------ */

typedef enum lb_jacobian_layout {
    LB_JACOBIAN_FULL,  /* cols*cols per row, row-major, both triangles */
    LB_JACOBIAN_PACKED /* cols*(cols+1)/2 per row: upper triangle, row-major packed
                          (BLAS 'U' packed with CblasRowMajor: row i holds columns i..cols-1) */
} lb_jacobian_layout;

/* For each row b: J_b = diag(y_b) - y_b y_b^T, written contiguously at
 * jac + b * S, S = cols*cols (FULL) or cols*(cols+1)/2 (PACKED).
 *   y, ldy       softmax outputs, rows x cols
 *   layout       LB_JACOBIAN_FULL or LB_JACOBIAN_PACKED (else LB_ERR_BAD_VALUE)
 *   jac          rows*S values; must not overlap y
 * lb_softmax_jacobian picks the fastest path (a direct fill, rows spread
 * over OpenMP threads). lb_softmax_jacobian_blas always takes the BLAS path:
 * a diagonal start, then one rank-1 update per row (?ger for FULL, ?spr for
 * PACKED) through CBLAS, rows in sequence (OpenBLAS may thread inside a
 * call). The two agree to within one rounding of y_i - y_i^2 on the
 * diagonal; off the diagonal both give -(y_i * y_j) exactly, so J is exactly
 * symmetric.
 * cols > INT_MAX or rows*S elements beyond PTRDIFF_MAX bytes: LB_ERR_OVERFLOW. */
LB_API lb_status lb_softmax_jacobian_f32(size_t rows, size_t cols, const float *y, size_t ldy,
                                         lb_jacobian_layout layout, float *jac);
LB_API lb_status lb_softmax_jacobian_f64(size_t rows, size_t cols, const double *y, size_t ldy,
                                         lb_jacobian_layout layout, double *jac);
LB_API lb_status lb_softmax_jacobian_blas_f32(size_t rows, size_t cols, const float *y,
                                              size_t ldy, lb_jacobian_layout layout, float *jac);
LB_API lb_status lb_softmax_jacobian_blas_f64(size_t rows, size_t cols, const double *y,
                                              size_t ldy, lb_jacobian_layout layout, double *jac);

/* ------------------------------------------------------------------------ */
/* Cross-entropy                                                            */
/* ------------------------------------------------------------------------ */

typedef enum lb_reduction { LB_MEAN = 0, LB_SUM, LB_NONE } lb_reduction;

typedef struct lb_xent_opts {
    lb_reduction reduction; /* default LB_MEAN */
    int64_t ignore_index;   /* sparse targets only; default -100; any value, in range or not */
    double label_smoothing; /* in [0, 1]; default 0 */
    double grad_scale;      /* dlogits is multiplied by this; finite; default 1 */
    int empty_mean_is_zero; /* LB_MEAN with zero total weight: 0 -> loss NaN (default), else 0 */
} lb_xent_opts;
#define LB_XENT_DEFAULTS { LB_MEAN, -100, 0.0, 1.0, 0 }

/* Cross-entropy from logits with class-index targets, loss and gradient in one
 * pass over each row. Equals torch.nn.functional.cross_entropy(logits,
 * targets, weight, ignore_index=, reduction=, label_smoothing=).
 *
 * With eps = label_smoothing, C = cols, w = class weights (all 1 if NULL),
 * p = softmax(logits row), t = target, each counted row has the coefficients
 *   a_j = w_j * ((1 - eps) * [j == t] + eps / C)
 * and loss_i = -sum_j a_j * log p_j. A term with a_j == 0 contributes 0 even
 * where p_j == 0 (PyTorch would give NaN). Rows whose target == ignore_index
 * have loss 0 and gradient 0 and are not counted.
 *   LB_NONE: loss[i] = loss_i (rows values).
 *   LB_SUM:  *loss = sum_i loss_i.
 *   LB_MEAN: *loss = sum_i loss_i / sum_{counted i} w_{t_i}. When that
 *            denominator is 0 (no rows, all ignored, all weights zero) the
 *            loss is NaN, or 0 with opts->empty_mean_is_zero, and the gradient
 *            is 0 (PyTorch: NaN).
 * dlogits = grad_scale * d(loss)/d(logits) (for LB_NONE, of the sum of the row
 * losses): per counted row, (p_j * sum_k a_k - a_j) / denominator. It stays
 * finite where p_j == 0; a row of all -inf logits gets loss +inf (when some
 * a_j > 0) and gradient -a. A NaN or +inf logit makes that row's loss and
 * gradient NaN.
 *
 *   logits, ld_logits   rows x cols scores
 *   targets             rows class indices in [0, cols) or == ignore_index
 *                       (else LB_ERR_BAD_TARGET)
 *   class_weights       NULL or cols finite non-negative values (else LB_ERR_BAD_VALUE)
 *   opts                NULL for LB_XENT_DEFAULTS. BAD_VALUE: reduction outside the
 *                       enum, label_smoothing outside [0,1] or NaN, non-finite grad_scale
 *   loss                1 value, or rows values for LB_NONE (may be NULL only for
 *                       LB_NONE with rows == 0)
 *   dlogits, ld_dlogits NULL for the loss alone (ld then unchecked); may be
 *                       logits itself (same ld) for an in-place gradient.
 * Accuracy: the log-sum-exp and the loss sums are accumulated in double
 * (f32) or in blocked double (f64); see the header preamble. */
LB_API lb_status lb_cross_entropy_sparse_f32(size_t rows, size_t cols, const float *logits,
                                             size_t ld_logits, const int64_t *targets,
                                             const float *class_weights,
                                             const lb_xent_opts *opts, float *loss,
                                             float *dlogits, size_t ld_dlogits);
LB_API lb_status lb_cross_entropy_sparse_f64(size_t rows, size_t cols, const double *logits,
                                             size_t ld_logits, const int64_t *targets,
                                             const double *class_weights,
                                             const lb_xent_opts *opts, double *loss,
                                             double *dlogits, size_t ld_dlogits);

/* Cross-entropy from logits with dense targets (one-hot or probabilities),
 * rows x cols with their own ld. As torch's cross_entropy with probability
 * targets: with q = (1 - eps) * target + eps / C the coefficients are
 * a_j = w_j * q_j, loss_i = -sum_j a_j log p_j, and LB_MEAN divides by rows
 * (not by weights). ignore_index does not apply. Targets are not validated:
 * non-finite targets give non-finite results. Other arguments, edge rows,
 * gradient and aliasing as lb_cross_entropy_sparse. */
LB_API lb_status lb_cross_entropy_dense_f32(size_t rows, size_t cols, const float *logits,
                                            size_t ld_logits, const float *targets,
                                            size_t ld_targets, const float *class_weights,
                                            const lb_xent_opts *opts, float *loss,
                                            float *dlogits, size_t ld_dlogits);
LB_API lb_status lb_cross_entropy_dense_f64(size_t rows, size_t cols, const double *logits,
                                            size_t ld_logits, const double *targets,
                                            size_t ld_targets, const double *class_weights,
                                            const lb_xent_opts *opts, double *loss,
                                            double *dlogits, size_t ld_dlogits);

/* The clip the seed notebooks use for lb_cross_entropy_probs_*. */
#define LB_PROBS_CLIP_DEFAULT 1e-7

/* Cross-entropy from probabilities (a softmax output), as the seed notebooks
 * compute it. Each probability is clipped to [clip, 1 - clip]; the row loss
 * is -sum_j t_j * log(clip(p_j)) (sparse: -log(clip(p_target))), terms with
 * t_j == 0 contributing 0. The gradient is the exact derivative of the
 * returned loss: -t_j / p_j where clip <= p_j <= 1 - clip, 0 where the clip
 * is active (and where t_j == 0). LB_MEAN divides by rows; an empty LB_MEAN
 * is NaN.
 *   probs, ld           rows x cols probabilities
 *   targets             sparse: rows indices in [0, cols) (else BAD_TARGET);
 *                       dense: rows x cols with ld_targets
 *   clip                in (0, 0.5), else LB_ERR_BAD_VALUE (LB_PROBS_CLIP_DEFAULT)
 *   reduction           LB_MEAN, LB_SUM or LB_NONE (rows values)
 *   loss                as for the logits forms
 *   dprobs, ld_dprobs   NULL for the loss alone; may be probs itself (same ld) */
LB_API lb_status lb_cross_entropy_probs_sparse_f32(size_t rows, size_t cols, const float *probs,
                                                   size_t ld, const int64_t *targets,
                                                   double clip, lb_reduction reduction,
                                                   float *loss, float *dprobs, size_t ld_dprobs);
LB_API lb_status lb_cross_entropy_probs_sparse_f64(size_t rows, size_t cols,
                                                   const double *probs, size_t ld,
                                                   const int64_t *targets, double clip,
                                                   lb_reduction reduction, double *loss,
                                                   double *dprobs, size_t ld_dprobs);
LB_API lb_status lb_cross_entropy_probs_dense_f32(size_t rows, size_t cols, const float *probs,
                                                  size_t ld, const float *targets,
                                                  size_t ld_targets, double clip,
                                                  lb_reduction reduction, float *loss,
                                                  float *dprobs, size_t ld_dprobs);
LB_API lb_status lb_cross_entropy_probs_dense_f64(size_t rows, size_t cols, const double *probs,
                                                  size_t ld, const double *targets,
                                                  size_t ld_targets, double clip,
                                                  lb_reduction reduction, double *loss,
                                                  double *dprobs, size_t ld_dprobs);

/* ------------------------------------------------------------------------ */
/* Regression losses                                                        */
/* ------------------------------------------------------------------------ */

/* Mean squared error, elementwise over rows x cols, as torch's mse_loss:
 *   e = pred - target;  LB_SUM: sum e^2;  LB_MEAN: sum e^2 / (rows*cols)
 *   (rows == 0: NaN);   LB_NONE: e^2 per element.
 *   loss      1 value, or for LB_NONE rows*cols values stored contiguously
 *             (row-major, ld = cols); may be NULL only for LB_NONE, rows == 0
 *   dpred     NULL, or d(loss)/d(pred) = 2e (/ rows*cols for LB_MEAN; LB_NONE:
 *             of the sum), with ld_dpred; may be pred itself (same ld)
 * BAD_VALUE: reduction outside the enum. */
LB_API lb_status lb_mse_f32(size_t rows, size_t cols, const float *pred, size_t ld_pred,
                            const float *target, size_t ld_target, lb_reduction reduction,
                            float *loss, float *dpred, size_t ld_dpred);
LB_API lb_status lb_mse_f64(size_t rows, size_t cols, const double *pred, size_t ld_pred,
                            const double *target, size_t ld_target, lb_reduction reduction,
                            double *loss, double *dpred, size_t ld_dpred);

/* Mean absolute error, as torch's l1_loss: |pred - target| per element,
 * reduced as lb_mse. The gradient is sign(pred - target) (0 where equal, NaN
 * where either is NaN), / rows*cols for LB_MEAN. Arguments as lb_mse. */
LB_API lb_status lb_mae_f32(size_t rows, size_t cols, const float *pred, size_t ld_pred,
                            const float *target, size_t ld_target, lb_reduction reduction,
                            float *loss, float *dpred, size_t ld_dpred);
LB_API lb_status lb_mae_f64(size_t rows, size_t cols, const double *pred, size_t ld_pred,
                            const double *target, size_t ld_target, lb_reduction reduction,
                            double *loss, double *dpred, size_t ld_dpred);

/* ------------------------------------------------------------------------ */
/* Accuracy                                                                 */
/* ------------------------------------------------------------------------ */

/* Number of rows whose first argmax of scores equals the target. Argmax as
 * numpy.argmax: ties go to the lowest index, and a NaN counts as the maximum
 * (the first NaN wins).
 *   scores, ld      rows x cols
 *   targets         rows indices; a row whose target == ignore_index is not
 *                   counted; any other index outside [0, cols) is BAD_TARGET
 *   correct         number of counted rows predicted right
 *   counted         number of rows not ignored
 * rows == 0 writes 0 to both counters. */
LB_API lb_status lb_accuracy_sparse_f32(size_t rows, size_t cols, const float *scores, size_t ld,
                                        const int64_t *targets, int64_t ignore_index,
                                        size_t *correct, size_t *counted);
LB_API lb_status lb_accuracy_sparse_f64(size_t rows, size_t cols, const double *scores,
                                        size_t ld, const int64_t *targets, int64_t ignore_index,
                                        size_t *correct, size_t *counted);
/* Dense targets: the target class of a row is the first argmax of its targets
 * row (ld_targets); every row is counted. */
LB_API lb_status lb_accuracy_dense_f32(size_t rows, size_t cols, const float *scores, size_t ld,
                                       const float *targets, size_t ld_targets, size_t *correct);
LB_API lb_status lb_accuracy_dense_f64(size_t rows, size_t cols, const double *scores,
                                       size_t ld, const double *targets, size_t ld_targets,
                                       size_t *correct);

#ifdef __cplusplus
}
#endif

#endif /* LOSSBLAS_H */
