"""Schedules of the ADMM penalty parameter rho."""
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
