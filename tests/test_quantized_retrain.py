"""Hard quantization and retraining that keeps the level assignments (pruning/quantized.py): the model stays
exactly in the set; one step of CodeScaleAdam is the Adam step on alpha with dL/dalpha = sum_j dL/dW_j C_j,
one step of CodebookAdam the Adam step on each codebook value c_k with dL/dc_k = sum_{j in group k} dL/dW_j."""
import numpy as np
import pytest

from minadmm.admm.quantization import Quantizer
from minadmm.nn.model import lenet5, lenet5_relu
from minadmm.errors import InputError
from minadmm.pruning import PruneConfig
from minadmm.pruning.quantized import CodebookAdam, CodeScaleAdam, hard_quantize, round_biases, zero_dead_biases

KEEP = {"conv1": 100, "conv2": 2000, "fc1": 3600, "fc2": 350}


def test_hard_quantize_in_the_set():
    m = lenet5(seed=1)
    W0 = {n: m[n].params["W"].copy() for n in KEEP}
    masks, scales = hard_quantize(m, KEEP, {"conv2": Quantizer(2), "fc1": Quantizer(3, "pow2")})
    assert set(scales) == {"conv2.W", "fc1.W"}
    for name, bits in (("conv2", 2), ("fc1", 3)):
        W = m[name].params["W"]
        C, alpha = scales[f"{name}.W"]
        np.testing.assert_array_equal(W, (alpha * C).astype(np.float32))
        np.testing.assert_array_equal(masks[f"{name}.W"], W != 0)
        assert np.count_nonzero(W) <= KEEP[name] and np.unique(W[W != 0]).size <= 2 ** bits
        z = Quantizer(bits, "pow2" if name == "fc1" else "uniform").project(W0[name], KEEP[name])
        np.testing.assert_array_equal(W, z)  # the same projection as ADMM's Z-step
    for name in ("conv1", "fc2"):  # unquantized: the cardinality projection
        assert np.count_nonzero(m[name].params["W"]) == KEEP[name]


def test_one_step_by_hand():
    m = lenet5(seed=1)
    masks, scales = hard_quantize(m, KEEP, {"fc1": Quantizer(2)})
    C, alpha = scales["fc1.W"]
    opt = CodeScaleAdam(m.params, scales, lr=0.01, masks=masks)
    rng = np.random.default_rng(0)
    grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in m.params.items()}
    b_before = m.params["fc1.b"].copy()
    opt.step(grads)
    g = float(np.sum(grads["fc1.W"].astype(np.float64) * C))
    m_hat = (1 - 0.9) * g / (1 - 0.9)
    v_hat = (1 - 0.999) * g * g / (1 - 0.999)
    alpha1 = alpha - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
    assert opt.alpha["fc1.W"][0] == pytest.approx(alpha1, rel=1e-12)
    np.testing.assert_array_equal(m.params["fc1.W"], (alpha1 * C).astype(np.float32))
    assert not np.array_equal(m.params["fc1.b"], b_before)  # biases train as usual
    assert np.count_nonzero(m.params["conv2.W"]) == KEEP["conv2"]  # other layers masked
    grads2 = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in m.params.items()}
    opt.step(grads2)  # the second step: bias correction with t = 2, another gradient
    g2 = float(np.sum(grads2["fc1.W"].astype(np.float64) * C))
    m2 = 0.9 * (0.1 * g) + 0.1 * g2
    v2 = 0.999 * (0.001 * g * g) + 0.001 * g2 * g2
    alpha2 = alpha1 - 0.01 * (m2 / (1 - 0.9 ** 2)) / (np.sqrt(v2 / (1 - 0.999 ** 2)) + 1e-8)
    assert opt.alpha["fc1.W"][0] == pytest.approx(alpha2, rel=1e-12)


def adam_by_hand(c0, gs, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam's steps on a vector c from c0 for the gradients gs, written out: m_t, v_t, bias correction."""
    c, m, v = np.array(c0, dtype=np.float64), 0.0, 0.0
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        c = c - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return c


def test_codebook_steps_by_hand():
    """fc1 at 2 bits: its kept weights fall in 4 groups by signed level (-2, -1, +1, +2 alpha). The codebook
    starts at those values (the hard-quantized model), and two steps move each value by Adam on the sum of
    its group's gradients; W is the codebook value of each kept weight's group, 0 where pruned."""
    m = lenet5(seed=1)
    masks, scales = hard_quantize(m, KEEP, {"fc1": Quantizer(2)})
    W_hard = m.params["fc1.W"].copy()
    C, alpha = scales["fc1.W"]
    opt = CodebookAdam(m.params, scales, lr=0.01, masks=masks)
    np.testing.assert_array_equal(m.params["fc1.W"], W_hard)  # the first forward pass is hard quantization's
    levels = np.array([-2.0, -1.0, 1.0, 2.0])
    assert set(np.unique(C[C != 0])) == set(levels)  # all four groups are present
    np.testing.assert_array_equal(opt.c["fc1.W"], alpha * levels)
    rng = np.random.default_rng(0)
    gs, b_before = [], m.params["fc1.b"].copy()
    for _ in range(2):
        grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in m.params.items()}
        gs.append(np.array([np.sum(grads["fc1.W"][C == lv].astype(np.float64)) for lv in levels]))
        opt.step(grads)
    c2 = adam_by_hand(alpha * levels, gs, 0.01)
    np.testing.assert_allclose(opt.c["fc1.W"], c2, rtol=1e-12)
    W = m.params["fc1.W"]
    expect = np.zeros_like(W)
    for lv, c in zip(levels, c2):
        expect[C == lv] = c
    np.testing.assert_array_equal(W, expect)
    assert np.unique(W[W != 0]).size == 4 and np.array_equal(W != 0, C != 0)
    assert not np.array_equal(m.params["fc1.b"], b_before)  # biases train as usual
    assert np.count_nonzero(m.params["conv2.W"]) == KEEP["conv2"]  # other layers masked


def test_codebook_resume_is_bit_identical():
    """Three steps at once equal one step, ``state_dict``, a new optimizer that loads it, two more steps."""
    rng = np.random.default_rng(3)
    models = [lenet5(seed=1) for _ in range(2)]
    grads = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in models[0].params.items()}
             for _ in range(3)]
    qs = {"conv2": Quantizer(3), "fc1": Quantizer(2, "pow2")}
    a = models[0]
    masks_a, scales_a = hard_quantize(a, KEEP, qs)
    opt = CodebookAdam(a.params, scales_a, lr=0.01, masks=masks_a)
    for g in grads:
        opt.step(g)
    b = models[1]
    masks, scales = hard_quantize(b, KEEP, qs)
    first = CodebookAdam(b.params, scales, lr=0.01, masks=masks)
    first.step(grads[0])
    state = {k: np.copy(v) for k, v in first.state_dict().items()}
    b.params["fc1.W"][...] = 0  # what a fresh process would not have: the resumed optimizer rewrites W
    second = CodebookAdam(b.params, scales, lr=0.01, masks=masks)
    second.load_state_dict(state)
    for g in grads[1:]:
        second.step(g)
    for k in a.params:
        np.testing.assert_array_equal(b.params[k], a.params[k], err_msg=k)


def test_quant_retrain_setting():
    assert PruneConfig(quant_bits=3, quant_retrain="codebook").quant_retrain == "codebook"
    with pytest.raises(InputError, match="quant_retrain='centroids'.*scale, codebook"):
        PruneConfig(quant_bits=3, quant_retrain="centroids")
    with pytest.raises(InputError, match="quant_retrain='codebook' needs quant_bits"):
        PruneConfig(quant_retrain="codebook")


def test_round_biases():
    m = lenet5(seed=1)
    round_biases(m, ["fc1"])
    b = m["fc1"].params["b"]
    np.testing.assert_array_equal(b, b.astype(np.float16).astype(np.float32))
    assert b.dtype == np.float32


def test_zero_dead_biases():
    """Exactly the units whose outgoing weights are all zero lose their bias, and the network's outputs do not
    change by a bit. conv1 channels 3 and 7 feed nothing in conv2; conv2 channel 5 feeds nothing in fc1
    (rows 80..95 after Flatten's (C, H, W) order), channel 6 only half of its rows (alive); fc1 units 10 and 20
    feed nothing in fc2; fc1 unit 30 has no incoming weights but feeds fc2 (alive: relu(b) reaches the output)."""
    m = lenet5_relu(seed=2).eval()
    rng = np.random.default_rng(0)
    for name in m.weight_names():
        b = m[name].params["b"]
        b[...] = rng.uniform(0.1, 1.0, b.shape).astype(np.float32)
    m["conv2"].params["W"][:, [3, 7]] = 0
    m["fc1"].params["W"][80:96] = 0
    m["fc1"].params["W"][96:104] = 0
    m["fc2"].params["W"][[10, 20]] = 0
    m["fc1"].params["W"][:, 30] = 0
    X = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    before = m.forward(X).copy()
    b0 = {k: v.copy() for k, v in m.params.items() if k.endswith(".b")}
    assert zero_dead_biases(m) == {"conv1": 2, "conv2": 1, "fc1": 2}
    dead = {"conv1.b": [3, 7], "conv2.b": [5], "fc1.b": [10, 20], "fc2.b": []}
    for k, idx in dead.items():
        expect = b0[k].copy()
        expect[idx] = 0
        np.testing.assert_array_equal(m.params[k], expect, err_msg=k)
    np.testing.assert_array_equal(m.forward(X), before)
    m["conv2"].params["W"][:, 4] = 0  # and a unit on a path that is cut: conv1 channel 4 now feeds nothing
    assert zero_dead_biases(m)["conv1"] == 3 and m.params["conv1.b"][4] == 0
