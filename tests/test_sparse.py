"""Sparse inference kernels against their dense twins, and the compressed file format."""
import numpy as np
import pytest

from minadmm.nn.model import lenet5
from minadmm.pruning import hard_prune
from minadmm.sparse import (SparseConv2D, SparseDense, compress, dense_flops, load_compressed,
                            reference_conv, reference_dense, save_compressed)


def sparse_weights(rng, shape, density):
    W = rng.standard_normal(shape).astype(np.float32)
    return W * (rng.random(shape) < density)


@pytest.mark.parametrize("density", [0.0, 0.05, 0.5, 1.0])
def test_sparse_dense_matches_twin(density, rng):
    W = sparse_weights(rng, (30, 17), density)
    b = rng.standard_normal(17).astype(np.float32)
    layer = SparseDense(W, b)
    x = rng.standard_normal((5, 30)).astype(np.float32)
    x[x < -0.5] = 0  # zero inputs are skipped by the kernel
    np.testing.assert_allclose(layer.forward(x), reference_dense(x, layer), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.dense_weight(), W)


@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("density", [0.0, 0.1, 1.0])
def test_sparse_conv_matches_twin(pad, density, rng):
    W = sparse_weights(rng, (4, 3, 3, 3), density)
    b = rng.standard_normal(4).astype(np.float32)
    layer = SparseConv2D(W, b, pad)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    np.testing.assert_allclose(layer.forward(x), reference_conv(x, layer), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.dense_weight(), W)


def test_compressed_lenet5_same_outputs_and_roundtrip(tmp_path, rng):
    m = lenet5(seed=0)
    hard_prune(m, {"conv1": 100, "conv2": 2000, "fc1": 3600, "fc2": 350})
    s = compress(m)
    x = rng.random((9, 1, 28, 28)).astype(np.float32)
    m.eval()
    np.testing.assert_allclose(s.forward(x), m.forward(x), rtol=1e-4, atol=1e-4)
    save_compressed(tmp_path / "s.npz", s)
    s2 = load_compressed(tmp_path / "s.npz")
    np.testing.assert_array_equal(s2.forward(x), s.forward(x))
    assert s.flops() == 2 * (100 * 24 * 24 + 2000 * 8 * 8 + 3600 + 350)
    assert dense_flops(m) == 2 * (500 * 576 + 25000 * 64 + 400000 + 5000)
    with pytest.raises(ValueError, match="not a minadmm-sparse-1 file"):
        np.savez(tmp_path / "other.npz", a=np.zeros(1))
        load_compressed(tmp_path / "other.npz")


@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("density", [0.3, 1.0])  # taps per channel: groups of four and a remainder
def test_fused_conv_pool_matches_twins(pad, density, rng):
    from minadmm.nn import reference as R
    W = sparse_weights(rng, (4, 3, 3, 3), density)
    layer = SparseConv2D(W, rng.standard_normal(4).astype(np.float32), pad)
    x = rng.standard_normal((3, 3, 9, 8)).astype(np.float32)  # odd conv output edges are dropped
    expected, _ = R.maxpool2x2_forward(reference_conv(x, layer))
    np.testing.assert_allclose(layer.forward_pool(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pad", [0, 2])
@pytest.mark.parametrize("pool", [False, True])
def test_sample_major_conv_matches_twins(pad, pool, rng):
    from minadmm.nn import reference as R
    W = sparse_weights(rng, (5, 3, 5, 5), 0.2)
    layer = SparseConv2D(W, rng.standard_normal(5).astype(np.float32), pad)
    x = rng.standard_normal((1, 3, 11, 10)).astype(np.float32)
    expected = reference_conv(x, layer)
    if pool:
        expected, _ = R.maxpool2x2_forward(expected)
    np.testing.assert_allclose(layer.forward_s(x[0], pool=pool), expected[0], rtol=1e-5, atol=1e-5)


def test_sample_major_dense_matches_twin(rng):
    W = sparse_weights(rng, (30, 17), 0.1)
    layer = SparseDense(W, rng.standard_normal(17).astype(np.float32))
    x = rng.standard_normal(30).astype(np.float32)
    x[x < -0.5] = 0
    np.testing.assert_allclose(layer.forward_s(x), reference_dense(x[None], layer)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("conv_relu", [False, True])  # True: ReLU between conv and pool, pooling not fused
@pytest.mark.parametrize("n", [0, 1, 3, 8, 20])
def test_small_and_large_batches_agree(n, conv_relu, rng):
    """Batches below SMALL_BATCH take the sample-major path; both paths give the dense model's logits."""
    from minadmm.sparse import SMALL_BATCH
    m = lenet5(seed=1, conv_relu=conv_relu)
    hard_prune(m, {"conv1": 100, "conv2": 2000, "fc1": 3600, "fc2": 350})
    s = compress(m)
    x = rng.random((n, 1, 28, 28)).astype(np.float32)
    m.eval()
    out = s.forward(x)
    assert out.shape == (n, 10)
    np.testing.assert_allclose(out, m.forward(x) if n else np.zeros((0, 10)), rtol=1e-4, atol=1e-4)
    assert (n < SMALL_BATCH) == (n in (0, 1, 3))
