"""The committed models past the paper hold what README says of them (fast: evaluation only): the 250x model,
the quantized model and its packed file, the shrunk structured model and the 2:4 model, each at the test
accuracy its run's report gives (README's tables are generated from those reports)."""
import json

import numpy as np

from conftest import ROOT
from minadmm.admm.structured import nm_mask
from minadmm.cli import main
from minadmm.nn.model import build, load_model, model_widths
from minadmm.sparse import dense_flops
from minadmm.sparse.packed import packed_stats, unpack

LAYERS = ("conv1", "conv2", "fc1", "fc2")


def nnz(m):
    return sum(int(np.count_nonzero(m.params[f"{n}.W"])) for n in LAYERS)


def committed(run):
    return json.loads((ROOT / "results" / run / "report.json").read_text())


def test_250x_model(mnist):
    """At most 1,722 weights (250x), at least 99.1% test accuracy, and the test accuracy its run's report (and
    README) gives."""
    m = load_model(ROOT / "models" / "lenet5-admm-250x.npz", arch="lenet5_relu")
    assert nnz(m) <= 1722 and 430_500 / nnz(m) >= 250
    acc = m.accuracy(mnist[2], mnist[3])
    assert acc == committed("lenet5-relu-250x-vd")["accuracy"]["after_retraining"] and acc >= 0.991


def test_quantized_model_and_its_packed_file(mnist, capsys):
    """Each layer's non-zeros take at most 2^b values for the bits b its report states, at least 99.1% test
    accuracy (the report's), and the packed file beside it: the same parameters, at least 2,000x fewer weight
    bits, at least 300x smaller on disk than the dense model, read directly by ``minadmm evaluate``."""
    m = load_model(ROOT / "models" / "lenet5-admm-quantized.npz", arch="lenet5_relu")
    report = committed("lenet5-relu-205x-vd-quantized")
    for layer, q in report["quantization"].items():
        W = m.params[f"{layer}.W"]
        assert np.unique(W[W != 0]).size <= 2 ** q["bits"], layer
    acc = m.accuracy(mnist[2], mnist[3])
    assert acc == report["accuracy"]["after_retraining"] and acc >= 0.991
    packed = ROOT / "models" / "lenet5-admm-quantized.mpk"
    back = unpack(packed)
    for k, v in m.params.items():
        np.testing.assert_array_equal(back.params[k], v, err_msg=k)
    stats = packed_stats(packed)
    assert stats["weight_bits_ratio"] >= 2000
    assert (ROOT / "models" / "lenet5-dense.npz").stat().st_size / packed.stat().st_size >= 300
    assert main(["evaluate", str(packed), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test_acc"] == acc


def test_structured_model(mnist):
    small = load_model(ROOT / "models" / "lenet5-structured.npz", arch="lenet5_relu")
    report = committed("lenet5-relu-structured")
    assert list(model_widths(small)) == report["shrunk"]["widths"]
    assert dense_flops(build("lenet5_relu")) / dense_flops(small) >= 5
    assert small.accuracy(mnist[2], mnist[3]) == report["shrunk"]["test_acc"]
    assert report["shrunk"]["same_predictions"]


def test_2of4_model(mnist):
    m = load_model(ROOT / "models" / "lenet5-2of4.npz", arch="lenet5_relu")
    for n in LAYERS:
        W = m.params[f"{n}.W"]
        assert not np.any(W[~nm_mask(W, 2, 4)]), n  # every block of 4 inputs holds at most 2 non-zeros
    assert m.accuracy(mnist[2], mnist[3]) == committed("lenet5-relu-2of4")["accuracy"]["after_retraining"]
