"""The ADMM iteration as one loop (paper, section 3; Boyd et al. 2011, sections 3.1-3.4).

    for k = 0, 1, ..., iters - 1:
        W^{k+1}   = argmin_W f(W) + sum_i rho_i/2 ||W_i - Z_i^k + U_i^k||_F^2   W-step (the caller's solver)
        Z_i^{k+1} = Proj_{S_i}(W_i^{k+1} + U_i^k)                                Z-step (or, with a budget,
                                                                                 all layers at once)
        U_i^{k+1} = U_i^k + W_i^{k+1} - Z_i^{k+1}                                U-step
        r_i = ||W_i^{k+1} - Z_i^{k+1}||,  s_i = rho_i ||Z_i^{k+1} - Z_i^k||      residuals, eps_pri_i, eps_dual_i
        rho_i <- schedule(k + 1, rho_i, r_i, s_i),  U_i <- U_i rho_old / rho_new  rho update
        stop if asked and every layer has r_i <= eps_pri_i and s_i <= eps_dual_i

Everything else (checkpoints, history files, logging, timing) lives in the ``on_iteration`` callback.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .projections import project_cardinality
from .steps import boyd_eps, converged, dual_residual, primal_residual, rescale_dual, u_step, z_step, z_step_budget


@dataclass
class ADMMState:
    """What ADMM carries from one iteration to the next, per pruned layer i:

    W[i]    the layer's weights (a view of the model's array: the W-step updates it in place)
    l[i]    the keep count of S_i = {card <= l_i}; with a ``budget``, the count the last Z-step gave layer i
    Z[i], U[i], rho[i]   the current Z^k, U^k, rho_i; ``k`` the number of iterations done.
    budget  None, or one set for all layers at once (``projections.Budget``: sum of counts <= L)
    """
    W: dict
    l: dict
    Z: dict = field(default_factory=dict)
    U: dict = field(default_factory=dict)
    rho: dict = field(default_factory=dict)
    k: int = 0
    budget: object = None

    @classmethod
    def start(cls, W, l, rho, project=project_cardinality, budget=None):
        """The authors' initialisation: Z^0 = Proj_S(W^0), U^0 = 0. ``rho``: rho_0, one number for every
        layer or a dict layer -> number; ``project``: the projection onto S_i (as for ``admm``);
        ``budget``: S is one budget over the layers of ``l`` instead (the values of ``l`` are then unused)."""
        rho = dict(rho) if isinstance(rho, dict) else {i: rho for i in l}
        for i, r in rho.items():
            if isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0:
                raise InputError(f"rho for layer {i!r} is {r!r}: expected a positive number")
        if budget is not None:
            Z, l = budget.project({i: W[i] for i in l})
        else:
            Z = {i: projection(project, i)(W[i], l[i]) for i in l}
        return cls(W=dict(W), l=dict(l), Z=Z, U={i: np.zeros_like(W[i]) for i in l}, rho=rho, budget=budget)

    def arrays(self):
        """Z and U as one flat dict (for checkpoints)."""
        return {**{f"Z:{i}": z for i, z in self.Z.items()}, **{f"U:{i}": u for i, u in self.U.items()}}

    def load(self, arrays, k, rho):
        """Restore Z, U (from ``arrays()``), k and rho."""
        self.Z = {i: arrays[f"Z:{i}"] for i in self.l}
        self.U = {i: arrays[f"U:{i}"] for i in self.l}
        self.k, self.rho = k, dict(rho)
        if self.budget is not None:
            self.l = {i: int(np.count_nonzero(z)) for i, z in self.Z.items()}


def projection(project, i):
    """Layer i's projection: ``project`` itself, or ``project[i]`` when it is a dict (layers it does not
    name get the cardinality projection)."""
    return project.get(i, project_cardinality) if isinstance(project, dict) else project


def residuals(W, Z, Z_prev, U, rho, eps_abs, eps_rel):
    """Boyd's residuals and tolerances of one layer after iteration k + 1:
    {"r", "s", "eps_pri", "eps_dual"} (``steps.primal_residual``, ``dual_residual``, ``boyd_eps``)."""
    eps_pri, eps_dual = boyd_eps(W, Z, U, rho, eps_abs, eps_rel)
    return {"r": primal_residual(W, Z), "s": dual_residual(Z, Z_prev, rho), "eps_pri": eps_pri, "eps_dual": eps_dual}


def admm(state, w_step, iters, rho_update, eps_abs, eps_rel, stop_on_convergence=False, rescale_U=True,
         on_iteration=None, project=project_cardinality):
    """Run ADMM iterations state.k + 1 .. ``iters`` on ``state`` (an ``ADMMState``); returns it.

    w_step(Z, U, rho, k) -> info dict: minimises f(W) + sum_i rho_i/2 ||W_i - Z_i + U_i||^2 over the
        weights in place (``state.W`` holds views of them), starting iteration k + 1.
    rho_update(i, k, rho, r, s) -> rho_i for iteration k + 1, given k iterations done, layer i's current rho
        and the residuals of iteration k (``rho.RhoSchedule.next``, ``rho.ResidualBalancing.next``).
    on_iteration(state, rows, info): after every iteration, with one row per layer: layer, r, s, eps_pri,
        eps_dual, rho (the rho this iteration used), nnz_Z, keep.
    rescale_U: keep Lambda = rho U when rho changes (Boyd); False as the authors' code.
    project(x, l_i): the Euclidean projection onto S_i; the paper's S_i = {card <= l_i} by default; a dict
        {layer: project} gives layers their own sets (``quantization.Quantizer.project``: sparsity + levels).
    """
    W, l = state.W, state.l
    while state.k < iters:
        info = w_step(state.Z, state.U, state.rho, state.k)                       # W-step
        Z_prev = state.Z
        if state.budget is None:
            Z = {i: z_step(W[i], state.U[i], l[i], projection(project, i)) for i in l}  # Z-step
        else:
            Z, l = z_step_budget(W, state.U, state.budget)                         # Z-step, one budget
            state.l = l
        U = {i: u_step(state.U[i], W[i], Z[i]) for i in l}                         # U-step
        res = {i: residuals(W[i], Z[i], Z_prev[i], U[i], state.rho[i], eps_abs, eps_rel) for i in l}  # r, s, eps
        rows = [{"layer": i, **res[i], "rho": state.rho[i], "nnz_Z": int(np.count_nonzero(Z[i])), "keep": l[i]}
                for i in l]
        state.k += 1
        rho = {i: rho_update(i, state.k, state.rho[i], res[i]["r"], res[i]["s"]) for i in l}  # rho update
        if rescale_U:
            U = {i: U[i] if rho[i] == state.rho[i] else rescale_dual(U[i], state.rho[i], rho[i]) for i in l}
        state.Z, state.U, state.rho = Z, U, rho
        if on_iteration is not None:
            on_iteration(state, rows, info)
        if stop_on_convergence and all(converged(r["r"], r["s"], r["eps_pri"], r["eps_dual"]) for r in rows):
            break
    return state
