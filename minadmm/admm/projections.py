"""The Z-step's projection: Euclidean projection onto the sparsity set S = {Z : card(Z) <= l}.

Paper, section 3 (Z-step): Z = Proj_S(W + U) keeps the l entries of largest magnitude and zeroes the rest.
Why this is the projection: for any support set T with |T| <= l, the closest point of {Z : supp(Z) in T}
to x is x restricted to T, at squared distance sum_{i not in T} x_i^2; that is smallest when T holds the
l largest |x_i|.

Tie rule (deterministic; the authors' percentile threshold keeps "roughly" l entries instead): entries
whose magnitude equals the l-th largest magnitude are kept in order of their flat (C-order) index, smallest
index first, until exactly min(l, x.size) entries are kept.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


def _check_k(k, n):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise InputError(f"keep count k={k!r} must be a non-negative integer")
    if k < 0:
        raise InputError(f"keep count k={k} must be >= 0")
    return int(min(k, n))


def topk_mask(x, k):
    """Boolean mask of x's shape, True at the min(k, x.size) entries of largest |x| (ties: smallest
    flat index first). O(x.size): a partition, not a full sort. Raises ValueError for NaN entries or a
    negative or non-integer k."""
    x = np.asarray(x)
    k = _check_k(k, x.size)
    a = np.abs(x).reshape(-1)
    if np.isnan(a).any():
        raise InputError("cannot project an array that contains NaN")
    mask = np.zeros(a.size, dtype=bool)
    if k == a.size:
        mask[:] = True
    elif k > 0:
        t = np.partition(a, a.size - k)[a.size - k]  # the k-th largest magnitude
        mask = a > t
        ties = np.flatnonzero(a == t)[:k - int(mask.sum())]  # smallest flat indices first
        mask[ties] = True
    return mask.reshape(x.shape)


def project_cardinality(x, k):
    """Euclidean projection of x onto {Z : card(Z) <= k}.

    Any shape; returns a new array of x's shape and dtype holding x's values at the min(k, x.size)
    largest-magnitude entries (ties: smallest flat index first) and zeros elsewhere; x is not modified.
    k = 0 gives zeros, k >= x.size a copy. Raises ValueError for a negative or non-integer k.
    """
    x = np.asarray(x)
    return np.where(topk_mask(x, k), x, np.zeros((), dtype=x.dtype)).astype(x.dtype, copy=False)


def keep_count(ratio, n):
    """Number of entries to keep for a keep ratio in [0, 1] of n entries: round(ratio * n), halves
    rounded up, i.e. floor(ratio * n + 0.5) (0.009 of 400,000 is 3,600 despite float error)."""
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not 0.0 <= ratio <= 1.0:
        raise InputError(f"keep ratio {ratio!r} must be a number in [0, 1]")
    return int(np.floor(ratio * n + 0.5))


def budget_counts(xs, L, floor=0, scale=None):
    """How many entries each layer keeps when all layers share one budget of L non-zeros: the per-layer
    counts of the projection onto S = {Z : sum_i max(card(Z_i), floor) <= L}.

    xs: {layer: array}. Every layer first keeps its ``floor`` largest |x| (those slots are paid for in any
    case); the remaining L - n floor slots go to the largest remaining |x| over all layers (ties: layers in
    ``xs`` order, then smallest flat index). With ``scale`` = {layer: s_i > 0} the ranking uses |x| / s_i
    instead (see ``project_budget``). Returns {layer: l_i}; sum l_i = min(L, total size)."""
    L, floor = _check_k(L, sum(np.asarray(x).size for x in xs.values())), _check_k(floor, 10**18)
    if floor * len(xs) > L:
        raise InputError(f"budget L={L} cannot give each of the {len(xs)} layers its floor of {floor} "
                         f"(needs at least {floor * len(xs)})")
    counts = {i: min(floor, np.asarray(x).size) for i, x in xs.items()}
    rest = []
    for i, x in xs.items():
        a = np.abs(np.asarray(x, dtype=np.float64)).reshape(-1) / (1.0 if scale is None else scale[i])
        if np.isnan(a).any():
            raise InputError(f"cannot project layer {i!r}: it contains NaN")
        rest.append(np.sort(a)[::-1][counts[i]:])  # layer i's magnitudes after its floor, largest first
    extra = L - sum(counts.values())
    if extra > 0:
        values = np.concatenate(rest)
        owner = np.concatenate([np.full(r.size, n) for n, r in enumerate(rest)])
        order = np.lexsort((np.arange(values.size), -values))[:extra]  # largest first, ties by position
        for n, i in enumerate(xs):
            counts[i] += int(np.count_nonzero(owner[order] == n))
    return counts


def project_budget(xs, L, floor=0, normalise=False):
    """Projection of all layers at once onto S = {Z : sum_i max(card(Z_i), floor) <= L}: one budget of L
    non-zeros over the layers, each layer keeping at least its ``floor`` largest entries.

    normalise=False: the exact Euclidean projection (keep the L largest |x| over all layers, after each
    layer's floor). normalise=True ranks each layer's entries by |x| / max_j |x_ij| instead (each entry
    against its own layer's largest), so a layer of small weights is not starved: that is the exact
    projection in a norm weighted per layer, not in the Euclidean norm of the ADMM penalty, so as a Z-step
    it is a heuristic. Returns ({layer: Z_i}, {layer: l_i})."""
    scale = None
    if normalise:
        scale = {i: float(np.abs(x).max(initial=0.0)) or 1.0 for i, x in xs.items()}
    counts = budget_counts(xs, L, floor, scale)
    return {i: project_cardinality(x, counts[i]) for i, x in xs.items()}, counts


@dataclass(frozen=True)
class Budget:
    """The set S = {Z : sum_i max(card(Z_i), floor) <= L} over all pruned layers (``project_budget``)."""
    L: int
    floor: int = 0
    normalise: bool = False

    def project(self, xs):
        """({layer: Z_i}, {layer: l_i}): the projection of xs = {layer: array} onto S, and each layer's count."""
        return project_budget(xs, self.L, self.floor, self.normalise)
