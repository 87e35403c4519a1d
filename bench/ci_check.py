#!/usr/bin/env python3
"""Performance regression check for CI: ratios, not absolute times.

Runs a short subset of lossblas_bench (LB_BENCH_SUITE=ci: f32, 1024 x 1000,
1 and 2 threads) with repetitions interleaved in random order, and turns
each repetition into ratios measured in the same round of the same run:

  lossblas / peer    (naive C loop, oneDNN, the BLAS Jacobian path)
  lossblas / memcpy  (a copy of the same matrix, same threads)

Times are CPU times for 1 thread (the call runs on the benchmark thread, so
preemption by other processes does not count) and real times otherwise.

A ratio is machine-relative, so a committed baseline (bench/baseline.json)
stays meaningful on another machine of the same kind and under moderate
load. A ratio is worse when BOTH
  - its median is worse than the baseline's by more than --threshold
    (default 0.40, i.e. 40 %: this shared VM moved single ratios by 31 %
    without any change; an injected 2x slowdown moves them by 70-100 %), and
  - a two-sided Mann-Whitney U test of the per-repetition ratios against
    the baseline's rejects "same distribution" at --alpha (default 0.01);
and an operation regresses when more than half of its ratios are worse (a
slower lossblas moves all of them; a peer that changed speed only its own).
So every operation that has a memcpy ratio also has a peer doing the same
kind of memory traffic (the naive loop): a memcpy ratio alone moves with the
machine's balance of reads and writes (probs_sparse, a write stream, moved
by 49-68 % against memcpy on an unchanged build, never against its loop).
A flagged operation is measured again (fresh interleaved repetitions) and
fails only if it regresses in that confirmation round too.
Only 1-thread ratios gate by default (--gate-threads): on a shared 2-core
machine a 2-thread parallel region waits for a free core, so 2-thread
ratios are shown for information.
A baseline recorded on another processor model or kernel set gates nothing
(the ratios are shown; --gate-anyway overrides).
The exit status is 1 on a regression, 0 otherwise (improvements, new or
missing metrics are reported, never fatal), 2 on a usage or run error.

  bench/ci_check.py --bench build/bench/lossblas_bench
  bench/ci_check.py --bench ... --update-baseline       # refresh the baseline
Python 3 standard library only.
"""
import argparse
import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OPS = ("softmax,log_softmax,softmax_backward,log_softmax_backward,jacobian_full,"
               "jacobian_packed,xent_sparse,xent_dense,probs_sparse,mse,mae,accuracy_sparse,"
               "memcpy")
NAME_RE = re.compile(r"^(?P<op>[a-z0-9_]+)/(?P<dtype>f32|f64)/(?P<impl>[a-z0-9_]+)"
                     r"/(?P<shape>rows:\d+/cols:\d+/nthr:\d+)")


def run_bench(binary, ops, reps, min_time, extra_env):
    env = dict(os.environ)
    env.update({"LB_BENCH_SUITE": "ci", "LB_BENCH_OPS": ops, "LB_BENCH_JAC_MAX_MIB": "16"})
    env.update(extra_env)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [binary, f"--benchmark_min_time={min_time}", f"--benchmark_repetitions={reps}",
           "--benchmark_enable_random_interleaving=true", f"--benchmark_out={out}",
           "--benchmark_out_format=json"]
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"ci_check: {binary} exited with {r.returncode}")
    with open(out) as f:
        data = json.load(f)
    os.unlink(out)
    return data


def ratio_samples(data):
    """{metric: [ratio per repetition]} from one run's JSON."""
    times = defaultdict(dict)  # (op, dtype, shape) -> impl -> {rep: time}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        m = NAME_RE.match(b["run_name"])
        if not m:
            continue
        # One thread: the whole call runs on the benchmark thread, so its CPU
        # time is the work itself, immune to preemption by other processes.
        # More threads: wall time (the CPU time covers the main thread only).
        t = b["cpu_time"] if m["shape"].endswith("nthr:1") else b["real_time"]
        times[(m["op"], m["dtype"], m["shape"])].setdefault(m["impl"], {})[
            b.get("repetition_index", 0)] = t
    metrics = {}
    for (op, dtype, shape), impls in times.items():
        lb = impls.get("lossblas")
        if not lb:
            continue
        refs = {p: t for p, t in impls.items() if p != "lossblas"}
        mc = times.get(("memcpy", "f32", shape), {}).get("memcpy")
        if mc and dtype == "f32":
            refs["memcpy"] = mc
        for peer, pt in sorted(refs.items()):
            reps = sorted(set(lb) & set(pt))
            if len(reps) >= 3:
                metrics[f"{op}/{dtype}/{shape} lossblas/{peer}"] = [
                    lb[k] / pt[k] for k in reps]
    return metrics


def mann_whitney_p(a, b):
    """Two-sided p-value of the Mann-Whitney U test (normal approximation
    with tie and continuity corrections, as scipy's default for n > 8)."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    mu = n1 * n2 / 2
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u1 - mu) - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(max(z, 0) / math.sqrt(2)))


def machine():
    info = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in ("Model name", "CPU(s)", "L3 cache"):
                info[k.strip()] = v.strip()
    except OSError:
        pass
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="path to lossblas_bench")
    ap.add_argument("--baseline", default=os.path.join(HERE, "baseline.json"))
    ap.add_argument("--update-baseline", action="store_true",
                    help="write the measured ratios as the new baseline and exit 0")
    ap.add_argument("--ops", default=DEFAULT_OPS, help="operations (comma list)")
    ap.add_argument("--repetitions", type=int, default=9)
    ap.add_argument("--min-time", type=float, default=0.02)
    ap.add_argument("--threshold", type=float, default=0.40,
                    help="relative worsening of the median ratio that counts (0.40 = 40%%)")
    ap.add_argument("--alpha", type=float, default=0.01, help="significance level")
    ap.add_argument("--gate-threads", default="1",
                    help="thread counts whose regressions fail the check (comma list); the "
                         "others are reported as info. Two threads on a shared 2-core machine "
                         "wait for a free core at every parallel region, so by default only "
                         "1-thread ratios gate")
    ap.add_argument("--gate-anyway", action="store_true",
                    help="gate even when the baseline comes from another processor model or "
                         "kernel set")
    ap.add_argument("--inject-slowdown", type=int, default=0,
                    help="run lossblas kernels N times per iteration (self-test)")
    args = ap.parse_args()

    env = {}
    if args.inject_slowdown > 1:
        env["LB_BENCH_INJECT_SLOWDOWN"] = str(args.inject_slowdown)
    data = run_bench(args.bench, args.ops, args.repetitions, args.min_time, env)
    current = ratio_samples(data)
    if not current:
        print("ci_check: the run produced no ratios", file=sys.stderr)
        return 2
    ctx = data.get("context", {})

    if args.update_baseline:
        base = {
            "about": "lossblas performance baseline: per-repetition ratios lossblas/peer and "
                     "lossblas/memcpy (real time), written by bench/ci_check.py "
                     "--update-baseline",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
            "machine": machine(),
            "lossblas": {k: ctx.get("lossblas_" + k) for k in ("version", "isa")},
            "settings": {"ops": args.ops, "repetitions": args.repetitions,
                         "min_time": args.min_time, "suite": "ci"},
            "metrics": {k: {"median": round(statistics.median(v), 5),
                            "samples": [round(x, 5) for x in v]}
                        for k, v in sorted(current.items())},
        }
        with open(args.baseline, "w") as f:
            json.dump(base, f, indent=1)
            f.write("\n")
        print(f"ci_check: baseline with {len(current)} ratios written to {args.baseline}")
        return 0

    try:
        with open(args.baseline) as f:
            baseline = json.load(f)
        base = baseline["metrics"]
    except (OSError, ValueError, KeyError) as e:
        print(f"ci_check: cannot read baseline {args.baseline}: {e}", file=sys.stderr)
        return 2
    # Ratios are comparable only on the processor model and kernel set they
    # were recorded with: a peer's speed relative to lossblas differs by
    # vendor (oneDNN's softmax backward took 13x lossblas's time on the AMD
    # Zen 3 VM, about 1x on an Intel Sapphire Rapids one) and by ISA.
    # Elsewhere the ratios are shown but gate nothing.
    here_id = {"Model name": machine().get("Model name"), "isa": ctx.get("lossblas_isa")}
    base_id = {"Model name": baseline.get("machine", {}).get("Model name"),
               "isa": baseline.get("lossblas", {}).get("isa")}
    if here_id != base_id and not args.gate_anyway:
        args.gate_threads = ""
        print(f"ci_check: the baseline was recorded on {base_id}, this run is {here_id}: "
              "ratios shown for information, none gates (refresh the baseline on this "
              "machine with --update-baseline, or pass --gate-anyway)")

    selected = set(args.ops.split(","))
    base = {k: v for k, v in base.items() if k.split("/")[0] in selected}
    rows, regressions = compare(base, current, args)
    if regressions:
        # Confirmation round: a one-off disturbance (another process, a
        # frequency change) can move one operation's ratios for a whole run.
        # Measure the flagged operations again, with fresh interleaved
        # repetitions, and keep only what regresses twice.
        flagged = sorted({k.split("/")[0] for k in regressions})
        print_table(rows, args, ctx)
        print(f"ci_check: {', '.join(flagged)} flagged; measuring again to confirm")
        again = ratio_samples(run_bench(args.bench, ",".join(flagged + ["memcpy"]),
                                        args.repetitions, args.min_time, env))
        sub_base = {k: v for k, v in base.items() if k.split("/")[0] in flagged}
        sub_current = {k: v for k, v in again.items() if k.split("/")[0] in flagged}
        confirm_rows, confirmed = compare(sub_base, sub_current, args)
        confirmed = [k for k in confirmed if k in regressions]
        rows = [r for r in rows if r[0].split("/")[0] not in flagged] + confirm_rows
        for r in rows:
            if r[5] == "REGRESSION" and r[0] not in confirmed:
                r[5] = "not confirmed"
        regressions = confirmed
        print("confirmation round:")
    print_table(rows, args, ctx)
    ok = sum(1 for r in rows if r[5] != "REGRESSION" and r[5] not in ("new", "missing"))
    print(f"perf: {ok} passed, {len(regressions)} failed")
    if regressions:
        print("ci_check: REGRESSION in " + ", ".join(regressions))
        return 1
    return 0


def compare(base, current, args):
    """Rows [metric, baseline, now, change, p, verdict] and the confirmed
    regressions (metrics of operations most of whose ratios are worse)."""
    # First each ratio on its own, then per operation: a slower lossblas makes
    # all its ratios worse, a peer that changed speed (oneDNN switches
    # between kernels, for one) moves only its own ratio. So a regression is
    # confirmed only when more than half of an operation's ratios regress.
    worse = {}
    rows = []
    for key in sorted(set(base) | set(current)):
        if key not in current:
            rows.append([key, f"{base[key]['median']:.3f}", "-", "", "", "missing"])
            continue
        cur = current[key]
        cmed = statistics.median(cur)
        if key not in base:
            rows.append([key, "-", f"{cmed:.3f}", "", "", "new"])
            continue
        bmed = base[key]["median"]
        change = cmed / bmed - 1
        p = mann_whitney_p(base[key]["samples"], cur)
        gated = re.search(r"/nthr:(\d+) ", key + " ").group(1) in args.gate_threads.split(",")
        if change > args.threshold and p < args.alpha:
            verdict = "worse" if gated else "slower (info)"
        elif change < -args.threshold and p < args.alpha:
            verdict = "improved"
        else:
            verdict = "ok"
        group = key.split(" ")[0]
        worse.setdefault(group, [0, 0])
        worse[group][1] += 1
        worse[group][0] += verdict == "worse"
        rows.append([key, f"{bmed:.3f}", f"{cmed:.3f}", f"{100 * change:+.0f}%", f"{p:.4f}",
                     verdict])
    regressions = []
    for r in rows:
        if r[5] == "worse":
            n_worse, n_all = worse[r[0].split(" ")[0]]
            if 2 * n_worse > n_all:
                r[5] = "REGRESSION"
                regressions.append(r[0])
            else:
                r[5] = f"peer moved ({n_worse}/{n_all})"
    return rows, regressions


def print_table(rows, args, ctx):
    head = ("metric (ratio of times; lower = lossblas faster)", "baseline", "now", "change",
            "p (MWU)", "verdict")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print(f"lossblas perf check: {args.repetitions} interleaved repetitions, "
          f"regression = median ratio worse by > {100 * args.threshold:.0f}% and p < {args.alpha}"
          f" (kernels {ctx.get('lossblas_isa')}, injected slowdown x"
          f"{ctx.get('lossblas_injected_slowdown')})")
    print("times: CPU time for 1 thread, real time for more")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in
                    enumerate(zip(head, widths))))
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                        enumerate(zip(r, widths))))


if __name__ == "__main__":
    sys.exit(main())
