"""Physical shrinking (pruning/shrink.py): the smaller dense LeNet-5 computes what the masked one does,
dead channels of every kind are removed, and the file keeps its widths."""
import numpy as np
import pytest

from minadmm.nn.model import build, load_model, model_widths, save_model
from minadmm.pruning.shrink import shrink


def structured(arch, seed=0):
    """A LeNet-5 with every kind of dead channel: conv1 filters 0-4 zero (filter 2 also unused by conv2, filter
    3 used by conv2 only: folded), conv2 filters 0-29 zero, conv2 filter 40 unused by fc1, fc1 units 100-499 zero,
    fc1 unit 7 unused by fc2; non-zero biases everywhere (the folded constants matter)."""
    m = build(arch, seed=seed)
    rng = np.random.default_rng(seed)
    for name in m.weight_names():
        m[name].params["b"][...] = rng.standard_normal(m[name].params["b"].shape).astype(np.float32) * 0.3
    m["conv1"].params["W"][:5] = 0
    m["conv2"].params["W"][:, 2] = 0
    m["conv2"].params["W"][:30] = 0
    fc1 = m["fc1"].params["W"].reshape(50, 16, 500)
    fc1[40] = 0
    m["fc1"].params["W"][:, 100:] = 0
    m["fc2"].params["W"][7] = 0
    return m.eval()


@pytest.mark.parametrize("arch", ["lenet5_relu", "lenet5"])
def test_shrunk_equals_masked(arch, mnist):
    m = structured(arch)
    small, kept = shrink(m)
    assert 2 not in kept["conv1"] and 3 not in kept["conv1"] and kept["conv1"] == list(range(5, 20))
    assert kept["conv2"] == [c for c in range(30, 50) if c != 40]
    assert kept["fc1"] == [j for j in range(100) if j != 7]
    assert model_widths(small) == (15, 19, 99)
    X = mnist[2][:2000]
    np.testing.assert_allclose(small.forward(X), m.forward(X), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(small.predict(X), m.predict(X))


def test_folding_matters(mnist):
    """Without the folded constants the outputs differ: filter 3 of conv1 (all zero, used) carries relu(b)."""
    m = structured("lenet5_relu")
    m["conv1"].params["b"][3] = 5.0
    small, _ = shrink(m)
    X = mnist[2][:500]
    np.testing.assert_allclose(small.forward(X), m.forward(X), rtol=1e-4, atol=1e-4)
    m2 = structured("lenet5_relu")
    m2["conv1"].params["b"][3] = 0.0
    assert not np.allclose(m2.forward(X), m.forward(X), atol=1e-3)


def test_file_keeps_widths(tmp_path):
    small, _ = shrink(structured("lenet5_relu"))
    save_model(tmp_path / "s.npz", small)
    back = load_model(tmp_path / "s.npz", arch="lenet5_relu")
    assert model_widths(back) == (15, 19, 99)
    for k, v in small.params.items():
        np.testing.assert_array_equal(back.params[k], v)
    with np.load(tmp_path / "s.npz") as d:
        assert d["__widths__"].tolist() == [15, 19, 99]


def test_shrink_rejects_other_archs():
    with pytest.raises(ValueError, match="lenet300_100"):
        shrink(build("lenet300_100"))
