#!/usr/bin/env python3
"""Compact tables (and a gnuplot figure) from lossblas_bench JSON output.

Usage:
  bench/report.py RESULTS.json [MORE.json ...] [--cols 1000] [--dtype f32]
                  [--ops softmax,xent_sparse] [--plot OUT.svg]

RESULTS.json is Google Benchmark's --benchmark_out (repetitions allowed;
medians are taken over them). Extra files may come from bench/torch_peer.py
(same names, impl "torch") and are merged as another peer column.

One table per operation, dtype, thread count and class count: one row per
batch size with the median time per call of lossblas and of each peer, the
lossblas bandwidth (GB/s, bytes = the minimum the operation must move), its
fraction of memcpy bandwidth measured in the same process, and the speedup
over the best peer. Python 3 standard library only.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

NAME_RE = re.compile(
    r"^(?P<hot>hot/)?(?P<op>[a-z0-9_]+)/(?P<dtype>f32|f64)/(?P<impl>[a-z0-9_]+)"
    r"/rows:(?P<rows>\d+)/cols:(?P<cols>\d+)/nthr:(?P<nthr>\d+)")

# In-cache variants (names prefixed "hot/": one buffer set reused every call)
# are kept under the operation name with this suffix, so their table sorts
# right after the out-of-cache one.
HOT = "@hot"

# Column order of peers; anything else found is appended.
PEER_ORDER = ["onednn", "naive", "blas", "torch", "memcpy"]


args_real_time = False


def load(paths):
    """{(op, dtype, impl, rows, cols, nthr): record} with per-repetition
    lists of real time (us), bytes/s and bw_frac, or a skip/error text."""
    runs = {}
    context = {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        context.update(data.get("context", {}))
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate":
                continue
            m = NAME_RE.match(b.get("run_name", b["name"]))
            if not m:
                continue
            op = m["op"] + (HOT if m["hot"] else "")
            key = (op, m["dtype"], m["impl"], int(m["rows"]), int(m["cols"]),
                   int(m["nthr"]))
            rec = runs.setdefault(key, {"time_us": [], "bytes": [], "bw": [], "error": None})
            if b.get("error_occurred"):
                rec["error"] = b.get("error_message", "error")
                continue
            scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
            # 1 thread: CPU time (the call runs on the benchmark thread; other
            # processes' preemption does not count). More: real time.
            t = b["cpu_time"] if key[5] == 1 and not args_real_time else b["real_time"]
            rec["time_us"].append(t * scale)
            if "bytes_per_second" in b:  # Google Benchmark divides by real time
                rec["bytes"].append(b["bytes_per_second"] * b["real_time"] * scale * 1e-6)
            if "bw_frac" in b:
                rec["bw"].append(b["bw_frac"])
    return runs, context


def median(v):
    return statistics.median(v) if v else None


def fmt_time(us):
    if us is None:
        return "-"
    if us < 10:
        return f"{us:.2f}"
    if us < 1000:
        return f"{us:.1f}"
    return f"{us:.0f}"


def tables(runs, args):
    groups = defaultdict(dict)  # (op, dtype, nthr, cols) -> {rows: {impl: rec}}
    for (op, dtype, impl, rows, cols, nthr), rec in runs.items():
        if op.split(HOT)[0] == "memcpy":
            continue
        if args.cache == "cold" and op.endswith(HOT) or args.cache == "hot" and not op.endswith(HOT):
            continue
        if args.dtype and dtype != args.dtype:
            continue
        if args.cols and cols not in args.cols:
            continue
        if args.ops and op.split(HOT)[0] not in args.ops:
            continue
        groups[(op, dtype, nthr, cols)].setdefault(rows, {})[impl] = rec
    out = []
    for (op, dtype, nthr, cols) in sorted(groups):
        byrows = groups[(op, dtype, nthr, cols)]
        impls = {i for r in byrows.values() for i in r}
        if "lossblas" not in impls:
            continue
        peers = [p for p in PEER_ORDER if p in impls] + sorted(
            impls - set(PEER_ORDER) - {"lossblas"})
        # memcpy of the same shape, same threads, as a reference column
        head = ["rows", "lossblas us"] + [f"{p} us" for p in peers] + [
            "GB/s", "%bw", "speedup vs best peer"]
        rows_out = []
        notes = set()
        for rows in sorted(byrows):
            recs = byrows[rows]
            lb = recs.get("lossblas")
            lb_t = median(lb["time_us"]) if lb else None
            line = [str(rows), fmt_time(lb_t) if lb and not lb["error"] else "ERR"]
            best = None
            for p in peers:
                r = recs.get(p)
                if r is None:
                    line.append("")
                elif r["error"]:
                    line.append("skip" if r["error"].startswith("skipped") else "ERR")
                    notes.add(f"{p}: {r['error']}")
                else:
                    t = median(r["time_us"])
                    line.append(fmt_time(t))
                    if t and (best is None or t < best[1]):
                        best = (p, t)
            bps = bw = None
            if lb and lb["bytes"] and lb_t:
                bps = median(lb["bytes"]) / (lb_t * 1e-6)
                mc_op = "memcpy" + (HOT if op.endswith(HOT) else "")
                mc = runs.get((mc_op, "f32", "memcpy", rows, cols, nthr))
                if mc and mc["bytes"] and mc["time_us"]:
                    bw = bps / (median(mc["bytes"]) / (median(mc["time_us"]) * 1e-6))
                elif lb["bw"]:
                    bw = median(lb["bw"])
            line.append(f"{bps / 1e9:.1f}" if bps else "-")
            line.append(f"{100 * bw:.0f}%" if bw else "-")
            if best and lb_t:
                line.append(f"{best[1] / lb_t:.2f}x ({best[0]})")
            else:
                line.append("-")
            rows_out.append(line)
        cache = "in cache (one buffer set, reused)" if op.endswith(HOT) else "out of cache"
        title = f"{op.split(HOT)[0]}  {dtype}  cols={cols}  threads={nthr}  {cache}"
        out.append(render(title, head, rows_out, sorted(notes)))
    return "\n".join(out)


def render(title, head, rows, notes):
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = [title, "  ".join(h.rjust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    lines += [f"  note: {n}" for n in notes]
    return "\n".join(lines) + "\n"


def plot(runs, args, out_path):
    """Throughput (rows/s) vs batch size for a few operations, lossblas and
    peers, 1 and 2 threads, at the first chosen class count."""
    if not shutil.which("gnuplot"):
        print("gnuplot not found (apt-get install gnuplot-nox): no plot", file=sys.stderr)
        return
    cols = args.cols[0] if args.cols else 1000
    dtype = args.dtype or "f32"
    ops = args.ops or ["softmax", "log_softmax", "softmax_backward", "xent_sparse"]
    tmp = tempfile.mkdtemp(prefix="lbplot")
    script = []
    term = "pngcairo size 1400,1000" if out_path.endswith(".png") else \
        "svg size 1200,900 dynamic font 'sans,11'"
    script += [f"set terminal {term}", f"set output '{out_path}'",
               f"set multiplot layout 2,2 title 'lossblas {dtype}, {cols} classes: rows/s vs batch "
               f"(median; out-of-cache buffers; threads: "
               f"{','.join(map(str, args.plot_threads))})'",
               "set termoption noenhanced", "set logscale xy", "set format x '%.0s%c'", "set format y '%.0s%c'",
               "set key left top font ',9'", "set grid", "set xlabel 'batch (rows)'",
               "set ylabel 'rows / s'"]
    for op in ops[:4]:
        plots = []
        colors = {"lossblas": "#c00000", "onednn": "#0060c0", "naive": "#808080",
                  "torch": "#20a020"}
        for impl in ["lossblas", "onednn", "naive", "torch"]:
            for nthr in args.plot_threads:
                pts = []
                for (o, d, i, r, c, t), rec in runs.items():
                    if (o, d, i, c, t) == (op, dtype, impl, cols, nthr) and rec["time_us"]:
                        pts.append((r, r / (median(rec["time_us"]) * 1e-6)))
                if not pts:
                    continue
                fn = os.path.join(tmp, f"{op}_{impl}_{nthr}.dat")
                with open(fn, "w") as f:
                    for r, v in sorted(pts):
                        f.write(f"{r} {v}\n")
                dash = "" if nthr == 1 else " dt 2"
                plots.append(f"'{fn}' using 1:2 with linespoints lw 2 lc rgb '{colors[impl]}' "
                             f"title '{impl} {nthr}T'{dash}")
        if plots:
            script.append(f"set title '{op}'")
            script.append("plot " + ", ".join(plots))
    script.append("unset multiplot")
    sp = os.path.join(tmp, "plot.gp")
    with open(sp, "w") as f:
        f.write("\n".join(script) + "\n")
    subprocess.run(["gnuplot", sp], check=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"plot written to {out_path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+")
    ap.add_argument("--cols", default="", help="class counts to show (comma list; default all)")
    ap.add_argument("--dtype", default="", help="f32 or f64 (default both)")
    ap.add_argument("--ops", default="", help="operations to show (comma list; default all)")
    ap.add_argument("--cache", default="all", choices=["all", "cold", "hot"],
                    help="out-of-cache tables (cold), in-cache ones (hot), or both (default)")
    ap.add_argument("--plot", default="", help="write a throughput figure (.svg or .png)")
    ap.add_argument("--plot-threads", default="1",
                    help="thread counts to plot (comma list; default 1: 2-thread figures on a "
                         "busy 2-core machine mostly measure waiting for a core)")
    ap.add_argument("--real-time", action="store_true",
                    help="use real time for 1-thread runs too (default: CPU time)")
    args = ap.parse_args()
    global args_real_time
    args_real_time = args.real_time
    args.cols = [int(c) for c in args.cols.split(",") if c]
    args.ops = [o for o in args.ops.split(",") if o]
    args.plot_threads = [int(t) for t in args.plot_threads.split(",") if t]
    runs, context = load(args.json)
    if not runs:
        sys.exit("no lossblas_bench results in " + ", ".join(args.json))
    host = context.get("host_name", "?")
    print(f"# lossblas {context.get('lossblas_version', '?')} kernels="
          f"{context.get('lossblas_isa', '?')} suite={context.get('lossblas_suite', '?')} "
          f"host={host} cpus={context.get('num_cpus', '?')} date={context.get('date', '?')}")
    print("# times: median over repetitions of the time per call in microseconds (CPU time "
          "for 1 thread, real time for 2); GB/s: lossblas bytes (the minimum traffic: inputs "
          "read + outputs written) per second; %bw: that over the bandwidth of memcpy of a "
          "rows x cols f32 matrix, same threads, same run; speedup = best peer time / "
          "lossblas time\n")
    print(tables(runs, args))
    if args.plot:
        plot(runs, args, args.plot)


if __name__ == "__main__":
    main()
