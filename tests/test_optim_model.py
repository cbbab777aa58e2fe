from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from minadmm.nn.layers import softmax_cross_entropy
from minadmm.nn.model import lenet5, lenet300_100, load_model, save_model
from minadmm.nn.optim import SGD, Adam


@pytest.mark.parametrize("opt_cls", [Adam, SGD])
def test_masked_entries_stay_exactly_zero(opt_cls, rng):
    m = lenet300_100(keep=0.5)
    masks = {"fc1.W": rng.random((784, 300)) > 0.9, "fc3.W": rng.random((100, 10)) > 0.5}
    opt = opt_cls(m.params, lr=1e-2, weight_decay=1e-3, masks=masks)
    X, y = rng.random((64, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 64)
    for _ in range(5):
        _, d = softmax_cross_entropy(m.forward(X), y)
        m.backward(d)
        m.grads["fc1.W"] += 1.0  # a gradient that would revive every pruned weight
        opt.step(m.grads)
        for k, mask in masks.items():
            assert np.all(m.params[k][~mask] == 0), k
            assert np.count_nonzero(m.params[k][mask]) == mask.sum()
    state = opt.state_dict()
    assert all(np.all(v[~masks["fc1.W"]] == 0) for key, v in state.items() if key.endswith("fc1.W"))


@pytest.mark.parametrize("opt_cls", [Adam, SGD])
@pytest.mark.parametrize("n", [2, 3])
def test_step_in_pieces_on_threads_equals_serial_step(opt_cls, n, rng):
    """Optimizer.step(grads, pool, n) splits every parameter into n pieces, one per thread: same result."""
    models = [lenet300_100(seed=1), lenet300_100(seed=1)]
    masks = {"fc1.W": rng.random((784, 300)) > 0.9}
    opts = [opt_cls(m.params, lr=1e-2, weight_decay=1e-3, masks=masks) for m in models]
    with ThreadPoolExecutor(n) as pool:
        for _ in range(3):
            grads = {k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in models[0].params.items()}
            opts[0].step(grads)
            opts[1].step(grads, pool=pool, n=n)
    for k, v in models[0].params.items():
        np.testing.assert_array_equal(v, models[1].params[k], err_msg=k)
    for k, v in opts[0].state_dict().items():
        np.testing.assert_array_equal(v, opts[1].state_dict()[k], err_msg=k)


def test_bad_mask_and_lr():
    m = lenet300_100()
    with pytest.raises(ValueError, match="unknown parameter 'fc9.W'"):
        Adam(m.params, masks={"fc9.W": np.ones(3)})
    with pytest.raises(ValueError, match="shape"):
        Adam(m.params, masks={"fc1.W": np.ones(3)})
    with pytest.raises(ValueError, match="lr=0"):
        Adam(m.params, lr=0)


def test_save_load_roundtrip_and_format(tmp_path):
    m = lenet5(seed=3)
    save_model(tmp_path / "m.npz", m)
    with np.load(tmp_path / "m.npz") as f:
        assert str(f["__arch__"]) == "lenet5"
        assert f["conv1.W"].shape == (20, 1, 5, 5) and f["fc1.W"].shape == (800, 500) and f["fc2.b"].shape == (10,)
    m2 = load_model(tmp_path / "m.npz")
    for k, v in m.params.items():
        np.testing.assert_array_equal(v, m2.params[k])


def test_load_errors(tmp_path):
    save_model(tmp_path / "small.npz", lenet300_100())
    with pytest.raises(ValueError, match="holds a 'lenet300_100' model, expected 'lenet5'"):
        load_model(tmp_path / "small.npz", arch="lenet5")
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_model(tmp_path / "nope.npz")
    np.savez(tmp_path / "bad.npz", __arch__=np.array("lenet5"), **{"conv1.W": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="do not match"):
        load_model(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a minadmm model file"):
        load_model(tmp_path / "junk.npz")
