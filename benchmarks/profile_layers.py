"""Where a training step's time goes: forward and backward of each LeNet-5 layer, and the Adam step.

    python benchmarks/profile_layers.py [--batch 32] [--reps 200] [--model lenet5] [--cols-bytes N]

One thread (OpenBLAS held to one thread), which is what each of the training workers runs on its shard of
the batch (parallel.py): at batch 64 with two workers, each worker runs batch 32. Prints one JSON line per
layer, {"layer": ..., "forward_ms": ..., "backward_ms": ...}, then the Adam step and the total, each the
median over ``reps`` steps on real MNIST images.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--model", default="lenet5")
    p.add_argument("--cols-bytes", type=int, default=None,
                   help="Conv2D's im2col block size in bytes (default: the layer's own, Conv2D.cols_bytes); "
                        "a huge value makes the whole batch one block, as before blocking")
    args = p.parse_args()
    from minadmm.data import load_mnist
    from minadmm.nn.layers import softmax_cross_entropy
    from minadmm.nn.model import build
    from minadmm.nn.optim import Adam

    X, y, _, _ = load_mnist(download=False)
    model = build(args.model, seed=0).train()
    if args.cols_bytes is not None:
        for _, layer in model.layers:
            if hasattr(layer, "cols_bytes"):
                layer.cols_bytes = args.cols_bytes
    opt = Adam(model.params, lr=1e-3)
    names = [n for n, _ in model.layers]
    fwd = {n: [] for n in names}
    bwd = {n: [] for n in names}
    adam = []
    with threadpool_limits(limits=1, user_api="blas"):
        for r in range(args.reps + 10):
            s = slice((r % 8) * args.batch, (r % 8 + 1) * args.batch)
            h = X[s]
            for n, layer in model.layers:
                t0 = time.perf_counter()
                h = layer.forward(h)
                fwd[n].append(time.perf_counter() - t0)
            _, d = softmax_cross_entropy(h, y[s])
            for n, layer in reversed(model.layers):
                t0 = time.perf_counter()
                d = layer.backward(d)
                bwd[n].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            opt.step(model.grads)
            adam.append(time.perf_counter() - t0)
    ms = lambda v: round(1e3 * statistics.median(v[10:]), 3)  # noqa: E731  (first 10: warm-up)
    total = 0.0
    for n in names:
        row = {"layer": n, "forward_ms": ms(fwd[n]), "backward_ms": ms(bwd[n])}
        total += row["forward_ms"] + row["backward_ms"]
        print(json.dumps(row))
    print(json.dumps({"layer": "adam", "step_ms": ms(adam)}))
    print(json.dumps({"total_ms": round(total + ms(adam), 3), "batch": args.batch,
                      "samples_per_s_one_thread": round(args.batch / (total + ms(adam)) * 1e3, 1)}))
    steps(model, opt, X, y, args)


def steps(model, opt, X, y, args):
    """Whole training steps as training runs them: GradientWorkers (one thread per core) on a batch of
    batch * workers, timed in phases: the shards' forward and backward in parallel, then the sum of their
    gradients and the optimizer step (both split over the threads)."""
    import minadmm.train.parallel as par
    gw = par.GradientWorkers(model)
    B = args.batch * gw.n
    phases = {"loss_and_grads": [], "optimizer_step": [], "step": []}
    for r in range(args.reps + 10):
        s = slice((r % 4) * B, (r % 4 + 1) * B)
        t0 = time.perf_counter()
        gw.loss_and_grads(X[s], y[s])
        t1 = time.perf_counter()
        gw.step(opt)
        t2 = time.perf_counter()
        phases["loss_and_grads"].append(t1 - t0)
        phases["optimizer_step"].append(t2 - t1)
        phases["step"].append(t2 - t0)
    gw.close()
    med = {k: 1e3 * statistics.median(v[10:]) for k, v in phases.items()}
    print(json.dumps({"workers": gw.n, "batch": B, **{f"{k}_ms": round(v, 3) for k, v in med.items()},
                      "samples_per_s": round(B / med["step"] * 1e3, 1)}))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
