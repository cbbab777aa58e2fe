"""Sparse inference layers: a Dense layer's W in CSR form by input row, a Conv2D's W as the non-zero taps
of each output channel. Each layer runs the numba kernels of ``kernels.py``; ``reference_dense`` and
``reference_conv`` are their NumPy twins (the dense math on the rebuilt dense weights)."""
from __future__ import annotations

import numpy as np

from ..nn.reference import conv2d_forward
from . import kernels


class SparseDense:
    """CSR by input row of a Dense W (in, out). x (N, in) -> y (N, out)."""

    def __init__(self, W, b):
        n_in, n_out = W.shape
        rows, cols = np.nonzero(W)
        self.shape = (n_in, n_out)
        self.indptr = np.zeros(n_in + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=n_in), out=self.indptr[1:])
        self.indices = cols.astype(np.int32)
        self.data = W[rows, cols].astype(np.float32)
        self.b = b.astype(np.float32)

    def forward(self, x):
        """x (N, in) -> (N, out)."""
        return self.forward_t(np.ascontiguousarray(x.T, dtype=np.float32)).T

    def forward_t(self, xt):
        """Batch-minor: xt (in, N) contiguous -> (out, N)."""
        yt = np.empty((self.shape[1], xt.shape[1]), dtype=np.float32)
        kernels.csr_t(xt, self.indptr, self.indices, self.data, self.b, yt)
        return yt

    def forward_s(self, x):
        """One sample, sample-major: x (in,) -> (out,)."""
        y = np.empty(self.shape[1], dtype=np.float32)
        kernels.csr_s(np.ascontiguousarray(x, dtype=np.float32), self.indptr, self.indices, self.data, self.b, y)
        return y

    def dense_weight(self):
        W = np.zeros(self.shape, dtype=np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        W[rows, self.indices] = self.data
        return W

    @classmethod
    def from_arrays(cls, a):
        """Inverse of ``arrays``: a maps "indptr", "indices", "data", "b", "shape" to arrays."""
        W = np.zeros(tuple(a["shape"]), dtype=np.float32)
        W[np.repeat(np.arange(W.shape[0]), np.diff(a["indptr"])), a["indices"]] = a["data"]
        return cls(W, a["b"])

    def arrays(self):
        return {"indptr": self.indptr, "indices": self.indices, "data": self.data, "b": self.b,
                "shape": np.array(self.shape)}


class SparseConv2D:
    """Per output channel, the non-zero taps (c, u, v, w) of a Conv2D W (F, C, kh, kw). Stride 1."""

    def __init__(self, W, b, pad):
        F = W.shape[0]
        f, c, u, v = np.nonzero(W)  # sorted by f
        self.shape = W.shape
        self.pad = pad
        self.ptr = np.zeros(F + 1, dtype=np.int32)
        np.cumsum(np.bincount(f, minlength=F), out=self.ptr[1:])
        self.c, self.u, self.v = (a.astype(np.int64) for a in (c, u, v))  # int16 on disk
        self.w = W[f, c, u, v].astype(np.float32)
        self.b = b.astype(np.float32)

    def _padded_t(self, xt):
        p = self.pad
        xt = np.pad(xt, ((0, 0), (p, p), (p, p), (0, 0))) if p else xt
        return np.ascontiguousarray(xt, dtype=np.float32)

    def forward(self, x):
        """x (N, C, H, W) -> (N, F, Ho, Wo)."""
        return self.forward_t(np.ascontiguousarray(x.transpose(1, 2, 3, 0))).transpose(3, 0, 1, 2)

    def forward_pool(self, x):
        """forward(x) followed by 2x2 max pooling, fused: (N, C, H, W) -> (N, F, Ho//2, Wo//2)."""
        return self.forward_pool_t(np.ascontiguousarray(x.transpose(1, 2, 3, 0))).transpose(3, 0, 1, 2)

    def _out_hw(self, xt):
        _, H, W, _ = xt.shape
        _, _, kh, kw = self.shape
        return H + 2 * self.pad - kh + 1, W + 2 * self.pad - kw + 1

    def forward_t(self, xt):
        """Batch-minor: xt (C, H, W, N) -> (F, Ho, Wo, N)."""
        Ho, Wo = self._out_hw(xt)
        yt = np.empty((self.shape[0], Ho, Wo, xt.shape[3]), dtype=np.float32)
        kernels.sparse_conv_t(self._padded_t(xt), self.ptr, self.c, self.u, self.v, self.w, self.b, yt)
        return yt

    def forward_pool_t(self, xt):
        """Batch-minor conv + 2x2 max pooling: xt (C, H, W, N) -> (F, Ho//2, Wo//2, N)."""
        Ho, Wo = self._out_hw(xt)
        out = np.empty((self.shape[0], Ho // 2, Wo // 2, xt.shape[3]), dtype=np.float32)
        kernels.sparse_conv_pool_t(self._padded_t(xt), self.ptr, self.c, self.u, self.v, self.w, self.b, out)
        return out

    def forward_s(self, x, pool=False):
        """One sample, sample-major: x (C, H, W) -> (F, Ho, Wo), or (F, Ho//2, Wo//2) with 2x2 max pooling
        fused when ``pool``."""
        p = self.pad
        x = np.pad(x, ((0, 0), (p, p), (p, p))) if p else x
        x = np.ascontiguousarray(x, dtype=np.float32)
        _, _, kh, kw = self.shape
        Ho, Wo = x.shape[1] - kh + 1, x.shape[2] - kw + 1
        out = np.empty((self.shape[0], Ho // 2, Wo // 2) if pool else (self.shape[0], Ho, Wo), dtype=np.float32)
        kernels.sparse_conv_pool_s(x, kw, self.ptr, self.c, self.u, self.v, self.w, self.b, out, pool)
        return out

    def dense_weight(self):
        W = np.zeros(self.shape, dtype=np.float32)
        f = np.repeat(np.arange(self.shape[0]), np.diff(self.ptr))
        W[f, self.c, self.u, self.v] = self.w
        return W

    @classmethod
    def from_arrays(cls, a):
        """Inverse of ``arrays``: a maps "ptr", "c", "u", "v", "w", "b", "shape", "pad" to arrays."""
        W = np.zeros(tuple(a["shape"]), dtype=np.float32)
        f = np.repeat(np.arange(W.shape[0]), np.diff(a["ptr"]))
        W[f, a["c"], a["u"], a["v"]] = a["w"]
        return cls(W, a["b"], int(a["pad"]))

    def arrays(self):
        return {"ptr": self.ptr, "c": self.c.astype(np.int16), "u": self.u.astype(np.int16),
                "v": self.v.astype(np.int16), "w": self.w, "b": self.b,
                "shape": np.array(self.shape), "pad": np.array(self.pad)}


def reference_dense(x, layer):
    """Twin of SparseDense.forward: x @ W + b with W rebuilt dense."""
    return x @ layer.dense_weight() + layer.b


def reference_conv(x, layer):
    """Twin of SparseConv2D.forward: the direct-sum convolution with W rebuilt dense."""
    return conv2d_forward(x, layer.dense_weight(), layer.b, layer.pad)
