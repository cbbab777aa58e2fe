"""Dense against sparse inference of a pruned model on the MNIST test set, in one run.

    python benchmarks/bench_infer.py [--model models/lenet5-admm-71x.npz] [--reps 3]

Prints one JSON line per implementation and batch size:
    {"impl": "dense"|"sparse", "batch": 1|256, "samples_per_s": ..., "flops": ..., "same_predictions": ...}
and a line with the model file sizes: {"dense_file_bytes": ..., "compressed_file_bytes": ...}.
"dense" is the training network in eval mode (im2col + GEMM over all weights, zeros included); "sparse" is
minadmm.sparse.compress(model) (CSR dense layers, non-zero-tap convolutions, numba). Batch 256 runs the
whole test set (10,000 images); batch 1 runs the first 2,000 images one at a time. dense and sparse
alternate rep by rep; the best rep is reported. same_predictions compares every predicted class with the
dense model's.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

from minadmm.data import load_mnist
from minadmm.nn.model import load_model, save_model
from minadmm.sparse import compress, dense_flops, save_compressed


def run(forward, X, batch):
    preds = []
    t0 = time.perf_counter()
    for i in range(0, len(X), batch):
        preds.append(forward(X[i:i + batch]).argmax(axis=1))
    return len(X) / (time.perf_counter() - t0), np.concatenate(preds)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="models/lenet5-admm-71x.npz")
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    model = load_model(args.model).eval()
    smodel = compress(model)
    _, _, Xt, _ = load_mnist(download=False)
    flops = {"dense": dense_flops(model), "sparse": smodel.flops()}
    impls = {"dense": model.forward, "sparse": smodel.forward}
    for batch, X in ((1, Xt[:2000]), (256, Xt)):
        for f in impls.values():  # warm-up (JIT, caches)
            f(X[:batch])
        best = {k: 0.0 for k in impls}
        preds = {}
        for _ in range(args.reps):
            for name, f in impls.items():  # interleaved
                sps, preds[name] = run(f, X, batch)
                best[name] = max(best[name], sps)
        for name in impls:
            print(json.dumps({"impl": name, "batch": batch, "samples_per_s": round(best[name], 1),
                              "flops": flops[name],
                              "same_predictions": bool(np.array_equal(preds[name], preds["dense"]))}), flush=True)
    with tempfile.TemporaryDirectory() as d:
        save_model(os.path.join(d, "dense.npz"), model)
        save_compressed(os.path.join(d, "sparse.npz"), smodel)
        print(json.dumps({"dense_file_bytes": os.path.getsize(os.path.join(d, "dense.npz")),
                          "compressed_file_bytes": os.path.getsize(os.path.join(d, "sparse.npz"))}))


if __name__ == "__main__":
    main()
