"""Sparse inference for pruned models: ``compress(model)`` turns a pruned Sequential into a ``SparseModel``
whose Dense and Conv2D layers touch only their non-zero weights (``layers.py``), so the work per sample is
proportional to the number of kept weights (times the output positions for a convolution)."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..nn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from .flops import flops
from .layers import SparseConv2D, SparseDense

SMALL_BATCH = 8  # below this, SparseModel.forward runs sample by sample (see docs/performance.md)


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
                raise InputError(f"SparseModel: unsupported layer {type(layer).__name__}")
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
        return flops(self.layers, input_shape)


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
            raise InputError(f"compress: layer {name!r} of type {type(layer).__name__} is not supported")
    return SparseModel(layers, model.arch)
