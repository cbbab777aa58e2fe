"""Structured projections (admm/structured.py): feasible, idempotent, optimal against brute force on tiny
inputs, ties, k = 0 and k = all, for filters, channels, columns, units, inputs and N:M."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minadmm.admm.structured import Structure, group_ids, nm_mask, project_groups, project_nm

small = st.floats(-5, 5, allow_nan=False, width=64)
conv_shapes = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(1, 2))
dense_shapes = st.tuples(st.integers(1, 5), st.integers(1, 3))


def shape_and_kind():
    conv = conv_shapes.flatmap(lambda s: st.tuples(st.just(s), st.sampled_from(["filters", "channels", "columns"])))
    dense = dense_shapes.flatmap(lambda s: st.tuples(st.just(s), st.sampled_from(["units", "inputs"])))
    return st.one_of(conv, dense)


def groups_of(shape, kind):
    ids, n = group_ids(shape, kind)
    return ids, n


def test_group_ids_by_hand():
    ids, n = group_ids((2, 3, 1, 1), "filters")
    assert n == 2 and ids[:, :, 0, 0].tolist() == [[0, 0, 0], [1, 1, 1]]
    ids, n = group_ids((2, 3, 1, 1), "channels")
    assert n == 3 and ids[:, :, 0, 0].tolist() == [[0, 1, 2], [0, 1, 2]]
    ids, n = group_ids((2, 1, 2, 2), "columns")
    assert n == 4 and ids[0, 0].tolist() == [[0, 1], [2, 3]] and ids[1, 0].tolist() == [[0, 1], [2, 3]]
    ids, n = group_ids((3, 2), "units")
    assert n == 2 and ids.tolist() == [[0, 1], [0, 1], [0, 1]]
    ids, n = group_ids((3, 2), "inputs")
    assert n == 3 and ids.tolist() == [[0, 0], [1, 1], [2, 2]]


def test_projection_by_hand():
    """Dense W (in 3, out 2); unit norms^2: 1 + 9 + 0 = 10 and 4 + 0 + 4 = 8 -> keep unit 0 for k = 1;
    input norms^2: 5, 9, 4 -> keep inputs 1 and 0 for k = 2."""
    x = np.array([[1.0, 2.0], [3.0, 0.0], [0.0, -2.0]])
    np.testing.assert_array_equal(project_groups(x, "units", 1), [[1.0, 0.0], [3.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(project_groups(x, "inputs", 2), [[1.0, 2.0], [3.0, 0.0], [0.0, 0.0]])
    # conv W (2 filters, 1 channel, 1, 2): filter norms^2 1 + 1 = 2 and 0 + 4 = 4; column norms^2 1 and 5
    w = np.array([[[[1.0, 1.0]]], [[[0.0, 2.0]]]])
    np.testing.assert_array_equal(project_groups(w, "filters", 1), [[[[0.0, 0.0]]], [[[0.0, 2.0]]]])
    np.testing.assert_array_equal(project_groups(w, "columns", 1), [[[[0.0, 1.0]]], [[[0.0, 2.0]]]])


def brute_groups(x, kind, k):
    ids, n = groups_of(x.shape, kind)
    best = np.inf
    for T in itertools.combinations(range(n), min(k, n)):
        z = np.where(np.isin(ids, T), x, 0.0)
        best = min(best, float(np.sum((x - z) ** 2)))
    return best


@settings(deadline=None)
@given(shape_and_kind().flatmap(lambda sk: st.tuples(st.just(sk[1]), arrays(np.float64, sk[0], elements=small))),
       st.integers(0, 5))
def test_groups_optimal_feasible_idempotent(kind_x, k):
    kind, x = kind_x
    x0 = x.copy()
    z = project_groups(x, kind, k)
    np.testing.assert_array_equal(x, x0)
    assert np.sum((x - z) ** 2) == pytest.approx(brute_groups(x, kind, k), abs=1e-9)
    ids, n = groups_of(x.shape, kind)
    kept = np.unique(ids[z != 0])
    assert kept.size <= k                                                # feasible
    mask = Structure(kind, k).mask(x)
    assert np.unique(ids[mask]).size == min(k, n)                        # exactly min(k, n) groups kept
    np.testing.assert_array_equal(z[mask], x[mask])                      # kept groups unchanged
    np.testing.assert_array_equal(project_groups(z, kind, k), z)         # idempotent


def test_groups_ties_k0_kall():
    x = np.ones((3, 2))
    np.testing.assert_array_equal(project_groups(x, "inputs", 2), [[1, 1], [1, 1], [0, 0]])  # ties: smallest index
    np.testing.assert_array_equal(project_groups(x, "units", 0), np.zeros((3, 2)))
    np.testing.assert_array_equal(project_groups(x, "units", 2), x)
    np.testing.assert_array_equal(project_groups(x, "units", 9), x)


def brute_nm(x, n, m):
    """Over every support: each block of m consecutive inputs of each output keeps at most n."""
    rows = x.T  # dense: (out, in)
    best = np.inf
    for bits in itertools.product([0, 1], repeat=x.size):
        keep = np.array(bits, dtype=bool).reshape(rows.shape)
        if all(keep[:, b:b + m].sum(axis=1).max() <= n for b in range(0, rows.shape[1], m)):
            best = min(best, float(np.sum(rows[~keep] ** 2)))
    return best


@settings(max_examples=40, deadline=None)
@given(st.tuples(st.integers(1, 5), st.integers(1, 2)).flatmap(lambda s: arrays(np.float64, s, elements=small)),
       st.integers(1, 3).flatmap(lambda m: st.tuples(st.integers(1, m), st.just(m))))
def test_nm_optimal_feasible_idempotent(x, nm):
    n, m = nm
    z = project_nm(x, n, m)
    assert np.sum((x - z) ** 2) == pytest.approx(brute_nm(x, n, m), abs=1e-9)
    rows = (z != 0).T
    for b in range(0, rows.shape[1], m):
        assert rows[:, b:b + m].sum(axis=1).max() <= n
    np.testing.assert_array_equal(project_nm(z, n, m), z)


def test_nm_conv_by_hand_and_ties():
    """A conv filter's taps in C order (1 channel, 1 x 5): blocks [0..3] and [4]; 2:4 keeps the two largest of
    the first block and the single entry of the last; equal magnitudes: the first ones."""
    w = np.array([[[[0.1, -3.0, 2.0, 0.5, 0.7]]]])
    np.testing.assert_array_equal(project_nm(w, 2, 4), [[[[0.0, -3.0, 2.0, 0.0, 0.7]]]])
    np.testing.assert_array_equal(nm_mask(np.ones((4, 1)), 2, 4)[:, 0], [True, True, False, False])
    np.testing.assert_array_equal(project_nm(np.ones((4, 1)), 4, 4), np.ones((4, 1)))
    assert Structure.parse("2:4").max_nonzeros((20, 1, 5, 5)) == 20 * (6 * 2 + 1)
    assert Structure.parse("2:4").max_nonzeros((800, 500)) == 500 * 400


def test_parse_and_errors():
    assert Structure.parse("filters:8") == Structure("filters", k=8)
    assert str(Structure.parse("2:4")) == "2:4"
    for bad, msg in [("rows:3", "unknown structure 'rows'"), ("filters:x", "with integers"), ("3:2", "1 <= N <= M"),
                     ("8", "expected KIND:K"), ("filters:-1", "filters count=-1")]:
        with pytest.raises(ValueError, match=msg):
            Structure.parse(bad)
    with pytest.raises(ValueError, match="conv1=filters:30: conv1 has only 20 filters"):
        Structure.parse("filters:30").check((20, 1, 5, 5), "conv1")
    with pytest.raises(ValueError, match="applies to a dense layer"):
        Structure.parse("units:3").check((20, 1, 5, 5), "conv1")
