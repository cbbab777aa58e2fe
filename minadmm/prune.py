"""The pruning pipeline: ADMM, hard pruning, masked retraining, and the magnitude-pruning baseline.

    run_admm        ADMM iterations (W-step epochs, Z-step, U-step), a history row per iteration and layer,
                    a checkpoint after every iteration (``--resume`` loses at most one iteration)
    hard_prune      W_i <- Proj_{S_i}(W_i); returns the fixed masks
    retrain         masked retraining: Adam with masks, pruned weights stay exactly zero
    magnitude_prune the heuristic baseline: hard_prune of the dense model, then the same retraining
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .admm import ADMMState, RhoSchedule
from .augment import RandomShift, check_shift
from .distill import Distillation, check_distill
from .history import load_checkpoint, resume_epochs, save_checkpoint, save_history
from .optim import Adam
from .projections import topk_mask
from .train import DivergenceError, run_epoch


@dataclass
class PruneConfig:
    """ADMM and retraining hyperparameters. Defaults: a short schedule on the plain images, as the paper
    trains (the authors' recipe is admm_iters=30, w_epochs=4 (5,000 steps of 50), rho 1e-4 constant,
    retrain 17 epochs). README's 71x recipe changes five of them on the command line:
    admm_iters=16, rho_growth=1.3, retrain_epochs=8, retrain_lr_decay=0.85, distill=0.5."""
    admm_iters: int = 12
    w_epochs: int = 1
    rho0: float = 1e-3
    rho_growth: float = 1.5
    rho_max: float = 1.0
    rescale_U: bool = True
    lr: float = 1e-3
    admm_lr_decay: float = 1.0  # W-step lr multiplied by this after every ADMM iteration
    weight_decay: float = 5e-5  # L2 during the W-step, as the authors' train_loss (5e-5 * sum(W^2) / 2)
    batch_size: int = 50
    admm_keep: float = 1.0  # dropout keep during the W-step (the authors turn dropout off)
    admm_shift: int = 0  # random translations (pixels) during the W-step; 0 = none, as the authors
    retrain_epochs: int = 10
    retrain_lr: float = 1e-3
    retrain_lr_decay: float = 0.8  # lr multiplied by this after every retraining epoch
    retrain_keep: float = 1.0
    retrain_shift: int = 0  # random translations (pixels) in masked retraining (baseline too); 0 = none
    distill: float = 0.0  # alpha: weight of the teacher's term in retraining (baseline too); 0 = none (the paper)
    distill_temp: float = 4.0  # T: the distillation temperature
    distill_admm: bool = False  # distil in the ADMM W-step too (same alpha, T, teacher)
    eps_abs: float = 1e-4
    eps_rel: float = 1e-3
    early_stop: bool = False
    seed: int = 0

    def __post_init__(self):
        for name in ("admm_iters", "w_epochs", "batch_size"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name}={v!r}: expected a positive integer")
        if not (isinstance(self.retrain_epochs, int) and self.retrain_epochs >= 0):
            raise ValueError(f"retrain_epochs={self.retrain_epochs!r}: expected an integer >= 0")
        for name in ("admm_keep", "retrain_keep"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected a dropout keep probability in (0, 1]")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay={self.weight_decay!r}: expected >= 0")
        for name in ("admm_lr_decay", "retrain_lr_decay"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected a factor in (0, 1]")
        for name in ("lr", "retrain_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected a positive number")
        check_shift(self.admm_shift)
        check_shift(self.retrain_shift)
        check_distill(self.distill, self.distill_temp)
        if self.distill_admm and self.distill == 0:
            raise ValueError("distill_admm=True needs distill > 0 (the weight of the teacher's term)")
        self.schedule()  # validates rho0, rho_growth, rho_max

    def schedule(self):
        return RhoSchedule(self.rho0, self.rho_growth, self.rho_max)


def _distillation(cfg, teacher, X, shift):
    """The Distillation of ``cfg`` (None when cfg.distill is 0) for training images X shifted by ``shift``."""
    if cfg.distill == 0:
        return None
    if teacher is None:
        raise ValueError(f"distill={cfg.distill}: training with distillation needs a teacher model")
    return Distillation(teacher, cfg.distill, cfg.distill_temp, X, augmented=shift > 0)


def _diverged(stage, k, err, ckpt):
    kept = f"the last good checkpoint {ckpt} is kept" if ckpt and Path(ckpt).exists() else "no checkpoint yet"
    return DivergenceError(f"{stage} diverged at iteration {k} ({err}); {kept}. "
                           f"Try a smaller --rho (and --rho-growth) or a smaller --lr.")


def run_admm(model, data, keep, cfg: PruneConfig, out_dir=None, resume=False, log=print, teacher=None):
    """ADMM on ``model`` (weights start dense) for the targets ``keep`` = {layer: l}. With
    ``cfg.distill_admm`` the W-step's loss f is the distillation loss against ``teacher`` (distill.py).

    Returns (state, history): ``state.Z``/``state.U`` per layer, and one history row per iteration and
    layer: k, layer, r, s, eps_pri, eps_dual, rho, nnz_Z, keep, loss (f: the distillation loss when
    distilling), penalty, test_acc, seconds.
    """
    X, y, Xt, yt = data
    distill = _distillation(cfg, teacher, X, cfg.admm_shift) if cfg.distill_admm else None
    model.set_dropout(cfg.admm_keep)
    state = ADMMState(model, keep, cfg.schedule(), rescale_U=cfg.rescale_U)
    opt = Adam(model.params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    ckpt = Path(out_dir) / "admm_checkpoint.npz" if out_dir else None
    history = []
    if resume and ckpt is not None and ckpt.exists():
        arrays, meta = load_checkpoint(ckpt, model, opt)
        state.load_arrays(arrays, meta["k"], meta["rho"])
        rng.bit_generator.state = meta["rng"]
        history = meta["history"]
        log(f"resumed ADMM from {ckpt} after iteration {state.k}")
    while state.k < cfg.admm_iters:
        k = state.k + 1
        opt.lr = cfg.lr * cfg.admm_lr_decay ** (k - 1)
        t0 = time.perf_counter()
        try:
            for e in range(cfg.w_epochs):  # W-step: minimise f + sum rho/2 ||W - Z + U||^2
                loss, _ = run_epoch(model, opt, X, y, cfg.batch_size, rng, grad_hook=state.add_penalty_grads,
                                    desc=f"ADMM {k}/{cfg.admm_iters} W-step", augment=RandomShift(cfg.admm_shift),
                                    distill=distill)
        except DivergenceError as err:
            raise _diverged("ADMM", k, err, ckpt) from None
        penalty = state.penalty()
        rows = state.zu_update(cfg.eps_abs, cfg.eps_rel)  # Z-step and U-step
        test_acc = model.accuracy(Xt, yt)
        seconds = time.perf_counter() - t0
        for row in rows:
            history.append({"k": k, **row, "lr": opt.lr, "loss": loss, "penalty": penalty, "test_acc": test_acc,
                            "seconds": seconds})
        if out_dir:
            save_history(history, out_dir, "history_admm")
            save_checkpoint(ckpt, model, opt, arrays=state.arrays(),
                            meta={"k": state.k, "rho": state.rho, "rng": rng.bit_generator.state,
                                  "history": history})
        log(f"ADMM {k}/{cfg.admm_iters}  loss {loss:.4f}  test {test_acc:.4f}  "
            + "  ".join(f"{r['layer']}: r={r['r']:.3g} s={r['s']:.3g}" for r in rows) + f"  {seconds:.0f}s")
        if cfg.early_stop and all(r["r"] <= r["eps_pri"] and r["s"] <= r["eps_dual"] for r in rows):
            log(f"ADMM stopped at iteration {k}: every layer meets Boyd's eps_pri and eps_dual")
            break
    return state, history


def hard_prune(model, keep):
    """W_i <- Proj_{S_i}(W_i) in place for every layer of ``keep``; returns the masks {"layer.W": bool array}."""
    masks = {}
    for name, l in keep.items():
        W = model[name].params["W"]
        mask = topk_mask(W, l)
        W *= mask
        masks[f"{name}.W"] = mask
    return masks


def retrain(model, data, masks, cfg: PruneConfig, out_dir=None, name="retrain", resume=False, log=print,
            teacher=None):
    """Masked retraining: Adam on the loss alone, gradients and Adam moments of pruned weights held at
    zero, so they stay exactly zero. lr decays by ``retrain_lr_decay`` per epoch. With ``cfg.distill`` > 0
    the loss is the distillation loss against ``teacher`` (distill.py). Returns history rows."""
    X, y, Xt, yt = data
    distill = _distillation(cfg, teacher, X, cfg.retrain_shift) if cfg.retrain_epochs > 0 else None
    model.set_dropout(cfg.retrain_keep)
    opt = Adam(model.params, lr=cfg.retrain_lr, masks=masks)
    rng = np.random.default_rng(cfg.seed + 1)
    ckpt = Path(out_dir) / f"{name}_checkpoint.npz" if out_dir else None
    history, start = [], 0
    if resume and ckpt is not None and ckpt.exists():
        history, start = resume_epochs(ckpt, model, opt, rng)
        log(f"resumed {name} from {ckpt} after epoch {start}")
    for epoch in range(start + 1, cfg.retrain_epochs + 1):
        opt.lr = cfg.retrain_lr * cfg.retrain_lr_decay ** (epoch - 1)
        t0 = time.perf_counter()
        try:
            loss, train_acc = run_epoch(model, opt, X, y, cfg.batch_size, rng, desc=f"{name} {epoch}",
                                        augment=RandomShift(cfg.retrain_shift), distill=distill)
        except DivergenceError as err:
            raise _diverged(name, epoch, err, ckpt) from None
        test_acc = model.accuracy(Xt, yt)
        history.append({"epoch": epoch, "lr": opt.lr, "loss": loss, "train_acc": train_acc,
                        "test_acc": test_acc, "seconds": time.perf_counter() - t0})
        if out_dir:
            save_history(history, out_dir, f"history_{name}")
            save_checkpoint(ckpt, model, opt, meta={"epoch": epoch, "rng": rng.bit_generator.state,
                                                    "history": history})
        log(f"{name} {epoch}/{cfg.retrain_epochs}  loss {loss:.4f}  test {test_acc:.4f}")
    return history


def magnitude_prune(model, data, keep, cfg: PruneConfig, out_dir=None, resume=False, log=print, teacher=None):
    """The heuristic baseline: keep the l_i largest dense weights per layer, then the same masked retraining
    (with the same teacher when ``cfg.distill`` > 0)."""
    masks = hard_prune(model, keep)
    return masks, retrain(model, data, masks, cfg, out_dir, name="baseline_retrain", resume=resume, log=log,
                          teacher=teacher)
