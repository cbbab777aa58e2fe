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

from ..errors import InputError
from . import kernels


def _check_masks(params, masks):
    masks = dict(masks or {})
    for k, m in masks.items():
        if k not in params:
            raise InputError(f"mask for unknown parameter {k!r}; parameters are {sorted(params)}")
        if m.shape != params[k].shape:
            raise InputError(f"mask for {k} has shape {m.shape}, parameter has {params[k].shape}")
        masks[k] = m.astype(params[k].dtype)
        params[k] *= masks[k]
    return masks


def piece(size, i, n, align=64):
    """Slice i of n contiguous, nearly equal pieces of range(size), cut at multiples of ``align``: the
    vectorised kernels then treat every element as they would in one pass over the whole array, so the
    result is bit-identical to it (their scalar remainder loop runs only at the array's end)."""
    cut = lambda j: min(size, -(-size * j // (n * align)) * align)  # noqa: E731
    return slice(cut(i), cut(i + 1))


class Optimizer:
    def __init__(self, params, lr, weight_decay=0.0, masks=None):
        if not lr > 0:
            raise InputError(f"learning rate lr={lr}: expected a positive number")
        if weight_decay < 0:
            raise InputError(f"weight_decay={weight_decay}: expected >= 0")
        self.params = params
        self.lr = lr
        self.weight_decay = weight_decay
        self.masks = _check_masks(params, masks)
        self.t = 0

    def step(self, grads, pool=None, n=1):
        """One update of every parameter from ``grads``. ``pool`` (optional, an executor with ``n``
        threads): split every parameter into n contiguous pieces and update them in parallel (the kernels
        release the GIL); the result is the same as without a pool."""
        self.t += 1
        if pool is None or n == 1:
            for k in self.params:
                self._update(k, slice(None), grads[k])
            return

        def work(i):
            for k, w in self.params.items():
                self._update(k, piece(w.size, i, n), grads[k])

        list(pool.map(work, range(n)))

    def _flat(self, k, sl, grads_k):
        """Views of piece ``sl`` of parameter k flattened: (w, g, mask or None)."""
        mask = self.masks.get(k)
        return (self.params[k].reshape(-1)[sl], grads_k.reshape(-1)[sl],
                None if mask is None else mask.reshape(-1)[sl])

    def _decay(self, k):
        return self.weight_decay if k.endswith(".W") else 0.0

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

    def _update(self, k, sl, grads_k):
        w, g, mask = self._flat(k, sl, grads_k)
        v = self.v[k].reshape(-1)[sl]
        v *= self.momentum
        v += g
        if self._decay(k):
            v += self._decay(k) * w
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

    def _update(self, k, sl, grads_k):
        w, g, mask = self._flat(k, sl, grads_k)
        kernels.adam_update(w, g, self.m[k].reshape(-1)[sl], self.v[k].reshape(-1)[sl], mask,
                            self.lr, self.beta1, self.beta2, self.eps, self.t, weight_decay=self._decay(k))

    def _state(self):
        return {"m": self.m, "v": self.v}


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def make_optimizer(name, params, lr, weight_decay=0.0, masks=None):
    if name not in OPTIMIZERS:
        raise InputError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay, masks=masks)
