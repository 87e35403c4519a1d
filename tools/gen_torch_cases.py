#!/usr/bin/env python3
"""Generate tests/xent_torch_cases.h: fixed cross-entropy cases with PyTorch's answers.

Usage:  python3 tools/gen_torch_cases.py [output path]   (default tests/xent_torch_cases.h)

Needs torch (CPU is enough) and numpy; the generated header is committed, so
neither the build nor the tests need Python.

Each case holds the inputs of one lb_cross_entropy_sparse / _dense call and
the expected loss and gradient. The expected values come from
torch.nn.functional.cross_entropy evaluated in float64 on the case's inputs
after they were rounded to the case's element type (f32 cases: float32
inputs), so they are the answer the library should round to; the gradient is
autograd's, of the reduced loss (of loss.sum() for reduction 'none'),
backpropagated with gradient = grad_scale.

Where lossblas's contract differs from torch on purpose (include/lossblas.h,
"Details that are easy to get wrong" in the API contract), the header
records the contract's value, computed by spec_reference() below, and the
case's comment says why. Everywhere else the generator asserts that torch and
spec_reference() agree, so the two references check each other.
"""
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

MEAN, SUM, NONE = 0, 1, 2
RED_NAMES = {MEAN: "mean", SUM: "sum", NONE: "none"}
RED_C = {MEAN: "LB_MEAN", SUM: "LB_SUM", NONE: "LB_NONE"}


def spec_reference(logits, sparse, dense, weights, red, ignore_index, eps, grad_scale,
                   empty_mean_is_zero):
    """The lossblas contract in float64 with fsum (independent of torch).

    Row coefficients a_j = w_j ((1 - eps) t_j + eps / C), loss_i = -sum a_j log p_j
    with 0 * log 0 taken as 0, gradient (p_j sum_k a_k - a_j) * grad_scale / denominator.
    """
    rows, cols = logits.shape
    w = np.ones(cols) if weights is None else weights.astype(np.float64)
    row_loss = np.zeros(rows)
    grad = np.zeros((rows, cols))
    denominator = 0.0
    for i in range(rows):
        x = logits[i].astype(np.float64)
        if dense is not None:
            a = w * ((1 - eps) * dense[i].astype(np.float64) + eps / cols)
            denominator += 1.0
        else:
            t = int(sparse[i])
            if t == ignore_index:
                continue
            onehot = np.zeros(cols)
            onehot[t] = 1.0
            a = w * ((1 - eps) * onehot + eps / cols)
            denominator += w[t]
        if np.any(np.isnan(x)) or np.any(x == math.inf):
            row_loss[i] = math.nan
            grad[i] = math.nan
            continue
        m = np.max(x)
        if m == -math.inf:  # all -inf: p = 0
            row_loss[i] = math.fsum(math.inf for aj in a if aj != 0)
            grad[i] = -a
            continue
        e = np.exp(x - m)
        s = math.fsum(e)
        logp = (x - m) - math.log(s)
        row_loss[i] = math.fsum(-aj * lp for aj, lp in zip(a, logp) if aj != 0)
        grad[i] = e / s * math.fsum(a) - a
    if red == NONE:
        return row_loss, grad * grad_scale
    total = math.fsum(row_loss) if not np.any(np.isinf(row_loss)) else float(np.sum(row_loss))
    if red == SUM:
        return np.array([total]), grad * grad_scale
    if denominator == 0.0:
        return np.array([0.0 if empty_mean_is_zero else math.nan]), np.zeros_like(grad)
    return np.array([total / denominator]), grad * (grad_scale / denominator)


def torch_reference(logits, sparse, dense, weights, red, ignore_index, eps, grad_scale):
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    w = None if weights is None else torch.tensor(weights, dtype=torch.float64)
    if dense is not None:
        target = torch.tensor(dense, dtype=torch.float64)
        ignore_index = -100  # torch rejects ignore_index >= 0 for probability targets
    else:
        target = torch.tensor(sparse, dtype=torch.int64)
    loss = F.cross_entropy(x, target, weight=w, ignore_index=ignore_index,
                           reduction=RED_NAMES[red], label_smoothing=eps)
    loss.backward(torch.full_like(loss, grad_scale))
    return np.atleast_1d(loss.detach().numpy()).copy(), x.grad.numpy().copy()


def same(a, b, rel):
    """Elementwise equal within rel (relative to the larger magnitude, or 1e-300)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    both_inf = np.isinf(a) & np.isinf(b) & (a == b)
    finite = np.isfinite(a) & np.isfinite(b)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    close = np.zeros(a.shape, dtype=bool)
    close[finite] = np.abs(a[finite] - b[finite]) <= rel * scale[finite] + 1e-15
    return bool(np.all(both_nan | both_inf | close))


class Case:
    def __init__(self, name, dtype, logits, sparse=None, dense=None, weights=None, red=MEAN,
                 ignore_index=-100, eps=0.0, grad_scale=1.0, empty_mean_is_zero=0,
                 differs=None):
        self.name = name
        self.dtype = dtype  # np.float32 or np.float64
        self.logits = np.asarray(logits, dtype=dtype).astype(np.float64)
        self.sparse = None if sparse is None else np.asarray(sparse, dtype=np.int64)
        self.dense = None if dense is None else np.asarray(dense, dtype=dtype).astype(np.float64)
        self.weights = None if weights is None else np.asarray(weights, dtype=dtype).astype(
            np.float64)
        self.red = red
        self.ignore_index = ignore_index
        self.eps = eps
        self.grad_scale = grad_scale
        self.empty_mean_is_zero = empty_mean_is_zero
        # Why torch's answer is not the contract's, when it is not (None: it is).
        self.differs = differs

    def evaluate(self):
        args = (self.logits, self.sparse, self.dense, self.weights, self.red,
                self.ignore_index, self.eps, self.grad_scale)
        t_loss, t_grad = torch_reference(*args)
        s_loss, s_grad = spec_reference(*args, self.empty_mean_is_zero)
        agree = same(t_loss, s_loss, 1e-12) and same(t_grad, s_grad, 1e-10)
        if self.differs is None:
            if not agree:
                raise SystemExit(f"{self.name}: torch and the spec reference disagree:\n"
                                 f"torch {t_loss} {t_grad}\nspec  {s_loss} {s_grad}")
            self.loss, self.grad = t_loss, t_grad
            self.source = "torch"
        else:
            if agree:
                raise SystemExit(f"{self.name}: marked as differing from torch but agrees")
            self.loss, self.grad = s_loss, s_grad
            self.source = "spec"
            self.torch_loss = t_loss


def c_double(v):
    v = float(v)
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return repr(v)


def c_array(ctype, name, values, per_line=4):
    vals = [c_double(v) if ctype == "double" else str(int(v)) for v in np.ravel(values)]
    lines = [", ".join(vals[k:k + per_line]) for k in range(0, len(vals), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[] = {{\n    {body}\n}};\n"


def build_cases():
    rng = np.random.default_rng(20240611)
    cases = []
    for dtype, tag in ((np.float32, "f32"), (np.float64, "f64")):
        # --- random sparse cases over every option combination -------------------
        rows, cols = 6, 5
        for ignore_kind in ("none", "in_range", "default_present", "far_out", "negative"):
            for weighted in (False, True):
                for eps in (0.0, 0.1, 1.0):
                    for red in (MEAN, SUM, NONE):
                        logits = rng.normal(0, 3, (rows, cols))
                        targets = rng.integers(0, cols, rows)
                        ignore_index = -100
                        if ignore_kind == "in_range":
                            ignore_index = 1
                            targets[[0, 3]] = 1  # rows with target 1 are ignored
                        elif ignore_kind == "default_present":
                            targets[[1, 4]] = -100
                        elif ignore_kind == "far_out":
                            ignore_index = 1000
                            targets[[2]] = 1000
                        elif ignore_kind == "negative":
                            ignore_index = -5
                            targets[[0, 5]] = -5
                        weights = None
                        if weighted:
                            weights = rng.uniform(0.2, 3.0, cols)
                            weights[3] = 0.0  # a zero weight among positive ones
                        gs = [1.0, 0.5, -2.0][len(cases) % 3]
                        name = (f"{tag}_sparse_ign_{ignore_kind}_{'w' if weighted else 'now'}"
                                f"_eps{eps:g}_{RED_NAMES[red]}")
                        cases.append(Case(name, dtype, logits, sparse=targets, weights=weights,
                                          red=red, ignore_index=ignore_index, eps=eps,
                                          grad_scale=gs))
        # --- random dense (probability) targets ----------------------------------
        for weighted in (False, True):
            for eps in (0.0, 0.1, 1.0):
                for red in (MEAN, SUM, NONE):
                    logits = rng.normal(0, 3, (4, 6))
                    soft = rng.uniform(0, 1, (4, 6))
                    soft /= soft.sum(axis=1, keepdims=True)
                    soft[1] = np.eye(6)[2]  # a one-hot row among soft ones
                    soft[3] *= 1.5          # targets need not sum to 1
                    weights = rng.uniform(0.2, 3.0, 6) if weighted else None
                    name = (f"{tag}_dense_{'w' if weighted else 'now'}_eps{eps:g}_"
                            f"{RED_NAMES[red]}")
                    cases.append(Case(name, dtype, logits, dense=soft, weights=weights, red=red,
                                      eps=eps, grad_scale=0.75))

        # --- adversarial ---------------------------------------------------------
        huge = 1e4 if dtype == np.float32 else 1e300
        huge_logits = [[huge, -huge, 0.0, huge * 0.5], [-huge, -huge, -huge * 0.25, -huge],
                       [huge, huge, -huge, 1.0]]
        for red in (MEAN, SUM, NONE):
            cases.append(Case(f"{tag}_huge_logits_{RED_NAMES[red]}", dtype, huge_logits,
                              sparse=[1, 2, 0], weights=[1.0, 2.0, 0.5, 1.5], red=red,
                              eps=0.1 if dtype == np.float32 else 0.0))
        # huge f64 logits with smoothing: the contract and torch both give a huge but
        # finite loss (terms a_j * 2e300); keep it for f32 only above, f64 here with eps 0.
        cases.append(Case(f"{tag}_huge_logits_dense", dtype, huge_logits,
                          dense=[[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]], red=SUM))

        ninf = -math.inf
        # -inf on a class whose coefficient is 0 (no smoothing): fine in torch too.
        cases.append(Case(f"{tag}_neginf_zero_coef_plain", dtype,
                          [[0.5, ninf, 1.0], [ninf, 2.0, ninf]], sparse=[0, 1], red=SUM))
        # -inf with smoothing on a zero-weight class: contract 0 * -inf = 0, torch NaN.
        cases.append(Case(f"{tag}_neginf_zero_weight_smoothing", dtype,
                          [[0.5, ninf, 1.0], [0.0, 2.0, -1.0]], sparse=[0, 1],
                          weights=[1.0, 0.0, 2.0], eps=0.1, red=MEAN,
                          differs="torch multiplies the zero weight by log p = -inf (NaN); "
                                  "the contract takes 0 * -inf = 0"))
        # dense target probability 0 at a -inf logit: contract 0, torch NaN.
        cases.append(Case(f"{tag}_neginf_zero_target_prob", dtype,
                          [[0.5, ninf, 1.0], [ninf, 2.0, -1.0]],
                          dense=[[0.3, 0.0, 0.7], [0.0, 1.0, 0.0]], red=NONE,
                          differs="torch computes 0 * log p = 0 * -inf = NaN; "
                                  "the contract takes it as 0"))
        # target logit -inf: loss +inf, gradient finite (p - onehot).
        for red in (MEAN, NONE):
            cases.append(Case(f"{tag}_target_logit_neginf_{RED_NAMES[red]}", dtype,
                              [[ninf, 1.0, 2.0], [0.1, 0.2, 0.3]], sparse=[0, 2], red=red))
        # a row of all -inf: contract loss +inf and gradient -a; torch NaN.
        cases.append(Case(f"{tag}_all_neginf_row", dtype,
                          [[ninf, ninf, ninf], [0.1, 0.2, 0.3]], sparse=[1, 2], red=NONE,
                          eps=0.3, grad_scale=2.0,
                          differs="torch's log_softmax of an all -inf row is NaN; the "
                                  "contract gives p = 0, loss +inf, gradient -a"))
        # NaN and +inf logits: that row NaN in both.
        cases.append(Case(f"{tag}_nan_logit_row", dtype,
                          [[0.0, math.nan, 1.0], [0.1, 0.2, 0.3]], sparse=[0, 2], red=NONE))
        cases.append(Case(f"{tag}_posinf_logit_row", dtype,
                          [[0.0, math.inf, 1.0], [0.1, 0.2, 0.3]], sparse=[0, 2], red=NONE))
        # one class: p = 1, loss 0, gradient 0 (smoothing changes nothing).
        for eps in (0.0, 0.5):
            cases.append(Case(f"{tag}_one_class_eps{eps:g}", dtype, [[3.0], [-7.0], [0.0]],
                              sparse=[0, 0, -100], eps=eps, red=MEAN, weights=[2.5]))
        # all rows ignored: mean is the empty mean.
        all_ignored = dict(sparse=[1, 1, 1], ignore_index=1, red=MEAN, eps=0.2)
        cases.append(Case(f"{tag}_all_ignored_mean_nan", dtype, rng.normal(0, 1, (3, 4)),
                          **all_ignored))
        cases.append(Case(f"{tag}_all_ignored_mean_zero", dtype, rng.normal(0, 1, (3, 4)),
                          empty_mean_is_zero=1, **all_ignored,
                          differs="empty_mean_is_zero is lossblas's option: loss 0 "
                                  "instead of torch's NaN"))
        cases.append(Case(f"{tag}_all_ignored_sum", dtype, rng.normal(0, 1, (3, 4)),
                          sparse=[1000, 1000, 1000], ignore_index=1000, red=SUM, eps=0.2))
        # every counted row has class weight 0: mean denominator 0.
        cases.append(Case(f"{tag}_all_weights_zero_mean", dtype, rng.normal(0, 1, (3, 4)),
                          sparse=[2, 2, -100], weights=[1.0, 1.0, 0.0, 1.0], red=MEAN,
                          differs="mean denominator 0: torch gives NaN loss and NaN (or inf) "
                                  "gradient; the contract gives NaN loss and gradient 0"))
        cases.append(Case(f"{tag}_all_weights_zero_mean_smoothing", dtype,
                          rng.normal(0, 1, (3, 4)), sparse=[2, 2, 0],
                          weights=[0.0, 1.0, 0.0, 1.0], red=MEAN, eps=0.1,
                          empty_mean_is_zero=1,
                          differs="mean denominator 0: torch's nll part is 0/0 (NaN loss and "
                                  "NaN gradient); the contract gives 0 (empty_mean_is_zero) "
                                  "and gradient 0"))
        # ignore_index equal to a valid class, with smoothing and weights together.
        cases.append(Case(f"{tag}_ignore_in_range_smooth_weights", dtype,
                          rng.normal(0, 2, (5, 3)), sparse=[0, 1, 2, 1, 0], ignore_index=0,
                          weights=[0.5, 2.0, 1.0], eps=0.25, red=MEAN, grad_scale=3.0))
    return cases


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/xent_torch_cases.h"
    torch.set_num_threads(1)
    cases = build_cases()
    parts = ["/*\n * xent_torch_cases.h - GENERATED by tools/gen_torch_cases.py "
             f"(torch {torch.__version__}); do not edit.\n"
             " *\n * Cross-entropy cases with torch.nn.functional.cross_entropy's loss and\n"
             " * gradient, evaluated in float64 on inputs already rounded to the case's\n"
             " * element type. Gradient: of the reduced loss (of the sum for LB_NONE),\n"
             " * times grad_scale. Cases whose `source` is \"spec\" record the lossblas\n"
             " * contract's value where it differs from torch on purpose (see each\n"
             " * case's comment).\n */\n",
             "#ifndef XENT_TORCH_CASES_H\n#define XENT_TORCH_CASES_H\n\n"
             "#include \"lossblas.h\"\n\n#include <math.h>\n#include <stddef.h>\n"
             "#include <stdint.h>\n\n",
             "typedef struct xent_torch_case {\n"
             "    const char *name;\n"
             "    int is_f64;               /* element type of the call: 0 f32, 1 f64 */\n"
             "    size_t rows, cols;\n"
             "    const double *logits;     /* rows x cols, exact in the element type */\n"
             "    const int64_t *targets;   /* sparse targets, or NULL */\n"
             "    const double *dense;      /* rows x cols probability targets, or NULL */\n"
             "    const double *weights;    /* cols class weights, or NULL */\n"
             "    lb_reduction reduction;\n"
             "    int64_t ignore_index;\n"
             "    double label_smoothing;\n"
             "    double grad_scale;\n"
             "    int empty_mean_is_zero;\n"
             "    const double *loss;       /* rows values for LB_NONE, else 1 */\n"
             "    const double *grad;       /* rows x cols */\n"
             "    const char *source;       /* \"torch\" or \"spec\" */\n"
             "} xent_torch_case;\n\n"]
    entries = []
    for k, c in enumerate(cases):
        c.evaluate()
        p = f"c{k}_"
        if c.differs:
            torch_loss = ", ".join(c_double(v) for v in c.torch_loss)
            parts.append(f"/* {c.name}: spec value (torch's loss: {torch_loss}).\n"
                         f" * Why: {c.differs}. */\n")
        parts.append(c_array("double", p + "logits", c.logits))
        if c.sparse is not None:
            parts.append(c_array("int64_t", p + "targets", c.sparse, per_line=8))
        if c.dense is not None:
            parts.append(c_array("double", p + "dense", c.dense))
        if c.weights is not None:
            parts.append(c_array("double", p + "weights", c.weights))
        parts.append(c_array("double", p + "loss", c.loss))
        parts.append(c_array("double", p + "grad", c.grad))
        parts.append("\n")
        rows, cols = c.logits.shape
        ptr = lambda present, suffix: (p + suffix) if present else "NULL"
        entries.append(
            f"    {{\"{c.name}\", {int(c.dtype == np.float64)}, {rows}, {cols}, {p}logits, "
            f"{ptr(c.sparse is not None, 'targets')}, {ptr(c.dense is not None, 'dense')}, "
            f"{ptr(c.weights is not None, 'weights')}, {RED_C[c.red]}, {c.ignore_index}, "
            f"{c.eps!r}, {c.grad_scale!r}, {c.empty_mean_is_zero}, {p}loss, {p}grad, "
            f"\"{c.source}\"}},")
    parts.append("static const xent_torch_case xent_torch_cases[] = {\n")
    parts.append("\n".join(entries))
    parts.append("\n};\n\nstatic const size_t xent_torch_case_count =\n"
                 "    sizeof xent_torch_cases / sizeof xent_torch_cases[0];\n\n"
                 "#endif\n")
    with open(out, "w") as f:
        f.write("".join(parts))
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
