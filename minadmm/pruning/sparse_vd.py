"""A round of sparse variational dropout (``nn.variational``): train the posterior of every weight, then keep
the weights whose log alpha is below the threshold. A recipe's rounds may start with it (``"kind":
"sparse_vd"``), so that the ADMM rounds after it start from a model it has already made sparse.

The objective of epoch e, minimised by Adam over theta, b and log sigma^2 (batch gradients of the first term):

    L = CE(y, f(x; theta, sigma^2, eps)) + w_e * KL(alpha) / N,   w_e = min(1, e / kl_ramp),

N the number of training images (the KL is the whole data set's, spread over its images), and the learning rate
of epoch e is lr (1 - (e - 1) / epochs), falling linearly towards 0.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..nn.optim import Adam
from ..nn.variational import VariationalLayer, sparse_weights, variational_model
from ..train.epochs import DivergenceError, run_epoch
from ..train.records import resume_epochs, save_checkpoint, save_history
from .admm_stage import diverged
from .config import config_from_dict


@dataclass
class SparseVDConfig:
    """The whole schedule of a sparse variational dropout round."""
    epochs: int = 40
    kl_ramp: float = 5.0  # the KL's weight rises linearly to 1 over this many epochs (0: 1 from the start)
    lr: float = 3e-3  # Adam's learning rate in the first epoch, falling linearly towards 0
    batch_size: int = 100
    log_sigma2: float = -10.0  # every weight's log sigma^2 at the start: almost no noise
    threshold: float = 3.0  # a weight is kept where log alpha < threshold
    seed: int = 0  # data order (seed) and eps draws (1000 seed + layer index)
    val: int = 0  # training images held out as a validation split (the first val of them); 0: none

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"sparse_vd {name}={v!r}: expected a positive integer")
        if not self.kl_ramp >= 0:
            raise InputError(f"sparse_vd kl_ramp={self.kl_ramp!r}: expected a number of epochs >= 0")
        if not self.lr > 0:
            raise InputError(f"sparse_vd lr={self.lr!r}: expected a positive number")
        if not np.isfinite(self.log_sigma2) or not np.isfinite(self.threshold):
            raise InputError(f"sparse_vd log_sigma2={self.log_sigma2!r}, threshold={self.threshold!r}: "
                             f"expected finite numbers")
        if not (isinstance(self.val, int) and self.val >= 0):
            raise InputError(f"sparse_vd val={self.val!r}: expected a number of training images to hold out, >= 0")

    @classmethod
    def from_dict(cls, values, where="sparse_vd configuration"):
        """A SparseVDConfig from a dict of some of its fields; an unknown key is an error naming the valid ones."""
        return config_from_dict(cls, values, where)

    def kl_weight(self, epoch):
        """w_e = min(1, e / kl_ramp) (1 when kl_ramp is 0)."""
        return min(1.0, epoch / self.kl_ramp) if self.kl_ramp > 0 else 1.0

    def lr_at(self, epoch):
        """lr (1 - (e - 1) / epochs)."""
        return self.lr * (1 - (epoch - 1) / self.epochs)


def add_kl(layers, c):
    """The KL term's gradient added to every ``VariationalLayer``'s loss gradients, c = w_e / N:

        dL/dtheta += c dKL/dtheta,   dL/dlog sigma^2 += c dKL/dlog sigma^2

    (computed in float64, added in the parameters' dtype). Returns the KL summed over the layers."""
    total = 0.0
    for layer in layers:
        kl, d_theta, d_log_sigma2 = layer.kl_grads()
        total += kl
        layer.grads["W"] += (c * d_theta).astype(layer.grads["W"].dtype)
        layer.grads["log_sigma2"] += (c * d_log_sigma2).astype(layer.grads["log_sigma2"].dtype)
    return total


def run_sparse_vd(model, data, cfg: SparseVDConfig, out_dir=None, resume=False, log=print, val=None):
    """Sparse variational dropout from ``model`` (its weights become the means theta); afterwards ``model``
    holds theta where log alpha < threshold, else 0. ``data`` = (X, y, X_test, y_test), ``val`` = (X_val,
    y_val) or None. One thread computes the gradients (the eps draws follow each layer's one RNG).

    Returns the history: one row per epoch with epoch, lr, kl_weight, loss (the cross-entropy), kl (sum over
    the weights), train_acc, kept (weights with log alpha < threshold) and per layer, test_acc, val_acc,
    seconds. With ``out_dir``: history_sparse_vd.csv/.json and sparse_vd_checkpoint.npz (theta, b,
    log sigma^2, Adam's moments, the RNG states) after each epoch; ``resume`` continues from it, bit for bit
    as an uninterrupted run."""
    X, y, Xt, yt = data
    model.set_dropout(1.0)
    vmodel = variational_model(model, cfg.log_sigma2, cfg.threshold, cfg.seed)
    layers = {name: layer for name, layer in vmodel.layers if isinstance(layer, VariationalLayer)}
    opt = Adam(vmodel.params, lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    ckpt = Path(out_dir) / "sparse_vd_checkpoint.npz" if out_dir else None
    history, start = [], 0
    if resume and ckpt is not None and ckpt.exists():
        history, start = resume_epochs(ckpt, vmodel, opt, rng)
        log(f"resumed sparse VD from {ckpt} after epoch {start}")
    w = {"kl_weight": 0.0, "kl": 0.0}

    def add_kl_grads():  # after backward, before the step
        w["kl"] = add_kl(layers.values(), w["kl_weight"] / len(X))

    for epoch in range(start + 1, cfg.epochs + 1):
        w["kl_weight"], opt.lr = cfg.kl_weight(epoch), cfg.lr_at(epoch)
        t0 = time.perf_counter()
        try:
            loss, train_acc = run_epoch(vmodel, opt, X, y, cfg.batch_size, rng, grad_hook=add_kl_grads,
                                        desc=f"sparse VD {epoch}", workers=1)
        except DivergenceError as err:
            raise diverged("sparse VD", f"at epoch {epoch}", err, ckpt) from None
        kept = {name: int(layer.kept().sum()) for name, layer in layers.items()}
        history.append({"epoch": epoch, "lr": opt.lr, "kl_weight": w["kl_weight"], "loss": loss, "kl": w["kl"],
                        "train_acc": train_acc, "kept": sum(kept.values()), **{f"kept_{k}": v for k, v in kept.items()},
                        "test_acc": vmodel.accuracy(Xt, yt),
                        **({"val_acc": vmodel.accuracy(*val)} if val is not None else {}),
                        "seconds": time.perf_counter() - t0})
        if out_dir:
            save_history(history, out_dir, "history_sparse_vd")
            save_checkpoint(ckpt, vmodel, opt, meta={"epoch": epoch, "rng": rng.bit_generator.state,
                                                     "history": history})
        row = history[-1]
        log(f"sparse VD {epoch}/{cfg.epochs}  loss {loss:.4f}  KL {row['kl']:.0f}  kept {row['kept']:,}  "
            f"test {row['test_acc']:.4f}  {row['seconds']:.0f}s")
    sparse_weights(vmodel, model)
    return history
