"""Fast numba kernels. Each has a slow twin of the same signature in ``reference.py``; tests compare them.

Kernels are module-level ``@njit`` functions on plain arrays and scalars; layers only call them.
They are compiled once and cached on disk (``cache=True``), so the compile cost is paid on first use only.
All kernels are serial: training runs them in parallel on shards of the batch, one thread per core
(parallel.py), and the optimizer runs them on pieces of each parameter, one piece per worker thread
(optim.py). A numba ``parallel=True`` Adam was measured to slow training down (2,218 against 2,553
samples/s at batch 64, docs/performance.md): its OpenMP threads compete with the worker threads.
Loops are written so that LLVM vectorises them: contiguous 0-based slices rather than computed indices,
few arrays per loop, long trip counts (docs/performance.md has the measurements behind each choice).
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


def col2im(cols, x_shape, kh, kw, pad, out=None):
    """cols (N*Ho*Wo, kh*kw*C) -> dx (N, H, W, C), the adjoint of im2col; twin of ``reference.col2im``.

    ``out``: an optional contiguous (N, H, W, C) array to write dx into (then returned).
    """
    N, H, W, C = x_shape
    if pad == 0 and out is not None:
        _col2im(cols, kh, kw, C, out.reshape(N, H, -1))
        return out
    dxp = np.empty((N, H + 2 * pad, W + 2 * pad, C), dtype=cols.dtype)
    _col2im(cols, kh, kw, C, dxp.reshape(N, H + 2 * pad, -1))
    dx = dxp if pad == 0 else dxp[:, pad:pad + H, pad:pad + W, :]
    if out is None:
        return dx
    out[...] = dx
    return out


# Direct convolution of a one-channel input (the network's first layer). im2col would copy every pixel
# kh*kw times into a matrix of only kh*kw columns, whose GEMM runs far below the machine's rate. Here the
# padded image is flattened row by row (xf), and output position p = i*Wp + j of the "full-width" output
# (Ho rows of Wp, the last kw - 1 columns of each row unused) is sum_{u,v} W[u, v] xf[p + u*Wp + v]: for each
# (f, u) one loop over p with five taps v unrolled, whose long contiguous runs vectorise. kw is padded with
# zero taps to a multiple of 5. (Evaluation at batch 256: 25-31 ms against 31-38 ms per batch by im2col.)
TAPS = 5


@njit(cache=True, nogil=True, fastmath=True)
def _conv1ch_forward(xf, Wt, b, Wp, y, acc):
    # xf (N, Hp*Wp + kw5), Wt (F, kh, kw5), b (F,) -> y (N, Ho, Wo, F) channels-last;
    # acc (F, Ho*Wp) workspace: one image's full-width output rows, then written channels-last.
    N, Ho, Wo, F = y.shape
    L = acc.shape[1]
    kh, kw5 = Wt.shape[1], Wt.shape[2]
    for n in range(N):
        for f in range(F):
            a = acc[f]
            for p in range(L):
                a[p] = b[f]
            for u in range(kh):
                for v0 in range(0, kw5, 5):
                    w0, w1, w2, w3, w4 = Wt[f, u, v0], Wt[f, u, v0 + 1], Wt[f, u, v0 + 2], Wt[f, u, v0 + 3], Wt[f, u, v0 + 4]
                    x = xf[n, u * Wp + v0:u * Wp + v0 + L + 4]
                    for p in range(L):
                        a[p] += w0 * x[p] + w1 * x[p + 1] + w2 * x[p + 2] + w3 * x[p + 3] + w4 * x[p + 4]
        for i in range(Ho):
            for j in range(Wo):
                for f in range(F):
                    y[n, i, j, f] = acc[f, i * Wp + j]


@njit(cache=True, nogil=True)
def _im2col1_t(xp, kh, kw, colsT):
    # xp (N, Hp, Wp) one padded channel -> colsT (kh*kw, N*Ho*Wo): row (u, v) holds x shifted by (u, v),
    # so each output row (n, i) is one contiguous copy of Wo values.
    N, Hp, Wp = xp.shape
    Ho, Wo = Hp - kh + 1, Wp - kw + 1
    for u in range(kh):
        for v in range(kw):
            row = colsT[u * kw + v]
            for n in range(N):
                for i in range(Ho):
                    o = (n * Ho + i) * Wo
                    row[o:o + Wo] = xp[n, i + u, v:v + Wo]


def im2col1_t(x, kh, kw, pad, out=None):
    """The transpose of ``im2col`` for a one-channel input: x (N, 1, H, W) -> colsT (kh*kw, N*Ho*Wo), equal
    to ``im2col(x.transpose(0, 2, 3, 1), kh, kw, pad).T`` (twin: ``reference.im2col``), but written row by row
    in long contiguous runs; ``colsT @ dy`` is conv1's dW GEMM. ``out``: optional workspace."""
    N, C, H, W = x.shape
    if C != 1:
        raise ValueError(f"im2col1_t: input has C={C} channels, expected 1")
    xp = np.ascontiguousarray(np.pad(x[:, 0], ((0, 0), (pad, pad), (pad, pad))) if pad else x[:, 0])
    Ho, Wo = H + 2 * pad - kh + 1, W + 2 * pad - kw + 1
    colsT = _buffer(out, (kh * kw, N * Ho * Wo), x.dtype)
    _im2col1_t(xp, kh, kw, colsT)
    return colsT


def _channels_last(a):
    """(N, C, H, W) view -> contiguous (N, H, W, C): free when a is a view of channels-last memory."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _flat_rows(x, pad, kw5):
    """x (N, 1, H, W) -> zero-padded image rows flattened, xf (N, Hp*Wp + kw5), and Wp."""
    N, _, H, W = x.shape
    Hp, Wp = H + 2 * pad, W + 2 * pad
    xf = np.zeros((N, Hp * Wp + kw5), dtype=x.dtype)
    xf[:, :Hp * Wp].reshape(N, Hp, Wp)[:, pad:pad + H, pad:pad + W] = x[:, 0]
    return xf, Wp


def conv1ch_forward(x, W, b, pad):
    """Direct convolution of a one-channel input; twin of ``reference.conv2d_forward``.

    x (N, 1, H, W), W (F, 1, kh, kw), b (F,) -> y (N, F, Ho, Wo), an NCHW view of channels-last memory
    (as ``Conv2D`` returns). The backward pass stays im2col + GEMM: a direct dW kernel measured no faster.
    """
    F, C, kh, kw = W.shape
    if C != 1 or x.shape[1] != 1:
        raise ValueError(f"conv1ch_forward: input has C={x.shape[1]} channels and W {W.shape}; expected 1")
    kw5 = -(-kw // TAPS) * TAPS
    xf, Wp = _flat_rows(x, pad, kw5)
    Ho, Wo = x.shape[2] + 2 * pad - kh + 1, Wp - kw + 1
    Wt = np.zeros((F, kh, kw5), dtype=W.dtype)
    Wt[:, :, :kw] = W[:, 0]
    y = np.empty((x.shape[0], Ho, Wo, F), dtype=x.dtype)
    _conv1ch_forward(xf, Wt, b, Wp, y, np.empty((F, Ho * Wp), dtype=x.dtype))
    return y.transpose(0, 3, 1, 2)


@njit(cache=True, nogil=True)
def _maxpool2x2(x, out, arg):
    # x (N, H, W, C), out and arg (N, H//2, W//2, C), all channels-last and contiguous: the four window
    # rows are contiguous runs over c, and the comparisons below compile to vector selects.
    N, H, W, C = x.shape
    for n in range(N):
        for i in range(H // 2):
            for j in range(W // 2):
                a, b = x[n, 2 * i, 2 * j], x[n, 2 * i, 2 * j + 1]
                c, d = x[n, 2 * i + 1, 2 * j], x[n, 2 * i + 1, 2 * j + 1]
                o, g = out[n, i, j], arg[n, i, j]
                for t in range(C):  # the maximum and its position in two loops: each vectorises
                    best = a[t]
                    if b[t] > best:
                        best = b[t]
                    if c[t] > best:
                        best = c[t]
                    if d[t] > best:
                        best = d[t]
                    o[t] = best
                for t in range(C):
                    best, k = a[t], 0
                    if b[t] > best:
                        best, k = b[t], 1
                    if c[t] > best:
                        best, k = c[t], 2
                    if d[t] > best:
                        k = 3
                    g[t] = k


def maxpool2x2_forward(x):
    """x (N, C, H, W) -> out (N, C, H//2, W//2), arg uint8; twin of ``reference.maxpool2x2_forward``.

    Ties go to the first window position in row-major order, as in the twin. ``out`` and ``arg`` are
    (N, C, H, W) views of channels-last memory, the layout the next convolution reads fastest (x is read
    fastest in that layout too, which convolutions return).
    """
    N, C, H, W = x.shape
    out = np.empty((N, H // 2, W // 2, C), dtype=x.dtype)
    arg = np.empty((N, H // 2, W // 2, C), dtype=np.uint8)
    _maxpool2x2(_channels_last(x), out, arg)
    return out.transpose(0, 3, 1, 2), arg.transpose(0, 3, 1, 2)


@njit(cache=True, nogil=True)
def _maxpool2x2_backward(dout, arg, dx, zero):
    # dout, arg (N, Ho, Wo, C); dx (N, H, W, C): every entry of the 2x2 windows is written (dout or zero),
    # so dx needs no zeroing pass; rows/columns beyond 2*Ho, 2*Wo are zeroed by the caller.
    N, Ho, Wo, C = dout.shape
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                g, k = dout[n, i, j], arg[n, i, j]
                for q in range(4):  # one loop per window position: few pointers, so it vectorises
                    dst = dx[n, 2 * i + q // 2, 2 * j + q % 2]
                    for t in range(C):
                        dst[t] = g[t] if k[t] == q else zero


def maxpool2x2_backward(dout, arg, x_shape):
    """dout (N, C, Ho, Wo) -> dx of shape x_shape; twin of ``reference.maxpool2x2_backward``.

    dx is an (N, C, H, W) view of channels-last memory, the layout in which a convolution's backward below
    reshapes it to its GEMM layout without a copy.
    """
    N, C, H, W = x_shape
    dx = np.empty((N, H, W, C), dtype=dout.dtype)
    _maxpool2x2_backward(_channels_last(dout), _channels_last(arg), dx, dout.dtype.type(0))
    dx[:, 2 * (H // 2):] = 0  # odd edges, dropped by the forward pass
    dx[:, :, 2 * (W // 2):] = 0
    return dx.transpose(0, 3, 1, 2)


# error_model="numpy": a float division by zero gives inf/nan as in NumPy instead of raising, which removes
# the per-element zero check that kept these loops from vectorising (Adam went from 1.6 to 0.22 ms for
# 400,000 weights; the denominators here are never zero).
@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _adam(w, g, m, v, wd, lr, b1, omb1, b2, omb2, eps, c1, c2):
    # All scalars have w's dtype, so float32 parameters are updated in float32 arithmetic.
    for i in range(w.size):
        gi = g[i] + wd * w[i]
        mi = b1 * m[i] + omb1 * gi
        vi = b2 * v[i] + omb2 * gi * gi
        m[i] = mi
        v[i] = vi
        w[i] -= lr * (mi / c1) / (np.sqrt(vi / c2) + eps)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _adam_masked(w, g, m, v, mask, wd, lr, b1, omb1, b2, omb2, eps, c1, c2):
    for i in range(w.size):
        gi = (g[i] + wd * w[i]) * mask[i]
        mi = (b1 * m[i] + omb1 * gi) * mask[i]
        vi = (b2 * v[i] + omb2 * gi * gi) * mask[i]
        m[i] = mi
        v[i] = vi
        w[i] = (w[i] - lr * (mi / c1) / (np.sqrt(vi / c2) + eps)) * mask[i]


def adam_update(w, g, m, v, mask, lr, beta1, beta2, eps, t, weight_decay=0.0):
    """One fused Adam step in place on w, m, v (contiguous arrays, or 1-D contiguous slices of them), with
    the L2 gradient ``weight_decay * w`` added to g; twin of ``reference.adam_update``."""
    dt = w.dtype.type
    scalars = (dt(weight_decay), dt(lr), dt(beta1), dt(1 - beta1), dt(beta2), dt(1 - beta2), dt(eps),
               dt(1 - beta1 ** t), dt(1 - beta2 ** t))  # the last two, c1 and c2: bias corrections
    args = (w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1))
    if mask is None:
        _adam(*args, *scalars)
    else:
        _adam_masked(*args, mask.reshape(-1).astype(w.dtype, copy=False), *scalars)


@njit(cache=True, nogil=True, fastmath=True)
def _add_penalty_grad(g, W, Z, U, rho):
    for i in range(g.size):
        g[i] += rho * (W[i] - Z[i] + U[i])


def add_penalty_grad(g, W, Z, U, rho):
    """g += rho (W - Z + U) in place, in one pass and no temporaries (the W-step runs it at every step);
    twin: ``admm.w_step_penalty_grad``. All four arrays contiguous of one shape and dtype."""
    _add_penalty_grad(g.reshape(-1), W.reshape(-1), Z.reshape(-1), U.reshape(-1), g.dtype.type(rho))
