"""The committed models reproduce the README's numbers on real MNIST (fast: evaluation only), and the full
reproduction from the dense model (slow: about 15 minutes on 2 cores; ``pytest -m slow``)."""
import json

import numpy as np
import pytest

from conftest import ROOT
from minadmm.cli import main
from minadmm.model import load_model

LAYERS = ("conv1", "conv2", "fc1", "fc2")


def test_dense_lenet5_reaches_99_1(mnist):
    m = load_model(ROOT / "models" / "lenet5-dense.npz", arch="lenet5")
    assert m.n_params() == 431_080
    assert m.accuracy(mnist[2], mnist[3]) >= 0.991


def test_admm_71x_model(mnist, capsys):
    path = ROOT / "models" / "lenet5-admm-71x.npz"
    m = load_model(path, arch="lenet5")
    nnz = sum(int(np.count_nonzero(m.params[f"{n}.W"])) for n in LAYERS)
    assert nnz <= 6050 and 430_500 / nnz >= 71.2
    assert main(["evaluate", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["nonzero_weights"] == nnz
    assert result["test_acc"] >= 0.992


@pytest.mark.slow
def test_full_reproduction(tmp_path):
    out = tmp_path / "run"
    assert main(["prune", "--preset", "lenet5-71x", "--from", str(ROOT / "models" / "lenet5-dense.npz"),
                 "--out", str(out), "--no-baseline"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["kept"] <= 6050
    assert report["accuracy"]["after_retraining"] >= 0.992
