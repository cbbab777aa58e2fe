"""Slow NumPy twins of the fast kernels in ``kernels.py``: same signatures, written to read like the math.

Tests compare every fast kernel with its twin here on random shapes. Nothing in the training path calls
these functions; they exist to be read and to be tested against.

Shapes: x (N, C, H, W) (im2col/col2im: channels-last (N, H, W, C)); conv weights W (F, C, kh, kw); pad p >= 0; stride 1, so
Ho = H + 2p - kh + 1 and Wo = W + 2p - kw + 1.
"""
from __future__ import annotations

import numpy as np


def im2col(x, kh, kw, pad):
    """cols[(n, i, j), (u, v, c)] = xp[n, i + u, j + v, c], xp = x zero-padded by ``pad`` in H and W.

    x (N, H, W, C) channels-last -> cols (N*Ho*Wo, kh*kw*C): rows in (n, i, j) order, columns in
    (u, v, c) order, so that ``cols @ W.transpose(2, 3, 1, 0).reshape(-1, F)`` is the convolution as
    (N*Ho*Wo, F), i.e. channels-last output.
    """
    N, H, W, C = x.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    Ho, Wo = H + 2 * pad - kh + 1, W + 2 * pad - kw + 1
    cols = np.empty((N, Ho, Wo, kh, kw, C), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            cols[:, :, :, u, v, :] = xp[:, u:u + Ho, v:v + Wo, :]
    return cols.reshape(N * Ho * Wo, kh * kw * C)


def col2im(cols, x_shape, kh, kw, pad):
    """Adjoint of ``im2col``: dx[n, i + u - p, j + v - p, c] += cols[(n, i, j), (u, v, c)].

    cols (N*Ho*Wo, kh*kw*C) -> dx of shape x_shape = (N, H, W, C).
    """
    N, H, W, C = x_shape
    Ho, Wo = H + 2 * pad - kh + 1, W + 2 * pad - kw + 1
    c6 = cols.reshape(N, Ho, Wo, kh, kw, C)
    dxp = np.zeros((N, H + 2 * pad, W + 2 * pad, C), dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):
            dxp[:, u:u + Ho, v:v + Wo, :] += c6[:, :, :, u, v, :]
    return dxp[:, pad:pad + H, pad:pad + W, :]


def conv2d_forward(x, W, b, pad):
    """out[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * xp[n, c, i + u, j + v].

    x (N, C, H, W), W (F, C, kh, kw), b (F,) -> out (N, F, Ho, Wo). A direct sum, no im2col.
    """
    F, C, kh, kw = W.shape
    N, _, H, Wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = H + 2 * pad - kh + 1, Wd + 2 * pad - kw + 1
    out = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            out += np.einsum("fc,ncij->nfij", W[:, :, u, v], xp[:, :, u:u + Ho, v:v + Wo])
    return out + b[None, :, None, None]


def conv2d_backward(dout, x, W, pad):
    """Gradients of ``conv2d_forward``: dx, dW, db by the same direct sums.

    dout (N, F, Ho, Wo) -> dx (N, C, H, W), dW (F, C, kh, kw), db (F,).
    """
    F, C, kh, kw = W.shape
    N, _, H, Wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = dout.shape[2], dout.shape[3]
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    for u in range(kh):
        for v in range(kw):
            dW[:, :, u, v] = np.einsum("nfij,ncij->fc", dout, xp[:, :, u:u + Ho, v:v + Wo])
            dxp[:, :, u:u + Ho, v:v + Wo] += np.einsum("fc,nfij->ncij", W[:, :, u, v], dout)
    return dxp[:, :, pad:pad + H, pad:pad + Wd], dW, dout.sum(axis=(0, 2, 3))


def maxpool2x2_forward(x):
    """out[n, c, i, j] = max over the 2x2 window x[n, c, 2i:2i+2, 2j:2j+2]; odd edges are dropped.

    x (N, C, H, W) -> out (N, C, H//2, W//2), arg (N, C, H//2, W//2) uint8: the window position
    (0..3, row-major) of the maximum; on ties the first position in row-major order wins.
    """
    N, C, H, W = x.shape
    Ho, Wo = H // 2, W // 2
    win = x[:, :, :2 * Ho, :2 * Wo].reshape(N, C, Ho, 2, Wo, 2).transpose(0, 1, 2, 4, 3, 5)
    win = win.reshape(N, C, Ho, Wo, 4)
    arg = win.argmax(axis=-1).astype(np.uint8)  # argmax returns the first maximum
    return np.take_along_axis(win, arg[..., None].astype(np.intp), axis=-1)[..., 0], arg


def maxpool2x2_backward(dout, arg, x_shape):
    """dx is zero except at each window's maximum, which receives dout. -> dx of shape x_shape."""
    N, C, H, W = x_shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    onehot = (arg[..., None] == np.arange(4)).astype(dout.dtype)  # (N, C, Ho, Wo, 4)
    win = (onehot * dout[..., None]).reshape(N, C, Ho, Wo, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    dx[:, :, :2 * Ho, :2 * Wo] = win.reshape(N, C, 2 * Ho, 2 * Wo)
    return dx


def adam_update(w, g, m, v, mask, lr, beta1, beta2, eps, t, weight_decay=0.0):
    """One Adam step (Kingma and Ba 2015, Algorithm 1), in place on w, m, v; masked entries held at zero.

    g <- (g + weight_decay * w) * mask; m <- beta1 m + (1 - beta1) g; v <- beta2 v + (1 - beta2) g^2;
    w <- (w - lr * mhat / (sqrt(vhat) + eps)) * mask, with mhat = m / (1 - beta1^t), vhat = v / (1 - beta2^t).
    ``mask`` is None or an array of 0/1 of w's shape.
    """
    g = g + weight_decay * w
    if mask is not None:
        g = g * mask
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    mhat = m / (1 - beta1 ** t)
    vhat = v / (1 - beta2 ** t)
    w -= lr * mhat / (np.sqrt(vhat) + eps)
    if mask is not None:
        w *= mask
        m *= mask
        v *= mask
