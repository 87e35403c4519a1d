#!/usr/bin/env python3
"""Randomized comparison of lossblas's cross-entropy with PyTorch (optional tooling).

Usage:  python3 tools/check_against_torch.py path/to/liblossblas.so [--cases N] [--seed S]

Calls the eight cross-entropy functions through ctypes on random and
adversarial problems (every reduction, class weights with zeros, ignore_index
in range / out of range / negative, label smoothing 0..1, grad_scale, dense
probability targets, -inf / huge / NaN logits, all-ignored batches, padded
leading dimensions, f32 and f64) and compares loss and gradient with
torch.nn.functional.cross_entropy evaluated in float64 on the same (rounded)
inputs; the probability forms are compared with
-(t * log(clamp(p, clip, 1 - clip))).sum(1) and autograd (with the clamp's
gradient taken as 1 on the closed interval, as the contract says; torch's own
clamp backward is 0 exactly at the bounds). Where the lossblas
contract differs from torch by design (0 * log 0 = 0; an all -inf row; a zero
mean denominator; empty_mean_is_zero), torch's answer has a NaN the contract
does not, and the library is compared with the contract's own reference
(gen_torch_cases.spec_reference) instead; such cases are counted apart.

Errors reported: the plain relative loss error |got - want| / |want|, and
errors relative to the scale of the arithmetic (logits_form_scales: a loss
is a sum of terms a_j (log s - (x_j - m)) that can be far larger than the
loss; a gradient entry p_j A - a_j cancels to ~0 from terms of size A). The
pass/fail thresholds (1e-6 f32, 1e-12 f64) apply to the scaled errors; for
the probability forms scale = |want|. Non-finite values must match exactly.
Needs numpy and torch; not run in CI.
"""
import argparse
import ctypes
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_torch_cases import spec_reference  # noqa: E402  (the contract, in float64 + fsum)

MEAN, SUM, NONE = 0, 1, 2
RED_NAMES = {MEAN: "mean", SUM: "sum", NONE: "none"}


class XentOpts(ctypes.Structure):
    _fields_ = [("reduction", ctypes.c_int), ("ignore_index", ctypes.c_int64),
                ("label_smoothing", ctypes.c_double), ("grad_scale", ctypes.c_double),
                ("empty_mean_is_zero", ctypes.c_int)]


def load(path):
    lib = ctypes.CDLL(path)
    sz, p, i = ctypes.c_size_t, ctypes.c_void_p, ctypes.c_int
    for t in ("f32", "f64"):
        f = getattr(lib, f"lb_cross_entropy_sparse_{t}")
        f.argtypes = [sz, sz, p, sz, p, p, ctypes.POINTER(XentOpts), p, p, sz]
        f.restype = i
        f = getattr(lib, f"lb_cross_entropy_dense_{t}")
        f.argtypes = [sz, sz, p, sz, p, sz, p, ctypes.POINTER(XentOpts), p, p, sz]
        f.restype = i
        f = getattr(lib, f"lb_cross_entropy_probs_sparse_{t}")
        f.argtypes = [sz, sz, p, sz, p, ctypes.c_double, i, p, p, sz]
        f.restype = i
        f = getattr(lib, f"lb_cross_entropy_probs_dense_{t}")
        f.argtypes = [sz, sz, p, sz, p, sz, ctypes.c_double, i, p, p, sz]
        f.restype = i
    return lib


def padded(m, ld, dtype):
    """m (rows x cols) copied into a rows x ld buffer whose padding is NaN."""
    rows, cols = m.shape
    buf = np.full((max(rows, 1), ld), np.nan, dtype=dtype)
    buf[:rows, :cols] = m
    return buf


def ptr(a):
    return None if a is None else a.ctypes.data


def run_lib(lib, case):
    dtype = case["dtype"]
    tag = "f64" if dtype == np.float64 else "f32"
    rows, cols = case["logits"].shape
    ld = cols + case["pad"]
    x = padded(case["logits"], ld, dtype)
    g = np.full((max(rows, 1), ld), 777.0, dtype=dtype)
    nl = rows if case["red"] == NONE else 1
    loss = np.full(nl + 1, 777.0, dtype=dtype)
    if case["kind"] in ("sparse", "dense"):
        o = XentOpts(case["red"], case["ignore_index"], case["eps"], case["grad_scale"],
                     case["empty_zero"])
        w = None if case["weights"] is None else np.ascontiguousarray(case["weights"], dtype=dtype)
        if case["kind"] == "sparse":
            t = np.ascontiguousarray(case["targets"], dtype=np.int64)
            st = getattr(lib, f"lb_cross_entropy_sparse_{tag}")(
                rows, cols, ptr(x), ld, ptr(t), ptr(w), ctypes.byref(o), ptr(loss), ptr(g), ld)
        else:
            t = padded(case["dense"], ld, dtype)
            st = getattr(lib, f"lb_cross_entropy_dense_{tag}")(
                rows, cols, ptr(x), ld, ptr(t), ld, ptr(w), ctypes.byref(o), ptr(loss), ptr(g), ld)
    else:
        if case["kind"] == "probs_sparse":
            t = np.ascontiguousarray(case["targets"], dtype=np.int64)
            st = getattr(lib, f"lb_cross_entropy_probs_sparse_{tag}")(
                rows, cols, ptr(x), ld, ptr(t), case["clip"], case["red"], ptr(loss), ptr(g), ld)
        else:
            t = padded(case["dense"], ld, dtype)
            st = getattr(lib, f"lb_cross_entropy_probs_dense_{tag}")(
                rows, cols, ptr(x), ld, ptr(t), ld, case["clip"], case["red"], ptr(loss), ptr(g),
                ld)
    if st != 0:
        raise SystemExit(f"status {st} for a valid call: {describe(case)}")
    if loss[nl] != 777.0 or (rows and np.any(g[:rows, cols:] != 777.0)):
        raise SystemExit(f"wrote outside its outputs: {describe(case)}")
    return loss[:nl].astype(np.float64), g[:rows, :cols].astype(np.float64)


def torch_logits_form(case):
    x = torch.tensor(case["logits"], dtype=torch.float64, requires_grad=True)
    w = None if case["weights"] is None else torch.tensor(case["weights"], dtype=torch.float64)
    if case["kind"] == "dense":
        target, ignore = torch.tensor(case["dense"], dtype=torch.float64), -100
    else:
        target, ignore = torch.tensor(case["targets"], dtype=torch.int64), case["ignore_index"]
    loss = F.cross_entropy(x, target, weight=w, ignore_index=ignore,
                           reduction=RED_NAMES[case["red"]], label_smoothing=case["eps"])
    loss.backward(torch.full_like(loss, case["grad_scale"]))
    return np.atleast_1d(loss.detach().numpy()).copy(), x.grad.numpy().copy()


def torch_probs_form(case):
    p = torch.tensor(case["logits"], dtype=torch.float64, requires_grad=True)
    rows, cols = p.shape
    if case["kind"] == "probs_dense":
        t = torch.tensor(case["dense"], dtype=torch.float64)
    else:
        t = F.one_hot(torch.tensor(case["targets"], dtype=torch.int64), cols).to(torch.float64)
    clip = case["clip"]
    # The contract's gradient is -t/p on the closed interval [clip, 1 - clip];
    # torch.clamp's backward is 0 at the bounds themselves, so pass p through
    # where it is inside (bounds included) and a constant clamped value elsewhere.
    inside = (p >= clip) & (p <= 1.0 - clip)
    clipped = torch.where(inside, p, torch.clamp(p, clip, 1.0 - clip).detach())
    row = -(t * torch.log(clipped)).sum(1)
    loss = {MEAN: row.mean(), SUM: row.sum(), NONE: row}[case["red"]]
    loss.backward(torch.ones_like(loss))
    return np.atleast_1d(loss.detach().numpy()).copy(), p.grad.numpy().copy()


def describe(case):
    keys = ("kind", "red", "ignore_index", "eps", "grad_scale", "empty_zero", "clip", "pad")
    d = {k: case.get(k) for k in keys}
    d["dtype"] = "f64" if case["dtype"] == np.float64 else "f32"
    d["shape"] = case["logits"].shape
    d["weights"] = None if case["weights"] is None else case["weights"].tolist()
    return str(d)


def make_case(rng, dtype):
    kind = rng.choice(["sparse", "sparse", "dense", "probs_sparse", "probs_dense"])
    rows = int(rng.choice([1, 2, 3, 5, 8, 17, 64]))
    cols = int(rng.choice([1, 2, 3, 7, 8, 9, 16, 17, 33, 100, 1000]))
    case = {"kind": kind, "dtype": dtype, "red": int(rng.integers(0, 3)),
            "pad": int(rng.choice([0, 0, 1, 5])), "weights": None, "targets": None,
            "dense": None, "ignore_index": -100, "eps": 0.0, "grad_scale": 1.0,
            "empty_zero": 0, "clip": 1e-7}
    if kind.startswith("probs"):
        logits = rng.normal(0, 2, (rows, cols))
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        # adversarial: exact 0, 1 and the clip bounds
        case["clip"] = float(rng.choice([1e-7, 1e-3, 0.125, 0.25]))
        mask = rng.random(p.shape)
        p[mask < 0.05] = 0.0
        p[(mask >= 0.05) & (mask < 0.08)] = 1.0
        p[(mask >= 0.08) & (mask < 0.10)] = case["clip"]
        case["logits"] = p.astype(dtype).astype(np.float64)
    else:
        scale = float(rng.choice([1.0, 5.0, 30.0]))
        logits = rng.normal(0, scale, (rows, cols))
        u = rng.random(logits.shape)
        huge = 1e4 if dtype == np.float32 else 1e300
        if rng.random() < 0.15:
            logits[u < 0.1] = -math.inf
        if rng.random() < 0.1:
            logits[(u > 0.9)] = huge * rng.choice([-1, 1])
        if rng.random() < 0.03:
            logits[int(rng.integers(0, rows))] = -math.inf  # a whole row of -inf
        if rng.random() < 0.02:
            logits[int(rng.integers(0, rows)), int(rng.integers(0, cols))] = math.nan
        case["logits"] = logits.astype(dtype).astype(np.float64)
        case["eps"] = float(rng.choice([0.0, 0.0, 0.1, 1.0, rng.random()]))
        case["grad_scale"] = float(rng.choice([1.0, -0.5, 3.0, 1e-3]))
        case["empty_zero"] = int(rng.random() < 0.3)
        if rng.random() < 0.5:
            w = rng.uniform(0.0, 3.0, cols)
            w[rng.random(cols) < 0.2] = 0.0
            if rng.random() < 0.05:
                w[:] = 0.0
            case["weights"] = w.astype(dtype).astype(np.float64)
    if kind in ("sparse", "probs_sparse"):
        targets = rng.integers(0, cols, rows)
        if kind == "sparse":
            ign = int(rng.choice([-100, 0, cols - 1, 1000, -1, -(2 ** 63)]))
            case["ignore_index"] = ign
            drop = rng.random(rows) < float(rng.choice([0.0, 0.2, 1.0]))
            targets[drop] = ign
        case["targets"] = targets
    else:
        t = rng.random((rows, cols))
        t[rng.random((rows, cols)) < 0.3] = 0.0
        if rng.random() < 0.5:
            t /= np.maximum(t.sum(1, keepdims=True), 1e-300)
        case["dense"] = t.astype(dtype).astype(np.float64)
    return case


def logits_form_scales(case):
    """Error scales of the logits forms, from the contract's arithmetic.

    Loss: each row is sum_j a_j (log s - (x_j - m)), so the size of its
    rounding is set by cond_i = sum_{a_j != 0} a_j (1 + |x_j - m| + log s), not
    by the loss itself (which can be ~1e-14 when one class dominates: log s with
    s ~ 1 + 1e-14; torch computes it the same way). Gradient: entry j of row i
    is (p_j A_i - a_j) * gm, so its scale is A_i |gm| (gm = grad_scale, / the
    mean's denominator). Returns (per-output loss scale, per-element grad scale).
    """
    x = case["logits"]
    rows, cols = x.shape
    w = np.ones(cols) if case["weights"] is None else case["weights"]
    eps = case["eps"]
    cond = np.zeros(rows)
    coef_sum = np.zeros(rows)
    denominator = 0.0
    for i in range(rows):
        if case["kind"] == "dense":
            a = w * ((1 - eps) * case["dense"][i] + eps / cols)
            denominator += 1
        else:
            t = int(case["targets"][i])
            if t == case["ignore_index"]:
                continue
            a = w * ((1 - eps) * (np.arange(cols) == t) + eps / cols)
            denominator += w[t]
        coef_sum[i] = a.sum()
        finite = x[i][np.isfinite(x[i])]
        if finite.size == 0:
            continue
        m = finite.max()
        with np.errstate(over="ignore", invalid="ignore"):
            d = np.abs(np.where(np.isfinite(x[i]), x[i] - m, 0.0))
            log_s = math.log(np.sum(np.exp(-d)))
            cond[i] = np.sum(np.where(a != 0, a * (1 + d + log_s), 0.0))
    gm = abs(case["grad_scale"])
    if case["red"] == MEAN:
        gm = gm / denominator if denominator else 0.0
        loss_scale = np.array([cond.sum() / denominator if denominator else 1.0])
    elif case["red"] == SUM:
        loss_scale = np.array([cond.sum()])
    else:
        loss_scale = cond
    grad_scale = np.repeat(coef_sum * gm, cols).reshape(rows, cols)
    return np.maximum(loss_scale, 1e-300), np.maximum(grad_scale, 1e-300)


def errors(got, want, finite_scale):
    """(special mismatch?, max abs err, max err / scale); finite_scale: array like want."""
    bad_special = False
    abs_err = rel_err = 0.0
    for g, w, sc in zip(np.ravel(got), np.ravel(want), np.ravel(finite_scale)):
        if not math.isfinite(w) or not math.isfinite(g):
            if not (math.isnan(w) and math.isnan(g)) and g != w:
                bad_special = True
            continue
        d = abs(g - w)
        abs_err = max(abs_err, d)
        rel_err = max(rel_err, d / max(sc, 1e-300))
    return bad_special, abs_err, rel_err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("library")
    ap.add_argument("--cases", type=int, default=4000, help="cases per element type")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    lib = load(args.library)
    rng = np.random.default_rng(args.seed)
    limits = {np.float32: (1e-6, 1e-6), np.float64: (1e-12, 1e-12)}
    failures = 0
    for dtype in (np.float32, np.float64):
        tag = "f32" if dtype == np.float32 else "f64"
        stats = {}
        spec_count = 0
        for _ in range(args.cases):
            case = make_case(rng, dtype)
            got_loss, got_grad = run_lib(lib, case)
            if case["kind"].startswith("probs"):
                want_loss, want_grad = torch_probs_form(case)
                source = "torch"
            else:
                want_loss, want_grad = torch_logits_form(case)
                spec_loss, spec_grad = spec_reference(
                    case["logits"], case["targets"], case["dense"], case["weights"], case["red"],
                    case["ignore_index"], case["eps"], case["grad_scale"], case["empty_zero"])
                torch_nan = np.isnan(want_loss).any() or np.isnan(want_grad).any()
                spec_nan = np.isnan(spec_loss).any() or np.isnan(spec_grad).any()
                source = "torch"
                if (torch_nan and not spec_nan) or (
                        np.isnan(want_grad).sum() != np.isnan(spec_grad).sum()) or (
                        case["empty_zero"] and case["red"] == MEAN and np.isnan(want_loss).any()):
                    # a by-design difference: judge by the contract
                    want_loss, want_grad, source = spec_loss, spec_grad, "spec"
                    spec_count += 1
            pure_rel = errors(got_loss, want_loss, np.abs(want_loss))[2]
            if case["kind"].startswith("probs"):
                # every term -t log(clip(p)) >= 0 and each gradient entry is one
                # quotient: plain relative errors
                loss_scale, grad_scale = np.abs(want_loss), np.abs(want_grad)
            else:
                loss_scale, grad_scale = logits_form_scales(case)
            bad_l, abs_l, rel_l = errors(got_loss, want_loss, loss_scale)
            bad_g, abs_g, rel_g = errors(got_grad, want_grad, grad_scale)
            key = case["kind"]
            s = stats.setdefault(key, {"n": 0, "loss_abs": 0.0, "loss_rel": 0.0, "grad_abs": 0.0,
                                       "grad_rel": 0.0, "worst": None, "pure_rel": 0.0})
            s["n"] += 1
            s["pure_rel"] = max(s["pure_rel"], pure_rel)
            s["loss_abs"] = max(s["loss_abs"], abs_l)
            s["grad_abs"] = max(s["grad_abs"], abs_g)
            if rel_l > s["loss_rel"]:
                s["loss_rel"] = rel_l
                s["worst"] = (describe(case), source, got_loss[:3], want_loss[:3])
            s["grad_rel"] = max(s["grad_rel"], rel_g)
            lim_l, lim_g = limits[dtype]
            if bad_l or bad_g or rel_l > lim_l or rel_g > lim_g:
                failures += 1
                if failures <= 10:
                    print(f"MISMATCH ({source}) {describe(case)}\n  loss {got_loss[:4]} want "
                          f"{want_loss[:4]} rel {rel_l:.3g}; grad rel {rel_g:.3g}"
                          f"{' special-value mismatch' if bad_l or bad_g else ''}")
        print(f"== {tag}: {args.cases} cases ({spec_count} judged by the contract where torch "
              f"gives NaN by design)")
        for key, s in sorted(stats.items()):
            print(f"  {key:13s} n={s['n']:5d}  loss: max abs {s['loss_abs']:.3g}, rel "
                  f"{s['pure_rel']:.3g}, rel to scale {s['loss_rel']:.3g};  grad: max abs "
                  f"{s['grad_abs']:.3g}, rel to scale {s['grad_rel']:.3g}")
        for key, s in sorted(stats.items()):
            if s["worst"] and s["loss_rel"] > limits[dtype][0]:
                print(f"  worst {key} loss: {s['worst']}")
    print(f"failures (beyond 1e-6 f32 / 1e-12 f64, or special-value mismatch): {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
