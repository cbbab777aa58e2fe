"""Layers with explicit forward and backward, and the softmax cross-entropy loss.

A layer keeps in ``forward`` exactly what ``backward`` needs. ``backward(dout)`` returns dx and stores the
parameter gradients in ``self.grads`` under the keys of ``self.params`` ("W", "b"). Parameters keep the
dtype they were created with (float32 for training, float64 for gradient checks).

Layouts: images are (N, C, H, W); conv weights (F, C, kh, kw); dense weights (in, out).
"""
from __future__ import annotations

import copy

import numpy as np

from ..errors import InputError
from . import kernels


class Layer:
    """Base class: no parameters, identity in eval mode, ``training`` flag set by the model."""

    params: dict
    grads: dict

    def __init__(self):
        self.params, self.grads = {}, {}
        self.training = True
        self.input_grad = True  # the model turns this off for the first layer: its dx is never used

    def replica(self):
        """A copy that shares this layer's parameter arrays but has its own gradients and caches, so that
        two threads can run forward/backward on different shards of a batch (see parallel.py)."""
        r = copy.copy(self)
        r.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return r

    def __repr__(self):
        return f"{type(self).__name__}()"


class Dense(Layer):
    """y = x W + b.  x (N, in), W (in, out), b (out,) -> y (N, out)."""

    def __init__(self, n_in, n_out, rng=None, dtype=np.float32):
        super().__init__()
        rng = np.random.default_rng(rng)
        std = np.sqrt(2.0 / n_in)  # He initialisation
        self.params = {"W": (rng.standard_normal((n_in, n_out)) * std).astype(dtype),
                       "b": np.zeros(n_out, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        np.matmul(self.x.T, dout, out=self.grads["W"])  # straight into the gradient buffer, no temporary
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T if self.input_grad else None

    def __repr__(self):
        return f"Dense({self.params['W'].shape[0]}, {self.params['W'].shape[1]})"


class Conv2D(Layer):
    """Stride-1 convolution: im2col + GEMM, or for a one-channel input a direct kernel
    (``kernels.conv1ch_forward``: im2col of one channel makes a matrix too thin for a fast GEMM).

    x (N, C, H, W), W (F, C, kh, kw), b (F,) -> y (N, F, Ho, Wo);
    padding "valid" (p = 0) or "same" (p = (k - 1) / 2, odd square kernels).
    y[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] xp[n, c, i + u, j + v]  (``reference.conv2d_forward``).
    """

    def __init__(self, c_in, c_out, kernel_size, padding="valid", rng=None, dtype=np.float32):
        super().__init__()
        if padding not in ("valid", "same"):
            raise InputError(f"padding={padding!r}: expected 'valid' or 'same'")
        if padding == "same" and kernel_size % 2 == 0:
            raise InputError(f"padding='same' needs an odd kernel_size, got {kernel_size}")
        self.padding = padding
        self.pad = 0 if padding == "valid" else (kernel_size - 1) // 2
        rng = np.random.default_rng(rng)
        fan_in = c_in * kernel_size * kernel_size
        shape = (c_out, c_in, kernel_size, kernel_size)
        self.params = {"W": (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype),
                       "b": np.zeros(c_out, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.cols = self.dcols = self.colsT = None
        # im2col + GEMM run a few images at a time, as many as fit their cols in this many bytes (half of a
        # core's 1 MB L2 cache here: conv2 then takes 4 images at once). A 2-worker training step at batch 64
        # took 16-17 ms this way against 19-21 ms with the whole batch's cols (docs/performance.md;
        # `python benchmarks/profile_layers.py --cols-bytes N` compares).
        self.cols_bytes = 1 << 19

    def forward(self, x):
        F, C, kh, kw = self.params["W"].shape
        N, _, H, W = x.shape
        self.x_shape = x.shape
        Ho, Wo = H + 2 * self.pad - kh + 1, W + 2 * self.pad - kw + 1
        self.chunk = max(1, self.cols_bytes // (Ho * Wo * kh * kw * C * x.itemsize))  # images per block
        self.direct = C == 1
        # Work channels-last: x.transpose is free when x is an NCHW view of NHWC memory (as layers return).
        self.x, self.xc = x, x.transpose(0, 2, 3, 1)  # (N, C, H, W) and its (N, H, W, C) view
        if self.direct:  # first layer: a direct kernel (kernels.conv1ch_forward)
            return kernels.conv1ch_forward(x, self.params["W"], self.params["b"], self.pad)
        xc = self.xc
        Wmat = self.params["W"].transpose(2, 3, 1, 0).reshape(-1, F)  # (kh*kw*C, F)
        y = np.empty((N * Ho * Wo, F), x.dtype)
        for s in range(0, N, self.chunk):  # a few images at a time, so their cols stay in the core's cache
            e = min(N, s + self.chunk)
            cols = kernels.im2col(xc[s:e], kh, kw, self.pad, out=self._workspace("cols", e - s, x.dtype))
            np.matmul(cols, Wmat, out=y[s * Ho * Wo:e * Ho * Wo])
        y += self.params["b"]
        return y.reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)  # (N, F, Ho, Wo) view, no copy

    def backward(self, dout):
        F, C, kh, kw = self.params["W"].shape
        N, _, H, W = self.x_shape
        dy = dout.transpose(0, 2, 3, 1).reshape(-1, F)  # (N*Ho*Wo, F); free when dout is NHWC memory
        self.grads["b"][...] = np.ones(len(dy), dy.dtype) @ dy  # sum over rows; a GEMV is ~10x dy.sum(axis=0) for few columns
        if self.direct and not self.input_grad:  # first layer: dW only, from the transposed cols made here
            self.colsT = kernels.im2col1_t(self.x, kh, kw, self.pad, out=self.colsT)  # (kh*kw, N*Ho*Wo)
            dWrow, dx = (self.colsT @ dy).T, None  # (F, kh*kw) view
        else:
            dWrow, dx = self._backward_im2col(dy)
        self.grads["W"][...] = dWrow.reshape(F, kh, kw, C).transpose(0, 3, 1, 2)
        return dx

    def _workspace(self, name, n, dtype):
        """Rows for n images of the private (chunk*Ho*Wo, kh*kw*C) workspace ``name`` ("cols" or "dcols"),
        made once per input shape and reused from chunk to chunk and step to step (no page faults)."""
        F, C, kh, kw = self.params["W"].shape
        N, _, H, W = self.x_shape
        rows = (H + 2 * self.pad - kh + 1) * (W + 2 * self.pad - kw + 1)
        shape = (min(N, self.chunk) * rows, kh * kw * C)
        buf = getattr(self, name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = np.empty(shape, dtype)
            setattr(self, name, buf)
        return buf[:n * rows]

    def _backward_im2col(self, dy):
        """dy (N*Ho*Wo, F) -> (dW as (F, kh*kw*C), dx (N, C, H, W) or None without input_grad).

        Chunk by chunk as in forward; each chunk's cols are made again here, into the cached workspace.
        """
        F, C, kh, kw = self.params["W"].shape
        N, _, H, W = self.x_shape
        xc = self.xc  # (N, H, W, C)
        Wrow = self.params["W"].transpose(0, 2, 3, 1).reshape(F, -1)  # (F, kh*kw*C)
        dWrow = np.zeros((F, kh * kw * C), dy.dtype)
        dx = np.empty((N, H, W, C), dy.dtype) if self.input_grad else None
        rows = len(dy) // N  # Ho*Wo
        for s in range(0, N, self.chunk):
            e = min(N, s + self.chunk)
            cols = kernels.im2col(xc[s:e], kh, kw, self.pad, out=self._workspace("cols", e - s, dy.dtype))
            dy_c = dy[s * rows:e * rows]
            # dy.T @ cols, not cols.T @ dy: the same sums, and OpenBLAS runs this order faster
            # (benchmarks/gemm_orders.py)
            dWrow += dy_c.T @ cols
            if self.input_grad:
                dcols = np.matmul(dy_c, Wrow, out=self._workspace("dcols", e - s, dy.dtype))
                kernels.col2im(dcols, (e - s, H, W, C), kh, kw, self.pad, out=dx[s:e])
        return dWrow, None if dx is None else dx.transpose(0, 3, 1, 2)  # dx as an (N, C, H, W) view

    def replica(self):
        r = super().replica()
        r.cols = r.dcols = r.colsT = None  # private workspaces must not be shared between threads
        return r

    def __repr__(self):
        F, C, k, _ = self.params["W"].shape
        return f"Conv2D({C}, {F}, {k}, padding={self.padding!r})"


class MaxPool2D(Layer):
    """2x2 max pooling, stride 2.  x (N, C, H, W) -> (N, C, H//2, W//2); ties go to the first position."""

    def forward(self, x):
        self.x_shape = x.shape
        out, self.arg = kernels.maxpool2x2_forward(x)
        return out

    def backward(self, dout):
        return kernels.maxpool2x2_backward(dout, self.arg, self.x_shape)


class ReLU(Layer):
    """y = max(x, 0); dx = dout where x > 0. Any shape."""

    def forward(self, x):
        self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * self.positive


class Dropout(Layer):
    """Inverted dropout: in training y = x * m / keep with m ~ Bernoulli(keep); identity in eval mode."""

    def __init__(self, keep=0.5, rng=None):
        super().__init__()
        if not 0.0 < keep <= 1.0:
            raise InputError(f"Dropout keep={keep}: expected a probability in (0, 1]")
        self.keep = keep
        self.rng = np.random.default_rng(rng)

    def forward(self, x):
        if not self.training or self.keep == 1.0:
            self.scale = None
            return x
        self.scale = (self.rng.random(x.shape, dtype=np.float32) < self.keep).astype(x.dtype) / x.dtype.type(self.keep)
        return x * self.scale

    def backward(self, dout):
        return dout if self.scale is None else dout * self.scale

    def replica(self):
        r = super().replica()
        r.rng = np.random.default_rng(self.rng.integers(2**63))  # reseeded per step by parallel.py
        return r

    def __repr__(self):
        return f"Dropout(keep={self.keep})"


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W) in (C, H, W) order."""

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self.x_shape)


def log_softmax(z):
    """log softmax(z) along axis 1, shifted by the row maximum so exp cannot overflow. z (N, K) -> (N, K)."""
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    logits (N, K), y (N,) int -> (loss: float, dlogits (N, K)), with
    loss = -1/N sum_n log softmax(logits)[n, y_n] and dlogits = (softmax(logits) - onehot(y)) / N.
    """
    N = logits.shape[0]
    logp = log_softmax(logits)
    loss = -logp[np.arange(N), y].mean()
    dlogits = np.exp(logp)
    dlogits[np.arange(N), y] -= 1
    dlogits /= N
    return float(loss), dlogits
