"""Multiply-adds x 2 per sample of a model's Conv2D and Dense layers, dense or sparse, in one walk.

A dense convolution counts F C kh kw multiply-adds per output position, a sparse one its non-zero taps;
a dense layer counts in x out, a sparse one its non-zeros.
"""
from __future__ import annotations

from ..nn.layers import Conv2D, Dense, MaxPool2D
from .layers import SparseConv2D, SparseDense


def _conv_shape_and_taps(layer):
    """(W's shape (F, C, kh, kw), pad, multiply-adds per output position) of a dense or sparse conv."""
    if isinstance(layer, SparseConv2D):
        return layer.shape, layer.pad, layer.w.size
    return layer.params["W"].shape, layer.pad, layer.params["W"].size


def flops(layers, input_shape=(1, 28, 28)):
    """2 x multiply-adds per sample of ``layers`` ((name, layer) pairs) on an input of ``input_shape``
    (C, H, W); stride-1 convolutions, 2x2 pooling."""
    total, shape = 0, input_shape
    for _, layer in layers:
        if isinstance(layer, (Conv2D, SparseConv2D)):
            (F, _, kh, kw), pad, taps = _conv_shape_and_taps(layer)
            shape = (F, shape[1] + 2 * pad - kh + 1, shape[2] + 2 * pad - kw + 1)  # (F, Ho, Wo)
            total += 2 * taps * shape[1] * shape[2]
        elif isinstance(layer, SparseDense):
            total += 2 * layer.data.size
        elif isinstance(layer, Dense):
            total += 2 * layer.params["W"].size
        elif isinstance(layer, MaxPool2D):
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
    return total


def dense_flops(model, input_shape=(1, 28, 28)):
    """Multiply-adds x 2 per sample of the dense ``model`` (a Sequential)."""
    return flops(model.layers, input_shape)
