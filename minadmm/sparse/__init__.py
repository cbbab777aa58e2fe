"""Sparse inference: what pruning buys at run time and on disk.

    kernels.py     numba kernels that touch only non-zero weights
    layers.py      SparseDense (CSR), SparseConv2D (non-zero taps) and their NumPy twins
    model.py       SparseModel and ``compress(model)``
    flops.py       multiply-adds of dense and sparse models
    fileformat.py  the compressed file (``save_compressed`` / ``load_compressed``)
"""
from .fileformat import FORMAT, load_compressed, save_compressed
from .flops import dense_flops
from .layers import SparseConv2D, SparseDense, reference_conv, reference_dense
from .model import SMALL_BATCH, SparseModel, compress

__all__ = ["FORMAT", "SMALL_BATCH", "SparseConv2D", "SparseDense", "SparseModel", "compress", "dense_flops",
           "load_compressed", "reference_conv", "reference_dense", "save_compressed"]
