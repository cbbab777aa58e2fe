"""The joint sparsity + levels projection (admm/quantization.py): the same properties as the cardinality
projection (feasible, idempotent, optimal against brute force, ties, k = 0 and k = all), the levels by hand,
and the scale search never worse than its grid."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minadmm.admm import quantization as qz
from minadmm.admm.quantization import Quantizer, best_scale, decode, distance2, nearest_level, project_quantized, unit_levels

finite = st.floats(-10, 10, allow_nan=False, width=64)
kinds = st.sampled_from(qz.LEVELS)


def test_unit_levels_by_hand():
    np.testing.assert_array_equal(unit_levels(1, "uniform"), [1.0])
    np.testing.assert_array_equal(unit_levels(3, "uniform"), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(unit_levels(3, "pow2"), [0.125, 0.25, 0.5, 1.0])
    np.testing.assert_array_equal(unit_levels(2, "pow2"), [0.5, 1.0])


@pytest.mark.parametrize("bits,kind", [(0, "uniform"), (9, "uniform"), (2.0, "pow2"), (True, "pow2"), (2, "ternary")])
def test_bad_levels(bits, kind):
    with pytest.raises(ValueError, match="bits=|levels"):
        unit_levels(bits, kind)


def test_nearest_level_midpoints_go_down():
    m = np.array([1.0, 2.0, 4.0])
    np.testing.assert_array_equal(nearest_level(np.array([0.0, 1.4, 1.5, 1.6, 3.0, 3.1, 9.0]), m), [0, 0, 0, 1, 1, 2, 2])


def test_projection_by_hand():
    """alpha 0.5, levels +-0.5, +-1 (2 bits uniform), l = 3: the three largest |x| are -1.3, 0.9, 0.7;
    0.2 would be dropped anyway (<= alpha/2); -1.3 -> -1 (the largest level), 0.9 -> 1, 0.7 -> 0.5."""
    x = np.array([0.2, -1.3, 0.9, 0.7, 0.1])
    z, codes = project_quantized(x, 3, 0.5, unit_levels(2, "uniform"))
    np.testing.assert_array_equal(z, [0.0, -1.0, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(codes, [0, -2, 2, 1, 0])
    np.testing.assert_array_equal(decode(codes, 0.5, unit_levels(2, "uniform")), z)
    # an entry exactly at half the smallest level is as close to zero as to it: dropped
    z, _ = project_quantized(np.array([0.25, 0.26]), 2, 0.5, unit_levels(2, "uniform"))
    np.testing.assert_array_equal(z, [0.0, 0.5])


def brute_force(x, l, alpha, m):
    """min ||x - z||^2 over every z with card(z) <= l and non-zeros in alpha * {+-m}."""
    values = np.concatenate([[0.0], alpha * m, -alpha * m])
    best = np.inf
    for z in itertools.product(values, repeat=x.size):
        z = np.array(z)
        if np.count_nonzero(z) <= l:
            best = min(best, float(np.sum((x - z) ** 2)))
    return best


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 4), elements=finite), st.integers(0, 5),
       st.floats(0.05, 4.0), st.integers(1, 3), kinds)
def test_optimal_against_brute_force(x, l, alpha, bits, kind):
    m = unit_levels(bits, kind)
    z, _ = project_quantized(x, l, alpha, m)
    assert np.sum((x - z) ** 2) == pytest.approx(brute_force(x, l, alpha, m), abs=1e-9)


@settings(deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 8), st.integers(1, 8)), elements=st.floats(-5, 5, width=32)),
       st.integers(0, 80), st.integers(1, 4), kinds)
def test_feasible_idempotent_untouched(x, l, bits, kind):
    x0 = x.copy()
    q = Quantizer(bits, kind)
    z, codes, alpha = q.project_codes(x, l)
    np.testing.assert_array_equal(x, x0)
    assert z.shape == x.shape and z.dtype == x.dtype
    assert np.count_nonzero(z) <= l
    nz = z[z != 0]
    assert np.unique(nz).size <= 2 ** bits
    levels = alpha * q.m
    assert np.all(np.min(np.abs(np.abs(nz)[:, None] - levels[None, :]), axis=1) <= 1e-6 * max(1.0, levels.max()))
    np.testing.assert_array_equal(np.sign(nz), np.sign(x[z != 0]))  # a kept entry keeps its sign
    z2, codes2 = project_quantized(z, l, alpha, q.m)
    np.testing.assert_array_equal(z2, z)                         # idempotent at its scale
    np.testing.assert_array_equal(codes2, codes)


def test_eight_bits_top_level_keeps_its_sign():
    """8 bits: 128 positive levels, so the top code is +-128 (past int8): the signs and values survive."""
    m = unit_levels(8, "uniform")
    x = np.array([128.0, -128.0, 127.4, -0.6, 0.4])
    z, codes = project_quantized(x, 5, 1.0, m)
    assert codes.tolist() == [128, -128, 127, -1, 0]
    assert z.tolist() == [128.0, -128.0, 127.0, -1.0, 0.0]


def test_k_zero_and_all():
    x = np.array([[0.3, -2.0], [1.1, 0.9]])
    m = unit_levels(2, "uniform")
    np.testing.assert_array_equal(project_quantized(x, 0, 1.0, m)[0], np.zeros_like(x))
    z, _ = project_quantized(x, 4, 1.0, m)
    np.testing.assert_array_equal(z, [[0.0, -2.0], [1.0, 1.0]])  # every entry its nearest level (0.3 -> 0)
    np.testing.assert_array_equal(project_quantized(x, 100, 1.0, m)[0], z)


def test_ties_keep_smallest_index():
    """Equal magnitudes beyond the l-th: the smallest flat indices are kept (the cardinality tie rule)."""
    x = np.array([1.0, -1.0, 1.0, 1.0])
    z, _ = project_quantized(x, 2, 1.0, unit_levels(1, "uniform"))
    np.testing.assert_array_equal(z, [1.0, -1.0, 0.0, 0.0])


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(2, 200), elements=finite), st.integers(1, 200), st.integers(1, 4), kinds)
def test_scale_never_worse_than_its_grid(x, l, bits, kind):
    m = unit_levels(bits, kind)
    alpha = best_scale(x, l, m)
    top = np.abs(x)[np.argsort(-np.abs(x), kind="stable")[:l]]
    top = top[top > 0]
    if top.size == 0:
        return
    d = distance2(x, l, alpha, m)
    grid = qz.scale_grid(top, m)
    assert grid.size == qz.GRID and grid[-1] == pytest.approx(1.5 * top.max() / m[-1])
    assert grid[0] == pytest.approx(0.25 * np.median(top) / m[-1])
    assert all(d <= distance2(x, l, g, m) + 1e-9 for g in grid if g > 0)


@pytest.mark.parametrize("x", [[1.0, 5e-324, 5e-324], [5e-324, 5e-324], [5e-324, -1e-323, 1e-320]])
def test_scale_of_subnormal_magnitudes(x):
    """Magnitudes at the float limit (a median that underflows, or all subnormal): every grid scale is
    positive, and the search returns a positive scale no worse than its grid."""
    x = np.array(x)
    for bits in (1, 3, 8):
        m = unit_levels(bits, "uniform")
        grid = qz.scale_grid(np.abs(x), m)
        assert grid.size == qz.GRID and np.all(grid > 0)
        alpha = best_scale(x, x.size, m)
        assert alpha > 0 and all(distance2(x, x.size, alpha, m) <= distance2(x, x.size, g, m) for g in grid)


def test_scale_one_bit():
    """One bit, magnitudes close together: the best scale is their mean (2.1; d = 0.2). Spread out, dropping
    the smallest is better: for [1, 2, 3, 2.5], alpha 2.5 drops 1 (1 <= 2.5 / 2) at d = 1.5, while the
    mean 2.125 (which drops 1 too, 1 <= 1.0625) gives d = 1 + 0.125^2 + 0.875^2 + 0.375^2 = 1.921875."""
    m = unit_levels(1, "uniform")
    assert best_scale(np.array([2.0, -2.2, 1.8, -2.4]), 4, m) == pytest.approx(2.1)
    x = np.array([1.0, -2.0, 3.0, -2.5])
    assert best_scale(x, 4, m) == pytest.approx(2.5)
    assert distance2(x, 4, 2.5, m) == pytest.approx(1.5)
    assert distance2(x, 4, 2.125, m) == pytest.approx(1.921875)


def test_scale_lloyd_by_hand():
    """2 bits uniform (levels alpha, 2 alpha), x = [1, 2.2]: 1 -> alpha, 2.2 -> 2 alpha, and the scale that
    is best for that assignment is (1 * 1 + 2.2 * 2) / (1^2 + 2^2) = 1.08 (d = 0.008; alpha 1.1 gives 0.01)."""
    m = unit_levels(2, "uniform")
    assert best_scale(np.array([1.0, 2.2]), 2, m) == pytest.approx(1.08, rel=1e-12)
    assert distance2(np.array([1.0, 2.2]), 2, 1.08, m) == pytest.approx(0.008)
