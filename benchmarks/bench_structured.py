"""The dense LeNet-5 against a structurally pruned and shrunk one, with the same dense kernels, in one run.

    python benchmarks/bench_structured.py [--small models/lenet5-structured.npz]
        [--dense models/lenet5-relu-dense.npz] [--masked PRUNED.npz] [--reps 5]

Prints one JSON line per model and batch size:
    {"model": "dense"|"small", "batch": 256|1, "samples_per_s": ..., "macs": ..., "params": ...,
     "same_predictions_as_masked": ...}
then {"speedup_256": small/dense samples per second at batch 256, "speedup_1": ..., "macs_ratio": ...}.
Both models are minadmm's Sequential in eval mode (im2col + GEMM convolutions, GEMM dense layers): the small
one is faster only because it is smaller. Batch 256 runs the whole test set, batch 1 its first 2,000 images.
The models alternate rep by rep; the best rep is reported. With --masked (the pruned model in the dense
layout), the small model's predictions are compared with it on all 10,000 test images.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from bench_infer import run  # (samples/s, predictions) of one pass in batches
from minadmm.data import load_mnist
from minadmm.nn.model import load_model
from minadmm.sparse import dense_flops


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--small", default="models/lenet5-structured.npz")
    p.add_argument("--dense", default="models/lenet5-relu-dense.npz")
    p.add_argument("--masked", default=None, help="the pruned model before shrinking (dense layout)")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    models = {"dense": load_model(args.dense).eval(), "small": load_model(args.small).eval()}
    masked_preds = load_model(args.masked).eval().predict(load_mnist(download=False)[2]) if args.masked else None
    _, _, Xt, _ = load_mnist(download=False)
    speed = {}
    for batch, X in ((256, Xt), (1, Xt[:2000])):
        for m in models.values():  # warm-up (JIT, caches)
            m.forward(X[:batch])
        best, preds = {k: 0.0 for k in models}, {}
        for _ in range(args.reps):
            for name, m in models.items():  # interleaved
                sps, preds[name] = run(m.forward, X, batch)
                best[name] = max(best[name], sps)
        for name, m in models.items():
            same = None
            if masked_preds is not None and batch == 256:
                same = bool(np.array_equal(preds[name], masked_preds)) if name == "small" else None
            print(json.dumps({"model": name, "file": args.small if name == "small" else args.dense, "batch": batch,
                              "samples_per_s": round(best[name], 1), "macs": dense_flops(m) // 2,
                              "params": m.n_params(), "same_predictions_as_masked": same}), flush=True)
        speed[batch] = best["small"] / best["dense"]
    print(json.dumps({"speedup_256": round(speed[256], 2), "speedup_1": round(speed[1], 2),
                      "macs_ratio": round(dense_flops(models["dense"]) / dense_flops(models["small"]), 2),
                      "command": " ".join(["python benchmarks/bench_structured.py", *sys.argv[1:]])}))


if __name__ == "__main__":
    main()
