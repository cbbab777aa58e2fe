"""Numba kernels of sparse inference: they touch only the non-zero weights.

    dense layer (CSR by input row):  y[n, j] = b[j] + sum_{i, (j, w) in row i} x[n, i] * w
    conv layer (non-zero taps):      y[n, f, i, j] = b[f] + sum_{(c, u, v, w) in taps(f)} w * xp[n, c, i + u, j + v]

``_t`` kernels run batch-minor (innermost loop over the batch, contiguous), ``_s`` kernels one sample at a
time (innermost loop along an output row). Their NumPy twins are ``layers.reference_dense`` and
``layers.reference_conv`` (the dense math on the rebuilt dense weights).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, fastmath=True)
def csr_t(xt, indptr, indices, data, b, yt):
    # xt (in, N), yt (out, N): batch-minor, so the innermost loop runs over the batch, contiguous.
    n_in, N = xt.shape
    for j in range(yt.shape[0]):
        yt[j, :] = b[j]
    for i in range(n_in):
        src = xt[i]
        for t in range(indptr[i], indptr[i + 1]):
            dst = yt[indices[t]]
            wt = data[t]
            for n in range(N):
                dst[n] += wt * src[n]


@njit(cache=True, parallel=True, fastmath=True)
def sparse_conv_t(xt, ptr, c_idx, u_idx, v_idx, w, b, yt):
    # xt (C, Hp, Wp, N) padded, yt (F, Ho, Wo, N): one output channel per parallel task.
    F, Ho, Wo, N = yt.shape
    for f in prange(F):
        yt[f] = b[f]
        for t in range(ptr[f], ptr[f + 1]):
            c, u, v, wt = c_idx[t], u_idx[t], v_idx[t], w[t]
            for i in range(Ho):
                for j in range(Wo):
                    for n in range(N):
                        yt[f, i, j, n] += wt * xt[c, i + u, j + v, n]


@njit(cache=True, inline="always")
def _tap_row(xt, c, row, v, Wo):
    """Input row ``row`` of channel c from column v on, (Wo, N) flattened: xt[c, row, v:v + Wo].ravel()."""
    N = xt.shape[3]
    return xt[c, row].reshape(-1)[v * N:(v + Wo) * N]


@njit(cache=True, parallel=True, fastmath=True)
def sparse_conv_pool_t(xt, ptr, c_idx, u_idx, v_idx, w, b, out):
    # One output channel per parallel task, two conv output rows at a time (the rows one pooled row reads):
    # every tap adds w * (an input row) to a row buffer of Wo*N values that stays in L1 cache; input and
    # buffer rows are contiguous runs over (j, n), so the loop vectorises. Then 2x2 max pooling.
    F, Hq, Wq, N = out.shape
    Wo = 2 * Wq  # the conv output columns that pooling reads (odd edges dropped)
    for f in prange(F):
        buf = np.empty((2, Wo * N), dtype=np.float32)
        for i in range(Hq):
            for r in range(2):
                dst = buf[r]
                dst[:] = b[f]
                h = 2 * i + r
                t, end = ptr[f], ptr[f + 1]
                while t + 4 <= end:  # four taps per pass: one store of dst per four multiply-adds
                    s0 = _tap_row(xt, c_idx[t], h + u_idx[t], v_idx[t], Wo)
                    s1 = _tap_row(xt, c_idx[t + 1], h + u_idx[t + 1], v_idx[t + 1], Wo)
                    s2 = _tap_row(xt, c_idx[t + 2], h + u_idx[t + 2], v_idx[t + 2], Wo)
                    s3 = _tap_row(xt, c_idx[t + 3], h + u_idx[t + 3], v_idx[t + 3], Wo)
                    w0, w1, w2, w3 = w[t], w[t + 1], w[t + 2], w[t + 3]
                    for q in range(Wo * N):
                        dst[q] += w0 * s0[q] + w1 * s1[q] + w2 * s2[q] + w3 * s3[q]
                    t += 4
                while t < end:
                    src = _tap_row(xt, c_idx[t], h + u_idx[t], v_idx[t], Wo)
                    wt = w[t]
                    for q in range(Wo * N):
                        dst[q] += wt * src[q]
                    t += 1
            for j in range(Wq):
                a0, a1 = buf[0, 2 * j * N:(2 * j + 1) * N], buf[0, (2 * j + 1) * N:(2 * j + 2) * N]
                a2, a3 = buf[1, 2 * j * N:(2 * j + 1) * N], buf[1, (2 * j + 1) * N:(2 * j + 2) * N]
                o = out[f, i, j]
                for n in range(N):
                    o[n] = max(max(a0[n], a1[n]), max(a2[n], a3[n]))


@njit(cache=True, fastmath=True)
def sparse_conv_pool_s(x, kw, ptr, c_idx, u_idx, v_idx, w, b, out, pool):
    # Sample-major twin of the batch-minor kernels for small batches: x (C, Hp, Wp) padded, one sample.
    # A tap (c, u, v) adds w * x[c, i + u, j + v] to output (i, j); with rows of width Wp flattened,
    # output p = i * Wp + j reads x[c].flat[u * Wp + v + p], so each tap is one contiguous loop over p
    # (the columns j >= Wo it also computes are never read). Long contiguous loops are what vectorise at N = 1.
    # pool: out (F, Ho//2, Wo//2) gets 2x2 max pooling of the conv; else out (F, Ho, Wo) gets the conv.
    C, Hp, Wp = x.shape
    F = out.shape[0]
    if pool:
        Ho, Wo = 2 * out.shape[1], 2 * out.shape[2]
    else:
        Ho, Wo = out.shape[1], out.shape[2]
    P = Ho * Wp - (kw - 1)  # the last output row stops at its last valid column
    xf = x.reshape(C, Hp * Wp)
    buf = np.empty(Ho * Wp, dtype=np.float32)
    for f in range(F):
        buf[:] = b[f]
        for t in range(ptr[f], ptr[f + 1]):
            off = u_idx[t] * Wp + v_idx[t]
            src = xf[c_idx[t], off:off + P]  # a slice: the loop below then indexes from 0 and vectorises
            wt = w[t]
            for p in range(P):
                buf[p] += wt * src[p]
        if pool:
            for i in range(Ho // 2):
                r0, r1 = 2 * i * Wp, (2 * i + 1) * Wp
                for j in range(Wo // 2):
                    out[f, i, j] = max(max(buf[r0 + 2 * j], buf[r0 + 2 * j + 1]),
                                       max(buf[r1 + 2 * j], buf[r1 + 2 * j + 1]))
        else:
            for i in range(Ho):
                for j in range(Wo):
                    out[f, i, j] = buf[i * Wp + j]


@njit(cache=True, fastmath=True)
def csr_s(x, indptr, indices, data, b, y):
    # One sample: x (in,), y (out,); y = b + x @ W over the stored entries of W only.
    y[:] = b
    for i in range(x.shape[0]):
        xi = x[i]
        if xi != 0.0:
            for t in range(indptr[i], indptr[i + 1]):
                y[indices[t]] += data[t] * xi
