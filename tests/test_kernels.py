"""Every fast kernel against its slow NumPy twin (minadmm.reference) on random shapes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minadmm.nn import kernels
from minadmm.nn import reference as R

shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(5, 11), st.integers(5, 11),
                   st.integers(1, 5), st.integers(1, 5), st.integers(0, 2))


@settings(max_examples=30, deadline=None)
@given(shapes, st.sampled_from([np.float32, np.float64]))
def test_im2col_col2im_match_twin(shape, dtype):
    N, C, H, W, kh, kw, pad = shape
    x = np.random.default_rng(0).standard_normal((N, H, W, C)).astype(dtype)
    cols = kernels.im2col(x, kh, kw, pad)
    np.testing.assert_array_equal(cols, R.im2col(x, kh, kw, pad))
    np.testing.assert_allclose(kernels.col2im(cols, x.shape, kh, kw, pad), R.col2im(cols, x.shape, kh, kw, pad),
                               rtol=1e-6, atol=1e-6)


def test_col2im_is_adjoint_of_im2col(rng):
    x = rng.standard_normal((2, 7, 6, 3))
    c = rng.standard_normal(kernels.im2col(x, 3, 3, 1).shape)
    # <im2col(x), c> == <x, col2im(c)>
    assert np.sum(kernels.im2col(x, 3, 3, 1) * c) == pytest.approx(np.sum(x * kernels.col2im(c, x.shape, 3, 3, 1)))


def test_im2col_strided_input_and_workspace(rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)  # NCHW; its NHWC view is strided
    out = np.empty((2 * 16, 25 * 3), np.float32)
    cols = kernels.im2col(x.transpose(0, 2, 3, 1), 5, 5, 0, out=out)
    assert cols is out
    np.testing.assert_array_equal(cols, R.im2col(x.transpose(0, 2, 3, 1), 5, 5, 0))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(2, 9), st.integers(2, 9), st.booleans())
def test_maxpool_matches_twin(N, C, H, W, strided):
    rng = np.random.default_rng(N * 100 + C * 10 + H)
    x = rng.integers(-3, 3, size=(N, C, H, W)).astype(np.float32)  # small integers: many ties
    if strided:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    out, arg = kernels.maxpool2x2_forward(x)
    rout, rarg = R.maxpool2x2_forward(x)
    np.testing.assert_array_equal(out, rout)
    np.testing.assert_array_equal(arg, rarg)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = kernels.maxpool2x2_backward(dout, arg, x.shape)  # no zeroing pass: every entry must be written
    np.testing.assert_array_equal(dx, R.maxpool2x2_backward(dout, rarg, x.shape))
    assert dx.transpose(0, 2, 3, 1).flags.c_contiguous  # channels-last memory, as the convolution wants


@pytest.mark.parametrize("k,pad", [(5, 0), (5, 2), (3, 1), (7, 0), (7, 3), (1, 0), (6, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1ch_forward_matches_twin(k, pad, dtype, rng):
    """The direct one-channel convolution (any kw: padded with zero taps to a multiple of 5)."""
    x = rng.standard_normal((3, 1, 12, 11)).astype(dtype)
    W, b = rng.standard_normal((7, 1, k, k)).astype(dtype), rng.standard_normal(7).astype(dtype)
    y = kernels.conv1ch_forward(x, W, b, pad)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, R.conv2d_forward(x, W, b, pad), rtol=tol, atol=tol)
    assert y.transpose(0, 2, 3, 1).flags.c_contiguous  # channels-last memory, as Conv2D returns
    with pytest.raises(ValueError, match="C=2"):
        kernels.conv1ch_forward(np.zeros((1, 2, 8, 8), dtype), W, b, pad)


@pytest.mark.parametrize("k,pad", [(5, 0), (5, 2), (3, 1), (1, 0)])
def test_im2col1_t_is_transposed_im2col(k, pad, rng):
    x = rng.standard_normal((3, 1, 10, 9)).astype(np.float32)
    expected = R.im2col(x.transpose(0, 2, 3, 1), k, k, pad).T
    out = np.full(expected.shape, np.nan, np.float32)  # a workspace: every entry must be written
    colsT = kernels.im2col1_t(x, k, k, pad, out=out)
    assert colsT is out
    np.testing.assert_array_equal(colsT, expected)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_adam_matches_twin(masked, dtype, wd, rng):
    shape = (7, 5)
    w1 = rng.standard_normal(shape).astype(dtype)
    mask = (rng.random(shape) > 0.5).astype(dtype) if masked else None
    w2, m1, v1 = w1.copy(), np.zeros_like(w1), np.zeros_like(w1)
    m2, v2 = m1.copy(), v1.copy()
    for t in range(1, 6):
        g = rng.standard_normal(shape).astype(dtype)
        kernels.adam_update(w1, g, m1, v1, mask, 1e-2, 0.9, 0.999, 1e-8, t, weight_decay=wd)
        R.adam_update(w2, g, m2, v2, mask, 1e-2, 0.9, 0.999, 1e-8, t, weight_decay=wd)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(w1, w2, rtol=tol, atol=tol)
    np.testing.assert_allclose(m1, m2, rtol=tol, atol=tol)
    if masked:
        assert np.all(w1[mask == 0] == 0) and np.all(m1[mask == 0] == 0)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 4), st.integers(1, 3), st.integers(0, 3))
def test_shift_images_matches_twin(N, C, s):
    from minadmm.data.augment import draw_shifts, reference_shift_images, shift_images
    rng = np.random.default_rng(N * 7 + s)
    x = rng.standard_normal((N, C, 6, 5)).astype(np.float32)
    dy, dx = draw_shifts(N, s, rng)
    np.testing.assert_array_equal(shift_images(x, dy, dx), reference_shift_images(x, dy, dx))


def test_shift_images_moves_a_pixel(rng):
    from minadmm.data.augment import RandomShift, shift_images
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1
    out = shift_images(x, [1], [-2])  # out[i, j] = x[i + 1, j - 2]
    assert out[0, 0, 1, 4] == 1 and out.sum() == 1
    assert shift_images(x, [3], [0]).sum() == 0  # shifted off the image
    assert RandomShift(0)(x, rng) is x
    with pytest.raises(ValueError, match="shift=-1"):
        RandomShift(-1)


@pytest.mark.parametrize("C,k,pad", [(1, 5, 0), (20, 5, 0), (4, 5, 2), (16, 1, 0)])
def test_im2col_col2im_both_copy_paths(C, k, pad, rng):
    """kw*C >= 16 takes the slice-copy path, shorter runs the indexed one; both must match the twins."""
    x = rng.standard_normal((2, 9, 8, C)).astype(np.float32)
    cols = kernels.im2col(x, k, k, pad)
    np.testing.assert_array_equal(cols, R.im2col(x, k, k, pad))
    np.testing.assert_allclose(kernels.col2im(cols, x.shape, k, k, pad), R.col2im(cols, x.shape, k, k, pad),
                               rtol=1e-6, atol=1e-6)
