"""The global-budget projection: S = {Z : sum_i max(card(Z_i), floor) <= L} over all layers at once."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minadmm.admm.projections import budget_counts, project_budget
from minadmm.errors import InputError


def layers_from(values, sizes):
    out, at = {}, 0
    for n, size in enumerate(sizes):
        out[f"l{n}"] = np.array(values[at:at + size], dtype=np.float64)
        at += size
    return out


def feasible(Z, L, floor):
    return sum(max(np.count_nonzero(z), floor) for z in Z.values()) <= L


def brute_force(xs, L, floor):
    """The smallest squared distance from xs to S, over every support of every layer."""
    flat = [(i, j) for i, x in xs.items() for j in range(x.size)]
    best = np.inf
    for r in range(len(flat) + 1):
        for support in itertools.combinations(flat, r):
            per = {i: sum(1 for s in support if s[0] == i) for i in xs}
            if sum(max(c, floor) for c in per.values()) > L:
                continue
            kept = sum(xs[i][j] ** 2 for i, j in support)
            best = min(best, sum(float(np.sum(x ** 2)) for x in xs.values()) - kept)
    return best


small = st.lists(st.integers(-4, 4).map(float), min_size=5, max_size=7)


@settings(max_examples=60, deadline=None)
@given(values=small, L=st.integers(0, 7), floor=st.integers(0, 1), data=st.data())
def test_budget_projection_is_feasible_idempotent_and_optimal(values, L, floor, data):
    cut = data.draw(st.integers(1, len(values) - 1))
    xs = layers_from(values, [cut, len(values) - cut])
    if floor * 2 > L:
        with pytest.raises(InputError, match="floor"):
            project_budget(xs, L, floor)
        return
    Z, counts = project_budget(xs, L, floor)
    assert feasible(Z, L, floor)
    assert all(np.count_nonzero(Z[i]) <= counts[i] for i in xs)
    again, _ = project_budget(Z, L, floor)
    assert all(np.array_equal(again[i], Z[i]) for i in xs)  # idempotent
    dist = sum(float(np.sum((xs[i] - Z[i]) ** 2)) for i in xs)
    assert dist == pytest.approx(brute_force(xs, L, floor), abs=1e-9)


def test_budget_goes_to_the_largest_magnitudes_over_all_layers():
    xs = {"a": np.array([5.0, 0.1, 0.2]), "b": np.array([3.0, 4.0, 0.3, 1.0])}
    Z, counts = project_budget(xs, 3)
    assert counts == {"a": 1, "b": 2}
    assert Z["a"].tolist() == [5.0, 0, 0] and Z["b"].tolist() == [3.0, 4.0, 0, 0]


def test_floor_keeps_every_layer_alive():
    xs = {"a": np.array([0.01, 0.02]), "b": np.array([3.0, 4.0, 5.0])}
    assert budget_counts(xs, 3) == {"a": 0, "b": 3}
    Z, counts = project_budget(xs, 3, floor=1)
    assert counts == {"a": 1, "b": 2}
    assert Z["a"].tolist() == [0, 0.02] and Z["b"].tolist() == [0, 4.0, 5.0]


def test_after_its_floor_a_layer_competes_with_its_next_largest():
    # a's floor keeps its 10; what a offers next is a 1, below b's 2s: the two extra slots go to b
    xs = {"a": np.array([10.0, 1.0, 1.0]), "b": np.array([2.0, 2.0, 2.0])}
    assert budget_counts(xs, 4, floor=1) == {"a": 1, "b": 3}


def test_normalised_ranks_by_magnitude_over_the_layers_largest():
    xs = {"a": np.array([0.01, 0.03, 0.029]), "b": np.array([3.0, 0.1, 0.1, 2.8])}
    _, plain = project_budget(xs, 3)
    Z, norm = project_budget(xs, 3, normalise=True)
    assert plain == {"a": 0, "b": 3}
    # |x| / max|x_i|: a -> 0.33, 1, 0.97; b -> 1, 0.03, 0.03, 0.93: the largest three are a[1], b[0], a[2]
    assert norm == {"a": 2, "b": 1}
    assert Z["a"].tolist() == [0, 0.03, 0.029] and Z["b"].tolist() == [3.0, 0, 0, 0]


def test_ties_across_layers_go_to_the_earlier_layer():
    xs = {"a": np.array([1.0, 2.0]), "b": np.array([2.0, 1.0])}
    assert budget_counts(xs, 1) == {"a": 1, "b": 0}
    assert budget_counts(xs, 3) == {"a": 2, "b": 1}


def test_zero_and_full_budgets():
    xs = {"a": np.array([1.0, -2.0]), "b": np.array([3.0])}
    Z, counts = project_budget(xs, 0)
    assert counts == {"a": 0, "b": 0} and all(not z.any() for z in Z.values())
    Z, counts = project_budget(xs, 10)
    assert counts == {"a": 2, "b": 1} and all(np.array_equal(Z[i], xs[i]) for i in xs)


@pytest.mark.parametrize("L,floor,match", [(-1, 0, "k=-1"), (2.5, 0, "2.5"), (3, 2, "floor of 2")])
def test_bad_budgets_are_refused(L, floor, match):
    with pytest.raises(InputError, match=match):
        project_budget({"a": np.ones(3), "b": np.ones(3)}, L, floor)


def test_admm_loop_projects_all_layers_at_once_with_a_budget():
    """Two iterations of the loop on f(W) = 1/2 ||W - A||^2 (exact W-step) from a random U^0: Z^{k+1} = Proj_S(W^{k+1} + U^k)
    over both layers together, U^{k+1} = U^k + W^{k+1} - Z^{k+1}, the counts reported per layer."""
    from minadmm.admm import ADMMState, Budget, admm
    rng = np.random.default_rng(0)
    A = {"a": rng.normal(size=(4, 5)), "b": 0.3 * rng.normal(size=30)}
    W = {i: a.copy() for i, a in A.items()}
    budget = Budget(12, floor=2)
    state = ADMMState.start(W, {"a": 20, "b": 30}, 0.5, budget=budget)
    assert sum(np.count_nonzero(z) for z in state.Z.values()) == 12
    state.U = {i: rng.normal(size=a.shape) for i, a in A.items()}  # a U^0 that is not 0 on the support
    seen = []

    def w_step(Z, U, rho, k):  # argmin 1/2||W - A||^2 + rho/2 ||W - Z + U||^2, in place
        for i in W:
            W[i][...] = (A[i] + rho[i] * (Z[i] - U[i])) / (1 + rho[i])
        seen.append(({i: w.copy() for i, w in W.items()}, {i: u.copy() for i, u in U.items()}))
        return {}

    rows = []
    admm(state, w_step, 2, lambda i, k, rho, r, s: rho, 1e-4, 1e-2, on_iteration=lambda st, rr, info: rows.extend(rr))
    W2, U1 = seen[1]
    Z2, counts = budget.project({i: W2[i] + U1[i] for i in W2})
    for i in W:
        np.testing.assert_array_equal(state.Z[i], Z2[i])
        np.testing.assert_array_equal(state.U[i], U1[i] + W2[i] - Z2[i])
    assert state.l == counts and sum(counts.values()) == 12 and min(counts.values()) >= 2
    assert [r["keep"] for r in rows[-2:]] == [counts["a"], counts["b"]]


def test_hard_prune_with_a_budget_keeps_the_largest_weights_over_all_layers():
    from minadmm.admm import Budget
    from minadmm.nn.model import lenet5
    from minadmm.pruning import hard_prune
    model = lenet5(seed=0)
    keep = {"conv1": 500, "conv2": 25000, "fc1": 400000, "fc2": 5000}
    W = {n: model[n].params["W"].copy() for n in keep}
    masks = hard_prune(model, keep, Budget(6050, floor=20))
    expected, _ = project_budget(W, 6050, floor=20)
    for n in keep:
        np.testing.assert_array_equal(model[n].params["W"], expected[n])
        assert masks[f"{n}.W"].sum() >= 20
    assert sum(m.sum() for m in masks.values()) == 6050
