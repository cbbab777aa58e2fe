"""minadmm: ADMM weight pruning (Zhang et al., ECCV 2018) with a from-scratch NumPy + numba network stack.

The folders follow the data path, each importing only from those before it:

    data/      MNIST from a directory with checksums; random-shift augmentation
    nn/        layers with explicit forward/backward, numba kernels and their NumPy twins, models, optimizers
    train/     data-parallel gradients, the epoch loops (history, checkpoint, resume), dense training
    admm/      the method: projections, one function per ADMM equation, rho schedules, the ADMM loop
    pruning/   ADMM as a pruning stage (the W-step solver), hard pruning, masked retraining, the baseline
    sparse/    sparse inference kernels and the compressed model file
    report/    the pruning report and figures
    pipeline/  recipes as data (presets) and ``minadmm prune`` from end to end
    cli/       the command line; tutorial.py: helpers the tutorials share

References: T. Zhang et al., "A Systematic DNN Weight Pruning Framework using ADMM", ECCV 2018
(arXiv 1804.03294); S. Boyd et al., "Distributed Optimization and Statistical Learning via ADMM", 2011.
"""
from .data import load_mnist
from .nn.model import Sequential, lenet5, lenet5_relu, lenet300_100, load_model, save_model

__version__ = "0.2.0"
__all__ = ["load_mnist", "Sequential", "lenet5", "lenet5_relu", "lenet300_100", "load_model", "save_model"]
