"""Hard quantization and scale-only retraining (pruning/quantized.py): the model stays exactly in the set,
and one step of CodeScaleAdam is the Adam step on alpha with dL/dalpha = sum_j dL/dW_j C_j."""
import numpy as np
import pytest

from minadmm.admm.quantization import Quantizer
from minadmm.nn.model import lenet5, lenet5_relu
from minadmm.pruning.quantized import CodeScaleAdam, hard_quantize, round_biases, zero_dead_biases

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
