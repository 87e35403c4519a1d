/*
 * softmax_regression.c - trains a softmax-regression classifier (a linear
 * layer followed by cross-entropy) with cblas_sgemm and lossblas kernels.
 *
 *   logits = X W + b                          (cblas_sgemm)
 *   loss, dlogits = cross_entropy(logits, y)  (lb_cross_entropy_sparse_f32, one fused pass)
 *   dW = X^T dlogits, db = sum over rows      (cblas_sgemm)
 *   W -= lr dW, b -= lr db                    (plain SGD, full batch)
 *
 * By default it trains on a built-in synthetic dataset: K Gaussian blobs in
 * D dimensions. `--csv FILE` trains on a CSV file instead, one example per
 * line: the integer class label first, then the features.
 *
 * Usage: softmax_regression [--epochs N] [--lr RATE] [--csv FILE]
 * Prints one line per epoch: "epoch E loss L accuracy A".
 */
#include <lossblas.h>

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dataset {
    size_t rows, features, classes;
    float *x;         /* rows x features */
    int64_t *labels;  /* rows */
} dataset;

/* Deterministic uniform in [0, 1) (xorshift64*), so every run prints the same. */
static double uniform(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (double)((*state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static double gaussian(uint64_t *state)
{
    double u = uniform(state), v = uniform(state);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* K blobs with centres drawn from N(0, 0.5^2) per feature (about 2.8 apart)
 * and unit noise: they overlap, so learning takes epochs and tops out below
 * 100% accuracy. */
static int make_synthetic(dataset *d)
{
    d->rows = 2048;
    d->features = 16;
    d->classes = 5;
    d->x = malloc(d->rows * d->features * sizeof *d->x);
    d->labels = malloc(d->rows * sizeof *d->labels);
    float *centres = malloc(d->classes * d->features * sizeof *centres);
    if (!d->x || !d->labels || !centres) return -1;
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < d->classes * d->features; i++)
        centres[i] = (float)(0.5 * gaussian(&state));
    for (size_t i = 0; i < d->rows; i++) {
        size_t c = i % d->classes;
        d->labels[i] = (int64_t)c;
        for (size_t f = 0; f < d->features; f++)
            d->x[i * d->features + f] =
                centres[c * d->features + f] + (float)gaussian(&state);
    }
    free(centres);
    return 0;
}

/* Reads "label,f1,...,fD" lines; D is taken from the first line. */
static int load_csv(const char *path, dataset *d)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t capacity = 1024;
    char line[1 << 16];
    d->rows = d->features = d->classes = 0;
    d->x = NULL;
    d->labels = malloc(capacity * sizeof *d->labels);
    while (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        long label = strtol(p, &end, 10);
        if (end == p) continue; /* blank line or header */
        if (d->features == 0) {
            for (char *q = end; *q; q++) d->features += (*q == ',');
            d->x = malloc(capacity * d->features * sizeof *d->x);
        }
        if (d->rows == capacity) {
            capacity *= 2;
            d->labels = realloc(d->labels, capacity * sizeof *d->labels);
            d->x = realloc(d->x, capacity * d->features * sizeof *d->x);
        }
        if (label < 0 || !d->x || !d->labels) {
            fprintf(stderr, "%s: bad label or out of memory at row %zu\n", path, d->rows);
            fclose(f);
            return -1;
        }
        p = end;
        for (size_t j = 0; j < d->features; j++) {
            if (*p == ',') p++;
            d->x[d->rows * d->features + j] = strtof(p, &end);
            p = end;
        }
        d->labels[d->rows] = label;
        if ((size_t)label + 1 > d->classes) d->classes = (size_t)label + 1;
        d->rows++;
    }
    fclose(f);
    if (d->rows == 0 || d->features == 0) {
        fprintf(stderr, "%s: no data\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int epochs = 30;
    float lr = 0.2f;
    const char *csv = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--lr") == 0 && i + 1 < argc) lr = strtof(argv[++i], NULL);
        else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) csv = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--epochs N] [--lr RATE] [--csv FILE]\n", argv[0]);
            return 2;
        }
    }

    dataset d;
    if ((csv ? load_csv(csv, &d) : make_synthetic(&d)) != 0) return 1;
    const size_t n = d.rows, f = d.features, k = d.classes;
    printf("lossblas %s (%s kernels): %zu examples, %zu features, %zu classes\n",
           LB_VERSION_STRING, lb_isa(), n, f, k);

    float *w = calloc(f * k, sizeof *w), *b = calloc(k, sizeof *b);
    float *logits = malloc(n * k * sizeof *logits); /* also holds dlogits, in place */
    float *dw = malloc(f * k * sizeof *dw), *db = malloc(k * sizeof *db);
    float *ones = malloc(n * sizeof *ones);
    if (!w || !b || !logits || !dw || !db || !ones) return 1;
    for (size_t i = 0; i < n; i++) ones[i] = 1.0f;

    lb_xent_opts opts = LB_XENT_DEFAULTS; /* mean over the batch */
    for (int epoch = 1; epoch <= epochs; epoch++) {
        /* logits = 1 b^T + X W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, 1, 1.0f, ones, 1,
                    b, (int)k, 0.0f, logits, (int)k);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)f, 1.0f, d.x,
                    (int)f, w, (int)k, 1.0f, logits, (int)k);

        size_t correct, counted;
        lb_status st = lb_accuracy_sparse_f32(n, k, logits, k, d.labels, -100, &correct, &counted);
        float loss;
        if (st == LB_OK)
            st = lb_cross_entropy_sparse_f32(n, k, logits, k, d.labels, NULL, &opts, &loss,
                                             logits, k);
        if (st != LB_OK) {
            fprintf(stderr, "lossblas: %s\n", lb_status_string(st));
            return 1;
        }
        printf("epoch %d loss %.6f accuracy %.4f\n", epoch, loss,
               (double)correct / (double)counted);

        /* dW = X^T dlogits, db = dlogits^T 1 */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)f, (int)k, (int)n, 1.0f, d.x,
                    (int)f, logits, (int)k, 0.0f, dw, (int)k);
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, (int)k, 1.0f, logits, (int)k, ones, 1,
                    0.0f, db, 1);
        cblas_saxpy((int)(f * k), -lr, dw, 1, w, 1);
        cblas_saxpy((int)k, -lr, db, 1, b, 1);
    }
    free(w), free(b), free(logits), free(dw), free(db), free(ones), free(d.x), free(d.labels);
    return 0;
}
