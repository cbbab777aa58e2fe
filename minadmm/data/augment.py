"""Random translations of training images (data augmentation), a fast kernel and its NumPy twin.

Not part of the paper's recipe: the authors train on the plain images. minadmm offers it as an option
(``--shift``) for dense training and masked retraining, and applies it to the magnitude baseline too
whenever it applies it to ADMM, so the comparison stays fair (docs/paper_map.md lists it as a departure).

    out[n, c, i, j] = x[n, c, i + dy_n, j + dx_n]   (0 outside the image),  dy_n, dx_n uniform in [-s, s]
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import InputError


@njit(cache=True, nogil=True)
def _shift(x, dy, dx, out):
    N, C, H, W = x.shape
    for n in range(N):
        a, b = dy[n], dx[n]
        for c in range(C):
            for i in range(H):
                si = i + a
                if si < 0 or si >= H:
                    out[n, c, i, :] = 0
                    continue
                for j in range(W):
                    sj = j + b
                    out[n, c, i, j] = x[n, c, si, sj] if 0 <= sj < W else 0


def draw_shifts(n, max_shift, rng):
    """(dy, dx), each (n,) int64 uniform in [-max_shift, max_shift]."""
    return rng.integers(-max_shift, max_shift + 1, n), rng.integers(-max_shift, max_shift + 1, n)


def shift_images(x, dy, dx):
    """x (N, C, H, W) translated per image by (dy[n], dx[n]) pixels, zero-filled -> new (N, C, H, W)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    _shift(x, np.asarray(dy, np.int64), np.asarray(dx, np.int64), out)
    return out


def reference_shift_images(x, dy, dx):
    """Twin of ``shift_images``: pad by the largest shift, then slice each image's window."""
    s = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    N, _, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))
    return np.stack([xp[n, :, s + dy[n]:s + dy[n] + H, s + dx[n]:s + dx[n] + W] for n in range(N)]) if N else x.copy()


def check_shift(max_shift):
    """Raise ValueError unless ``max_shift`` is a whole number of pixels in [0, 8]; returns it."""
    if not (isinstance(max_shift, int) and 0 <= max_shift <= 8):
        raise InputError(f"shift={max_shift!r}: expected an integer number of pixels in [0, 8]")
    return max_shift


class RandomShift:
    """Callable ``(x, rng) -> x shifted``: the ``augment`` hook of ``train.run_epoch``."""

    def __init__(self, max_shift):
        self.max_shift = check_shift(max_shift)

    def __call__(self, x, rng):
        if self.max_shift == 0:
            return x
        return shift_images(x, *draw_shifts(len(x), self.max_shift, rng))
