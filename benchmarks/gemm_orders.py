"""Which operand order OpenBLAS runs fastest for each GEMM of a LeNet-5 training step.

    python benchmarks/gemm_orders.py [--batch 32] [--reps 30] [--rounds 9]

A product can be written in two orders that give the same numbers, e.g. conv2's weight gradient as
cols.T @ dy (kh*kw*C, F) or dy.T @ cols (F, kh*kw*C); OpenBLAS picks different kernels for the two, and at
these thin shapes their speeds differ by up to 20%. One thread (what each training worker runs), batch 32
(each worker's half of batch 64). Prints one JSON line per variant: {"gemm", "order", "ms", "gflops"}, the
best of ``rounds`` rounds of ``reps`` calls; every round measures every variant, so a drift of the
machine's speed hits them alike.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits


def per_call_ms(f, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) / reps * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    n = args.batch
    F, C, k, M = 50, 20, 5, n * 8 * 8  # conv2: 20 -> 50 channels, 5x5, 8x8 outputs per image
    K = C * k * k
    cols = rng.standard_normal((M, K), dtype=np.float32)  # im2col rows
    dy = rng.standard_normal((M, F), dtype=np.float32)
    Wkf = rng.standard_normal((K, F), dtype=np.float32)  # W as (kh*kw*C, F)
    Wfk = np.ascontiguousarray(Wkf.T)  # W as (F, kh*kw*C)
    x = rng.standard_normal((n, 800), dtype=np.float32)  # fc1 input
    do = rng.standard_normal((n, 500), dtype=np.float32)
    gW = np.empty((800, 500), np.float32)
    cases = [
        ("conv2 forward", "cols @ W(K,F)", lambda: cols @ Wkf, 2 * M * K * F),
        ("conv2 forward", "W(F,K) @ cols.T", lambda: Wfk @ cols.T, 2 * M * K * F),
        ("conv2 dW", "cols.T @ dy", lambda: cols.T @ dy, 2 * M * K * F),
        ("conv2 dW", "dy.T @ cols", lambda: dy.T @ cols, 2 * M * K * F),
        ("conv2 dcols", "dy @ W(K,F).T", lambda: dy @ Wkf.T, 2 * M * K * F),
        ("conv2 dcols", "dy @ W(F,K)", lambda: dy @ Wfk, 2 * M * K * F),
        ("fc1 dW", "x.T @ dout (new array)", lambda: x.T @ do, 2 * n * 800 * 500),
        ("fc1 dW", "x.T @ dout (out=)", lambda: np.matmul(x.T, do, out=gW), 2 * n * 800 * 500),
    ]
    with threadpool_limits(1):
        best = [float("inf")] * len(cases)
        for _ in range(args.rounds):  # every variant in every round, so drifts of the machine hit all alike
            for i, (_, _, f, _) in enumerate(cases):
                f()
                best[i] = min(best[i], per_call_ms(f, args.reps))
        for (gemm, order, _, flops), ms in zip(cases, best):
            print(json.dumps({"gemm": gemm, "order": order, "ms": round(ms, 3),
                              "gflops": round(flops / ms / 1e6, 1)}), flush=True)


if __name__ == "__main__":
    main()
