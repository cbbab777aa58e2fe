"""The compressed model file (``minadmm-sparse-1``, ``np.savez_compressed``): indices and values only.

    __format__   "minadmm-sparse-1"
    __arch__     the architecture name
    __layers__   the layer list as "name:Kind"
    <layer>.<a>  every sparse layer's arrays: SparseDense indptr, indices, data, b, shape;
                 SparseConv2D ptr, c, u, v (int16), w, b, shape, pad
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..nn.layers import Flatten, MaxPool2D, ReLU
from .layers import SparseConv2D, SparseDense
from .model import SparseModel

FORMAT = "minadmm-sparse-1"
SPARSE_KINDS = {"SparseDense": SparseDense, "SparseConv2D": SparseConv2D}
PLAIN_KINDS = {"MaxPool2D": MaxPool2D, "ReLU": ReLU, "Flatten": Flatten}


def save_compressed(path, smodel):
    """Write a SparseModel to ``path`` in the format above."""
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
            raise InputError(f"{path} is not a {FORMAT} file")
        layers = []
        for entry in d["__layers__"]:
            name, kind = str(entry).split(":")
            if kind in SPARSE_KINDS:
                prefix = f"{name}."
                layer = SPARSE_KINDS[kind].from_arrays({k[len(prefix):]: d[k] for k in d.files if k.startswith(prefix)})
            elif kind in PLAIN_KINDS:
                layer = PLAIN_KINDS[kind]()
                layer.training = False
            else:
                raise InputError(f"{path}: unknown layer kind {kind!r} of layer {name!r}; "
                                 f"expected one of {sorted(SPARSE_KINDS) + sorted(PLAIN_KINDS)}")
            layers.append((name, layer))
        return SparseModel(layers, str(d["__arch__"]))
