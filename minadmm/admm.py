"""ADMM weight pruning (Zhang et al., ECCV 2018, section 3), one small function per step.

Problem: minimize f({W_i}, {b_i}) + sum_i g_i(Z_i) subject to W_i = Z_i, g_i the indicator of
S_i = {card(Z) <= l_i}. Scaled augmented Lagrangian, U_i = Lambda_i / rho_i:

    L_rho = f + sum_i g_i(Z_i) + sum_i rho_i/2 ||W_i - Z_i + U_i||_F^2 - sum_i rho_i/2 ||U_i||_F^2

Iteration k (``ADMM.iterate``):
    W-step  W^{k+1} = argmin_W f(W) + sum_i rho_i/2 ||W_i - Z_i^k + U_i^k||^2   (epochs of Adam; the penalty
            adds ``w_step_penalty_grad`` to dL/dW_i; biases are not penalised)
    Z-step  Z_i^{k+1} = Proj_{S_i}(W_i^{k+1} + U_i^k)                          (``z_step``)
    U-step  U_i^{k+1} = U_i^k + W_i^{k+1} - Z_i^{k+1}                            (``u_step``)
Residuals (Boyd et al. 2011, section 3.3): r = ||W - Z||_F, s = rho ||Z - Z_prev||_F, with
eps_pri = sqrt(n) eps_abs + eps_rel max(||W||, ||Z||), eps_dual = sqrt(n) eps_abs + eps_rel ||rho U||.
Initialisation as the authors': W from a dense model, Z^0 = Proj(W^0), U^0 = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from .projections import project_cardinality


def w_step_penalty_grad(W, Z, U, rho):
    """Gradient of the W-step penalty rho/2 ||W - Z + U||_F^2 with respect to W:  rho (W - Z + U)."""
    return rho * (W - Z + U)


def z_step(W, U, l):
    """Z^{k+1} = Proj_S(W^{k+1} + U^k), S = {card(Z) <= l}: keep the l largest |W + U|, zero the rest."""
    return project_cardinality(W + U, l)


def u_step(U, W, Z):
    """U^{k+1} = U^k + W^{k+1} - Z^{k+1}  (scaled dual update)."""
    return U + W - Z


def primal_residual(W, Z):
    """r^k = ||W^k - Z^k||_F."""
    return float(np.linalg.norm((W - Z).ravel()))


def dual_residual(Z, Z_prev, rho):
    """s^k = rho ||Z^k - Z^{k-1}||_F."""
    return float(rho * np.linalg.norm((Z - Z_prev).ravel()))


def boyd_eps(W, Z, U, rho, eps_abs, eps_rel):
    """(eps_pri, eps_dual) = (sqrt(n) eps_abs + eps_rel max(||W||, ||Z||), sqrt(n) eps_abs + eps_rel ||rho U||)."""
    root_n = np.sqrt(W.size)
    norm = lambda a: float(np.linalg.norm(a.ravel()))  # noqa: E731
    return (root_n * eps_abs + eps_rel * max(norm(W), norm(Z)),
            root_n * eps_abs + eps_rel * rho * norm(U))


@dataclass
class RhoSchedule:
    """rho_k = min(rho0 * growth^k, rho_max). growth = 1 is the authors' constant rho (1e-4 in their
    TensorFlow code); their later code multiplies rho by 1.3 at every Z/U update."""
    rho0: float = 1e-3
    growth: float = 1.0
    rho_max: float = 1.0

    def __post_init__(self):
        if not self.rho0 > 0:
            raise ValueError(f"rho0={self.rho0}: expected a positive number")
        if not self.growth >= 1.0:
            raise ValueError(f"rho growth={self.growth}: expected >= 1")
        if not self.rho_max >= self.rho0:
            raise ValueError(f"rho_max={self.rho_max} is below rho0={self.rho0}")

    def __call__(self, k):
        return float(min(self.rho0 * self.growth ** k, self.rho_max))


class ADMMState:
    """W (views of the model's weights), Z, U and rho for every pruned layer; ``keep`` maps layer -> l.

    ``rescale_U``: when rho changes from rho_k to rho_{k+1}, U is multiplied by rho_k / rho_{k+1} so that
    the unscaled dual Lambda = rho U is unchanged (Boyd et al. 2011, section 3.4.1). The authors' code
    changes rho without rescaling U; pass rescale_U=False for that.
    """

    def __init__(self, model, keep, rho, rescale_U=True):
        self.model = model
        self.keep = dict(keep)
        self.schedule = {n: (rho[n] if isinstance(rho, dict) else rho) for n in self.keep}
        self.rescale_U = rescale_U
        self.k = 0
        self.W = {n: model[n].params["W"] for n in self.keep}
        self.rho = {n: self.schedule[n](0) for n in self.keep}
        self.Z = {n: project_cardinality(self.W[n], self.keep[n]) for n in self.keep}  # Z^0 = Proj(W^0)
        self.U = {n: np.zeros_like(self.W[n]) for n in self.keep}  # U^0 = 0

    def add_penalty_grads(self):
        """During the W-step: dL/dW_i += rho_i (W_i - Z_i + U_i) for every pruned layer
        (``w_step_penalty_grad``, fused into one pass by ``kernels.add_penalty_grad``)."""
        for n in self.keep:
            kernels.add_penalty_grad(self.model[n].grads["W"], self.W[n], self.Z[n], self.U[n], self.rho[n])

    def penalty(self):
        """sum_i rho_i/2 ||W_i - Z_i + U_i||^2 (the W-step's added term)."""
        return float(sum(self.rho[n] / 2 * np.sum((self.W[n] - self.Z[n] + self.U[n]) ** 2) for n in self.keep))

    def zu_update(self, eps_abs=1e-4, eps_rel=1e-3):
        """Z-step and U-step for every layer, then the rho update. Returns one dict per layer with
        r, s, eps_pri, eps_dual, rho (the rho used in this iteration) and nnz_Z."""
        rows = []
        for n in self.keep:
            W, U, rho = self.W[n], self.U[n], self.rho[n]
            Z_prev = self.Z[n]
            Z = z_step(W, U, self.keep[n])
            U = u_step(U, W, Z)
            eps_pri, eps_dual = boyd_eps(W, Z, U, rho, eps_abs, eps_rel)
            rows.append({"layer": n, "r": primal_residual(W, Z), "s": dual_residual(Z, Z_prev, rho),
                         "eps_pri": eps_pri, "eps_dual": eps_dual, "rho": rho,
                         "nnz_Z": int(np.count_nonzero(Z)), "keep": self.keep[n]})
            self.Z[n], self.U[n] = Z, U
        self.k += 1
        for n in self.keep:
            new_rho = self.schedule[n](self.k)
            if self.rescale_U and new_rho != self.rho[n]:
                self.U[n] = self.U[n] * (self.rho[n] / new_rho)
            self.rho[n] = new_rho
        return rows

    def arrays(self):
        """Z and U as a flat dict for checkpoints."""
        return {**{f"Z:{n}": z for n, z in self.Z.items()}, **{f"U:{n}": u for n, u in self.U.items()}}

    def load_arrays(self, arrays, k, rho):
        self.k = k
        self.rho = dict(rho)
        for n in self.keep:
            self.Z[n] = arrays[f"Z:{n}"]
            self.U[n] = arrays[f"U:{n}"]
