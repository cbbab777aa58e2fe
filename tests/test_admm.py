import numpy as np
import pytest

from minadmm import kernels
from minadmm.admm import (ADMMState, RhoSchedule, boyd_eps, dual_residual, primal_residual, u_step,
                          w_step_penalty_grad, z_step)
from minadmm.layers import Dense
from minadmm.model import Sequential


def test_steps_by_hand():
    W, Z, U = np.array([1.0, 2.0]), np.array([0.0, 2.0]), np.array([0.5, 0.0])
    np.testing.assert_array_equal(w_step_penalty_grad(W, Z, U, 2.0), [3.0, 0.0])  # 2 * ([1,2]-[0,2]+[.5,0])
    W, U = np.array([3.0, -1.0, 0.5]), np.array([0.0, 2.0, 0.0])
    Z = z_step(W, U, 1)  # W + U = [3, 1, .5] -> keep 3
    np.testing.assert_array_equal(Z, [3.0, 0.0, 0.0])
    np.testing.assert_array_equal(u_step(U, W, Z), [0.0, 1.0, 0.5])  # U + W - Z
    assert primal_residual(W, Z) == pytest.approx(np.sqrt(1.0 + 0.25))
    assert dual_residual(Z, np.array([0.0, 1.0, 0.0]), 0.5) == pytest.approx(0.5 * np.sqrt(9 + 1))
    e_pri, e_dual = boyd_eps(W, Z, U, 2.0, eps_abs=0.1, eps_rel=0.01)
    assert e_pri == pytest.approx(np.sqrt(3) * 0.1 + 0.01 * np.linalg.norm(W))
    assert e_dual == pytest.approx(np.sqrt(3) * 0.1 + 0.01 * 2.0 * np.linalg.norm(U))


def test_penalty_grad_is_gradient_of_squared_norm(rng):
    W, Z, U = rng.standard_normal((3, 4, 5))
    rho, h = 0.3, 1e-6
    pen = lambda W: rho / 2 * np.sum((W - Z + U) ** 2)  # noqa: E731
    num = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[i] += h
        Wm[i] -= h
        num[i] = (pen(Wp) - pen(Wm)) / (2 * h)
    np.testing.assert_allclose(w_step_penalty_grad(W, Z, U, rho), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_penalty_kernel_matches_twin(dtype, rng):
    """kernels.add_penalty_grad (what ADMMState.add_penalty_grads runs) against w_step_penalty_grad."""
    g, W, Z, U = (rng.standard_normal((4, 30, 7)).astype(dtype))
    expected = g + w_step_penalty_grad(W, Z, U, 0.37)
    kernels.add_penalty_grad(g, W, Z, U, 0.37)
    np.testing.assert_allclose(g, expected, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_rho_schedule():
    s = RhoSchedule(1e-3, 2.0, 5e-3)
    assert [s(k) for k in range(4)] == pytest.approx([1e-3, 2e-3, 4e-3, 5e-3])
    assert RhoSchedule(1e-4)(10) == 1e-4
    for bad in ({"rho0": 0}, {"growth": 0.5}, {"rho0": 1.0, "rho_max": 0.5}):
        with pytest.raises(ValueError):
            RhoSchedule(**bad)


def tiny_model(W0):
    layer = Dense(W0.shape[0], W0.shape[1], dtype=np.float64)
    layer.params["W"][...] = W0
    return Sequential([("w", layer)], arch="tiny")


@pytest.mark.parametrize("growth", [1.0, 1.2])
def test_convex_least_squares_converges_to_known_solution(growth, rng):
    """f(w) = 1/2 ||A w - b||^2 with orthogonal A, card(w) <= 4: the solution is Proj(A^T b).
    The W-step is solved by gradient descent on f plus the penalty that ADMMState adds; r and s go to 0.
    With constant rho ADMM finds the solution; with a growing rho it still converges (r, s -> 0) but, the
    set being non-convex, it may lock onto another support early, so only convergence is asserted there."""
    n, l = 16, 4
    A, _ = np.linalg.qr(rng.standard_normal((n, n)))
    b = rng.standard_normal(n)
    w_star = z_step(A.T @ b, np.zeros(n), l)
    model = tiny_model(rng.standard_normal((n, 1)))
    state = ADMMState(model, {"w": l}, RhoSchedule(1.0, growth, 3.0))
    W = model["w"].params["W"]
    np.testing.assert_array_equal(state.Z["w"], z_step(W, 0 * W, l))  # Z^0 = Proj(W^0)
    assert np.all(state.U["w"] == 0)                                   # U^0 = 0
    rows = []
    for k in range(100):
        for _ in range(200):  # W-step: gradient descent on f + rho/2 ||W - Z + U||^2
            model["w"].grads["W"][...] = (A.T @ (A @ W[:, 0] - b))[:, None]
            state.add_penalty_grads()
            W -= model["w"].grads["W"] / (1.0 + state.rho["w"])  # step 1/L, L = 1 + rho
        rows += state.zu_update(eps_abs=1e-8, eps_rel=1e-6)
    assert rows[-1]["r"] < 1e-6 and rows[-1]["s"] < 1e-6
    assert rows[-1]["r"] < 1e-3 * rows[0]["r"]
    if growth == 1.0:
        np.testing.assert_allclose(state.Z["w"][:, 0], w_star, atol=1e-6)
    assert rows[-1]["nnz_Z"] == l


def test_rescale_U_keeps_lambda():
    model = tiny_model(np.array([[3.0], [1.0], [-2.0]]))
    state = ADMMState(model, {"w": 1}, RhoSchedule(1.0, 2.0, 8.0), rescale_U=True)
    state.zu_update()
    lam = 1.0 * state.U["w"] * 2.0  # U was divided by 2 when rho went 1 -> 2
    assert state.rho["w"] == 2.0
    np.testing.assert_allclose(state.rho["w"] * state.U["w"], lam / 2 * 2)
    np.testing.assert_allclose(state.U["w"][:, 0], [0.0, 0.5, -1.0])  # (W - Z) = [0, 1, -2], halved
