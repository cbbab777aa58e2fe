"""``minadmm sensitivity``: one layer pruned at a time, the others dense; resumable; bad ratios refused."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from minadmm.nn.model import lenet5, save_model
from minadmm.pipeline.sensitivity import sensitivity


def test_each_layer_alone_at_each_ratio(mnist, tmp_path):
    X, y, Xt, yt = mnist
    data = (X[:300], y[:300], Xt[:200], yt[:200])
    path = tmp_path / "dense.npz"
    save_model(path, lenet5(seed=0))
    rows = sensitivity(path, data, [0.1, 1.0], epochs=1, val=100, out=tmp_path / "s", log=lambda s: None)
    assert [(r["layer"], r["keep_ratio"]) for r in rows] == [(l, q) for l in ("conv1", "conv2", "fc1", "fc2")
                                                             for q in (1.0, 0.1)]
    assert [r["kept"] for r in rows if r["keep_ratio"] == 0.1] == [50, 2500, 40000, 500]
    assert all("val_acc_retrained" in r for r in rows)
    for f in ("sensitivity.csv", "sensitivity.md", "sensitivity.png", "sensitivity.json"):
        assert (tmp_path / "s" / f).stat().st_size > 0
    again = sensitivity(path, data, [0.1, 1.0], epochs=1, val=100, out=tmp_path / "s",
                        log=lambda s: pytest.fail("a finished row was computed again"))
    assert again == json.loads((tmp_path / "s" / "sensitivity.json").read_text())


def test_only_the_named_layer_is_pruned(mnist, tmp_path, monkeypatch):
    import minadmm.pipeline.sensitivity as sens
    seen = []
    monkeypatch.setattr(sens, "retrain", lambda model, data, masks, cfg, log: seen.append(
        {k: int(np.count_nonzero(model.params[k])) for k in ("conv1.W", "conv2.W", "fc1.W", "fc2.W")}))
    X, y, Xt, yt = mnist
    path = tmp_path / "dense.npz"
    save_model(path, lenet5(seed=0))
    sens.sensitivity(path, (X[:100], y[:100], Xt[:50], yt[:50]), [0.2], epochs=1, log=lambda s: None)
    assert seen[0] == {"conv1.W": 100, "conv2.W": 25000, "fc1.W": 400000, "fc2.W": 5000}
    assert seen[3] == {"conv1.W": 500, "conv2.W": 25000, "fc1.W": 400000, "fc2.W": 1000}


@pytest.mark.parametrize("ratios,message", [("0.5,0", "keep ratio 0.0: expected a number in (0, 1]"),
                                            ("half", "--ratios 'half'")])
def test_bad_ratios_one_line_error(ratios, message, tmp_path):
    r = subprocess.run([sys.executable, "-m", "minadmm", "sensitivity", "--from", str(ROOT / "models" / "lenet5-dense.npz"),
                        "--ratios", ratios, "--out", "s"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr
