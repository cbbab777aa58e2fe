"""The network stack, autograd-free: layers with explicit forward/backward, their numba kernels and NumPy
twins, models, losses and optimizers.

    kernels.py    numba kernels (im2col, one-channel conv, pooling, Adam, the ADMM penalty gradient)
    reference.py  their slow NumPy twins
    layers.py     Dense, Conv2D, MaxPool2D, ReLU, Dropout, Flatten; softmax cross-entropy
    distill.py    the knowledge-distillation loss
    model.py      Sequential, LeNet-5, LeNet-300-100, the model file
    optim.py      SGD with momentum, Adam; L2 on weights; masks
    variational.py  sparse variational dropout: a Conv2D/Dense with a variance per weight, the KL term
"""
from .model import Sequential, build, lenet5, lenet5_relu, lenet300_100, load_model, save_model

__all__ = ["Sequential", "build", "lenet5", "lenet5_relu", "lenet300_100", "load_model", "save_model"]
