"""Three probes of the 250x round that change what happens after ADMM, each a run of masked training with
distillation from models/lenet5-relu-dense-val.npz (alpha 0.5, T 4), batch 50, one JSON line per epoch:

  swa MODEL LR EPOCHS            more masked epochs at a constant lr from a pruned MODEL, with the running mean of
                                 the weights after each epoch (stochastic weight averaging, Izmailov et al. 2018)
                                 scored beside the weights themselves
  select MODEL CRITERION EPOCHS  keep the 250x counts (conv1 60, conv2 700, fc1 720, fc2 242) of MODEL's
                                 non-zeros by magnitude |w| ("magnitude") or by the OBD saliency F w^2 ("obd":
                                 F the mean squared mini-batch gradient over one pass), then masked retraining,
                                 lr 1e-3 x0.85 per epoch
  gmp MODEL PRUNE_EPOCHS EPOCHS  gradual magnitude pruning (Zhu and Gupta 2017) from MODEL's non-zeros to the
                                 250x counts: every 100 batches each layer keeps
                                 k_f + (k_0 - k_f)(1 - t/T)^3 of its largest weights, T = PRUNE_EPOCHS epochs;
                                 lr 1e-3 x0.9 per epoch

Run from the repository root, one thread (MINADMM_WORKERS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1), with
MINADMM_DATA naming the MNIST directory: python results/experiments/relu-250x-probes/probe.py swa
runs/lenet5-relu-250x/model.npz 1e-3 20 > swa-lr1e-3.log (the model of `minadmm prune --preset lenet5-relu-250x
--out runs/lenet5-relu-250x`: the ADMM chain's 250x model). The 5,000 first training images are the validation
split.
"""
import json
import sys

import numpy as np

from minadmm.data.mnist import load_mnist
from minadmm.data.split import split_validation
from minadmm.nn.distill import distillation_for
from minadmm.nn.model import load_model
from minadmm.nn.optim import Adam
from minadmm.train.epochs import run_epoch
from minadmm.train.parallel import GradientWorkers

KEEP = {"conv1": 60, "conv2": 700, "fc1": 720, "fc2": 242}
mode, path = sys.argv[1], sys.argv[2]
data, val = split_validation(load_mnist(download=False), 5000)
X, y, Xt, yt = data
model = load_model(path)
model.set_dropout(1.0)
distill = distillation_for(load_model("models/lenet5-relu-dense-val.npz"), 0.5, 4.0, X)
rng = np.random.default_rng(1)


def scores(m):
    return {"val_acc": m.accuracy(*val), "test_acc": m.accuracy(Xt, yt),
            "nonzero": int(sum((m[n].params["W"] != 0).sum() for n in KEEP))}


def emit(row):
    print(json.dumps(row), flush=True)


def keep_largest(score, W, k):
    """0/1 mask of W's shape: the k largest scores among W's non-zeros (ties: the first in C order)."""
    k = min(k, int((W != 0).sum()))
    s = np.where(W != 0, score, -np.inf).ravel()
    mask = np.zeros(W.size, W.dtype)
    mask[np.argsort(-s, kind="stable")[:k]] = 1
    return mask.reshape(W.shape)


def masks_of(m):
    return {f"{n}.W": (m[n].params["W"] != 0) for n in KEEP}


emit({"start": path, **scores(model)})
if mode == "swa":
    lr, epochs = float(sys.argv[3]), int(sys.argv[4])
    opt = Adam(model.params, lr=lr, masks=masks_of(model))
    mean = {k: np.zeros(w.shape) for k, w in model.params.items()}
    for e in range(1, epochs + 1):
        loss, train_acc = run_epoch(model, opt, X, y, 50, rng, distill=distill, workers=1)
        now = {k: w.copy() for k, w in model.params.items()}
        for k in mean:
            mean[k] += (now[k] - mean[k]) / e
        row = {"epoch": e, "train_acc": train_acc, **{f"last_{k}": v for k, v in scores(model).items()}}
        for k, w in model.params.items():
            w[...] = mean[k]
        row.update(scores(model))  # val_acc, test_acc: the mean of the weights after epochs 1..e
        for k, w in model.params.items():
            w[...] = now[k]
        emit(row)
elif mode == "select":
    criterion, epochs = sys.argv[3], int(sys.argv[4])
    if criterion == "obd":
        F = {n: np.zeros(model[n].params["W"].shape) for n in KEEP}
        model.train()
        with GradientWorkers(model, 1) as gw:
            batches = range(0, len(X), 50)
            for b in batches:
                idx = np.arange(b, min(b + 50, len(X)))
                gw.loss_and_grads(X[idx], y[idx], distill, distill.probs(idx, X[idx]))
                for n in KEEP:
                    F[n] += model.grads[f"{n}.W"].astype(np.float64) ** 2 / len(batches)
    masks = {}
    for n, k in KEEP.items():
        W = model[n].params["W"]
        score = np.abs(W) if criterion == "magnitude" else F[n] * W.astype(np.float64) ** 2
        masks[f"{n}.W"] = keep_largest(score, W, k)
        W *= masks[f"{n}.W"]
    emit({"epoch": 0, "pruned_by": criterion, **scores(model)})
    opt = Adam(model.params, lr=1e-3, masks=masks)
    for e in range(1, epochs + 1):
        opt.lr = 1e-3 * 0.85 ** (e - 1)
        loss, train_acc = run_epoch(model, opt, X, y, 50, rng, distill=distill, workers=1)
        emit({"epoch": e, "train_acc": train_acc, **scores(model)})
elif mode == "gmp":
    prune_epochs, epochs = int(sys.argv[3]), int(sys.argv[4])
    opt = Adam(model.params, lr=1e-3, masks=masks_of(model))
    k0 = {n: int((model[n].params["W"] != 0).sum()) for n in KEEP}
    T, every, t = prune_epochs * -(-len(X) // 50), 100, [0]

    def prune_step():  # runs after each batch's backward, before the optimizer step
        t[0] += 1
        if (t[0] - 1) % every or t[0] - 1 > T:
            return
        frac = min(1.0, (t[0] - 1 + every) / T)
        for n, kf in KEEP.items():
            W, key = model[n].params["W"], f"{n}.W"
            mask = keep_largest(np.abs(W), W, int(round(kf + (k0[n] - kf) * (1 - frac) ** 3)))
            opt.masks[key][...] = mask
            W *= mask
            opt.m[key] *= mask
            opt.v[key] *= mask

    for e in range(1, epochs + 1):
        opt.lr = 1e-3 * 0.9 ** (e - 1)
        loss, train_acc = run_epoch(model, opt, X, y, 50, rng, grad_hook=prune_step, distill=distill, workers=1)
        emit({"epoch": e, "train_acc": train_acc, **scores(model)})
else:
    raise SystemExit(f"mode {mode!r}: expected swa, select or gmp")
