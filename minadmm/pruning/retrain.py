"""After ADMM: hard pruning, masked retraining, and the magnitude-pruning baseline.

    hard_prune       W_i <- Proj_{S_i}(W_i); returns the fixed masks
    retrain          masked retraining: Adam with masks, pruned weights stay exactly zero
    magnitude_prune  the heuristic baseline: one-shot hard_prune of the dense model, then the same retraining
    prune_to_set     hard_prune, or with quantized layers quantized.hard_quantize
"""
from __future__ import annotations

import numpy as np

from ..data.augment import RandomShift
from ..nn.distill import distillation_for
from ..nn.optim import Adam
from ..train.epochs import DivergenceError, train_epochs
from .admm_stage import diverged
from .config import PruneConfig
from .quantized import RETRAINERS, hard_quantize
from .targets import target_mask


def hard_prune(model, keep, budget=None, norm="l2"):
    """W_i <- Proj_{S_i}(W_i) in place for every layer of ``keep`` (counts or structures, pruning/targets.py);
    returns the masks {"layer.W": bool array}.
    With a ``budget`` (``admm.projections.Budget``), W <- Proj_S(W) for the layers of ``keep`` at once: the
    L largest weights over all of them (after each layer's floor). ``norm``="l1": structured targets rank
    their groups by L1 norm (the baseline of Li et al. 2017) instead of projecting."""
    if budget is not None:
        keep = budget.project({name: model[name].params["W"] for name in keep})[1]
    masks = {}
    for name, l in keep.items():
        W = model[name].params["W"]
        mask = target_mask(W, l, norm)  # the l largest |W|, or a structure's support
        W *= mask
        masks[f"{name}.W"] = mask
    return masks


def retrain(model, data, masks, cfg: PruneConfig, out_dir=None, name="retrain", resume=False, log=print,
            teacher=None, val=None, scales=None):
    """Masked retraining: ``cfg.retrain_epochs`` epochs of Adam on the loss alone (no L2), gradients and Adam
    moments of pruned weights held at zero, so they stay exactly zero; lr decays by ``retrain_lr_decay`` per
    epoch. With ``cfg.distill`` > 0 the loss is the distillation loss against ``teacher``. With ``out_dir``:
    ``history_<name>.csv/.json`` and ``<name>_checkpoint.npz`` after each epoch. With ``scales`` (quantized
    layers, ``quantized.hard_quantize``) their level assignments stay fixed and only their scales
    (``cfg.quant_retrain`` "scale": ``quantized.CodeScaleAdam``) or their codebooks ("codebook":
    ``quantized.CodebookAdam``) are trained. Returns the history rows."""
    X = data[0]
    distill = distillation_for(teacher, cfg.distill, cfg.distill_temp, X, cfg.retrain_shift > 0) \
        if cfg.retrain_epochs > 0 else None
    model.set_dropout(cfg.retrain_keep)
    opt = RETRAINERS[cfg.quant_retrain](model.params, scales, lr=cfg.retrain_lr, masks=masks) if scales else \
        Adam(model.params, lr=cfg.retrain_lr, masks=masks)
    try:
        return train_epochs(model, opt, data, cfg.retrain_epochs, cfg.retrain_lr, cfg.retrain_lr_decay,
                            cfg.batch_size, np.random.default_rng(cfg.seed + 1), out_dir=out_dir, name=name,
                            history_name=f"history_{name}", checkpoint_name=f"{name}_checkpoint.npz", resume=resume,
                            log=log, augment=RandomShift(cfg.retrain_shift), distill=distill, val=val)
    except DivergenceError as err:
        raise diverged(name, f"at epoch {err.epoch}", err, out_dir and f"{out_dir}/{name}_checkpoint.npz") from None


def magnitude_prune(model, data, keep, cfg: PruneConfig, out_dir=None, resume=False, log=print, teacher=None,
                    val=None):
    """The heuristic baseline, one-shot: keep the l_i largest dense weights per layer (structured targets:
    the groups of largest L1 norm, Li et al. 2017's filter pruning; with ``cfg.budget``:
    the L largest over all layers, global magnitude pruning; with ``cfg.quant_bits``: the same projection
    onto sparsity + levels as ADMM's, applied once), then the same masked retraining (with the same teacher
    when ``cfg.distill`` > 0). Returns (masks, history)."""
    masks, scales = prune_to_set(model, keep, cfg, norm="l1")
    return masks, retrain(model, data, masks, cfg, out_dir, name="baseline_retrain", resume=resume, log=log,
                          teacher=teacher, val=val, scales=scales)


def prune_to_set(model, keep, cfg: PruneConfig, norm="l2"):
    """Hard pruning onto the round's sets: (masks, scales) of ``quantized.hard_quantize`` when layers are
    quantized, else (``hard_prune`` masks, None); ``norm`` as for ``hard_prune``."""
    quantizers = cfg.quantizers(keep)
    if quantizers:
        return hard_quantize(model, keep, quantizers)
    return hard_prune(model, keep, cfg.budget_set(), norm), None
