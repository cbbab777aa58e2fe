"""After ADMM with quantized layers: hard quantization and retraining that stays in the set.

    hard_quantize   W_i <- Proj_{S_i}(W_i) onto sparsity + levels; returns the masks and each layer's (C_i, alpha_i)
    CodeScaleAdam   retraining with the masks and the level assignments fixed: W_i = alpha_i C_i, only the
                    scales alpha_i (and the biases, and any unquantized layer's kept weights) are trained
    CodebookAdam    the same, but each layer's distinct values c_i1, ..., c_iK (K <= 2^b) are trained apart
                    (Han et al. 2016's trained quantization): W_ij = c_i,k(j), k(j) fixed
    round_biases    b <- float16(b): the biases as the packed file stores them (sparse/packed.py)
    zero_dead_biases  b_c <- 0 for every unit c whose outgoing weights are all zero (it reaches nothing, so no
                    output changes), so that the packed file need not store that bias

C_i holds each kept weight's signed unit level (sign(W) m_j, zero where pruned), so every W_i = alpha_i C_i
has at most 2^b distinct non-zeros whatever alpha_i becomes: retraining keeps the model exactly in S_i.
CodebookAdam keeps the sparsity pattern and the partition of the non-zeros into at most 2^b groups, so a
layer still has at most 2^b distinct non-zeros (its b bits per code hold), but they leave the uniform or
power-of-two grid: the set is then {card <= l, at most 2^b distinct non-zero values}, which the packed file
stores as it is (a codebook per layer).
"""
from __future__ import annotations

import numpy as np

from ..admm.projections import topk_mask
from ..admm.quantization import decode
from ..nn.optim import Adam


def hard_quantize(model, keep, quantizers):
    """W_i <- Proj_{S_i}(W_i) in place for every layer of ``keep``: onto sparsity + levels for the layers of
    ``quantizers`` ({layer: Quantizer}), onto {card <= l_i} for the others. Returns (masks {"layer.W": bool},
    scales {"layer.W": (C_i float32, alpha_i float)} for the quantized layers)."""
    masks, scales = {}, {}
    for name, l in keep.items():
        W = model[name].params["W"]
        if name in quantizers:
            q = quantizers[name]
            z, codes, alpha = q.project_codes(W, l)
            C = decode(codes, 1.0, q.m)  # signed unit levels, 0 where pruned
            scales[f"{name}.W"] = (C.astype(np.float32), float(alpha))
            W[...] = z
            masks[f"{name}.W"] = codes != 0
        else:
            mask = topk_mask(W, l)
            W *= mask
            masks[f"{name}.W"] = mask
    return masks, scales


class CodeScaleAdam(Adam):
    """Adam in which each coded weight array W_i = alpha_i C_i (C_i fixed) is trained through its scale:

        dL/dalpha_i = sum_j dL/dW_ij C_ij,   alpha_i <- Adam step,   W_i <- alpha_i C_i

    Every other parameter (biases, unquantized layers' weights under their ``masks``) gets the usual Adam
    step. ``scales``: {"layer.W": (C_i, alpha_i)} (``hard_quantize``). The scales and their moments are
    part of ``state_dict``, so a resumed retraining equals an uninterrupted one."""

    def __init__(self, params, scales, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, masks=None):
        masks = {k: m for k, m in (masks or {}).items() if k not in scales}
        super().__init__({k: v for k, v in params.items() if k not in scales}, lr, betas, eps, 0.0, masks)
        self.coded = {k: params[k] for k in scales}
        self.C = {k: C for k, (C, _) in scales.items()}
        self.alpha = {k: np.array([a], dtype=np.float64) for k, (_, a) in scales.items()}
        self.m_alpha = {k: np.zeros(1) for k in scales}
        self.v_alpha = {k: np.zeros(1) for k in scales}
        for k in scales:
            self.coded[k][...] = self.alpha[k][0] * self.C[k]

    def step(self, grads, pool=None, n=1):
        super().step(grads, pool, n)  # t += 1, the other parameters
        b1, b2 = self.beta1, self.beta2
        for k, W in self.coded.items():
            g = float(np.sum(grads[k].astype(np.float64) * self.C[k]))  # dL/dalpha
            m, v = self.m_alpha[k], self.v_alpha[k]
            m[0] = b1 * m[0] + (1 - b1) * g
            v[0] = b2 * v[0] + (1 - b2) * g * g
            m_hat, v_hat = m[0] / (1 - b1 ** self.t), v[0] / (1 - b2 ** self.t)
            self.alpha[k][0] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
            W[...] = self.alpha[k][0] * self.C[k]

    def _state(self):
        return {**super()._state(), "alpha": self.alpha, "m_alpha": self.m_alpha, "v_alpha": self.v_alpha}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for k, W in self.coded.items():
            W[...] = self.alpha[k][0] * self.C[k]


class CodebookAdam(Adam):
    """Adam in which each coded weight array shares its values among fixed groups (Han et al. 2016, sec. 3.1):

        W_ij = c_i,k(j) where kept (0 where pruned),   dL/dc_ik = sum_{j : k(j) = k} dL/dW_ij,   c_i <- Adam step

    k(j) is the group of weight j: the index of its signed unit level among C_i's distinct non-zeros, and c_i
    starts at alpha_i times those levels, so the first forward pass equals hard quantization's. Every other
    parameter gets the usual (masked) Adam step. ``scales``: {"layer.W": (C_i, alpha_i)} (``hard_quantize``).
    The codebooks and their moments are part of ``state_dict``: a resumed retraining equals an
    uninterrupted one."""

    def __init__(self, params, scales, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, masks=None):
        masks = {k: m for k, m in (masks or {}).items() if k not in scales}
        super().__init__({k: v for k, v in params.items() if k not in scales}, lr, betas, eps, 0.0, masks)
        self.coded = {k: params[k] for k in scales}
        self.kept, self.group, self.c, self.m_c, self.v_c = {}, {}, {}, {}, {}
        for k, (C, alpha) in scales.items():
            self.kept[k] = C != 0
            levels, group = np.unique(C[self.kept[k]], return_inverse=True)
            self.group[k] = group.reshape(-1)
            self.c[k] = alpha * levels.astype(np.float64)
            self.m_c[k], self.v_c[k] = np.zeros_like(self.c[k]), np.zeros_like(self.c[k])
            self._write(k)

    def _write(self, k):
        """W_i <- c_i[k(j)] on the kept entries, 0 elsewhere."""
        W = self.coded[k]
        W[...] = 0
        W[self.kept[k]] = self.c[k][self.group[k]]

    def step(self, grads, pool=None, n=1):
        super().step(grads, pool, n)  # t += 1, the other parameters
        b1, b2 = self.beta1, self.beta2
        for k in self.coded:
            g = np.bincount(self.group[k], weights=grads[k][self.kept[k]].astype(np.float64),
                            minlength=self.c[k].size)  # dL/dc_k: the sum over group k
            m, v = self.m_c[k], self.v_c[k]
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1 ** self.t), v / (1 - b2 ** self.t)
            self.c[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
            self._write(k)

    def _state(self):
        return {**super()._state(), "c": self.c, "m_c": self.m_c, "v_c": self.v_c}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for k in self.coded:
            self._write(k)


RETRAINERS = {"scale": CodeScaleAdam, "codebook": CodebookAdam}


def round_biases(model, layers):
    """b_i <- float16(b_i) (as float32) for every layer of ``layers``: what the packed file stores."""
    for name in layers:
        b = model[name].params["b"]
        b[...] = b.astype(np.float16).astype(b.dtype)


def unit_fan_out(W_next, n_units):
    """{unit c: the slice of ``W_next`` that carries unit c's output} as a (n_units, -1) array: row c holds the
    weights of the next weighted layer that read unit c. W_next: a convolution's (F, C, kh, kw) reads channel
    c through W_next[:, c]; a dense (in, out) after Flatten reads channel c of a (C, H, W) input through rows
    c*H*W .. (c+1)*H*W - 1 (Flatten's C order); in = n_units * H * W."""
    if W_next.ndim == 4:
        return np.moveaxis(W_next, 1, 0).reshape(n_units, -1)
    if W_next.shape[0] % n_units:
        raise ValueError(f"a dense layer with {W_next.shape[0]} inputs cannot read {n_units} units")
    return W_next.reshape(n_units, -1)


def zero_dead_biases(model):
    """b_c <- 0 in place for every unit c of a weighted layer (an output channel or a neuron; not the last
    layer) whose outgoing weights are all zero:

        W_next[unit c's inputs] = 0   =>   layer i+1 adds 0 * a_c = 0 whatever a_c = relu(... + b_c) is,

    so every output of the network is unchanged, bit for bit (the layers between, ReLU, max pooling, Flatten
    and Dropout, act within a channel). Returns {layer: how many biases it zeroed}."""
    names = model.weight_names()
    zeroed = {}
    for name, nxt in zip(names[:-1], names[1:]):
        b = model[name].params["b"]
        dead = ~unit_fan_out(model[nxt].params["W"], b.size).any(axis=1)
        b[dead] = 0
        zeroed[name] = int(dead.sum())
    return zeroed
