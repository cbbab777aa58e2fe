"""Training throughput of LeNet-5: minadmm against PyTorch's CPU build, interleaved in one run.

    python benchmarks/bench_train.py [--batches 64 256] [--steps 150] [--reps 3]

Prints one JSON line per implementation and batch size:
    {"impl": "minadmm"|"torch", "batch": 64, "samples_per_s": ..., "peak_rss_mb": ..., "gemm_fraction": ...}
and one line {"impl": "numpy_gemm", "gflops": ...}: the float32 GEMM rate of this machine measured with NumPy
in the same run. gemm_fraction = samples_per_s * 13.2 MFLOP / GEMM rate (LeNet-5 training costs about
13.2 MFLOP per sample: forward 4.6 MFLOP, backward twice that).

Each measurement runs in a fresh subprocess (so peak RSS is that implementation's own, and numba/OpenBLAS
threads never share a process with PyTorch's), alternating minadmm and torch rep by rep; the median of the
reps is reported. Both train the same architecture (the paper's LeNet-5: no ReLU after the convolutions,
dropout 0.5) with Adam lr 1e-3 on the same real MNIST images, in float32. PyTorch is optional: without it
only minadmm is timed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

FLOP_PER_SAMPLE = 13.2e6


def worker(impl, batch, steps):
    from minadmm.data import load_mnist
    X, y, _, _ = load_mnist(download=False)
    n = batch * 8
    X, y = X[:n], y[:n]
    if impl == "minadmm":
        from minadmm.nn.model import lenet5
        from minadmm.nn.optim import Adam
        from minadmm.train.parallel import GradientWorkers
        model = lenet5()
        opt = Adam(model.params, lr=1e-3)
        gw = GradientWorkers(model)  # what training uses: one thread per core ($MINADMM_WORKERS)

        def step(i):
            s = slice((i % 8) * batch, (i % 8 + 1) * batch)
            gw.loss_and_grads(X[s], y[s])
            gw.step(opt)
    else:
        import torch
        import torch.nn as nn
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Dropout(0.5), nn.Linear(500, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def step(i):
            s = slice((i % 8) * batch, (i % 8 + 1) * batch)
            opt.zero_grad()
            nn.functional.cross_entropy(model(Xt[s]), yt[s]).backward()
            opt.step()
    for i in range(10):  # warm-up: JIT compile, caches, allocator
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"samples_per_s": steps * batch / seconds, "peak_rss_mb": peak}))


def gemm_gflops(n=2048, reps=5):
    import numpy as np
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.copy()
    a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        impl, batch, steps = args.worker
        return worker(impl, int(batch), int(steps))
    try:
        import torch  # noqa: F401
        impls = ["minadmm", "torch"]
    except ImportError:
        impls = ["minadmm"]
        print("# PyTorch not importable: timing minadmm only", file=sys.stderr)
    gflops = gemm_gflops()
    print(json.dumps({"impl": "numpy_gemm", "gflops": round(gflops, 1)}), flush=True)
    for batch in args.batches:
        steps = max(20, args.steps * 64 // batch)
        runs = {i: [] for i in impls}
        for _ in range(args.reps):
            for impl in impls:  # interleaved
                r = subprocess.run([sys.executable, __file__, "--worker", impl, str(batch), str(steps)],
                                   capture_output=True, text=True, env=os.environ)
                if r.returncode:
                    raise SystemExit(f"{impl} worker failed:\n{r.stderr}")
                runs[impl].append(json.loads(r.stdout.strip().splitlines()[-1]))
        for impl in impls:
            sps = statistics.median(r["samples_per_s"] for r in runs[impl])
            print(json.dumps({"impl": impl, "batch": batch, "samples_per_s": round(sps, 1),
                              "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs[impl]), 1),
                              "gemm_fraction": round(sps * FLOP_PER_SAMPLE / (gflops * 1e9), 3),
                              "reps": [round(r["samples_per_s"]) for r in runs[impl]]}), flush=True)


if __name__ == "__main__":
    main()
