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
