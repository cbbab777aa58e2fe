"""The training equations ADMM relies on, against numbers worked out by hand: the loss gradient, Adam, SGD
with momentum, L2 weight decay on weights only, masked optimizer state, keep-count rounding and the
projection's tie rule. Each value is chosen so that a single change to an equation gives another number
(`python tests/mutation_check.py` checks that)."""
import numpy as np
import pytest

from minadmm.admm.projections import keep_count, topk_mask
from minadmm.nn.layers import softmax_cross_entropy
from minadmm.nn.optim import SGD, Adam


def test_softmax_cross_entropy_by_hand():
    logits = np.array([[0.0, np.log(3.0)], [np.log(4.0), 0.0]])  # softmax rows [1/4, 3/4] and [4/5, 1/5]
    loss, d = softmax_cross_entropy(logits, np.array([1, 1]))
    assert loss == pytest.approx(-(np.log(0.75) + np.log(0.2)) / 2)
    np.testing.assert_allclose(d, np.array([[0.25, -0.25], [0.8, -0.8]]) / 2)  # (softmax - onehot) / N


def params(**arrays):
    return {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}


def test_adam_two_steps_by_hand():
    p = params(**{"a.W": [1.0, -2.0], "a.b": [0.5, 0.5]})
    opt = Adam(p, lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    g1 = params(**{"a.W": [0.2, -0.4], "a.b": [1.0, 0.0]})
    opt.step(g1)
    # t = 1: mhat = g, vhat = g^2, so each weight moves by lr * sign(g) (up to eps)
    np.testing.assert_allclose(p["a.W"], [0.9, -1.9], rtol=1e-7)
    np.testing.assert_allclose(p["a.b"], [0.4, 0.5], rtol=1e-7)
    g2 = params(**{"a.W": [0.1, 0.3], "a.b": [0.0, 0.0]})
    opt.step(g2)
    for j, (w0, a, b) in enumerate(((0.9, 0.2, 0.1), (-1.9, -0.4, 0.3))):  # weight after step 1, g1, g2
        m = 0.9 * 0.1 * a + 0.1 * b                   # m_2 = b1 (1 - b1) g1 + (1 - b1) g2
        v = 0.99 * 0.01 * a * a + 0.01 * b * b        # v_2 = b2 (1 - b2) g1^2 + (1 - b2) g2^2
        expected = w0 - 0.1 * (m / (1 - 0.9 ** 2)) / (np.sqrt(v / (1 - 0.99 ** 2)) + 1e-8)
        assert p["a.W"][j] == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("opt_cls", [Adam, SGD])
def test_weight_decay_on_weights_only(opt_cls):
    p = params(**{"a.W": [2.0, -4.0], "a.b": [3.0, 3.0]})
    zero = params(**{"a.W": [0.0, 0.0], "a.b": [0.0, 0.0]})
    opt = opt_cls(p, lr=0.1, weight_decay=0.5)
    opt.step(zero)
    np.testing.assert_array_equal(p["a.b"], [3.0, 3.0])  # biases feel no decay
    if opt_cls is SGD:
        np.testing.assert_allclose(p["a.W"], [2.0 - 0.1 * 0.5 * 2.0, -4.0 + 0.1 * 0.5 * 4.0])  # g = wd W
    else:
        np.testing.assert_allclose(p["a.W"], [1.9, -3.9], rtol=1e-7)  # Adam's first step: lr * sign(wd W)


def test_sgd_momentum_by_hand():
    p = params(**{"a.W": [1.0]})
    opt = SGD(p, lr=0.1, momentum=0.5)
    opt.step(params(**{"a.W": [2.0]}))  # v = 2; W = 1 - 0.2
    np.testing.assert_allclose(p["a.W"], [0.8])
    opt.step(params(**{"a.W": [-1.0]}))  # v = 0.5 * 2 - 1 = 0; W unchanged
    np.testing.assert_allclose(p["a.W"], [0.8])
    opt.step(params(**{"a.W": [4.0]}))  # v = 0 + 4; W = 0.8 - 0.4
    np.testing.assert_allclose(p["a.W"], [0.4])


@pytest.mark.parametrize("opt_cls", [Adam, SGD])
def test_masked_entries_and_their_state_stay_zero(opt_cls):
    p = params(**{"a.W": [1.0, 2.0, 3.0]})
    mask = {"a.W": np.array([True, False, True])}
    opt = opt_cls(p, lr=0.1, weight_decay=0.1, masks=mask)
    assert p["a.W"][1] == 0  # a pruned weight is zeroed when the optimizer is made
    for g in ([1.0, 5.0, -1.0], [0.5, -3.0, 2.0]):
        opt.step(params(**{"a.W": g}))
        assert p["a.W"][1] == 0 and p["a.W"][0] != 1.0 and p["a.W"][2] != 3.0
    for key, state in opt.state_dict().items():
        if key != "t":
            assert state[1] == 0 and np.all(state[[0, 2]] != 0), key


def test_keep_count_rounds_halves_up():
    assert keep_count(0.009, 400_000) == 3600   # 3599.9999...: not truncated
    assert keep_count(0.3, 10) == 3             # 3.0000000000000004: not rounded up
    assert keep_count(0.5, 5) == 3              # 2.5: half up, not to even
    assert keep_count(0.25, 10) == 3            # 2.5 again
    assert keep_count(0.24, 10) == 2


def test_tie_rule_keeps_smallest_flat_index_first():
    x = np.array([[1.0, -2.0, 2.0], [2.0, 0.5, -2.0]])
    np.testing.assert_array_equal(topk_mask(x, 2), [[False, True, True], [False, False, False]])
    np.testing.assert_array_equal(topk_mask(x, 3), [[False, True, True], [True, False, False]])
    np.testing.assert_array_equal(np.flatnonzero(topk_mask(np.ones(10), 4)), [0, 1, 2, 3])


@pytest.mark.parametrize("opt_cls", [Adam, SGD])
def test_masked_state_is_zeroed_even_when_it_was_not(opt_cls):
    """Moments carried in from elsewhere (a checkpoint, an optimizer used before the mask) are zeroed at
    pruned entries by the first masked step, so they cannot revive a pruned weight later."""
    p = params(**{"a.W": [1.0, 2.0, 3.0]})
    opt = opt_cls(p, lr=0.1, masks={"a.W": np.array([True, False, True])})
    opt.load_state_dict({k: (np.full(3, 0.5) if k != "t" else 1) for k in opt.state_dict()})
    opt.step(params(**{"a.W": [1.0, 1.0, 1.0]}))
    for key, state in opt.state_dict().items():
        if key != "t":
            assert state[1] == 0, key
    assert p["a.W"][1] == 0
