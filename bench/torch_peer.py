#!/usr/bin/env python3
"""PyTorch (CPU) as a peer: softmax, log_softmax, their backward passes and
cross-entropy at the benchmark shapes, written as Google-Benchmark-style JSON
that bench/report.py merges as the "torch" column.

  /usr/bin/python3 bench/torch_peer.py --out bench/results/torch.json
  bench/report.py bench/results/quick.json bench/results/torch.json

Needs torch (Debian: apt-get install python3-torch, then use /usr/bin/python3;
or pip). Not run in CI. Same conventions as lossblas_bench: names
op/f32/torch/rows:R/cols:C/nthr:T/real_time; inputs rotate through copies
spanning >= 96 MiB so the figures are out-of-cache; threads through
torch.set_num_threads; CPU time is the calling thread's (intra-op work runs
there with 1 thread). Each call goes through Python and allocates its output
(torch's functional API has no out= for these), which is what a PyTorch user
pays; it dominates the small shapes. A freshly allocated output is usually
memory the allocator just freed, still in cache, while lossblas_bench
rotates its outputs with its inputs: --rotate-outputs writes softmax,
log_softmax and their backward passes into rotating buffers instead (ATen's
.out variants; cross-entropy has none), the same conditions as lossblas's.
"""
import argparse
import json
import math
import platform
import time

import torch
import torch.nn.functional as F

QUICK_ROWS = [1, 64, 1024, 4096]
QUICK_COLS = [10, 1000]
FULL_ROWS = [4 ** k for k in range(9)]
FULL_COLS = [10, 100, 1000, 32768, 131072]
ROTATE_BYTES = 96 << 20


def op_table(rotate_outputs=False):
    """op -> (setup(rows, cols) -> args, call(*args), bytes(rows, cols))."""
    aten = torch.ops.aten

    def with_out(setup):
        """setup plus an output buffer per set (cloned with the inputs)."""
        def make(r, c):
            return setup(r, c) + (torch.empty(r, c),)
        return make
    def logits(r, c):
        return (torch.rand(r, c) * 8 - 4,)

    def probs_and_grad(log_form):
        def make(r, c):
            x = torch.rand(r, c) * 8 - 4
            y = F.log_softmax(x, 1) if log_form else F.softmax(x, 1)
            return y, torch.rand(r, c) * 2 - 1
        return make

    def sparse(r, c):
        return torch.rand(r, c) * 8 - 4, torch.randint(0, c, (r,))

    def dense(r, c):
        return torch.rand(r, c) * 8 - 4, F.softmax(torch.rand(r, c) * 8 - 4, 1)

    def xent_fused(x, t):
        x.requires_grad_(True)
        x.grad = None
        F.cross_entropy(x, t).backward()
        return x.grad

    def xent_loss(x, t):
        with torch.no_grad():
            return F.cross_entropy(x, t)

    f32 = 4
    if rotate_outputs:
        rowwise = {
            "softmax": (with_out(logits), lambda x, o: aten._softmax.out(x, 1, False, out=o)),
            "log_softmax": (with_out(logits),
                            lambda x, o: aten._log_softmax.out(x, 1, False, out=o)),
            "softmax_backward": (
                with_out(probs_and_grad(False)),
                lambda y, dy, o: aten._softmax_backward_data.out(dy, y, 1, y.dtype, grad_input=o)),
            "log_softmax_backward": (
                with_out(probs_and_grad(True)),
                lambda y, dy, o: aten._log_softmax_backward_data.out(dy, y, 1, y.dtype, out=o)),
        }
    else:
        rowwise = {
            "softmax": (logits, lambda x: F.softmax(x, 1)),
            "log_softmax": (logits, lambda x: F.log_softmax(x, 1)),
            "softmax_backward": (probs_and_grad(False),
                                 lambda y, dy: torch._softmax_backward_data(dy, y, 1, y.dtype)),
            "log_softmax_backward": (
                probs_and_grad(True),
                lambda y, dy: torch._log_softmax_backward_data(dy, y, 1, y.dtype)),
        }
    return {
        "softmax": rowwise["softmax"] + (lambda r, c: 2 * r * c * f32,),
        "log_softmax": rowwise["log_softmax"] + (lambda r, c: 2 * r * c * f32,),
        "softmax_backward": rowwise["softmax_backward"] + (lambda r, c: 3 * r * c * f32,),
        "log_softmax_backward": rowwise["log_softmax_backward"] + (lambda r, c: 3 * r * c * f32,),
        "xent_sparse": (sparse, xent_fused, lambda r, c: 2 * r * c * f32 + 8 * r),
        "xent_sparse_loss": (sparse, xent_loss, lambda r, c: r * c * f32 + 8 * r),
        "xent_dense": (dense, xent_fused, lambda r, c: 3 * r * c * f32),
    }


def measure(call, sets, min_time):
    """Mean real and CPU seconds per call over >= min_time."""
    n, i = 0, 0
    t0, c0 = time.perf_counter(), time.thread_time()
    while True:
        for _ in range(8):
            call(*sets[i])
            i = (i + 1) % len(sets)
        n += 8
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / n, (time.thread_time() - c0) / n, n


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--full", action="store_true", help="the full grid (default: quick)")
    ap.add_argument("--ops", default=",".join(op_table()))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--max-mib", type=int, default=1024)
    ap.add_argument("--rotate-outputs", action="store_true",
                    help="write the row-wise ops into rotating output buffers")
    args = ap.parse_args()
    rows_list = FULL_ROWS if args.full else QUICK_ROWS
    cols_list = FULL_COLS if args.full else QUICK_COLS
    table = op_table(args.rotate_outputs)
    out = []
    for op in args.ops.split(","):
        setup, call, nbytes = table[op]
        for cols in cols_list:
            for rows in rows_list:
                per_set = nbytes(rows, cols)  # the rotating outputs add to the sets' span
                if per_set > args.max_mib << 20:
                    continue
                nsets = max(1, math.ceil(ROTATE_BYTES / per_set))
                first = setup(rows, cols)
                sets = [tuple(a.clone() for a in first) for _ in range(nsets)]
                for nthr in [int(t) for t in args.threads.split(",")]:
                    torch.set_num_threads(nthr)
                    call(*sets[0])  # warm up (first-call dispatch, allocator)
                    name = f"{op}/f32/torch/rows:{rows}/cols:{cols}/nthr:{nthr}/real_time"
                    for rep in range(args.repetitions):
                        real, cpu, n = measure(call, sets, args.min_time)
                        out.append({
                            "name": name, "run_name": name, "run_type": "iteration",
                            "repetition_index": rep, "iterations": n,
                            "real_time": real * 1e6, "cpu_time": cpu * 1e6, "time_unit": "us",
                            "bytes_per_second": per_set / real, "items_per_second": rows / real,
                        })
                    print(f"{name}: {real * 1e6:.1f} us", flush=True)
                del sets
    ctx = {"host_name": platform.node(), "torch_version": torch.__version__,
           "torch_config_threads": torch.get_num_threads(),
           "rotate_outputs": args.rotate_outputs}
    with open(args.out, "w") as f:
        json.dump({"context": ctx, "benchmarks": out}, f, indent=1)
    print(f"wrote {len(out)} runs to {args.out}")


if __name__ == "__main__":
    main()
