import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minadmm.admm.projections import keep_count, project_cardinality, topk_mask

finite = st.floats(-100, 100, allow_nan=False, width=64)


def brute_force(x, k):
    """The closest point of {card <= k} by trying every support of size min(k, n)."""
    flat = x.ravel()
    best, best_d = None, np.inf
    for T in itertools.combinations(range(flat.size), min(k, flat.size)):
        z = np.zeros_like(flat)
        z[list(T)] = flat[list(T)]
        d = np.sum((flat - z) ** 2)
        if d < best_d - 1e-12:
            best, best_d = z, d
    return best.reshape(x.shape), best_d


@given(arrays(np.float64, st.integers(1, 7), elements=finite), st.integers(0, 9))
def test_optimal_against_brute_force(x, k):
    z = project_cardinality(x, k)
    _, d_best = brute_force(x, k)
    assert np.sum((x - z) ** 2) == pytest.approx(d_best, abs=1e-9)


@given(arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4)), elements=st.floats(-5, 5, width=32)),
       st.integers(0, 200))
def test_feasible_keeps_largest_idempotent_untouched(x, k):
    x0 = x.copy()
    z = project_cardinality(x, k)
    assert z.shape == x.shape and z.dtype == x.dtype
    np.testing.assert_array_equal(x, x0)                      # input untouched
    mask = topk_mask(x, k)
    assert mask.sum() == min(k, x.size)                       # exactly min(k, n) kept
    np.testing.assert_array_equal(z[mask], x[mask])           # kept values unchanged
    if mask.any() and (~mask).any():
        assert np.abs(x[mask]).min() >= np.abs(x[~mask]).max()  # the kept ones are the largest
    np.testing.assert_array_equal(project_cardinality(z, k), z)  # idempotent


def test_k_zero_and_k_n():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    np.testing.assert_array_equal(project_cardinality(x, 0), np.zeros_like(x))
    z = project_cardinality(x, 6)
    np.testing.assert_array_equal(z, x)
    assert z is not x
    np.testing.assert_array_equal(project_cardinality(x, 100), x)


@pytest.mark.parametrize("k", [-1, 2.0, 2.5, "3", True, None])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k="):
        project_cardinality(np.ones(5), k)


def test_numpy_integer_k_and_nan():
    assert np.count_nonzero(project_cardinality(np.arange(5.0), np.int64(2))) == 2
    with pytest.raises(ValueError, match="NaN"):
        project_cardinality(np.array([1.0, np.nan]), 1)


def test_large_layer_exact_count():
    x = np.random.default_rng(0).standard_normal((800, 500)).astype(np.float32)
    x[:10] = 0.5  # plenty of ties
    assert np.count_nonzero(project_cardinality(x, 3600)) == 3600


def test_keep_count_bad_ratio():
    assert keep_count(0.0, 10) == 0 and keep_count(1.0, 10) == 10
    for bad in (-0.1, 1.5, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="ratio"):
            keep_count(bad, 10)
