"""SGD with momentum and Adam, with optional L2 weight decay and per-parameter binary masks.

``params`` and ``grads`` are the model's flat dicts (``model.params``, ``model.grads``); the optimizer updates
the parameter arrays in place. ``masks`` maps some parameter names to 0/1 arrays of their shape: a masked
entry gets no update, its optimizer state is held at zero, and it is set to exactly zero at every step, so
nothing (momentum, Adam moments, weight decay) can revive a pruned weight during masked retraining.

Weight decay is the L2 penalty ``weight_decay * sum(W^2) / 2`` on the weights ("*.W"), not on the biases;
it adds ``weight_decay * W`` to the gradient.
"""
from __future__ import annotations

import numpy as np

from . import kernels


def _check_masks(params, masks):
    masks = dict(masks or {})
    for k, m in masks.items():
        if k not in params:
            raise ValueError(f"mask for unknown parameter {k!r}; parameters are {sorted(params)}")
        if m.shape != params[k].shape:
            raise ValueError(f"mask for {k} has shape {m.shape}, parameter has {params[k].shape}")
        masks[k] = m.astype(params[k].dtype)
        params[k] *= masks[k]
    return masks


class Optimizer:
    def __init__(self, params, lr, weight_decay=0.0, masks=None):
        if not lr > 0:
            raise ValueError(f"learning rate lr={lr}: expected a positive number")
        if weight_decay < 0:
            raise ValueError(f"weight_decay={weight_decay}: expected >= 0")
        self.params = params
        self.lr = lr
        self.weight_decay = weight_decay
        self.masks = _check_masks(params, masks)
        self.t = 0

    def _grad(self, k, g):
        if self.weight_decay and k.endswith(".W"):
            g = g + self.weight_decay * self.params[k]
        return g

    def step(self, grads):
        self.t += 1
        for k, w in self.params.items():
            self._update(k, w, self._grad(k, grads[k]), self.masks.get(k))

    def state_dict(self):
        return {"t": self.t, **{f"{name}:{k}": v for name, d in self._state().items() for k, v in d.items()}}

    def load_state_dict(self, state):
        self.t = int(state["t"])
        for name, d in self._state().items():
            for k, v in d.items():
                v[...] = state[f"{name}:{k}"]


class SGD(Optimizer):
    """v <- momentum v + g;  W <- W - lr v  (masked entries: v = 0, W = 0)."""

    def __init__(self, params, lr=0.01, momentum=0.9, weight_decay=0.0, masks=None):
        super().__init__(params, lr, weight_decay, masks)
        self.momentum = momentum
        self.v = {k: np.zeros_like(w) for k, w in params.items()}

    def _update(self, k, w, g, mask):
        v = self.v[k]
        v *= self.momentum
        v += g
        w -= self.lr * v
        if mask is not None:
            v *= mask
            w *= mask

    def _state(self):
        return {"v": self.v}


class Adam(Optimizer):
    """Adam (Kingma and Ba 2015) with bias correction; a fused numba kernel (twin: reference.adam_update)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, masks=None):
        super().__init__(params, lr, weight_decay, masks)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = {k: np.zeros_like(w) for k, w in params.items()}
        self.v = {k: np.zeros_like(w) for k, w in params.items()}

    def _update(self, k, w, g, mask):
        kernels.adam_update(w, np.ascontiguousarray(g), self.m[k], self.v[k], mask,
                            self.lr, self.beta1, self.beta2, self.eps, self.t)

    def _state(self):
        return {"m": self.m, "v": self.v}


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def make_optimizer(name, params, lr, weight_decay=0.0, masks=None):
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay, masks=masks)
