"""Physical shrinking: a structurally pruned LeNet-5 as the smaller dense LeNet-5 it is.

A channel between two layers (a conv1 filter, a conv2 filter, an fc1 unit) goes when its producer's weights
are all zero or its consumer's weights on it are all zero:

- consumer weights all zero: the channel contributes nothing downstream; it is dropped.
- producer weights all zero (consumer weights not): the channel's output is a constant map a = act(b)
  (act: the ReLU after the layer, or none for ``lenet5``'s convolutions; max pooling of a constant is the
  constant, dropout at inference the identity). A valid convolution sees all of it at every position, so
  the consumer's output g gains a * sum_{u,v} W2[g, f, u, v] everywhere, and a dense consumer gains
  a * W[j, :] (through the flatten: the 16 inputs c*16..c*16+15 of a conv2 channel c): that is folded
  into the consumer's bias before the channel is dropped.

Channels are decided in order (conv1's, then conv2's, then fc1's), so a conv2 filter whose only non-zero
weights were on dropped conv1 channels becomes all zero in its turn. The result computes the same function
as the masked network (to float rounding: the folded biases add in another order), and is a plain
``lenet5`` / ``lenet5_relu`` of smaller widths (``nn.model.save_model`` writes them in the file).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..nn.model import build, model_widths

POSITIONS = 16  # conv2's output after pooling is 4 x 4 per channel; fc1's inputs are channel-major


def _act(b, relu):
    return np.maximum(b, 0) if relu else b


def shrink(model):
    """The smaller dense network of a structurally pruned ``lenet5``/``lenet5_relu`` ``model`` (module
    docstring). Returns (shrunk model in eval mode, {"conv1": kept filter indices, "conv2": ..., "fc1": ...})."""
    if model_widths(model) is None:
        raise InputError(f"shrinking supports lenet5 and lenet5_relu, not {model.arch!r}")
    relu = model.arch == "lenet5_relu"
    W1, b1 = model["conv1"].params["W"].astype(np.float64), model["conv1"].params["b"].astype(np.float64)
    W2, b2 = model["conv2"].params["W"].astype(np.float64), model["conv2"].params["b"].astype(np.float64)
    W3, b3 = model["fc1"].params["W"].astype(np.float64), model["fc1"].params["b"].astype(np.float64)
    W4, b4 = model["fc2"].params["W"].astype(np.float64), model["fc2"].params["b"].astype(np.float64)
    c2 = W2.shape[0]
    W3 = W3.reshape(c2, POSITIONS, -1)  # (channel, position, unit)

    # conv1's filters -> conv2's input channels
    used = np.any(W2 != 0, axis=(0, 2, 3))
    zero = ~np.any(W1 != 0, axis=(1, 2, 3))
    fold = used & zero
    b2 = b2 + W2[:, fold].sum(axis=(2, 3)) @ _act(b1[fold], relu)
    keep1 = np.flatnonzero(used & ~zero)
    W1, b1, W2 = W1[keep1], b1[keep1], W2[:, keep1]

    # conv2's filters -> fc1's input rows (16 per channel)
    used = np.any(W3 != 0, axis=(1, 2))
    zero = ~np.any(W2 != 0, axis=(1, 2, 3))
    fold = used & zero
    b3 = b3 + np.einsum("cpj,c->j", W3[fold], _act(b2[fold], relu))
    keep2 = np.flatnonzero(used & ~zero)
    W2, b2, W3 = W2[keep2], b2[keep2], W3[keep2]

    # fc1's units -> fc2's input rows
    used = np.any(W4 != 0, axis=1)
    zero = ~np.any(W3 != 0, axis=(0, 1))
    fold = used & zero
    b4 = b4 + np.maximum(b3[fold], 0) @ W4[fold]
    keep3 = np.flatnonzero(used & ~zero)
    W3, b3, W4 = W3[:, :, keep3], b3[keep3], W4[keep3]

    widths = (max(keep1.size, 1), max(keep2.size, 1), max(keep3.size, 1))  # a layer of width 0 keeps one zero channel
    small = build(model.arch, widths=widths)
    dtype = model["conv1"].params["W"].dtype
    for name, (W, b) in {"conv1": (W1, b1), "conv2": (W2, b2), "fc1": (W3.reshape(-1, W3.shape[2]), b3),
                         "fc2": (W4, b4)}.items():
        p = small[name].params
        p["W"][...] = 0
        p["W"][tuple(slice(0, s) for s in W.shape)] = W.astype(dtype)
        p["b"][...] = 0
        p["b"][:b.size] = b.astype(dtype)
    return small.eval(), {"conv1": keep1.tolist(), "conv2": keep2.tolist(), "fc1": keep3.tolist()}
