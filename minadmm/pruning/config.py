"""``PruneConfig``: every hyperparameter of one round of ADMM pruning and masked retraining."""
from __future__ import annotations

from dataclasses import dataclass

from ..admm.projections import Budget
from ..admm.quantization import LEVELS, Quantizer
from ..admm.rho import ResidualBalancing, RhoSchedule
from ..data.augment import check_shift
from ..errors import InputError
from ..nn.distill import check_distill
from .quantized import RETRAINERS


def config_from_dict(cls, values, where):
    """The dataclass ``cls`` from a dict of some of its fields; an unknown key is an error naming the valid ones."""
    unknown = sorted(set(values) - set(cls.__dataclass_fields__))
    if unknown:
        raise InputError(f"{where}: unknown setting {unknown[0]!r}; valid settings are "
                         f"{', '.join(cls.__dataclass_fields__)}")
    return cls(**values)


@dataclass
class PruneConfig:
    """ADMM and retraining hyperparameters: the whole schedule of one round of pruning.

    The defaults are a short schedule on the plain images; the recipes that made the committed models are
    presets (pipeline/presets/*.json, ``minadmm presets``), which set every value they depend on. The
    authors' recipe is admm_iters=30, w_epochs=4 (5,000 steps of 50), rho 1e-4 constant, retrain 17 epochs
    with dropout keep 0.5 (preset ``lenet5-71x-authors``)."""
    admm_iters: int = 12
    w_epochs: int = 1
    rho_schedule: str = "geometric"  # "geometric": rho0 growth^k; "balanced": residual balancing (Boyd 3.4.1)
    rho0: float = 1e-3
    rho_growth: float = 1.5  # geometric: rho multiplied by this after every iteration (1: constant)
    rho_mu: float = 10.0  # balanced: rho changes when one residual exceeds mu times the other
    rho_tau: float = 2.0  # balanced: ... by this factor
    rho_min: float = 1e-6  # balanced: the smallest rho
    rho_max: float = 1.0
    rescale_U: bool = True
    lr: float = 1e-3
    admm_lr_decay: float = 1.0  # W-step lr multiplied by this after every ADMM iteration ...
    admm_lr_min: float = 0.0  # ... but never below this (0: no floor)
    weight_decay: float = 5e-5  # L2 during the W-step, as the authors' train_loss (5e-5 * sum(W^2) / 2)
    batch_size: int = 50
    admm_keep: float = 1.0  # dropout keep during the W-step (the authors turn dropout off)
    admm_shift: int = 0  # random translations (pixels) during the W-step; 0 = none, as the authors
    admm_masked: bool = False  # W-step on the start model's non-zeros only (a round from a pruned model)
    retrain_epochs: int = 10
    retrain_lr: float = 1e-3
    retrain_lr_decay: float = 0.8  # lr multiplied by this after every retraining epoch
    retrain_keep: float = 1.0
    retrain_shift: int = 0  # random translations (pixels) in masked retraining (baseline too); 0 = none
    distill: float = 0.0  # alpha: weight of the teacher's term in retraining (baseline too); 0 = none (the paper)
    distill_temp: float = 4.0  # T: the distillation temperature
    distill_admm: bool = False  # distil in the ADMM W-step too (same alpha, T, teacher)
    eps_abs: float = 1e-4
    eps_rel: float = 1e-2  # Boyd's reference code (lasso.m) uses eps_abs 1e-4, eps_rel 1e-2
    early_stop: bool = False  # stop ADMM once every layer meets r <= eps_pri and s <= eps_dual (admm_iters: the cap)
    budget: int = 0  # L > 0: one budget of L non-zeros over all pruned layers instead of per-layer counts
    budget_floor: int = 0  # ... each layer keeping at least this many
    budget_normalise: bool = False  # ... ranked by |W + U| / its layer's max (a heuristic) instead of |W + U|
    quant_bits: object = 0  # b > 0: the non-zeros of every pruned layer take at most 2^b values (ADMM-NN);
    #                         or {layer: b}; 0: no quantization
    quant_levels: str = "uniform"  # the levels: "uniform" (alpha, 2 alpha, ...) or "pow2" (alpha 2^-j)
    quant_retrain: str = "scale"  # after hard quantization, train each layer's "scale" alpha, or its "codebook"
    #                               (each distinct value apart; the level assignments fixed either way)
    seed: int = 0  # data order of the ADMM stage (seed) and of masked retraining (seed + 1)
    val: int = 0  # training images held out as a validation split (the first val of them); 0: none

    def __post_init__(self):
        for name in ("admm_iters", "w_epochs", "batch_size"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise InputError(f"{name}={v!r}: expected a positive integer")
        if not (isinstance(self.retrain_epochs, int) and self.retrain_epochs >= 0):
            raise InputError(f"retrain_epochs={self.retrain_epochs!r}: expected an integer >= 0")
        for name in ("admm_keep", "retrain_keep"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise InputError(f"{name}={getattr(self, name)!r}: expected a dropout keep probability in (0, 1]")
        if self.weight_decay < 0:
            raise InputError(f"weight_decay={self.weight_decay!r}: expected >= 0")
        for name in ("admm_lr_decay", "retrain_lr_decay"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise InputError(f"{name}={getattr(self, name)!r}: expected a factor in (0, 1]")
        for name in ("lr", "retrain_lr"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name}={getattr(self, name)!r}: expected a positive number")
        if not 0 <= self.admm_lr_min <= self.lr:
            raise InputError(f"admm_lr_min={self.admm_lr_min!r}: expected a floor in [0, lr={self.lr!r}]")
        check_shift(self.admm_shift)
        check_shift(self.retrain_shift)
        check_distill(self.distill, self.distill_temp)
        if self.distill_admm and self.distill == 0:
            raise InputError("distill_admm=True needs distill > 0 (the weight of the teacher's term)")
        for name in ("eps_abs", "eps_rel"):
            if not getattr(self, name) >= 0:
                raise InputError(f"{name}={getattr(self, name)!r}: expected a tolerance >= 0")
        for name in ("budget", "budget_floor"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(f"{name}={v!r}: expected an integer >= 0")
        if self.budget_floor and not self.budget:
            raise InputError(f"budget_floor={self.budget_floor} needs a budget (budget > 0)")
        if not (isinstance(self.val, int) and self.val >= 0):
            raise InputError(f"val={self.val!r}: expected a number of training images to hold out, >= 0")
        self.schedule()  # validates the rho schedule's settings
        if self.quant_levels not in LEVELS:
            raise InputError(f"quant_levels={self.quant_levels!r}: expected one of {', '.join(LEVELS)}")
        bits = self.quant_bits.values() if isinstance(self.quant_bits, dict) else [self.quant_bits]
        for b in bits:
            if isinstance(b, bool) or not isinstance(b, int) or not 0 <= b <= 8:
                raise InputError(f"quant_bits={self.quant_bits!r}: expected bits from 1 to 8 (0: none), "
                                 f"one number or {{layer: bits}}")
        if self.quant_retrain not in RETRAINERS:
            raise InputError(f"quant_retrain={self.quant_retrain!r}: expected one of {', '.join(RETRAINERS)}")
        if self.quant_retrain != "scale" and not self.quant_bits:
            raise InputError(f"quant_retrain={self.quant_retrain!r} needs quant_bits (a quantized round)")
        if self.quant_bits and self.budget:
            raise InputError("quant_bits with a budget is not supported: give per-layer counts with --keep")

    @classmethod
    def from_dict(cls, values, where="configuration"):
        """A PruneConfig from a dict of some of its fields; an unknown key is an error naming the valid ones."""
        return config_from_dict(cls, values, where)

    def budget_set(self):
        """The global-budget set (``admm.projections.Budget``) these settings describe, or None."""
        return Budget(self.budget, self.budget_floor, self.budget_normalise) if self.budget else None

    def quantizers(self, layers):
        """{layer: ``admm.quantization.Quantizer``} for the layers of ``layers`` that are quantized ({} when
        none). Raises on a layer of ``quant_bits`` that is not among ``layers``."""
        if not self.quant_bits:
            return {}
        bits = self.quant_bits if isinstance(self.quant_bits, dict) else {i: self.quant_bits for i in layers}
        unknown = sorted(set(bits) - set(layers))
        if unknown:
            raise InputError(f"quant_bits names layer {unknown[0]!r}, which is not pruned; pruned layers: {list(layers)}")
        return {i: Quantizer(b, self.quant_levels) for i, b in bits.items() if b}

    def schedule(self):
        """The rho schedule object (``admm.rho``) these settings describe."""
        if self.rho_schedule == "geometric":
            return RhoSchedule(self.rho0, self.rho_growth, self.rho_max)
        if self.rho_schedule == "balanced":
            return ResidualBalancing(self.rho0, self.rho_mu, self.rho_tau, self.rho_min, self.rho_max)
        raise InputError(f"rho_schedule={self.rho_schedule!r}: expected 'geometric' or 'balanced'")
