"""Sparse inference for pruned models: what pruning buys at run time and on disk.

``compress(model)`` turns a pruned Sequential into a ``SparseModel``: every Dense layer's W (in, out) is
stored in CSR form by input row, every Conv2D's W (F, C, kh, kw) as, per output channel f, the list of its
non-zero taps (c, u, v, w). The numba kernels below only touch non-zero weights, so the work per sample is
proportional to the number of kept weights (times the output positions for a convolution).

    dense layer:  y[n, j] = b[j] + sum_{i, (j, w) in row i} x[n, i] * w
    conv layer:   y[n, f, i, j] = b[f] + sum_{(c, u, v, w) in taps(f)} w * xp[n, c, i + u, j + v]

Twins: ``reference_dense`` / ``reference_conv`` rebuild the dense weights and use the dense math.
``save_compressed`` / ``load_compressed`` store indices and values only (format in README).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU

FORMAT = "minadmm-sparse-1"
SMALL_BATCH = 8  # below this, SparseModel.forward runs sample by sample (see docs/performance.md)


@njit(cache=True, fastmath=True)
def _csr_t(xt, indptr, indices, data, b, yt):
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
def _sparse_conv_t(xt, ptr, c_idx, u_idx, v_idx, w, b, yt):
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
def _sparse_conv_pool_t(xt, ptr, c_idx, u_idx, v_idx, w, b, out):
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
def _sparse_conv_pool_s(x, kw, ptr, c_idx, u_idx, v_idx, w, b, out, pool):
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
def _csr_s(x, indptr, indices, data, b, y):
    # One sample: x (in,), y (out,); y = b + x @ W over the stored entries of W only.
    y[:] = b
    for i in range(x.shape[0]):
        xi = x[i]
        if xi != 0.0:
            for t in range(indptr[i], indptr[i + 1]):
                y[indices[t]] += data[t] * xi


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
        _csr_t(xt, self.indptr, self.indices, self.data, self.b, yt)
        return yt

    def forward_s(self, x):
        """One sample, sample-major: x (in,) -> (out,)."""
        y = np.empty(self.shape[1], dtype=np.float32)
        _csr_s(np.ascontiguousarray(x, dtype=np.float32), self.indptr, self.indices, self.data, self.b, y)
        return y

    def dense_weight(self):
        W = np.zeros(self.shape, dtype=np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        W[rows, self.indices] = self.data
        return W

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
        _sparse_conv_t(self._padded_t(xt), self.ptr, self.c, self.u, self.v, self.w, self.b, yt)
        return yt

    def forward_pool_t(self, xt):
        """Batch-minor conv + 2x2 max pooling: xt (C, H, W, N) -> (F, Ho//2, Wo//2, N)."""
        Ho, Wo = self._out_hw(xt)
        out = np.empty((self.shape[0], Ho // 2, Wo // 2, xt.shape[3]), dtype=np.float32)
        _sparse_conv_pool_t(self._padded_t(xt), self.ptr, self.c, self.u, self.v, self.w, self.b, out)
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
        _sparse_conv_pool_s(x, kw, self.ptr, self.c, self.u, self.v, self.w, self.b, out, pool)
        return out

    def dense_weight(self):
        W = np.zeros(self.shape, dtype=np.float32)
        f = np.repeat(np.arange(self.shape[0]), np.diff(self.ptr))
        W[f, self.c, self.u, self.v] = self.w
        return W

    def arrays(self):
        return {"ptr": self.ptr, "c": self.c.astype(np.int16), "u": self.u.astype(np.int16),
                "v": self.v.astype(np.int16), "w": self.w, "b": self.b,
                "shape": np.array(self.shape), "pad": np.array(self.pad)}


class SparseModel:
    """Inference-only model: sparse Dense/Conv2D, the other layers as they are (in eval mode).
    A SparseConv2D followed by a MaxPool2D runs as one fused kernel."""

    def __init__(self, layers, arch):
        self.layers = layers
        self.arch = arch
        self.plan = self._plan()  # computed once: the sample-by-sample path walks it per image

    def _plan(self):
        """The layers to run, as (layer, pool) pairs: a SparseConv2D followed by a MaxPool2D becomes one
        step with pool=True (the pooling layer is then skipped)."""
        plan, i = [], 0
        while i < len(self.layers):
            layer = self.layers[i][1]
            pool = isinstance(layer, SparseConv2D) and i + 1 < len(self.layers) and \
                isinstance(self.layers[i + 1][1], MaxPool2D)
            if not isinstance(layer, (SparseConv2D, SparseDense, Flatten, ReLU, MaxPool2D)):
                raise ValueError(f"SparseModel: unsupported layer {type(layer).__name__}")
            plan.append((layer, pool))
            i += 2 if pool else 1
        return plan

    def forward(self, x):
        """x (N, C, H, W) -> logits (N, K). Batches of at least SMALL_BATCH run batch-minor: every kernel's
        innermost loop is over the batch, contiguous in memory, so the work per non-zero weight vectorises.
        Smaller batches run one sample at a time, sample-major (innermost loop along an output row), in
        serial kernels that pay no thread start-up."""
        if len(x) < SMALL_BATCH:
            return np.stack([self._forward_sample(s) for s in x]) if len(x) else np.zeros((0, self.n_out()), np.float32)
        xt = np.ascontiguousarray(np.moveaxis(x, 0, -1), dtype=np.float32)  # (C, H, W, N)
        for layer, pool in self.plan:
            if pool:
                xt = layer.forward_pool_t(xt)
            elif isinstance(layer, (SparseConv2D, SparseDense)):
                xt = layer.forward_t(xt)
            elif isinstance(layer, Flatten):
                xt = xt.reshape(-1, xt.shape[-1])  # (C*H*W, N), (C, H, W) order
            elif isinstance(layer, ReLU):
                xt = np.maximum(xt, 0)
            else:  # MaxPool2D not fused with a convolution
                C, H, W, N = xt.shape
                xt = np.ascontiguousarray(xt[:, :H // 2 * 2, :W // 2 * 2].reshape(C, H // 2, 2, W // 2, 2, N)
                                          .max(axis=(2, 4)))
        return np.ascontiguousarray(np.moveaxis(xt, -1, 0))

    def _forward_sample(self, x):
        """x (C, H, W) -> logits (K,), sample-major, serial kernels."""
        for layer, pool in self.plan:
            if isinstance(layer, SparseConv2D):
                x = layer.forward_s(x, pool=pool)
            elif isinstance(layer, SparseDense):
                x = layer.forward_s(x)
            elif isinstance(layer, Flatten):
                x = x.reshape(-1)  # (C*H*W,), (C, H, W) order as Flatten
            elif isinstance(layer, ReLU):
                x = np.maximum(x, 0)
            else:  # MaxPool2D not fused with a convolution
                C, H, W = x.shape
                x = x[:, :H // 2 * 2, :W // 2 * 2].reshape(C, H // 2, 2, W // 2, 2).max(axis=(2, 4))
        return x

    def n_out(self):
        return next(layer.shape[1] for _, layer in reversed(self.layers) if isinstance(layer, SparseDense))

    def predict(self, X, batch_size=1000):
        return np.concatenate([self.forward(X[i:i + batch_size]).argmax(axis=1)
                               for i in range(0, len(X), batch_size)])

    def flops(self, input_shape=(1, 28, 28)):
        """Multiply-adds x 2 per sample in the sparse layers (a conv tap counts once per output position)."""
        total, shape = 0, input_shape
        for _, layer in self.layers:
            if isinstance(layer, SparseConv2D):
                F, _, kh, kw = layer.shape
                shape = (F, shape[1] + 2 * layer.pad - kh + 1, shape[2] + 2 * layer.pad - kw + 1)
                total += 2 * layer.w.size * shape[1] * shape[2]
            elif isinstance(layer, SparseDense):
                total += 2 * layer.data.size
            elif isinstance(layer, MaxPool2D):
                shape = (shape[0], shape[1] // 2, shape[2] // 2)
        return total


def dense_flops(model, input_shape=(1, 28, 28)):
    """Multiply-adds x 2 per sample of the dense model's Conv2D and Dense layers."""
    total, shape = 0, input_shape
    for _, layer in model.layers:
        if isinstance(layer, Conv2D):
            F, C, kh, kw = layer.params["W"].shape
            shape = (F, shape[1] + 2 * layer.pad - kh + 1, shape[2] + 2 * layer.pad - kw + 1)
            total += 2 * F * C * kh * kw * shape[1] * shape[2]
        elif isinstance(layer, Dense):
            total += 2 * layer.params["W"].size
        elif isinstance(layer, MaxPool2D):
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
    return total


def compress(model):
    """A SparseModel computing what ``model`` computes in eval mode, from its non-zero weights only."""
    layers = []
    for name, layer in model.layers:
        if isinstance(layer, Conv2D):
            layers.append((name, SparseConv2D(layer.params["W"], layer.params["b"], layer.pad)))
        elif isinstance(layer, Dense):
            layers.append((name, SparseDense(layer.params["W"], layer.params["b"])))
        elif isinstance(layer, Dropout):
            continue  # identity at inference
        elif isinstance(layer, (MaxPool2D, ReLU, Flatten)):
            layer = type(layer)()
            layer.training = False
            layers.append((name, layer))
        else:
            raise ValueError(f"compress: layer {name!r} of type {type(layer).__name__} is not supported")
    return SparseModel(layers, model.arch)


def save_compressed(path, smodel):
    """Write a SparseModel as .npz (compressed): "<layer>.<array>" for every sparse layer's index and
    value arrays, "__layers__" the layer list, "__format__" = minadmm-sparse-1."""
    arrays = {"__format__": np.array(FORMAT), "__arch__": np.array(smodel.arch),
              "__layers__": np.array([f"{n}:{type(l).__name__}" for n, l in smodel.layers])}
    for name, layer in smodel.layers:
        if hasattr(layer, "arrays"):
            arrays.update({f"{name}.{k}": v for k, v in layer.arrays().items()})
    np.savez_compressed(path, **arrays)


def load_compressed(path):
    """Read what ``save_compressed`` wrote; returns a SparseModel."""
    with np.load(path, allow_pickle=False) as d:
        if "__format__" not in d or str(d["__format__"]) != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} file")
        layers = []
        for entry in d["__layers__"]:
            name, kind = str(entry).split(":")
            if kind == "SparseDense":
                W = np.zeros(tuple(d[f"{name}.shape"]), dtype=np.float32)
                ip = d[f"{name}.indptr"]
                W[np.repeat(np.arange(W.shape[0]), np.diff(ip)), d[f"{name}.indices"]] = d[f"{name}.data"]
                layers.append((name, SparseDense(W, d[f"{name}.b"])))
            elif kind == "SparseConv2D":
                W = np.zeros(tuple(d[f"{name}.shape"]), dtype=np.float32)
                f = np.repeat(np.arange(W.shape[0]), np.diff(d[f"{name}.ptr"]))
                W[f, d[f"{name}.c"], d[f"{name}.u"], d[f"{name}.v"]] = d[f"{name}.w"]
                layers.append((name, SparseConv2D(W, d[f"{name}.b"], int(d[f"{name}.pad"]))))
            else:
                layer = {"MaxPool2D": MaxPool2D, "ReLU": ReLU, "Flatten": Flatten}[kind]()
                layer.training = False
                layers.append((name, layer))
        return SparseModel(layers, str(d["__arch__"]))


def reference_dense(x, layer):
    """Twin of SparseDense.forward: x @ W + b with W rebuilt dense."""
    return x @ layer.dense_weight() + layer.b


def reference_conv(x, layer):
    """Twin of SparseConv2D.forward: the direct-sum convolution with W rebuilt dense."""
    from .reference import conv2d_forward
    return conv2d_forward(x, layer.dense_weight(), layer.b, layer.pad)
