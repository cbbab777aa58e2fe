"""The method: ADMM weight pruning (Zhang et al., ECCV 2018, section 3).

    projections.py  the Z-step's Euclidean projections: onto {card <= l}, and one budget over all layers
    steps.py        one function per equation: W-step penalty and gradient, Z-step, U-step, r, s, eps, rescaling
    rho.py          rho schedules
    loop.py         ADMMState and ``admm``: the iteration, one line per step
"""
from .loop import ADMMState, admm
from .projections import Budget, keep_count, project_budget, project_cardinality, topk_mask
from .rho import RhoSchedule
from .steps import (boyd_eps, converged, dual_residual, primal_residual, rescale_dual, u_step, w_step_penalty,
                    w_step_penalty_grad, z_step, z_step_budget)
