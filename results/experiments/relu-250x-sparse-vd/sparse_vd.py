"""Sparse variational dropout (Molchanov, Ashukha and Vetrov, ICML 2017) on lenet5_relu, then one cut to the
250x count and masked retraining: a probe of another training objective beside the ADMM chain.

Each conv/fc weight w has a mean theta and a variance sigma^2 (additive reparameterisation), log alpha =
log sigma^2 - log theta^2. In training a layer's output is sampled by the local reparameterisation trick,

    y = inner(x; theta, b) + sqrt(inner(x^2; sigma^2, 0) + 1e-8) * eps,   eps ~ N(0, 1) per output entry,

(inner: the layer's convolution or matrix product), and the loss is CE + w_KL * KL / N_train with the KL
approximation of their eq. 14,

    -KL(alpha) ~ k1 sigmoid(k2 + k3 log alpha) - 0.5 log(1 + 1 / alpha) - k1,  k1, k2, k3 = 0.63576, 1.87320, 1.48695,

w_KL rising linearly to 1 over the first RAMP epochs. In evaluation the weights are theta where log alpha < 3,
else 0.

  check                             finite-difference check of the layer's gradients and of the KL's, float64
  train EPOCHS RAMP LR SEED OUT     from models/lenet5-relu-dense-val.npz (log sigma^2 = -10), Adam at LR
                                    falling linearly to 0, batch 100, the 5,000 first training images held out;
                                    the parameters to OUT (.npz) after each epoch
  cut PARAMS L EPOCHS               keep the L weights of smallest log alpha over all layers (their theta), then
                                    EPOCHS of masked retraining as the pipeline's (Adam lr 1e-3 x0.85 per
                                    epoch, batch 50, distillation from the dense model, alpha 0.5, T 4)
  export PARAMS OUT                 the model in the usual dense layout: theta where log alpha < 3, else 0, and
                                    b (a start for `minadmm prune --from OUT`)

The layer and the KL are the package's (minadmm/nn/variational.py, which the preset lenet5-relu-250x-vd runs
as its first round); this script keeps the loops that made the committed logs. One JSON line per epoch. Run from the repository root with one thread (MINADMM_WORKERS=1
OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1) and MINADMM_DATA naming the MNIST directory, e.g.
python results/experiments/relu-250x-sparse-vd/sparse_vd.py train 40 5 3e-3 0 runs/svd-seed0.npz > train-seed0.jsonl
"""
import json
import sys
import time

import numpy as np

from minadmm.nn.layers import Conv2D, Dense
from minadmm.nn.model import Sequential, load_model
from minadmm.nn.variational import log_alpha, variational_model

NAMES = ("conv1", "conv2", "fc1", "fc2")
DENSE = "models/lenet5-relu-dense-val.npz"


def vd_model(dense, seed=0):
    """``dense`` with each Conv2D/Dense wrapped in the package's VariationalLayer (eps RNG 1000 seed + i)."""
    return variational_model(dense, seed=seed)


def check():
    from minadmm.nn.layers import Flatten, ReLU, softmax_cross_entropy
    rng = np.random.default_rng(0)
    net = Sequential([("conv1", Conv2D(1, 3, 3, rng=1, dtype=np.float64)), ("r", ReLU()),
                      ("conv2", Conv2D(3, 4, 3, rng=2, dtype=np.float64)), ("f", Flatten()),
                      ("fc1", Dense(64, 5, rng=3, dtype=np.float64)), ("r2", ReLU()),
                      ("fc2", Dense(5, 3, rng=4, dtype=np.float64))])
    m = vd_model(net)
    for n in NAMES:
        m[n].params["log_sigma2"][...] = rng.normal(-2, 0.5, m[n].params["W"].shape)
    x, y = rng.standard_normal((4, 1, 8, 8)), np.array([0, 1, 2, 1])
    m.train()

    def loss():  # the same eps every call
        for i, n in enumerate(NAMES):
            m[n].rng = np.random.default_rng(100 + i)
        return softmax_cross_entropy(m.forward(x), y)

    _, d = loss()
    m.backward(d)
    g = {k: v.copy() for k, v in m.grads.items()}
    worst = 0.0
    for k, p in m.params.items():
        for idx in list(np.ndindex(p.shape))[::max(1, p.size // 7)]:
            old = p[idx]
            p[idx] = old + 1e-6
            lp = loss()[0]
            p[idx] = old - 1e-6
            lm = loss()[0]
            p[idx] = old
            num = (lp - lm) / 2e-6
            worst = max(worst, abs(num - g[k][idx]) / max(1e-6, abs(num) + abs(g[k][idx])))
    kl_worst = 0.0
    for n in NAMES:
        L = m[n]
        _, dW, dls = L.kl_grads()
        for key, an in (("W", dW), ("log_sigma2", dls)):
            p = L.params[key]
            for idx in list(np.ndindex(p.shape))[::max(1, p.size // 5)]:
                old = p[idx]
                p[idx] = old + 1e-6
                kp = L.kl_grads()[0]
                p[idx] = old - 1e-6
                km = L.kl_grads()[0]
                p[idx] = old
                num = (kp - km) / 2e-6
                kl_worst = max(kl_worst, abs(num - an[idx]) / max(1e-6, abs(num) + abs(an[idx])))
    print(json.dumps({"loss_grad_worst_rel_err": worst, "kl_grad_worst_rel_err": kl_worst}))


def data():
    from minadmm.data.mnist import load_mnist
    from minadmm.data.split import split_validation
    return split_validation(load_mnist(download=False), 5000)


def train(epochs, ramp, lr0, seed, out):
    from minadmm.nn.optim import Adam
    from minadmm.train.epochs import run_epoch
    (X, y, Xt, yt), val = data()
    dense = load_model(DENSE)
    dense.set_dropout(1.0)
    m = vd_model(dense, seed)
    m.set_dropout(1.0)
    opt = Adam(m.params, lr=lr0)
    state = {"w": 0.0, "kl": 0.0}

    def add_kl():  # after backward, before the optimizer step
        total = 0.0
        for n in NAMES:
            kl, dW, dls = m[n].kl_grads()
            total += kl
            m[n].grads["W"] += (state["w"] / len(X) * dW).astype(np.float32)
            m[n].grads["log_sigma2"] += (state["w"] / len(X) * dls).astype(np.float32)
        state["kl"] = total

    rng = np.random.default_rng(seed)
    for e in range(1, epochs + 1):
        state["w"] = min(1.0, e / ramp) if ramp > 0 else 1.0
        opt.lr = lr0 * (1 - (e - 1) / epochs)
        t0 = time.perf_counter()
        loss, train_acc = run_epoch(m, opt, X, y, 100, rng, grad_hook=add_kl, workers=1)
        kept = {n: int((m[n].log_alpha() < 3).sum()) for n in NAMES}
        print(json.dumps({"epoch": e, "kl_w": state["w"], "loss": loss, "kl": state["kl"], "train_acc": train_acc,
                          "nonzero": sum(kept.values()), **kept, "val_acc": m.accuracy(*val),
                          "test_acc": m.accuracy(Xt, yt), "s": time.perf_counter() - t0}), flush=True)
        np.savez(out, **m.params)


def cut(params, L, epochs):
    from minadmm.nn.distill import distillation_for
    from minadmm.nn.optim import Adam
    from minadmm.train.epochs import run_epoch
    (X, y, Xt, yt), val = data()
    P = np.load(params)
    m = load_model(DENSE)
    m.set_dropout(1.0)
    la = {}
    for n in NAMES:
        la[n] = log_alpha(P[f"{n}.W"], P[f"{n}.log_sigma2"])
        m[n].params["W"][...] = P[f"{n}.W"]
        m[n].params["b"][...] = P[f"{n}.b"]
    thr = min(3.0, np.sort(np.concatenate([la[n].ravel() for n in NAMES]))[L - 1] + 1e-12)
    masks = {}
    for n in NAMES:
        masks[f"{n}.W"] = la[n] <= thr
        m[n].params["W"] *= masks[f"{n}.W"]
    kept = {n: int(masks[f"{n}.W"].sum()) for n in NAMES}
    print(json.dumps({"epoch": 0, "thr": thr, "nonzero": sum(kept.values()), **kept, "val_acc": m.accuracy(*val),
                      "test_acc": m.accuracy(Xt, yt)}), flush=True)
    distill = distillation_for(load_model(DENSE), 0.5, 4.0, X)
    opt = Adam(m.params, lr=1e-3, masks=masks)
    rng = np.random.default_rng(1)
    for e in range(1, epochs + 1):
        opt.lr = 1e-3 * 0.85 ** (e - 1)
        loss, train_acc = run_epoch(m, opt, X, y, 50, rng, distill=distill, workers=1)
        print(json.dumps({"epoch": e, "train_acc": train_acc, "val_acc": m.accuracy(*val),
                          "test_acc": m.accuracy(Xt, yt)}), flush=True)


def export(params, out):
    from minadmm.nn.model import save_model
    P = np.load(params)
    m = load_model(DENSE)
    for n in NAMES:
        m[n].params["W"][...] = P[f"{n}.W"] * (log_alpha(P[f"{n}.W"], P[f"{n}.log_sigma2"]) < 3)
        m[n].params["b"][...] = P[f"{n}.b"]
    save_model(out, m)
    print(json.dumps({"nonzero": {n: int((m[n].params["W"] != 0).sum()) for n in NAMES}}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "check":
        check()
    elif cmd == "train":
        train(int(args[0]), float(args[1]), float(args[2]), int(args[3]), args[4])
    elif cmd == "cut":
        cut(args[0], int(args[1]), int(args[2]))
    elif cmd == "export":
        export(args[0], args[1])
    else:
        raise SystemExit(f"command {cmd!r}: expected check, train, cut or export")
