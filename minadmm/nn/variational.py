"""Sparse variational dropout (Molchanov, Ashukha and Vetrov, ICML 2017): a weight layer with a Gaussian
posterior per weight, trained by the local reparameterisation trick, and the KL term that drives most weights'
noise up until they can be dropped.

Each weight w of a Conv2D or Dense has a mean theta and a variance sigma^2 (their additive reparameterisation,
trained as log sigma^2), and

    log alpha = log sigma^2 - log(theta^2 + 1e-8)                            (alpha = sigma^2 / theta^2)

In training, a layer's output is sampled by the local reparameterisation trick (inner: the layer's
convolution or matrix product; eps ~ N(0, 1) per output entry):

    y = inner(x; theta, b) + sqrt(inner(x^2; sigma^2, 0) + 1e-8) * eps

and the loss adds the KL divergence of the posterior from the log-uniform prior, approximated by their eq. 14:

    -KL(alpha) ~ k1 sigmoid(k2 + k3 log alpha) - 0.5 log(1 + 1/alpha) - k1,   k1, k2, k3 = 0.63576, 1.87320, 1.48695

In evaluation a weight is theta where log alpha < threshold (3: alpha > e^3 ~ 20, noise that swamps the
mean), else 0.  ``VariationalLayer`` reuses the Conv2D/Dense kernels for both products (no new kernels).
"""
from __future__ import annotations

import numpy as np

from .layers import Conv2D, Dense, Layer
from .model import Sequential

K1, K2, K3 = 0.63576, 1.87320, 1.48695
LOG_ALPHA_EPS = 1e-8  # theta^2 + 1e-8: a pruned theta = 0 has a finite log alpha
VAR_EPS = 1e-8  # sqrt(variance + 1e-8): a finite gradient where the variance is 0


def sigmoid(z):
    """1 / (1 + exp(-z)), as 0.5 (1 + tanh(z / 2)) (no overflow)."""
    return 0.5 * (1 + np.tanh(0.5 * z))


def log_alpha(theta, log_sigma2):
    """log alpha = log sigma^2 - log(theta^2 + 1e-8), in float64; any shape (the weight's)."""
    theta = theta.astype(np.float64)
    return log_sigma2 - np.log(theta * theta + LOG_ALPHA_EPS)


def kl(la):
    """KL(alpha) ~ k1 - k1 sigmoid(k2 + k3 log alpha) + 0.5 log(1 + 1/alpha), summed over ``la`` = log alpha
    (the negative of eq. 14 of Molchanov et al.; log(1 + 1/alpha) = log1p(exp(-log alpha)))."""
    return float(np.sum(K1 - K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(-la))))


def kl_grad_log_alpha(la):
    """dKL/dlog alpha = -k1 k3 s (1 - s) - 0.5 sigmoid(-log alpha), s = sigmoid(k2 + k3 log alpha); ``la``'s shape."""
    s = sigmoid(K2 + K3 * la)
    return -K1 * K3 * s * (1 - s) - 0.5 * sigmoid(-la)


def kl_grads(theta, log_sigma2):
    """(KL summed over the weights, dKL/dtheta, dKL/dlog sigma^2), the gradients of the weights' shape, float64:

        dKL/dlog sigma^2 = dKL/dlog alpha,   dKL/dtheta = dKL/dlog alpha * (-2 theta / (theta^2 + 1e-8))"""
    W = theta.astype(np.float64)
    la = log_alpha(theta, log_sigma2)
    dla = kl_grad_log_alpha(la)
    return kl(la), dla * (-2 * W / (W * W + LOG_ALPHA_EPS)), dla


def _copy_layer(layer):
    """A replica of ``layer`` with its own copies of the parameters (and zero gradients)."""
    r = layer.replica()
    r.params = {k: v.copy() for k, v in layer.params.items()}
    r.grads = {k: np.zeros_like(v) for k, v in layer.params.items()}
    return r


class VariationalLayer(Layer):
    """A Conv2D or Dense with a variance per weight. params: "W" (theta, the layer's shape), "b",
    "log_sigma2" (W's shape). ``mean`` computes inner(x; theta, b), ``var`` inner(x^2; sigma^2, 0): two
    copies of ``layer``. ``rng`` draws eps; ``threshold``: weights with log alpha >= it are 0 in evaluation.

    Training: y = mu + std * eps, mu = inner(x; theta, b), std = sqrt(inner(x^2; sigma^2, 0) + 1e-8).
    Evaluation: y = inner(x; theta * [log alpha < threshold], b)."""

    def __init__(self, layer, log_sigma2=-10.0, threshold=3.0, rng=None):
        super().__init__()
        if not isinstance(layer, (Conv2D, Dense)):
            raise TypeError(f"VariationalLayer wraps a Conv2D or Dense, not {type(layer).__name__}")
        self.mean, self.var, self.threshold = _copy_layer(layer), _copy_layer(layer), threshold
        W = self.mean.params["W"]
        self.params = {"W": W, "b": self.mean.params["b"], "log_sigma2": np.full(W.shape, log_sigma2, W.dtype)}
        self.var.params["b"][...] = 0
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.rng = np.random.default_rng(rng)

    def log_alpha(self):
        return log_alpha(self.params["W"], self.params["log_sigma2"])

    def kept(self):
        """The mask of weights used in evaluation: log alpha < threshold."""
        return self.log_alpha() < self.threshold

    def forward(self, x):
        """x -> y as the class docstring says; x and y as the wrapped layer's."""
        self.mean.input_grad = self.var.input_grad = self.input_grad
        if not self.training:
            theta = self.mean.params["W"]
            self.mean.params["W"] = (theta * self.kept()).astype(theta.dtype)
            try:
                y = np.array(self.mean.forward(x))
            finally:
                self.mean.params["W"] = theta
            return y
        self.x = x
        mu = np.array(self.mean.forward(x))
        self.var.params["W"] = np.exp(self.params["log_sigma2"]).astype(x.dtype)
        v = np.array(self.var.forward(x * x))
        self.std = np.sqrt(v + VAR_EPS)
        self.eps = self.rng.standard_normal(mu.shape).astype(x.dtype)
        return mu + self.std * self.eps

    def backward(self, dout):
        """dL/dtheta, dL/db through the mean; dL/dvar = dout * eps / (2 std) through the variance, and

            dL/dlog sigma^2 = dL/dsigma^2 * sigma^2,   dx = dx_mean + 2 x * dx^2_var."""
        dout = np.ascontiguousarray(dout)
        dvar = dout * self.eps / (2 * self.std)
        dx = self.mean.backward(dout)
        self.grads["W"][...] = self.mean.grads["W"]
        self.grads["b"][...] = self.mean.grads["b"]
        dx2 = self.var.backward(dvar)
        self.grads["log_sigma2"][...] = self.var.grads["W"] * self.var.params["W"]
        if not self.input_grad:
            return None
        return dx + 2 * self.x * dx2

    def kl_grads(self):
        """``kl_grads`` of this layer's weights."""
        return kl_grads(self.params["W"], self.params["log_sigma2"])

    def replica(self):
        raise NotImplementedError("a VariationalLayer trains in one thread (its eps draws follow one RNG)")

    def __repr__(self):
        return f"Variational({self.mean!r})"


def variational_model(model, log_sigma2=-10.0, threshold=3.0, seed=0):
    """``model`` with each Conv2D/Dense wrapped in a ``VariationalLayer`` (theta and b copied from it), the
    eps RNG of the i-th weight layer seeded 1000 * seed + i."""
    layers, i = [], 0
    for name, layer in model.layers:
        if isinstance(layer, (Conv2D, Dense)):
            layers.append((name, VariationalLayer(layer, log_sigma2, threshold, rng=1000 * seed + i)))
            i += 1
        else:
            layers.append((name, layer))
    return Sequential(layers, arch=model.arch)


def sparse_weights(vmodel, model):
    """Write into ``model`` (same architecture, plain layers) what ``vmodel`` evaluates with: W = theta where
    log alpha < threshold, else 0, and b. Returns {layer: non-zero weights}."""
    kept = {}
    for name, layer in vmodel.layers:
        if isinstance(layer, VariationalLayer):
            mask = layer.kept()
            model[name].params["W"][...] = layer.params["W"] * mask
            model[name].params["b"][...] = layer.params["b"]
            kept[name] = int(np.count_nonzero(model[name].params["W"]))
    return kept
