"""The ADMM stage of pruning: the paper's W-step solved by epochs of Adam, the loop of ``admm.loop.admm``,
and around it what a long run needs (history rows, a checkpoint per iteration, resume, logging, timing).

The W-step (``make_w_step``) minimises, over all weights and biases,

    f(W, b) + weight_decay/2 sum_i ||W_i||^2 + sum_i rho_i/2 ||W_i - Z_i^k + U_i^k||_F^2

with ``w_epochs`` epochs of Adam (with ``admm_masked``: over the start model's non-zero weights only, the
others held at zero, as in masked retraining): f is the cross-entropy (or, with ``distill_admm``, the distillation loss
against a teacher); the L2 term is the authors' code's (5e-5, not in the paper's equation); the penalty's
gradient rho_i (W_i - Z_i + U_i) is added to each batch's gradient by ``kernels.add_penalty_grad`` (twin:
``admm.steps.w_step_penalty_grad``).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..admm.loop import ADMMState, admm
from ..admm.steps import converged, w_step_penalty
from ..data.augment import RandomShift
from ..nn import kernels
from ..nn.distill import distillation_for
from ..nn.optim import Adam
from ..train.epochs import DivergenceError, run_epoch
from ..train.records import load_checkpoint, save_checkpoint, save_history
from .config import PruneConfig
from .targets import target_projections


def make_w_step(model, W, X, y, cfg: PruneConfig, opt, rng, distill=None):
    """The W-step as ``w_step(Z, U, rho, k)``: ``cfg.w_epochs`` epochs of ``opt`` at lr = max(cfg.lr *
    cfg.admm_lr_decay^k, cfg.admm_lr_min), the penalty gradient rho_i (W_i - Z_i + U_i) added to every batch's gradient.
    Returns {"loss": f at the last epoch, "penalty": sum_i rho_i/2 ||W_i - Z_i + U_i||^2 after it, "lr"}."""
    def w_step(Z, U, rho, k):
        def add_penalty_grads():  # dL/dW_i += rho_i (W_i - Z_i + U_i)
            for i in W:
                kernels.add_penalty_grad(model[i].grads["W"], W[i], Z[i], U[i], rho[i])

        opt.lr = max(cfg.lr * cfg.admm_lr_decay ** k, cfg.admm_lr_min)
        for _ in range(cfg.w_epochs):
            loss, _ = run_epoch(model, opt, X, y, cfg.batch_size, rng, grad_hook=add_penalty_grads,
                                desc=f"ADMM {k + 1}/{cfg.admm_iters} W-step", augment=RandomShift(cfg.admm_shift),
                                distill=distill)
        return {"lr": opt.lr, "loss": loss, "penalty": float(sum(w_step_penalty(W[i], Z[i], U[i], rho[i]) for i in W))}
    return w_step


def diverged(stage, at, err, ckpt):
    """The DivergenceError that tells where a stage diverged (``at``: "at iteration 3"), what was kept and
    what to try."""
    kept = f"the last good checkpoint {ckpt} is kept" if ckpt and Path(ckpt).exists() else "no checkpoint yet"
    return DivergenceError(f"{stage} diverged {at} ({err}); {kept}. "
                           f"Try a smaller --rho (and --rho-growth) or a smaller --lr.")


def run_admm(model, data, keep, cfg: PruneConfig, out_dir=None, resume=False, log=print, teacher=None, val=None):
    """ADMM on ``model`` (weights start dense) for the targets ``keep`` = {layer: l}. With
    ``cfg.distill_admm`` the W-step's loss f is the distillation loss against ``teacher``; with
    ``cfg.admm_masked`` the W-step trains only the start model's non-zero weights (the masks are taken before
    a resume loads its checkpoint, whose masked weights are zero as the start's).

    Returns (state, history): ``state.Z``/``state.U`` per layer, and one history row per iteration and
    layer: k, layer, r, s, eps_pri, eps_dual, rho, nnz_Z, keep, lr, loss (f), penalty, test_acc, seconds, and
    val_acc when ``val`` = (X_val, y_val) is given.
    With ``out_dir``: history_admm.csv/.json and admm_checkpoint.npz after every iteration; ``resume``
    continues from the checkpoint, bit for bit as an uninterrupted run.
    """
    X, y, Xt, yt = data
    model.set_dropout(cfg.admm_keep)
    masks = {f"{i}.W": model[i].params["W"] != 0 for i in keep} if cfg.admm_masked else None
    opt = Adam(model.params, lr=cfg.lr, weight_decay=cfg.weight_decay, masks=masks)
    rng = np.random.default_rng(cfg.seed)
    schedule = cfg.schedule()
    project = {**target_projections(keep),  # structured layers: their structure's projection
               **{i: q.project for i, q in cfg.quantizers(keep).items()}}  # quantized layers: sparsity + levels
    state = ADMMState.start({i: model[i].params["W"] for i in keep}, keep, schedule.rho0, project=project,
                            budget=cfg.budget_set())
    ckpt = Path(out_dir) / "admm_checkpoint.npz" if out_dir else None
    history = []
    if resume and ckpt is not None and ckpt.exists():
        arrays, meta = load_checkpoint(ckpt, model, opt)
        state.load(arrays, meta["k"], meta["rho"])
        rng.bit_generator.state = meta["rng"]
        history = meta["history"]
        log(f"resumed ADMM from {ckpt} after iteration {state.k}")
    distill = distillation_for(teacher, cfg.distill, cfg.distill_temp, X, cfg.admm_shift > 0) if cfg.distill_admm else None
    w_step = make_w_step(model, state.W, X, y, cfg, opt, rng, distill)
    t0 = time.perf_counter()

    def record(state, rows, info):  # history row, checkpoint and log line of iteration state.k
        nonlocal t0
        test_acc = model.accuracy(Xt, yt)
        seconds, t0 = time.perf_counter() - t0, time.perf_counter()
        extra = {"val_acc": model.accuracy(*val)} if val is not None else {}
        history.extend({"k": state.k, **row, "lr": info["lr"], "loss": info["loss"], "penalty": info["penalty"],
                        "test_acc": test_acc, **extra, "seconds": seconds} for row in rows)
        if out_dir:
            save_history(history, out_dir, "history_admm")
            save_checkpoint(ckpt, model, opt, arrays=state.arrays(),
                            meta={"k": state.k, "rho": state.rho, "rng": rng.bit_generator.state, "history": history})
        log(f"ADMM {state.k}/{cfg.admm_iters}  loss {info['loss']:.4f}  test {test_acc:.4f}  "
            + "  ".join(f"{r['layer']}: r={r['r']:.3g} s={r['s']:.3g}" for r in rows) + f"  {seconds:.0f}s")
        if cfg.early_stop and all(converged(r["r"], r["s"], r["eps_pri"], r["eps_dual"]) for r in rows):
            log(f"ADMM stopped at iteration {state.k}: every layer meets Boyd's eps_pri and eps_dual")

    try:
        admm(state, w_step, cfg.admm_iters, lambda i, k, rho, r, s: schedule.next(k, rho, r, s), cfg.eps_abs,
             cfg.eps_rel, stop_on_convergence=cfg.early_stop, rescale_U=cfg.rescale_U, on_iteration=record,
             project=project)
    except DivergenceError as err:
        raise diverged("ADMM", f"at iteration {state.k + 1}", err, ckpt) from None
    return state, history
