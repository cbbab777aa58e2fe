"""Layers and loss against central finite differences in float64, and against the direct-sum twins.

Gradient check: relative error max|a - n| / max(|a| + |n|, 1e-8) between the analytic gradient a and the
central difference n = (f(x + h) - f(x - h)) / 2h with h = 1e-6; expected below 1e-6 in float64
(CS231n's rule of thumb: < 1e-7 is right for smooth functions; max pooling and ReLU kinks are avoided by
using inputs without near-ties).
"""
import numpy as np
import pytest
from conftest import central_difference

from minadmm.nn import reference as R
from minadmm.nn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, softmax_cross_entropy
from minadmm.nn.model import lenet5, lenet300_100

TOL = 1e-6


def rel_error(a, n):
    return np.max(np.abs(a - n)) / max(np.max(np.abs(a) + np.abs(n)), 1e-8)


def numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        g[it.multi_index] = central_difference(f, x, it.multi_index, h)
    return g


def check_layer(layer, x, rng):
    """Check dx and every parameter gradient of ``layer`` for the scalar loss sum(forward(x) * w)."""
    w = rng.standard_normal(layer.forward(x).shape)
    loss = lambda: float(np.sum(layer.forward(x) * w))  # noqa: E731
    layer.forward(x)
    dx = layer.backward(w)
    assert rel_error(dx, numeric_grad(loss, x)) < TOL
    for k, p in layer.params.items():
        layer.forward(x)
        layer.backward(w)
        analytic = layer.grads[k].copy()
        assert rel_error(analytic, numeric_grad(loss, p)) < TOL, k


def test_dense_grad(rng):
    check_layer(Dense(6, 4, rng=0, dtype=np.float64), rng.standard_normal((3, 6)), rng)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("C", [1, 2])  # C = 1: the direct forward kernel (kernels.conv1ch_forward)
def test_conv_grad(padding, C, rng):
    layer = Conv2D(C, 3, 3, padding=padding, rng=0, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(3)
    check_layer(layer, rng.standard_normal((2, C, 6, 5)), rng)


@pytest.mark.parametrize("padding,pad", [("valid", 0), ("same", 2)])
@pytest.mark.parametrize("C", [1, 3])
@pytest.mark.parametrize("per_block", [None, 2])  # im2col blocks: the whole batch, or 2 images (2 + 2 + 1)
def test_conv_matches_direct_sum_twin(padding, pad, C, per_block, rng):
    layer = Conv2D(C, 4, 5, padding=padding, rng=1, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal((5, C, 9, 8))
    if per_block:
        Ho, Wo = 9 + 2 * pad - 4, 8 + 2 * pad - 4
        layer.cols_bytes = per_block * Ho * Wo * 25 * C * 8  # bytes of one image's cols, float64
        layer.forward(x[:3])  # workspaces made for another batch size must not leak into this one
        layer.backward(np.ones((3, 4, Ho, Wo)))
    y = layer.forward(x)
    assert layer.chunk == (per_block or layer.chunk) and (per_block or layer.chunk >= 5)
    np.testing.assert_allclose(y, R.conv2d_forward(x, layer.params["W"], layer.params["b"], pad), atol=1e-12)
    dout = rng.standard_normal(y.shape)
    dx = layer.backward(dout)
    rdx, rdW, rdb = R.conv2d_backward(dout, x, layer.params["W"], pad)
    np.testing.assert_allclose(dx, rdx, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], rdW, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], rdb, atol=1e-12)


@pytest.mark.parametrize("padding,pad", [("valid", 0), ("same", 2)])
def test_first_layer_conv_grads_match_twin(padding, pad, rng):
    """A one-channel Conv2D as the first layer (no dx): dW and db by im2col1_t + GEMM."""
    layer = Conv2D(1, 4, 5, padding=padding, rng=1, dtype=np.float64)
    layer.input_grad = False
    x = rng.standard_normal((3, 1, 9, 8))
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    assert layer.backward(dout) is None
    _, rdW, rdb = R.conv2d_backward(dout, x, layer.params["W"], pad)
    np.testing.assert_allclose(layer.grads["W"], rdW, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], rdb, atol=1e-12)


def test_maxpool_grad(rng):
    x = rng.permutation(2 * 3 * 6 * 7).reshape(2, 3, 6, 7).astype(np.float64) * 0.1  # distinct: no ties
    check_layer(MaxPool2D(), x, rng)


def test_relu_flatten_grad(rng):
    x = rng.standard_normal((3, 2, 4, 4))
    x[np.abs(x) < 1e-3] = 0.5  # stay away from the kink
    check_layer(ReLU(), x, rng)
    check_layer(Flatten(), x, rng)
    assert Flatten().forward(x).shape == (3, 32)
    np.testing.assert_array_equal(Flatten().forward(x)[1], x[1].ravel())  # (C, H, W) order


def test_dropout(rng):
    layer = Dropout(keep=0.5, rng=0)
    x = rng.standard_normal((2000, 50))
    y = layer.forward(x)
    kept = y != 0
    assert 0.45 < kept.mean() < 0.55
    np.testing.assert_allclose(y[kept], 2 * x[kept])  # inverted: scaled by 1/keep
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), (kept * 2.0))
    layer.training = False
    np.testing.assert_array_equal(layer.forward(x), x)
    with pytest.raises(ValueError, match="keep=0"):
        Dropout(keep=0)


def test_softmax_cross_entropy_grad(rng):
    logits = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    loss, d = softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(5), y])))
    assert rel_error(d, numeric_grad(lambda: softmax_cross_entropy(logits, y)[0], logits)) < TOL
    big, _ = softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))  # stable for large logits
    assert big == pytest.approx(1000.0)


def test_lenet5_architecture_and_whole_model_grad(rng):
    m = lenet5()
    assert m.n_params() == 431_080
    assert sum(m.params[f"{n}.W"].size for n in m.weight_names()) == 430_500
    assert m.params["conv1.W"].shape == (20, 1, 5, 5) and m.params["fc1.W"].shape == (800, 500)
    assert [n for n, _ in m.layers] == ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "relu1", "drop1", "fc2"]
    assert lenet300_100().n_params() == 266_610
    # Whole-network gradient check in float64 on a few entries of each parameter.
    m = lenet5(dtype=np.float64, keep=1.0)
    x, y = rng.random((2, 1, 28, 28)), np.array([3, 7])
    loss = lambda: softmax_cross_entropy(m.forward(x), y)[0]  # noqa: E731
    _, d = softmax_cross_entropy(m.forward(x), y)
    m.backward(d)
    grads = {k: g.copy() for k, g in m.grads.items()}
    for k, p in m.params.items():
        flat = p.reshape(-1)
        for i in rng.choice(flat.size, 3, replace=False):
            n = central_difference(loss, flat, i)
            a = grads[k].reshape(-1)[i]
            assert abs(a - n) <= 1e-6 * max(abs(a) + abs(n), 1e-4), (k, i, a, n)
