"""Every ADMM equation against numbers worked out by hand, chosen so that any single change to an equation
(a sign, a missing or extra factor, squared against unsquared, a swapped or wrong argument) gives another
number; and the loop against a convex problem whose solution is known.

`python tests/mutation_check.py` makes each such change in turn and checks that this suite fails."""
import numpy as np
import pytest

from minadmm.admm import (ADMMState, RhoSchedule, admm, boyd_eps, converged, dual_residual, primal_residual,
                          rescale_dual, u_step, w_step_penalty, w_step_penalty_grad, z_step)
from minadmm.admm.rho import ResidualBalancing
from minadmm.nn import kernels

# W, Z, U with W - Z + U = [0.75, -2]; rho = 2
W2, Z2, U2, RHO = np.array([1.0, 2.0]), np.array([0.5, 3.0]), np.array([0.25, -1.0]), 2.0


def test_w_step_penalty_and_its_gradient_by_hand():
    # rho/2 ||W - Z + U||^2 = 1 * (0.75^2 + 2^2)
    assert w_step_penalty(W2, Z2, U2, RHO) == pytest.approx(4.5625)
    # rho (W - Z + U)
    np.testing.assert_allclose(w_step_penalty_grad(W2, Z2, U2, RHO), [1.5, -4.0])


def test_penalty_grad_is_the_gradient_of_the_penalty(rng):
    W, Z, U = rng.standard_normal((3, 4, 5))
    rho, h = 0.3, 1e-6
    num = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[i] += h
        Wm[i] -= h
        num[i] = (w_step_penalty(Wp, Z, U, rho) - w_step_penalty(Wm, Z, U, rho)) / (2 * h)
    np.testing.assert_allclose(w_step_penalty_grad(W, Z, U, rho), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_penalty_kernel_matches_twin(dtype, rng):
    """kernels.add_penalty_grad (what the W-step runs) adds exactly w_step_penalty_grad to the gradient."""
    g, W, Z, U = (rng.standard_normal((4, 30, 7)).astype(dtype))
    expected = g + w_step_penalty_grad(W, Z, U, 0.37)
    kernels.add_penalty_grad(g, W, Z, U, 0.37)
    np.testing.assert_allclose(g, expected, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_z_step_projects_w_plus_u():
    W, U = np.array([3.0, -1.0, 0.5]), np.array([0.0, -4.0, 0.0])  # W + U = [3, -5, .5]; W - U = [3, 3, .5]
    np.testing.assert_array_equal(z_step(W, U, 1), [0.0, -5.0, 0.0])
    np.testing.assert_array_equal(z_step(W, U, 2), [3.0, -5.0, 0.0])


def test_u_step_by_hand():
    U, W, Z = np.array([1.0, -2.0]), np.array([0.5, 4.0]), np.array([0.0, 3.0])
    np.testing.assert_array_equal(u_step(U, W, Z), [1.5, -1.0])  # U + W - Z


def test_residuals_by_hand():
    W, Z = np.array([1.0, 2.0, 0.0]), np.array([0.0, 2.5, 0.0])  # W - Z = [1, -.5, 0]
    assert primal_residual(W, Z) == pytest.approx(np.sqrt(1.25))
    Z_prev = np.array([0.0, 1.0, 2.0])                               # Z - Z_prev = [0, 1.5, -2]
    assert dual_residual(Z, Z_prev, 0.5) == pytest.approx(0.5 * 2.5)


def test_boyd_tolerances_by_hand():
    W, Z, U = np.array([3.0, 4.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 6.0, 8.0])
    # ||W|| = 5 > ||Z|| = 1; ||U|| = 10; n = 4
    e_pri, e_dual = boyd_eps(W, Z, U, 0.5, eps_abs=0.1, eps_rel=0.01)
    assert e_pri == pytest.approx(2 * 0.1 + 0.01 * 5)
    assert e_dual == pytest.approx(2 * 0.1 + 0.01 * 0.5 * 10)
    e_pri, _ = boyd_eps(Z, W, U, 0.5, eps_abs=0.1, eps_rel=0.01)  # the max of the two norms, either way round
    assert e_pri == pytest.approx(2 * 0.1 + 0.01 * 5)


def test_stopping_rule():
    assert converged(1.0, 2.0, 1.0, 2.0)
    assert not converged(1.1, 2.0, 1.0, 2.0)
    assert not converged(1.0, 2.1, 1.0, 2.0)


def test_rescale_dual_keeps_lambda():
    U = np.array([2.0, -4.0])
    np.testing.assert_array_equal(rescale_dual(U, 1.0, 4.0), [0.5, -1.0])  # rho U = 2 U before and after
    np.testing.assert_array_equal(rescale_dual(U, 3.0, 3.0), U)


def test_rho_schedule():
    s = RhoSchedule(1e-3, 2.0, 5e-3)
    assert [s(k) for k in range(4)] == pytest.approx([1e-3, 2e-3, 4e-3, 5e-3])
    assert RhoSchedule(1e-4)(10) == 1e-4
    for bad in ({"rho0": 0}, {"growth": 0.5}, {"rho0": 1.0, "rho_max": 0.5}):
        with pytest.raises(ValueError):
            RhoSchedule(**bad)


def test_residual_balancing_rule():
    b = ResidualBalancing(rho0=1.0, mu=10.0, tau=2.0, rho_min=0.1, rho_max=8.0)
    assert b.next(3, 1.0, r=11.0, s=1.0) == 2.0    # r > mu s: rho * tau
    assert b.next(3, 1.0, r=1.0, s=11.0) == 0.5    # s > mu r: rho / tau
    assert b.next(3, 1.0, r=10.0, s=1.0) == 1.0    # neither: unchanged
    assert b.next(3, 1.0, r=1.0, s=10.0) == 1.0
    assert b.next(3, 6.0, r=11.0, s=1.0) == 8.0    # clipped to rho_max
    assert b.next(3, 0.15, r=1.0, s=11.0) == 0.1   # clipped to rho_min
    for bad in ({"mu": 1.0}, {"tau": 0.5}, {"rho0": 10.0}, {"rho0": 0.0}):
        with pytest.raises(ValueError):
            ResidualBalancing(**{"rho0": 1.0, "rho_min": 0.1, "rho_max": 8.0, **bad})


def box_problem(rng):
    """minimise 1/2 ||A w - b||^2 subject to |w_j| <= 0.5, A orthogonal: a convex problem whose solution is
    clip(A^T b) (||A w - b|| = ||w - A^T b||), with an exact W-step (A^T A = I)."""
    n = 16
    A, _ = np.linalg.qr(rng.standard_normal((n, n)))
    b = 2 * rng.standard_normal(n)
    box = lambda x, bound: np.clip(x, -bound, bound)  # noqa: E731  (the projection onto S)
    W = np.zeros(n)

    def w_step(Z, U, rho, k):  # argmin 1/2 ||A w - b||^2 + rho/2 ||w - Z + U||^2
        W[...] = (A.T @ b + rho["w"] * (Z["w"] - U["w"])) / (1 + rho["w"])
        return {}

    def solve(schedule):
        W[...] = 0
        state = ADMMState.start({"w": W}, {"w": 0.5}, schedule.rho0, project=box)
        admm(state, w_step, 3000, lambda i, k, rho, r, s: schedule.next(k, rho, r, s), eps_abs=1e-8, eps_rel=1e-6,
             stop_on_convergence=True, project=box)
        return state
    return solve, box(A.T @ b, 0.5)


def test_residual_balancing_converges_where_a_rho_100x_off_crawls(rng):
    """Measured on the convex box problem: rho = 1 is about right; a constant rho 100x too small or too large
    takes far more iterations to meet Boyd's criterion than residual balancing started from either."""
    solve, w_star = box_problem(rng)
    iters = {}
    for rho0 in (0.01, 1.0, 100.0):
        for name, schedule in (("constant", RhoSchedule(rho0, 1.0, rho0)),
                               ("balanced", ResidualBalancing(rho0, rho_min=1e-6, rho_max=1e6))):
            state = solve(schedule)
            assert state.k < 3000, (name, rho0)  # converged before the cap
            np.testing.assert_allclose(state.Z["w"], w_star, atol=1e-5)
            iters[name, rho0] = state.k
    for bad in (0.01, 100.0):
        assert iters["balanced", bad] < iters["constant", bad] / 10, iters
    assert iters["balanced", 1.0] <= 2 * iters["constant", 1.0], iters


def fixed_w_step(targets):
    """A W-step that sets W to the next of ``targets`` (one array per iteration): the loop's bookkeeping
    can then be followed by hand."""
    def w_step(Z, U, rho, k):
        state_W[...] = targets[k]
        return {"k": k}
    state_W = np.zeros_like(targets[0])
    return w_step, state_W


def test_one_loop_iteration_by_hand():
    """Z^0 = Proj(W^0), U^0 = 0; after W^1: Z^1 = Proj(W^1 + U^0), U^1 = U^0 + W^1 - Z^1, r and s of
    iteration 1 with rho_0, then rho_1 = 2 rho_0 and U^1 rescaled by rho_0 / rho_1."""
    w_step, W = fixed_w_step([np.array([1.0, -3.0, 2.0])])
    W[...] = [4.0, 1.0, -0.5]
    state = ADMMState.start({"w": W}, {"w": 1}, {"w": 0.5})
    np.testing.assert_array_equal(state.Z["w"], [4.0, 0.0, 0.0])
    np.testing.assert_array_equal(state.U["w"], [0.0, 0.0, 0.0])
    seen = []
    admm(state, w_step, 1, lambda i, k, rho, r, s: RhoSchedule(0.5, 2.0, 10.0)(k), eps_abs=0.0, eps_rel=0.1,
         on_iteration=lambda s, rows, info: seen.append((rows, info)))
    rows, info = seen[0]
    assert info == {"k": 0} and state.k == 1
    np.testing.assert_array_equal(state.Z["w"], [0.0, -3.0, 0.0])             # Proj([1, -3, 2], 1)
    row = rows[0]
    assert row["r"] == pytest.approx(np.sqrt(5.0))                              # ||[1, 0, 2]||
    assert row["s"] == pytest.approx(0.5 * 5.0)                                 # 0.5 ||[-4, -3, 0]||
    assert row["rho"] == 0.5 and state.rho["w"] == 1.0                          # rho_0 used, rho_1 next
    assert row["eps_pri"] == pytest.approx(0.1 * np.sqrt(14.0))                 # max(||W||, ||Z||) = ||W||
    assert row["eps_dual"] == pytest.approx(0.1 * 0.5 * np.sqrt(5.0))           # ||rho U^1||, U^1 = [1, 0, 2]
    np.testing.assert_allclose(state.U["w"], [0.5, 0.0, 1.0])                   # U^1 * rho_0 / rho_1
    assert row["nnz_Z"] == 1 and row["keep"] == 1


def test_start_takes_one_rho_or_one_per_layer():
    W = {"a": np.array([1.0, -2.0]), "b": np.array([3.0, 0.5])}
    assert ADMMState.start(W, {"a": 1, "b": 1}, 1e-3).rho == {"a": 1e-3, "b": 1e-3}
    assert ADMMState.start(W, {"a": 1, "b": 1}, {"a": 1e-3, "b": 2e-3}).rho == {"a": 1e-3, "b": 2e-3}
    with pytest.raises(ValueError, match="rho for layer 'a' is 0"):
        ADMMState.start(W, {"a": 1, "b": 1}, 0)


def test_loop_without_rescaling_and_with_early_stop():
    targets = [np.array([2.0, 0.0]), np.array([2.0, 0.0]), np.array([2.0, 0.0])]
    w_step, W = fixed_w_step(targets)
    W[...] = [2.0, 1.0]
    state = ADMMState.start({"w": W}, {"w": 1}, {"w": 1.0})
    admm(state, w_step, 3, lambda i, k, rho, r, s: 2.0 ** k, eps_abs=1e-9, eps_rel=0.0, rescale_U=False)
    assert state.k == 3 and state.rho["w"] == 8.0
    state = ADMMState.start({"w": W}, {"w": 1}, {"w": 1.0})
    state.U["w"][...] = [0.0, 0.5]
    admm(state, w_step, 3, lambda i, k, rho, r, s: 2.0 ** k, eps_abs=1e-9, eps_rel=0.0, rescale_U=False)
    np.testing.assert_array_equal(state.U["w"], [0.0, 0.5])  # W - Z = 0 every time; never rescaled
    state = ADMMState.start({"w": W}, {"w": 1}, {"w": 1.0})
    admm(state, w_step, 3, lambda i, k, rho, r, s: 1.0, eps_abs=1e-9, eps_rel=0.0, stop_on_convergence=True)
    assert state.k == 1  # r = s = 0 after the first iteration


def test_loop_with_rescaling_keeps_lambda():
    w_step, W = fixed_w_step([np.array([2.0, 1.0])] * 2)
    state = ADMMState.start({"w": W}, {"w": 1}, {"w": 1.0})
    admm(state, w_step, 2, lambda i, k, rho, r, s: 4.0 ** k, eps_abs=0.0, eps_rel=0.0)
    # U^1 = [0, 1] / 4; U^2 = (U^1 + [0, 1]) * 4 / 16 = [0, 1.25] / 4
    np.testing.assert_allclose(state.U["w"], [0.0, 0.3125])


@pytest.mark.parametrize("growth", [1.0, 1.2])
def test_convex_least_squares_converges_to_known_solution(growth, rng):
    """f(w) = 1/2 ||A w - b||^2 with orthogonal A, card(w) <= 4: the solution is Proj(A^T b). The W-step is
    solved by gradient descent on f plus the penalty; r and s go to 0. With constant rho ADMM finds the
    solution; with a growing rho it converges too but, the set being non-convex, it may lock onto another
    support early, so only convergence is asserted there."""
    n, l = 16, 4
    A, _ = np.linalg.qr(rng.standard_normal((n, n)))
    b = rng.standard_normal(n)
    w_star = z_step(A.T @ b, np.zeros(n), l)
    W = rng.standard_normal(n)

    def w_step(Z, U, rho, k):
        for _ in range(200):  # gradient descent on f + rho/2 ||W - Z + U||^2, step 1/L, L = 1 + rho
            g = A.T @ (A @ W - b) + w_step_penalty_grad(W, Z["w"], U["w"], rho["w"])
            W[...] = W - g / (1.0 + rho["w"])
        return {}

    schedule = RhoSchedule(1.0, growth, 3.0)
    rows = []
    state = ADMMState.start({"w": W}, {"w": l}, {"w": schedule(0)})
    admm(state, w_step, 100, lambda i, k, rho, r, s: schedule(k), eps_abs=1e-8, eps_rel=1e-6,
         on_iteration=lambda s, r, info: rows.extend(r))
    assert rows[-1]["r"] < 1e-6 and rows[-1]["s"] < 1e-6
    assert rows[-1]["r"] < 1e-3 * rows[0]["r"]
    if growth == 1.0:
        np.testing.assert_allclose(state.Z["w"], w_star, atol=1e-6)
    assert rows[-1]["nnz_Z"] == l
