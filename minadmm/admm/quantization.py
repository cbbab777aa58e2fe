"""Quantization as an ADMM constraint (ADMM-NN, Ren et al. 2019): the Z-step's set for joint pruning and
quantization of one layer,

    S = {Z : card(Z) <= l,  every non-zero Z_j in alpha Q},   Q = {+-m_1, ..., +-m_h},  h = 2^(b-1)

so a layer's non-zeros take at most 2^b values (b bits: a sign and b - 1 bits of level), alpha > 0 its
scale. Two level sets m (``unit_levels``):

    uniform  m = 1, 2, ..., h                       (alpha, 2 alpha, ...: a uniform grid without zero)
    pow2     m = 1, 1/2, 1/4, ..., 2^-(h-1)         (powers of two: a multiplication becomes a shift)

Zero is not a level: pruned entries are zero, and their positions are stored apart from the codes.

**The projection for a fixed alpha is exact** (``project_quantized``). The problem separates over entries:
an entry j kept in the support costs (|x_j| - q(|x_j|))^2, q the nearest level of alpha m; dropped, it costs
x_j^2. Keeping j gains g_j = x_j^2 - (|x_j| - q)^2 = 2 |x_j| q - q^2, which is continuous in |x_j| (at a
midpoint between two levels both give the same gain) and strictly increasing (q > 0), so the best support
is the l entries of largest |x| (``projections.topk_mask``, same tie rule), less those whose gain is not
positive: |x_j| <= alpha m_1 / 2, where zero is at least as close as the smallest level.

**The scale is a heuristic** (``best_scale``): the distance d(alpha) = ||x - Proj_{S(alpha)}(x)||^2 is
piecewise quadratic and not convex in alpha. It is searched on a grid of ``GRID`` scales (log-spaced so that
the largest level alpha m_h runs from a quarter of the median to 1.5 times the largest kept |x|), and the best grid point
is refined by alternating the assignment with the scale that is optimal for it (Lloyd's iteration:
alpha = sum_j |x_j| m_(j) / sum_j m_(j)^2 over the kept entries), accepted only while d decreases. The
result is never worse than any grid point, but it is not proven the global minimum.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .projections import topk_mask

LEVELS = ("uniform", "pow2")
GRID = 64
LLOYD_STEPS = 20


def unit_levels(bits, kind):
    """The h = 2^(bits-1) positive unit levels m, increasing: uniform 1..h, pow2 2^-(h-1) .. 1.
    bits in 1..8 (1 bit: the sign only, m = [1])."""
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 1 <= bits <= 8:
        raise InputError(f"bits={bits!r}: expected an integer from 1 to 8")
    if kind not in LEVELS:
        raise InputError(f"levels {kind!r}: expected one of {', '.join(LEVELS)}")
    h = 2 ** (int(bits) - 1)
    if kind == "uniform":
        return np.arange(1, h + 1, dtype=np.float64)
    return 2.0 ** -np.arange(h - 1, -1, -1, dtype=np.float64)


def nearest_level(a, m):
    """Index into the increasing levels m of the level nearest to each a >= 0 (a midpoint goes to the
    smaller level). a: any shape; returns int64 of a's shape."""
    mid = (m[1:] + m[:-1]) / 2
    return np.searchsorted(mid, a, side="left")


def project_quantized(x, l, alpha, m):
    """Euclidean projection of x onto S = {Z : card(Z) <= l, non-zeros in alpha * {+-m}} for a fixed scale.

    x: any shape; l: keep count; alpha > 0; m: increasing positive unit levels (``unit_levels``).
    Returns (Z, codes): Z of x's shape and dtype; codes int16 of x's shape (8 bits reach +-128, past int8):
    0 where Z is zero, else sign(x) (1 + index of the level), so Z = sign(codes) alpha m[|codes| - 1]."""
    x = np.asarray(x)
    if not alpha > 0:
        raise InputError(f"scale alpha={alpha!r}: expected a positive number")
    a = np.abs(x).astype(np.float64)
    with np.errstate(over="ignore"):  # a / alpha = inf for a subnormal alpha: its nearest level is the top one
        idx = nearest_level(a / alpha, m)
    keep = topk_mask(x, l) & (a > alpha * m[0] / 2)  # top-l by |x|, less those closer to zero than to a level
    codes = np.where(keep, np.sign(x).astype(np.int16) * (idx + 1).astype(np.int16), 0).astype(np.int16)
    return decode(codes, alpha, m).astype(x.dtype), codes


def decode(codes, alpha, m):
    """Z = sign(codes) alpha m[|codes| - 1] (zero where codes is 0), float64."""
    c = np.abs(codes.astype(np.int64))
    return np.where(c > 0, np.sign(codes) * alpha * m[np.maximum(c, 1) - 1], 0.0)


def distance2(x, l, alpha, m):
    """d(alpha) = ||x - Proj_{S(alpha)}(x)||^2 (float)."""
    z, _ = project_quantized(x, l, alpha, m)
    return float(np.sum((np.asarray(x, dtype=np.float64) - z) ** 2))


def scale_grid(top, m):
    """The ``GRID`` candidate scales for the kept magnitudes ``top`` (> 0): log-spaced so that alpha m_h runs
    from a quarter of their median to 1.5 times their largest (relative to the largest when the smallest
    would underflow, as for magnitudes near the float limits; no candidate below the smallest positive
    float, so every one is a valid scale even for subnormal magnitudes)."""
    lo, hi = 0.25 * np.median(top) / m[-1], 1.5 * top.max() / m[-1]
    if lo > 0 and np.isfinite(hi):
        return np.geomspace(lo, hi, GRID)
    tiny, big = np.finfo(np.float64).smallest_subnormal, top.max()
    grid = big * np.geomspace(max(0.25 * np.median(top / big) / m[-1], tiny), 1.5 / m[-1], GRID)
    return np.maximum(grid, tiny)


def best_scale(x, l, m):
    """The scale alpha of the projection onto the union of S(alpha) over alpha > 0: the best of ``GRID``
    log-spaced scales, refined by Lloyd's iteration (module docstring: a heuristic, never worse than the
    grid). Only the l largest |x| matter, so the search runs on them. Returns alpha (1.0 if x is all zero)."""
    a = np.abs(np.asarray(x, dtype=np.float64)).reshape(-1)
    top = a[topk_mask(a, l)]
    top = top[top > 0]
    if top.size == 0:
        return 1.0
    grid = scale_grid(top, m)
    cost = lambda alpha: distance2(top, top.size, alpha, m)  # noqa: E731  (the rest of x costs the same for every alpha)
    best = min(grid, key=cost)
    d = cost(best)
    for _ in range(LLOYD_STEPS):
        _, codes = project_quantized(top, top.size, best, m)
        mu = np.abs(decode(codes, 1.0, m))  # each kept entry's unit level, 0 where dropped
        if not np.any(mu):
            break
        alpha = float(np.sum(top * mu) / np.sum(mu * mu))
        if not alpha > 0:  # underflow at subnormal magnitudes: keep the grid's (positive) scale
            break
        d_new = cost(alpha)
        if not d_new < d:
            break
        best, d = alpha, d_new
    return float(best)


@dataclass(frozen=True)
class Quantizer:
    """A layer's joint sparsity + levels set: ``bits`` per non-zero, ``levels`` "uniform" or "pow2"."""
    bits: int
    levels: str = "uniform"

    def __post_init__(self):
        unit_levels(self.bits, self.levels)  # validates

    @property
    def m(self):
        return unit_levels(self.bits, self.levels)

    def project(self, x, l):
        """Z = Proj_S(x): the scale by ``best_scale``, then the exact projection for it."""
        return project_quantized(x, l, best_scale(x, l, self.m), self.m)[0]

    def project_codes(self, x, l):
        """(Z, codes, alpha) of ``project``."""
        alpha = best_scale(x, l, self.m)
        z, codes = project_quantized(x, l, alpha, self.m)
        return z, codes, alpha
