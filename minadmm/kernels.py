"""Fast numba kernels. Each has a slow twin of the same signature in ``reference.py``; tests compare them.

Kernels are module-level ``@njit`` functions on plain arrays and scalars; layers only call them.
They are compiled once and cached on disk (``cache=True``), so the compile cost is paid on first use only.
All kernels are serial: training runs them in parallel on shards of the batch, one thread per core
(parallel.py). A numba ``parallel=True`` Adam was measured to slow training down (2,218 against 2,553
samples/s at batch 64, docs/performance.md): its OpenMP threads compete with the worker threads.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _im2col(xr, kh, kw, C, cols):
    # xr (N, Hp, Wp*C) is the padded channels-last input with (W, C) merged: the kw*C values that
    # cols[(n, i, j), (u, :, :)] takes from row i + u are one contiguous run starting at j*C.
    N, Hp, WpC = xr.shape
    Ho, Wo = Hp - kh + 1, WpC // C - kw + 1
    run = kw * C
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                row = (n * Ho + i) * Wo + j
                for u in range(kh):
                    if run >= 16:  # long runs: copy between slices, whose 0-based loop vectorises
                        src = xr[n, i + u, j * C:j * C + run]
                        dst = cols[row, u * run:(u + 1) * run]
                        for t in range(run):
                            dst[t] = src[t]
                    else:  # short runs (conv1, C = 1): slicing costs more than it saves
                        for t in range(run):
                            cols[row, u * run + t] = xr[n, i + u, j * C + t]


def _pad_merge(x, pad):
    """(N, H, W, C) -> contiguous padded (N, H+2p, (W+2p)*C)."""
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    x = np.ascontiguousarray(x)
    return x.reshape(x.shape[0], x.shape[1], -1)


def _buffer(out, shape, dtype):
    """``out`` when it has this shape and dtype (a workspace reused across calls), else a new array."""
    if out is not None and out.shape == shape and out.dtype == dtype:
        return out
    return np.empty(shape, dtype=dtype)


def im2col(x, kh, kw, pad, out=None):
    """x (N, H, W, C) channels-last -> cols (N*Ho*Wo, kh*kw*C); twin of ``reference.im2col``.

    ``out``: an optional workspace, used when its shape and dtype fit (saves page faults on big arrays).
    """
    N, H, W, C = x.shape
    Ho, Wo = H + 2 * pad - kh + 1, W + 2 * pad - kw + 1
    cols = _buffer(out, (N * Ho * Wo, kh * kw * C), x.dtype)
    _im2col(_pad_merge(x, pad), kh, kw, C, cols)
    return cols


@njit(cache=True, nogil=True)
def _col2im(cols, kh, kw, C, dxr):
    N, Hp, WpC = dxr.shape
    Ho, Wo = Hp - kh + 1, WpC // C - kw + 1
    run = kw * C
    dxr[:] = 0
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                row = (n * Ho + i) * Wo + j
                for u in range(kh):
                    if run >= 16:  # as in _im2col
                        dst = dxr[n, i + u, j * C:j * C + run]
                        src = cols[row, u * run:(u + 1) * run]
                        for t in range(run):
                            dst[t] += src[t]
                    else:
                        for t in range(run):
                            dxr[n, i + u, j * C + t] += cols[row, u * run + t]


def col2im(cols, x_shape, kh, kw, pad):
    """cols (N*Ho*Wo, kh*kw*C) -> dx (N, H, W, C), the adjoint of im2col; twin of ``reference.col2im``."""
    N, H, W, C = x_shape
    dxp = np.empty((N, H + 2 * pad, W + 2 * pad, C), dtype=cols.dtype)
    _col2im(cols, kh, kw, C, dxp.reshape(N, H + 2 * pad, -1))
    return dxp if pad == 0 else dxp[:, pad:pad + H, pad:pad + W, :]


@njit(cache=True, nogil=True)
def _maxpool2x2(x, out, arg):
    # x and out are (N, C, H, W) views of channels-last memory (the layout convolutions produce); the
    # loops run in that memory order. Any other strides give the same result, only slower.
    N, C, H, W = x.shape
    Ho, Wo = H // 2, W // 2
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    best = x[n, c, 2 * i, 2 * j]
                    k = 0
                    val = x[n, c, 2 * i, 2 * j + 1]
                    if val > best:
                        best = val
                        k = 1
                    val = x[n, c, 2 * i + 1, 2 * j]
                    if val > best:
                        best = val
                        k = 2
                    val = x[n, c, 2 * i + 1, 2 * j + 1]
                    if val > best:
                        best = val
                        k = 3
                    out[n, c, i, j] = best
                    arg[n, c, i, j] = k


def maxpool2x2_forward(x):
    """x (N, C, H, W) -> out (N, C, H//2, W//2), arg uint8; twin of ``reference.maxpool2x2_forward``.

    Ties go to the first window position in row-major order, as in the twin. ``out`` is an (N, C, H, W)
    view of channels-last memory, the layout the next convolution reads fastest.
    """
    N, C, H, W = x.shape
    out = np.empty((N, H // 2, W // 2, C), dtype=x.dtype).transpose(0, 3, 1, 2)  # NCHW view, NHWC memory
    arg = np.empty((N, H // 2, W // 2, C), dtype=np.uint8).transpose(0, 3, 1, 2)
    _maxpool2x2(x, out, arg)
    return out, arg


@njit(cache=True, nogil=True)
def _maxpool2x2_backward(dout, arg, dx):
    N, C, Ho, Wo = dout.shape
    dx[:] = 0
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    k = arg[n, c, i, j]
                    dx[n, c, 2 * i + k // 2, 2 * j + k % 2] = dout[n, c, i, j]


def maxpool2x2_backward(dout, arg, x_shape, like=None):
    """dout (N, C, Ho, Wo) -> dx of shape x_shape; twin of ``reference.maxpool2x2_backward``.

    ``like`` (optional) is the forward input: dx then gets its memory layout, so that a convolution's
    backward below can reshape dx to its (F, N*H*W) GEMM layout without a copy.
    """
    dx = np.empty(x_shape, dtype=dout.dtype) if like is None else np.empty_like(like, order="K")
    _maxpool2x2_backward(dout, arg, dx)
    return dx


# error_model="numpy": a float division by zero gives inf/nan as in NumPy instead of raising, which removes
# the per-element zero check that kept these loops from vectorising (Adam went from 1.6 to 0.22 ms for
# 400,000 weights; the denominators here are never zero).
@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _adam(w, g, m, v, lr, b1, omb1, b2, omb2, eps, c1, c2):
    # All scalars have w's dtype, so float32 parameters are updated in float32 arithmetic.
    for i in range(w.size):
        mi = b1 * m[i] + omb1 * g[i]
        vi = b2 * v[i] + omb2 * g[i] * g[i]
        m[i] = mi
        v[i] = vi
        w[i] -= lr * (mi / c1) / (np.sqrt(vi / c2) + eps)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _adam_masked(w, g, m, v, mask, lr, b1, omb1, b2, omb2, eps, c1, c2):
    for i in range(w.size):
        gi = g[i] * mask[i]
        mi = (b1 * m[i] + omb1 * gi) * mask[i]
        vi = (b2 * v[i] + omb2 * gi * gi) * mask[i]
        m[i] = mi
        v[i] = vi
        w[i] = (w[i] - lr * (mi / c1) / (np.sqrt(vi / c2) + eps)) * mask[i]


def adam_update(w, g, m, v, mask, lr, beta1, beta2, eps, t):
    """One fused Adam step in place on w, m, v (contiguous arrays); twin of ``reference.adam_update``."""
    dt = w.dtype.type
    scalars = (dt(lr), dt(beta1), dt(1 - beta1), dt(beta2), dt(1 - beta2), dt(eps),
               dt(1 - beta1 ** t), dt(1 - beta2 ** t))  # c1, c2: bias corrections
    args = (w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1))
    if mask is None:
        _adam(*args, *scalars)
    else:
        _adam_masked(*args, mask.reshape(-1).astype(w.dtype, copy=False), *scalars)
