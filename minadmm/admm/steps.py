"""The ADMM steps of Zhang et al. (ECCV 2018, section 3), one small function per equation.

Problem: minimize f({W_i}, {b_i}) + sum_i g_i(Z_i) subject to W_i = Z_i, g_i the indicator of
S_i = {card(Z) <= l_i}. Scaled augmented Lagrangian, U_i = Lambda_i / rho_i:

    L_rho = f + sum_i g_i(Z_i) + sum_i rho_i/2 ||W_i - Z_i + U_i||_F^2 - sum_i rho_i/2 ||U_i||_F^2

Each function below is one line of iteration k for one layer i (``loop.admm`` calls them in order);
residuals and tolerances are Boyd et al. 2011, sections 3.3 and 3.4.1.
"""
from __future__ import annotations

import numpy as np

from .projections import project_cardinality


def w_step_penalty(W, Z, U, rho):
    """The W-step's added term rho/2 ||W - Z + U||_F^2 (a NumPy scalar)."""
    return rho / 2 * np.sum((W - Z + U) ** 2)


def w_step_penalty_grad(W, Z, U, rho):
    """Gradient of the W-step penalty rho/2 ||W - Z + U||_F^2 with respect to W:  rho (W - Z + U).
    (What training runs is the fused kernel ``nn.kernels.add_penalty_grad``; tests hold it to this twin.)"""
    return rho * (W - Z + U)


def z_step(W, U, l, project=project_cardinality):
    """Z^{k+1} = Proj_S(W^{k+1} + U^k). S = {card(Z) <= l} by default: keep the l largest |W + U|, zero the
    rest; ``project(x, l)`` names another set S by its Euclidean projection."""
    return project(W + U, l)


def z_step_budget(W, U, budget):
    """Z^{k+1} = Proj_S(W^{k+1} + U^k) over all layers at once (dicts layer -> array), S = one budget of L
    non-zeros (``projections.Budget``); returns (Z, l) with l_i the count layer i got."""
    return budget.project({i: W[i] + U[i] for i in W})


def u_step(U, W, Z):
    """U^{k+1} = U^k + W^{k+1} - Z^{k+1}  (scaled dual update)."""
    return U + W - Z


def primal_residual(W, Z):
    """r^{k+1} = ||W^{k+1} - Z^{k+1}||_F."""
    return float(np.linalg.norm((W - Z).ravel()))


def dual_residual(Z, Z_prev, rho):
    """s^{k+1} = rho ||Z^{k+1} - Z^k||_F."""
    return float(rho * np.linalg.norm((Z - Z_prev).ravel()))


def boyd_eps(W, Z, U, rho, eps_abs, eps_rel):
    """(eps_pri, eps_dual) = (sqrt(n) eps_abs + eps_rel max(||W||, ||Z||), sqrt(n) eps_abs + eps_rel ||rho U||),
    n = W.size (Boyd et al. 2011, eq. 3.12 with A = I, B = -I, c = 0)."""
    root_n = np.sqrt(W.size)
    norm = lambda a: float(np.linalg.norm(a.ravel()))  # noqa: E731
    return (root_n * eps_abs + eps_rel * max(norm(W), norm(Z)),
            root_n * eps_abs + eps_rel * rho * norm(U))


def converged(r, s, eps_pri, eps_dual):
    """Boyd's stopping rule: r <= eps_pri and s <= eps_dual."""
    return r <= eps_pri and s <= eps_dual


def rescale_dual(U, rho_old, rho_new):
    """U <- U rho_old / rho_new when rho changes, so that the unscaled dual Lambda = rho U is unchanged
    (Boyd et al. 2011, section 3.4.1)."""
    return U * (rho_old / rho_new)
