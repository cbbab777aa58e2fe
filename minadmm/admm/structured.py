"""Structured sets for the Z-step (StructADMM, Zhang et al. 2018, arXiv 1807.11091; N:M sparsity): the
same ADMM, other projections.

Group sparsity. The entries of W are partitioned into groups G_1..G_n; S = {Z : at most k groups of Z are
non-zero}. The projection keeps the k groups of largest Frobenius norm and zeroes the rest: for a set T of
kept groups the closest point of {Z : supp(Z) in the union of T} keeps x on T, at squared distance
sum_{g not in T} ||x_g||^2, smallest when T holds the k largest ||x_g|| (the argument of the cardinality
projection, on group norms). Ties: the smallest group index first. The groups, for a convolution W (F, C,
kh, kw) and a dense layer W (in, out):

    filters   conv: W[f, :, :, :], one group per output channel f           (n = F)
    channels  conv: W[:, c, :, :], one group per input channel c            (n = C)
    columns   conv: W[:, c, u, v], one group per filter-shape position      (n = C kh kw)
    units     dense: W[:, j], one group per output unit j                   (n = out)
    inputs    dense: W[i, :], one group per input i                         (n = in)

N:M sparsity. Along the input dimension of every output (conv: the C kh kw taps of a filter in C order;
dense: the column W[:, j]), consecutive blocks of M entries keep at most N each (a last, shorter block
keeps at most min(N, its length)). The set is a product of one cardinality set per block, so the
projection keeps the N largest |x| of every block (ties: smallest index first) and is exact.

A structured target is written "KIND:K" ("filters:8", "inputs:300") or "N:M" ("2:4").
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .projections import topk_mask

GROUPS = {"filters": 4, "channels": 4, "columns": 4, "units": 2, "inputs": 2}  # kind -> the W.ndim it applies to


def group_ids(shape, kind):
    """An int64 array of ``shape`` giving each entry's group (module docstring), and the number of groups."""
    if kind not in GROUPS:
        raise InputError(f"unknown structure {kind!r}; choose one of {', '.join(GROUPS)} or N:M")
    if len(shape) != GROUPS[kind]:
        layer = "a convolution (F, C, kh, kw)" if GROUPS[kind] == 4 else "a dense layer (in, out)"
        raise InputError(f"structure {kind!r} applies to {layer}, not to weights of shape {tuple(shape)}")
    idx = np.indices(shape)
    if kind == "filters":
        return idx[0], shape[0]
    if kind == "channels":
        return idx[1], shape[1]
    if kind == "columns":
        return np.ravel_multi_index((idx[1], idx[2], idx[3]), shape[1:]), int(np.prod(shape[1:]))
    if kind == "units":
        return idx[1], shape[1]
    return idx[0], shape[0]  # inputs


def group_mask(x, kind, k, norm="l2"):
    """Boolean mask of x's shape: the entries of the k groups of largest Frobenius norm (the projection's),
    or with norm="l1" of largest L1 norm (Li et al. 2017's filter ranking, the structured baseline)."""
    x = np.asarray(x)
    ids, n = group_ids(x.shape, kind)
    a = x.astype(np.float64)
    size = np.bincount(ids.reshape(-1), weights=(a ** 2 if norm == "l2" else np.abs(a)).reshape(-1), minlength=n)
    if np.isnan(size).any():
        raise InputError("cannot project an array that contains NaN")
    return topk_mask(size, k)[ids]


def project_groups(x, kind, k):
    """Euclidean projection of x onto {Z : at most k non-zero groups of ``kind``}: x on the k groups of
    largest norm (ties: smallest group index), zero elsewhere. Returns a new array of x's shape and dtype."""
    x = np.asarray(x)
    return np.where(group_mask(x, kind, k), x, np.zeros((), dtype=x.dtype)).astype(x.dtype, copy=False)


def _rows(x):
    """x as (outputs, fan_in): conv (F, C kh kw), dense W.T (out, in)."""
    return x.reshape(x.shape[0], -1) if x.ndim == 4 else x.T


def _from_rows(r, shape):
    return r.reshape(shape) if len(shape) == 4 else r.T


def nm_mask(x, n, m):
    """Boolean mask of x's shape: the n largest |x| of every block of m consecutive inputs of every output
    (ties: smallest index first); a last, shorter block keeps min(n, its length)."""
    x = np.asarray(x)
    rows = np.abs(_rows(x)).astype(np.float64)
    if np.isnan(rows).any():
        raise InputError("cannot project an array that contains NaN")
    out, fan_in = rows.shape
    blocks = -(-fan_in // m)
    padded = np.full((out, blocks * m), -1.0)  # padding ranks below every real entry and is never kept
    padded[:, :fan_in] = rows
    b = padded.reshape(out, blocks, m)
    order = np.argsort(-b, axis=2, kind="stable")  # largest first, ties by position
    keep = np.zeros_like(b, dtype=bool)
    np.put_along_axis(keep, order[:, :, :n], True, axis=2)
    keep &= b >= 0
    return _from_rows(keep.reshape(out, -1)[:, :fan_in], x.shape)


def project_nm(x, n, m):
    """Euclidean projection of x onto the N:M set (module docstring)."""
    x = np.asarray(x)
    return np.where(nm_mask(x, n, m), x, np.zeros((), dtype=x.dtype)).astype(x.dtype, copy=False)


def _count(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InputError(f"{what}={value!r}: expected an integer >= 0")
    return int(value)


@dataclass(frozen=True)
class Structure:
    """A structured target: ``kind`` in GROUPS with ``k`` groups kept, or kind "nm" keeping ``n`` of every ``m``."""
    kind: str
    k: int = 0
    n: int = 0
    m: int = 0

    @classmethod
    def parse(cls, text):
        """ "filters:8" -> Structure("filters", k=8); "2:4" -> Structure("nm", n=2, m=4)."""
        if not isinstance(text, str) or ":" not in text:
            raise InputError(f"structured target {text!r}: expected KIND:K (KIND one of {', '.join(GROUPS)}) or N:M")
        a, b = (s.strip() for s in text.split(":", 1))
        try:
            if a.isdigit():
                n, m = int(a), int(b)
                if not 1 <= n <= m:
                    raise InputError(f"N:M target {text!r}: expected 1 <= N <= M")
                return cls("nm", n=n, m=m)
            if a not in GROUPS:
                raise InputError(f"structured target {text!r}: unknown structure {a!r}; choose one of "
                                 f"{', '.join(GROUPS)} or N:M")
            return cls(a, k=_count(int(b), f"{a} count"))
        except ValueError as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"structured target {text!r}: expected KIND:K or N:M with integers") from None

    def __str__(self):
        return f"{self.n}:{self.m}" if self.kind == "nm" else f"{self.kind}:{self.k}"

    def check(self, shape, layer):
        """Raise when the structure does not fit a layer of weights ``shape`` (its kind or its count)."""
        if self.kind == "nm":
            return
        _, n = group_ids(shape, self.kind)
        if self.k > n:
            raise InputError(f"{layer}={self}: {layer} has only {n} {self.kind}")

    def mask(self, x, norm="l2"):
        """The support of the projection (norm "l2"), or of the L1-norm ranking of groups (norm "l1")."""
        return nm_mask(x, self.n, self.m) if self.kind == "nm" else group_mask(x, self.kind, self.k, norm)

    @property
    def shrinks(self):
        """Whether removing the structure's groups removes whole channels or units (not columns or N:M)."""
        return self.kind in ("filters", "channels", "units", "inputs")

    def project(self, x, l=None):
        """Z = Proj_S(x) (``l`` is unused: the target is the structure itself)."""
        return project_nm(x, self.n, self.m) if self.kind == "nm" else project_groups(x, self.kind, self.k)

    def max_nonzeros(self, shape):
        """The most non-zero weights a layer of ``shape`` keeps under this structure."""
        if self.kind == "nm":
            out, fan_in = shape[0] if len(shape) == 4 else shape[1], int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
            full, rest = divmod(fan_in, self.m)
            return out * (full * self.n + min(self.n, rest))
        ids, n = group_ids(shape, self.kind)
        return int(np.prod(shape)) // n * min(self.k, n)
