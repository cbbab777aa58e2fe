"""minadmm: ADMM weight pruning (Zhang et al., ECCV 2018) with a from-scratch NumPy + numba network stack.

References: T. Zhang et al., "A Systematic DNN Weight Pruning Framework using ADMM", ECCV 2018
(arXiv 1804.03294); S. Boyd et al., "Distributed Optimization and Statistical Learning via ADMM", 2011.
"""
from .data import load_mnist
from .model import Sequential, lenet5, lenet300_100, load_model, save_model

__version__ = "0.1.0"
__all__ = ["load_mnist", "Sequential", "lenet5", "lenet300_100", "load_model", "save_model"]
