/*
 * test_jacobian.c - lb_softmax_jacobian (direct fill) and
 * lb_softmax_jacobian_blas (rank-1 updates), FULL and PACKED, f32 and f64.
 *
 * J = diag(y) - y y^T. What is checked:
 * - the seed notebook matrices (softmax of [0.25, -1, 2.3, -0.2, 1], and of
 *   [1, 1, 1]: 2/9 on the diagonal, -1/9 off it);
 * - entry by entry against diag(y) - y y^T in long double: off the diagonal
 *   exactly the rounded product -(y_i * y_j); on it within 2u y_i of the exact
 *   y_i - y_i^2 (y_i - fl(y_i^2) loses up to u y_i^2 <= u y_i before the
 *   subtraction, then rounds once);
 * - fast path vs BLAS path and FULL vs PACKED: off-diagonal bitwise equal,
 *   diagonal within 1 ulp (one rounding of y_i - y_i^2, per the header);
 * - spectrum with LAPACKE (?syev on FULL, ?spev on PACKED): exactly
 *   symmetric, eigenvalues interlacing the sorted y (the eigenvalues of a
 *   diagonal minus a rank-one term: lambda_1 <= y_(1) <= lambda_2 <= ... <=
 *   y_(n)), so positive semi-definite and at most max y, exactly one
 *   (near-)zero eigenvalue whose eigenvector is the all-ones direction;
 * - padding of y never read, nothing written past rows * S, rows = 0, and
 *   bitwise equality across thread counts.
 */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef lb_status (*jacobian_fn)(size_t rows, size_t cols, const void *y, size_t ldy,
                                 lb_jacobian_layout layout, void *jac);
/* ?syev / ?spev on the type's arrays: eigenvalues ascending into w (doubles),
 * eigenvectors as columns of z (n x n, row-major, doubles). */
typedef int (*syev_fn)(size_t n, const void *full, double *w, double *z);
typedef int (*spev_fn)(size_t n, const void *packed, int layout, char uplo, double *w, double *z);

typedef struct jacobian_api {
    const tu_type *t;
    jacobian_fn fast, blas;
    lb_status (*softmax)(size_t, size_t, const void *, size_t, void *, size_t);
    syev_fn syev;
    spev_fn spev;
} jacobian_api;

#define JACOBIAN_WRAPPER(fn, REAL)                                                           \
    static lb_status fn##_v(size_t rows, size_t cols, const void *y, size_t ldy,           \
                            lb_jacobian_layout layout, void *jac)                          \
    {                                                                                        \
        return fn(rows, cols, (const REAL *)y, ldy, layout, (REAL *)jac);                   \
    }
JACOBIAN_WRAPPER(lb_softmax_jacobian_f32, float)
JACOBIAN_WRAPPER(lb_softmax_jacobian_f64, double)
JACOBIAN_WRAPPER(lb_softmax_jacobian_blas_f32, float)
JACOBIAN_WRAPPER(lb_softmax_jacobian_blas_f64, double)

static lb_status softmax_f32_v(size_t r, size_t c, const void *x, size_t ldx, void *y, size_t ldy)
{
    return lb_softmax_f32(r, c, x, ldx, y, ldy);
}
static lb_status softmax_f64_v(size_t r, size_t c, const void *x, size_t ldx, void *y, size_t ldy)
{
    return lb_softmax_f64(r, c, x, ldx, y, ldy);
}

#define EIGEN_WRAPPERS(REAL, P)                                                              \
    static int syev_##P(size_t n, const void *full, double *w, double *z)                    \
    {                                                                                        \
        REAL *a = malloc(n * n * sizeof *a), *wr = malloc(n * sizeof *wr);                   \
        memcpy(a, full, n * n * sizeof *a);                                                  \
        int info = LAPACKE_##P##syev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, a,           \
                                     (lapack_int)n, wr);                                     \
        for (size_t i = 0; i < n; i++) w[i] = wr[i];                                         \
        for (size_t i = 0; i < n * n; i++) z[i] = a[i];                                      \
        free(a);                                                                             \
        free(wr);                                                                            \
        return info;                                                                         \
    }                                                                                        \
    static int spev_##P(size_t n, const void *packed, int layout, char uplo, double *w,      \
                        double *z)                                                           \
    {                                                                                        \
        size_t s = n * (n + 1) / 2;                                                          \
        REAL *ap = malloc(s * sizeof *ap), *wr = malloc(n * sizeof *wr);                     \
        REAL *zr = malloc(n * n * sizeof *zr);                                               \
        memcpy(ap, packed, s * sizeof *ap);                                                  \
        int info = LAPACKE_##P##spev(layout, 'V', uplo, (lapack_int)n, ap, wr, zr,           \
                                     (lapack_int)n);                                         \
        for (size_t i = 0; i < n; i++) w[i] = wr[i];                                         \
        /* z row-major: component i of vector k at z[i*n + k] */                             \
        for (size_t i = 0; i < n; i++)                                                       \
            for (size_t k = 0; k < n; k++)                                                   \
                z[i * n + k] = layout == LAPACK_ROW_MAJOR ? zr[i * n + k] : zr[k * n + i];   \
        free(ap);                                                                            \
        free(wr);                                                                            \
        free(zr);                                                                            \
        return info;                                                                         \
    }
EIGEN_WRAPPERS(float, s)
EIGEN_WRAPPERS(double, d)

static const jacobian_api api_f32 = {&tu_type_f32, lb_softmax_jacobian_f32_v,
                                     lb_softmax_jacobian_blas_f32_v, softmax_f32_v, syev_s,
                                     spev_s};
static const jacobian_api api_f64 = {&tu_type_f64, lb_softmax_jacobian_f64_v,
                                     lb_softmax_jacobian_blas_f64_v, softmax_f64_v, syev_d,
                                     spev_d};

static size_t packed_size(size_t n) { return n * (n + 1) / 2; }
static size_t layout_size(lb_jacobian_layout layout, size_t n)
{
    return layout == LB_JACOBIAN_FULL ? n * n : packed_size(n);
}
/* Row-major upper packed: row i holds columns i..n-1. */
static size_t packed_index(size_t n, size_t i, size_t j)
{
    if (i > j) {
        size_t k = i;
        i = j;
        j = k;
    }
    return i * n - i * (i - 1) / 2 + (j - i);
}

/* Entry (i, j) of Jacobian b of a rows x n batch stored in layout. */
static double entry(const tu_type *t, const void *jac, lb_jacobian_layout layout, size_t n,
                    size_t b, size_t i, size_t j)
{
    size_t base = b * layout_size(layout, n);
    return t->get(jac, base + (layout == LB_JACOBIAN_FULL ? i * n + j : packed_index(n, i, j)));
}

static const lb_jacobian_layout layouts[2] = {LB_JACOBIAN_FULL, LB_JACOBIAN_PACKED};
static const char *layout_name(lb_jacobian_layout l) { return l == LB_JACOBIAN_FULL ? "FULL" : "PACKED"; }

/* Computes the Jacobians of rows x n y with both paths in both layouts
 * (jac[path][layout], path 0 = fast, 1 = BLAS), each in a buffer with a
 * canary tail that must survive. */
static void all_jacobians(const jacobian_api *api, size_t rows, size_t n, const void *y,
                          size_t ldy, void *jac[2][2])
{
    const tu_type *t = api->t;
    const size_t tail = 7;
    for (int path = 0; path < 2; path++) {
        for (int l = 0; l < 2; l++) {
            size_t total = rows * layout_size(layouts[l], n);
            jac[path][l] = t->canary(total + tail);
            jacobian_fn fn = path ? api->blas : api->fast;
            cr_assert_eq(fn(rows, n, y, ldy, layouts[l], jac[path][l]), LB_OK);
            cr_assert(t->untouched((char *)jac[path][l] + total * t->size, tail),
                      "%s %s %s wrote past rows*S", t->name, path ? "blas" : "fast",
                      layout_name(layouts[l]));
        }
    }
}

static void free_jacobians(void *jac[2][2])
{
    for (int p = 0; p < 2; p++)
        for (int l = 0; l < 2; l++) free(jac[p][l]);
}

/* ------------------------------------------------------------------------ */
/* Seed notebook matrices                                                   */
/* ------------------------------------------------------------------------ */

static const double seed_x[5] = {0.25, -1, 2.3, -0.2, 1};
static const double seed_jacobian[5][5] = {
    {0.07751007, -0.00205449, -0.05570253, -0.00457234, -0.01518071},
    {-0.00205449, 0.02367287, -0.01595904, -0.00131, -0.00434935},
    {-0.05570253, -0.01595904, 0.22510134, -0.0355175, -0.11792226},
    {-0.00457234, -0.00131, -0.0355175, 0.05107949, -0.00967965},
    {-0.01518071, -0.00434935, -0.11792226, -0.00967965, 0.14713197}};

static void seed_matrix(const jacobian_api *api)
{
    const tu_type *t = api->t;
    void *x = t->canary(5), *y = t->canary(5), *jac[2][2];
    for (size_t j = 0; j < 5; j++) t->set(x, j, seed_x[j]);
    cr_assert_eq(api->softmax(1, 5, x, 5, y, 5), LB_OK);
    all_jacobians(api, 1, 5, y, 5, jac);
    /* printed to 8 decimals: half a unit there, plus (f32) the rounding of
     * y (0.5 ulp of values <= 1) carried through y_i - y_i^2 */
    double tol = 5e-9 + 4 * t->unit_roundoff;
    for (int p = 0; p < 2; p++)
        for (int l = 0; l < 2; l++)
            for (size_t i = 0; i < 5; i++)
                for (size_t j = 0; j < 5; j++) {
                    double got = entry(t, jac[p][l], layouts[l], 5, 0, i, j);
                    cr_assert(fabs(got - seed_jacobian[i][j]) <= tol,
                              "%s %s %s J[%zu][%zu] = %.10f, notebook %.8f", t->name,
                              p ? "blas" : "fast", layout_name(layouts[l]), i, j, got,
                              seed_jacobian[i][j]);
                }
    free_jacobians(jac);
    free(x);
    free(y);
}

Test(jacobian_seed, notebook_matrix_f32) { seed_matrix(&api_f32); }
Test(jacobian_seed, notebook_matrix_f64) { seed_matrix(&api_f64); }

/* PyTorch notebook: softmax of [1,1,1]; every row of J is 2/9 on the
 * diagonal and -1/9 off it. */
static void uniform_matrix(const jacobian_api *api)
{
    const tu_type *t = api->t;
    void *x = t->canary(3), *y = t->canary(3), *jac[2][2];
    for (size_t j = 0; j < 3; j++) t->set(x, j, 1.0);
    cr_assert_eq(api->softmax(1, 3, x, 3, y, 3), LB_OK);
    all_jacobians(api, 1, 3, y, 3, jac);
    for (int p = 0; p < 2; p++)
        for (int l = 0; l < 2; l++)
            for (size_t i = 0; i < 3; i++)
                for (size_t j = 0; j < 3; j++) {
                    double got = entry(t, jac[p][l], layouts[l], 3, 0, i, j);
                    double expect = i == j ? 2.0 / 9 : -1.0 / 9;
                    cr_assert(t->ulp(got, expect) <= 4, "%s %s %s J[%zu][%zu] = %.17g", t->name,
                              p ? "blas" : "fast", layout_name(layouts[l]), i, j, got);
                }
    free_jacobians(jac);
    free(x);
    free(y);
}

Test(jacobian_seed, uniform_row_f32) { uniform_matrix(&api_f32); }
Test(jacobian_seed, uniform_row_f64) { uniform_matrix(&api_f64); }

/* ------------------------------------------------------------------------ */
/* Entries, paths and layouts                                               */
/* ------------------------------------------------------------------------ */

/* rows x n softmax outputs of logits in [lo, hi), ld = n + pad (padding holds
 * the canary, so a kernel reading it would produce wrong entries). */
static void *random_probabilities(const jacobian_api *api, tu_rng *rng, size_t rows, size_t n,
                                  size_t ld, double lo, double hi)
{
    const tu_type *t = api->t;
    void *x = t->canary(rows * ld), *y = t->canary(rows * ld);
    tu_fill_matrix(rng, t, x, rows, n, ld, lo, hi);
    cr_assert_eq(api->softmax(rows, n, x, ld, y, ld), LB_OK);
    free(x);
    return y;
}

static void entries_and_agreement(const jacobian_api *api)
{
    const tu_type *t = api->t;
    const double u = t->unit_roundoff;
    tu_rng rng = {61};
    const size_t col_counts[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 100, 257};
    for (size_t c = 0; c < sizeof col_counts / sizeof col_counts[0]; c++) {
        size_t n = col_counts[c], ld = n + 1 + c % 3;
        /* enough rows that the fast path is threaded (rows * S > 32768) */
        size_t rows = n >= 31 ? 65536 / (n * n) + 2 : 3;
        void *y = random_probabilities(api, &rng, rows, n, ld, -6, 6), *jac[2][2];
        all_jacobians(api, rows, n, y, ld, jac);
        for (size_t b = 0; b < rows; b++) {
            for (size_t i = 0; i < n; i++) {
                double yi = t->get(y, b * ld + i);
                for (size_t j = 0; j < n; j++) {
                    double yj = t->get(y, b * ld + j);
                    long double exact = (i == j ? (long double)yi : 0) - (long double)yi * yj;
                    double fast_full = entry(t, jac[0][0], LB_JACOBIAN_FULL, n, b, i, j);
                    for (int p = 0; p < 2; p++)
                        for (int l = 0; l < 2; l++) {
                            double got = entry(t, jac[p][l], layouts[l], n, b, i, j);
                            if (i != j) {
                                /* -(y_i y_j) rounded once; bitwise equal everywhere */
                                cr_assert(got == -t->round(yi * yj) && got == fast_full,
                                          "%s %s %s n=%zu J[%zu][%zu] = %.17g, -(y_i y_j) = %.17g",
                                          t->name, p ? "blas" : "fast", layout_name(layouts[l]), n,
                                          i, j, got, -t->round(yi * yj));
                            } else {
                                /* y_i - y_i^2 with y_i^2 rounded first (the fast
                                 * path) errs by at most u (y_i^2 + |J_ii|) = u y_i;
                                 * a BLAS kernel that fuses the update (OpenBLAS's
                                 * Cooperlake ger) by u |J_ii|. So the two paths
                                 * need not agree bit for bit on the diagonal, and
                                 * each is held to 2 u y_i (under valgrind long
                                 * double is double: `exact` errs as the fast path) */
                                cr_assert(fabsl(got - exact) <= 2 * u * yi,
                                          "%s %s %s n=%zu J[%zu][%zu] = %.17g, exact %.20Lg",
                                          t->name, p ? "blas" : "fast", layout_name(layouts[l]), n,
                                          i, i, got, exact);
                            }
                        }
                }
            }
        }
        /* the fast path's two layouts come from the same arithmetic */
        for (size_t b = 0; b < rows; b++)
            for (size_t i = 0; i < n; i++)
                cr_assert(entry(t, jac[0][1], LB_JACOBIAN_PACKED, n, b, i, i) ==
                          entry(t, jac[0][0], LB_JACOBIAN_FULL, n, b, i, i));
        free_jacobians(jac);
        free(y);
    }
}

Test(jacobian_entries, against_exact_and_between_paths_f32) { entries_and_agreement(&api_f32); }
Test(jacobian_entries, against_exact_and_between_paths_f64) { entries_and_agreement(&api_f64); }

/* Long rows: one 1000-class Jacobian per layout and path (1M entries FULL). */
static void long_row(const jacobian_api *api)
{
    const tu_type *t = api->t;
    tu_rng rng = {62};
    size_t n = 1000, ld = 1003;
    void *y = random_probabilities(api, &rng, 1, n, ld, -10, 10), *jac[2][2];
    all_jacobians(api, 1, n, y, ld, jac);
    for (size_t i = 0; i < n; i += 37)
        for (size_t j = 0; j < n; j++) {
            double yi = t->get(y, i), yj = t->get(y, j);
            for (int p = 0; p < 2; p++)
                for (int l = 0; l < 2; l++) {
                    double got = entry(t, jac[p][l], layouts[l], n, 0, i, j);
                    double expect = i == j ? yi - t->round(yi * yi) : -t->round(yi * yj);
                    cr_assert(i == j ? t->ulp(got, t->round(expect)) <= 1 : got == expect,
                              "%s n=1000 J[%zu][%zu] = %.17g", t->name, i, j, got);
                }
        }
    free_jacobians(jac);
    free(y);
}

Test(jacobian_entries, thousand_classes_f32) { long_row(&api_f32); }
Test(jacobian_entries, thousand_classes_f64) { long_row(&api_f64); }

/* One class: J = y - y^2 = 0 for y = 1. No rows: nothing touched. */
static void small_cases(const jacobian_api *api)
{
    const tu_type *t = api->t;
    void *y = t->canary(4), *jac[2][2];
    for (size_t b = 0; b < 2; b++) t->set(y, 2 * b, 1.0);
    all_jacobians(api, 2, 1, y, 2, jac);
    for (int p = 0; p < 2; p++)
        for (int l = 0; l < 2; l++)
            for (size_t b = 0; b < 2; b++) cr_assert(t->get(jac[p][l], b) == 0.0);
    free_jacobians(jac);
    for (int l = 0; l < 2; l++) {
        cr_assert_eq(api->fast(0, 5, NULL, 5, layouts[l], NULL), LB_OK);
        cr_assert_eq(api->blas(0, 5, NULL, 5, layouts[l], NULL), LB_OK);
    }
    free(y);
}

Test(jacobian_entries, one_class_and_empty_f32) { small_cases(&api_f32); }
Test(jacobian_entries, one_class_and_empty_f64) { small_cases(&api_f64); }

/* ------------------------------------------------------------------------ */
/* Spectrum with LAPACKE                                                    */
/* ------------------------------------------------------------------------ */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Checks the eigen-decomposition (w ascending, eigenvectors in z's columns)
 * of the Jacobian of probabilities y (n >= 2, all > 0). */
static void check_spectrum(const tu_type *t, const char *what, size_t n, const double *y,
                           const double *w, const double *z)
{
    double *sorted = malloc(n * sizeof *sorted), max_y = 0;
    memcpy(sorted, y, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_doubles);
    max_y = sorted[n - 1];
    /* LAPACK is backward stable (|d lambda| <= p(n) u ||J||, ||J|| <= max y);
     * the stored J also differs from the exact one by ~u y entrywise and sum y
     * differs from 1 by ~n u, which moves the zero eigenvalue by ~n u max y. */
    double tol = 8 * (double)n * t->unit_roundoff * max_y;
    cr_assert(w[0] >= -tol, "%s %s n=%zu: not PSD, min eigenvalue %.3g", t->name, what, n, w[0]);
    cr_assert(fabs(w[0]) <= tol, "%s %s n=%zu: no zero eigenvalue (%.3g)", t->name, what, n, w[0]);
    /* interlacing: y_(k) <= lambda_(k+1) <= y_(k+1); in particular exactly
     * one eigenvalue near zero (the others are >= min y) and all <= max y */
    for (size_t k = 1; k < n; k++)
        cr_assert(w[k] >= sorted[k - 1] - tol && w[k] <= sorted[k] + tol,
                  "%s %s n=%zu: eigenvalue %zu = %.9g outside [%.9g, %.9g]", t->name, what, n, k,
                  w[k], sorted[k - 1], sorted[k]);
    cr_assert(w[1] > tol, "%s %s n=%zu: second eigenvalue %.3g is also near zero", t->name, what,
              n, w[1]);
    /* eigenvector of the zero eigenvalue: +-(1, ..., 1)/sqrt(n), up to the
     * residual of ones (size tol) over the gap to the next eigenvalue */
    double sign = 0, vtol = 4 * tol / (w[1] - w[0]) + 8 * (double)n * t->unit_roundoff;
    for (size_t i = 0; i < n; i++) sign += z[i * n];
    sign = sign < 0 ? -1 : 1;
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(sign * z[i * n] - 1 / sqrt((double)n)) <= vtol,
                  "%s %s n=%zu: null vector component %zu = %.9g (tol %.2g)", t->name, what, n, i,
                  sign * z[i * n], vtol);
    free(sorted);
}

static void spectrum(const jacobian_api *api)
{
    const tu_type *t = api->t;
    tu_rng rng = {71};
    const size_t col_counts[] = {2, 3, 5, 8, 9, 17, 33, 64};
    for (size_t c = 0; c < sizeof col_counts / sizeof col_counts[0]; c++) {
        size_t n = col_counts[c], rows = 3, ld = n + 2;
        /* logits in [-1, 1]: min y >= e^-2 / n keeps the eigenvalue gaps wide */
        void *y = random_probabilities(api, &rng, rows, n, ld, -1, 1), *jac[2][2];
        all_jacobians(api, rows, n, y, ld, jac);
        double *yd = malloc(n * sizeof *yd), *w = malloc(n * sizeof *w);
        double *w2 = malloc(n * sizeof *w2), *z = malloc(n * n * sizeof *z);
        for (size_t b = 0; b < rows; b++) {
            for (size_t j = 0; j < n; j++) yd[j] = t->get(y, b * ld + j);
            for (int p = 0; p < 2; p++) {
                const char *full = (const char *)jac[p][0] + b * n * n * t->size;
                const char *packed = (const char *)jac[p][1] + b * packed_size(n) * t->size;
                /* exactly symmetric */
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < i; j++)
                        cr_assert(t->get(full, i * n + j) == t->get(full, j * n + i),
                                  "%s %s n=%zu: J[%zu][%zu] != J[%zu][%zu]", t->name,
                                  p ? "blas" : "fast", n, i, j, j, i);
                cr_assert_eq(api->syev(n, full, w, z), 0);
                check_spectrum(t, p ? "blas FULL syev" : "fast FULL syev", n, yd, w, z);
                /* row-major upper packed is column-major lower packed */
                cr_assert_eq(api->spev(n, packed, LAPACK_COL_MAJOR, 'L', w2, z), 0);
                check_spectrum(t, p ? "blas PACKED spev" : "fast PACKED spev", n, yd, w2, z);
                double tol = 8 * (double)n * t->unit_roundoff;
                for (size_t k = 0; k < n; k++)
                    cr_assert(fabs(w[k] - w2[k]) <= tol, "%s n=%zu: FULL and PACKED spectra differ",
                              t->name, n);
                /* ... and, equivalently, row-major upper packed to LAPACKE */
                cr_assert_eq(api->spev(n, packed, LAPACK_ROW_MAJOR, 'U', w2, z), 0);
                check_spectrum(t, p ? "blas PACKED spev(row-major U)" : "fast PACKED spev(row-major U)",
                               n, yd, w2, z);
            }
        }
        free(yd);
        free(w);
        free(w2);
        free(z);
        free_jacobians(jac);
        free(y);
    }
}

Test(jacobian_spectrum, lapacke_f32) { spectrum(&api_f32); }
Test(jacobian_spectrum, lapacke_f64) { spectrum(&api_f64); }

/* ------------------------------------------------------------------------ */
/* Thread counts                                                            */
/* ------------------------------------------------------------------------ */

static void thread_invariance(const jacobian_api *api)
{
    const tu_type *t = api->t;
    tu_rng rng = {81};
    size_t rows = 70, n = 33, ld = 35; /* 70 * 1089 > 32768: threaded */
    void *y = random_probabilities(api, &rng, rows, n, ld, -5, 5), *first[2][2];
    const int thread_counts[] = {1, 2, 3};
    for (int tc = 0; tc < 3; tc++) {
        lb_set_num_threads(thread_counts[tc]);
        void *jac[2][2];
        all_jacobians(api, rows, n, y, ld, jac);
        for (int p = 0; p < 2; p++)
            for (int l = 0; l < 2; l++) {
                size_t bytes = rows * layout_size(layouts[l], n) * t->size;
                if (tc == 0) {
                    first[p][l] = jac[p][l];
                    continue;
                }
                cr_assert(memcmp(first[p][l], jac[p][l], bytes) == 0,
                          "%s %s %s: %d threads differ from 1", t->name, p ? "blas" : "fast",
                          layout_name(layouts[l]), thread_counts[tc]);
                free(jac[p][l]);
            }
    }
    lb_set_num_threads(0);
    free_jacobians(first);
    free(y);
}

Test(jacobian_threads, bitwise_identical_f32) { thread_invariance(&api_f32); }
Test(jacobian_threads, bitwise_identical_f64) { thread_invariance(&api_f64); }
