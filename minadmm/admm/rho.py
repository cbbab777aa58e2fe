"""Schedules of the ADMM penalty parameter rho, each as ``next(k, rho, r, s)``: the rho of iteration k + 1
given k iterations done, the current rho and the residuals r, s of iteration k.

    RhoSchedule         rho_k = min(rho0 growth^k, rho_max): constant (growth 1, the authors' first code) or
                        geometric (their later code grows it 1.3x per iteration)
    ResidualBalancing   Boyd et al. 2011, section 3.4.1: rho <- tau rho when r > mu s, rho / tau when
                        s > mu r, else unchanged; kept within [rho_min, rho_max]
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


@dataclass
class RhoSchedule:
    """rho_k = min(rho0 * growth^k, rho_max), k = 0, 1, ... the number of iterations done: rho_0 is used in
    iteration 1, rho_k in iteration k + 1. growth = 1 is the authors' constant rho (1e-4 in their
    TensorFlow code); their later code multiplies rho by 1.3 at every Z/U update."""
    rho0: float = 1e-3
    growth: float = 1.0
    rho_max: float = 1.0

    def __post_init__(self):
        if not self.rho0 > 0:
            raise InputError(f"rho0={self.rho0}: expected a positive number")
        if not self.growth >= 1.0:
            raise InputError(f"rho growth={self.growth}: expected >= 1")
        if not self.rho_max >= self.rho0:
            raise InputError(f"rho_max={self.rho_max} is below rho0={self.rho0}")

    def __call__(self, k):
        return float(min(self.rho0 * self.growth ** k, self.rho_max))

    def next(self, k, rho, r, s):
        """The rho of iteration k + 1: rho_k (the residuals play no part)."""
        return self(k)


@dataclass
class ResidualBalancing:
    """Residual balancing (Boyd et al. 2011, section 3.4.1, eq. 3.13), per layer:

        rho <- tau rho   if r > mu s          (primal residual too large: penalise W - Z harder)
        rho <- rho / tau if s > mu r          (dual residual too large: let W move)
        rho unchanged    otherwise,  then clipped to [rho_min, rho_max].

    U is rescaled by rho_old / rho_new by the loop, as for any change of rho."""
    rho0: float = 1e-3
    mu: float = 10.0
    tau: float = 2.0
    rho_min: float = 1e-6
    rho_max: float = 1.0

    def __post_init__(self):
        if not self.rho0 > 0:
            raise InputError(f"rho0={self.rho0}: expected a positive number")
        if not self.mu > 1:
            raise InputError(f"residual balancing mu={self.mu}: expected a number > 1")
        if not self.tau > 1:
            raise InputError(f"residual balancing tau={self.tau}: expected a number > 1")
        if not 0 < self.rho_min <= self.rho0 <= self.rho_max:
            raise InputError(f"rho0={self.rho0} must lie in [rho_min, rho_max] = [{self.rho_min}, {self.rho_max}]")

    def next(self, k, rho, r, s):
        """The rho of iteration k + 1 from the current rho and iteration k's residuals."""
        if r > self.mu * s:
            rho = rho * self.tau
        elif s > self.mu * r:
            rho = rho / self.tau
        return float(min(max(rho, self.rho_min), self.rho_max))
