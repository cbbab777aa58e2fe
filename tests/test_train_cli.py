"""Training determinism and resume, the CLI's error messages, and a quick ADMM run on real MNIST."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from minadmm.cli import main
from minadmm.nn.model import lenet5, load_model, save_model, lenet300_100
from minadmm.train import TrainConfig, fit


def small(mnist, n=600, nt=300):
    X, y, Xt, yt = mnist
    return X[:n], y[:n], Xt[:nt], yt[:nt]


def test_same_seed_same_result(mnist):
    cfg = TrainConfig(epochs=1, batch_size=50, seed=7)
    a, b = lenet5(seed=7), lenet5(seed=7)
    ha = fit(a, small(mnist), cfg, log=lambda s: None)
    hb = fit(b, small(mnist), cfg, log=lambda s: None)
    assert ha[0]["loss"] == hb[0]["loss"]
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


@pytest.mark.parametrize("shift", [0, 2])  # the augmentation draws from the checkpointed RNG too
def test_resume_equals_uninterrupted(shift, mnist, tmp_path):
    data = small(mnist)
    full = lenet5(seed=1)
    fit(full, data, TrainConfig(epochs=2, seed=1, shift=shift), log=lambda s: None)
    part = lenet5(seed=1)
    fit(part, data, TrainConfig(epochs=1, seed=1, shift=shift), out_dir=tmp_path, log=lambda s: None)
    resumed = lenet5(seed=1)
    hist = fit(resumed, data, TrainConfig(epochs=2, seed=1, shift=shift), out_dir=tmp_path, resume=True,
               log=lambda s: None)
    assert [r["epoch"] for r in hist] == [1, 2]
    for k in full.params:
        np.testing.assert_array_equal(full.params[k], resumed.params[k])
    assert (tmp_path / "history.csv").read_text().count("\n") == 3


def test_training_records_its_threads_and_warns_when_resumed_in_another_setting(mnist, tmp_path, monkeypatch):
    """Dense training keeps the thread setting it started in (checkpoint, and the CLI's summary.json); a resume
    in another setting warns and names the setting that would reproduce the uninterrupted run."""
    from minadmm.train.parallel import thread_setting
    from minadmm.train.records import checkpoint_meta
    data = small(mnist)
    monkeypatch.setenv("MINADMM_WORKERS", "2")
    fit(lenet5(seed=1), data, TrainConfig(epochs=1, seed=1), out_dir=tmp_path, log=lambda s: None)
    started = thread_setting()
    assert checkpoint_meta(tmp_path / "checkpoint.npz")["threads"] == started and started["workers"] == 2
    monkeypatch.setenv("MINADMM_WORKERS", "1")
    messages = []
    fit(lenet5(seed=1), data, TrainConfig(epochs=2, seed=1), out_dir=tmp_path, resume=True, log=messages.append)
    warnings = [m for m in messages if m.startswith("warning:")]
    assert len(warnings) == 1 and "MINADMM_WORKERS=2" in warnings[0]
    assert checkpoint_meta(tmp_path / "checkpoint.npz")["threads"] == started  # the start stays on record
    messages.clear()
    monkeypatch.setenv("MINADMM_WORKERS", "2")
    fit(lenet5(seed=1), data, TrainConfig(epochs=3, seed=1), out_dir=tmp_path, resume=True, log=messages.append)
    assert not [m for m in messages if m.startswith("warning:")]


@pytest.mark.slow  # a full MNIST epoch
def test_train_cli_summary_records_the_thread_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("MINADMM_WORKERS", "1")
    out = tmp_path / "dense"
    assert main(["train", "--model", "lenet300_100", "--epochs", "1", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["threads"]["workers"] == 1


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "minadmm", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args,message", [
    (["train", "--epochs", "0", "--out", "x"], "--epochs: '0' must be >= 1"),
    (["prune", "--keep", "fc1=500000", "--out", "x"], "keep count 500000 for fc1 exceeds its 400000 weights"),
    (["prune", "--keep", "fc1=1.5", "--out", "x"], "a ratio must be in [0, 1]"),
    (["prune", "--keep", "fc7=10", "--out", "x"], "unknown layer 'fc7'"),
    (["prune", "--preset", "lenet5-99x", "--out", "x"], "unknown preset 'lenet5-99x'"),
    (["prune", "--out", "x"], "give --preset NAME"),
    (["prune", "--preset", "lenet5-71x", "--keep", "fc1=10", "--out", "x"], "preset lenet5-71x has 2 rounds"),
    (["prune", "--preset", "lenet5-relu-71x", "--rho", "2", "--out", "x"], "rho_max=1.0 is below rho0=2.0"),
    (["prune", "--preset", "lenet5-relu-71x", "--from", "missing.npz", "--out", "x"], "missing.npz does not exist"),
    (["prune", "--preset", "lenet5-71x", "--retrain-shift", "-1", "--out", "x"], "shift=-1: expected an integer"),
    (["train", "--shift", "12", "--out", "x"], "shift=12: expected an integer number of pixels in [0, 8]"),
    (["evaluate", "missing.npz"], "model file missing.npz does not exist"),
    (["prune", "--preset", "lenet5-71x", "--distill", "1.5", "--out", "x"], "alpha=1.5: expected a number in [0, 1]"),
    (["prune", "--preset", "lenet5-71x", "--distill", "0.5", "--distill-temp", "-2", "--out", "x"],
     "T=-2.0: expected a positive number"),
    (["prune", "--keep", "fc1=10", "--teacher", "t.npz", "--out", "x"], "--teacher t.npz is used only with --distill"),
    (["prune", "--preset", "lenet5-71x-one-round", "--distill-admm", "--out", "x"], "distill_admm=True needs distill > 0"),
    (["prune", "--preset", "lenet5-71x", "--distill", "0.5", "--teacher", "missing.npz", "--out", "x"],
     "model file missing.npz does not exist"),
    (["prune", "--budget", "500000", "--out", "x"], "--budget 500000 exceeds the 430,500 weights"),
    (["prune", "--budget", "30", "--budget-floor", "10", "--out", "x"], "its --budget-floor 10 (needs at least 40)"),
    (["prune", "--keep", "fc1=10", "--budget-floor", "10", "--out", "x"], "budget_floor=10 needs a budget"),
    (["prune", "--budget", "-5", "--out", "x"], "budget=-5: expected an integer >= 0"),
    (["prune", "--preset", "lenet5-relu-71x", "--lr-min", "0.01", "--out", "x"], "admm_lr_min=0.01: expected a floor"),
    (["prune", "--keep", "conv1=filters:30", "--out", "x"], "conv1=filters:30: conv1 has only 20 filters"),
    (["prune", "--keep", "fc1=filters:3", "--out", "x"], "structure 'filters' applies to a convolution"),
    (["prune", "--keep", "fc1=rows:3", "--out", "x"], "unknown structure 'rows'"),
    (["prune", "--keep", "all=0.5", "--out", "x"], "'all' takes a structure"),
    (["prune", "--keep", "conv1=filters:6", "--budget", "100", "--out", "x"], "a budget needs per-layer counts"),
    (["prune", "--keep", "conv1=filters:6", "--quant-bits", "3", "--out", "x"], "quantizing a structured layer"),
    (["prune", "--keep", "fc1=100", "--quant-bits", "9", "--out", "x"], "quant_bits=9: expected bits from 1 to 8"),
    (["prune", "--keep", "fc1=100", "--quant-bits", "fc9=2", "--out", "x"], "quant_bits names layer 'fc9'"),
    (["prune", "--keep", "fc1=100", "--quant-bits", "3", "--quant-levels", "ternary", "--out", "x"],
     "quant_levels='ternary': expected one of uniform, pow2"),
])
def test_cli_bad_input_one_line_error(args, message, tmp_path, monkeypatch, capsys):
    """In-process (an exception other than the refusal would fail the test); the next test runs the real
    command once, as a user does."""
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "x").exists()  # refused before any work or file


def test_cli_bad_input_as_a_process(tmp_path):
    r = subprocess.run([sys.executable, "-m", "minadmm", "prune", "--keep", "fc7=10", "--out", "x"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert "unknown layer 'fc7'" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_evaluate_into_a_closed_pipe_is_quiet(mnist):
    """`minadmm evaluate ... | head -n 1`: the reader quits early; no traceback, exit status 0. Here the
    reader is gone before the first line, so the first write already fails."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([sys.executable, "-m", "minadmm", "evaluate", str(ROOT / "models/lenet5-admm-71x.npz")],
                           stdout=w, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(w)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr


def test_prune_wrong_architecture_model(tmp_path, capsys):
    save_model(tmp_path / "mlp.npz", lenet300_100())
    assert main(["prune", "--preset", "lenet5-71x", "--from", str(tmp_path / "mlp.npz"), "--out",
                 str(tmp_path / "run")]) == 2
    assert "holds a 'lenet300_100' model, expected 'lenet5'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_quick_prune_end_to_end(tmp_path, capsys, mnist):
    """--quick on real MNIST with the main preset: the pruned model meets its targets exactly, the report
    records the resolved configuration (an option given beside --quick wins), the plots are written, and
    a finished run is refused."""
    out = tmp_path / "run"
    assert main(["prune", "--preset", "lenet5-relu-71x", "--quick", "--admm-iters", "1", "--w-epochs", "1",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["kept"] == 6050 and report["compression"] == pytest.approx(430500 / 6050)
    assert report["config"]["admm_iters"] == 1 and report["config"]["retrain_epochs"] == 1  # given; quick
    assert report["config"]["w_epochs"] == 1  # given (quick alone: 3, tests/test_end_to_end.py's demo test)
    assert report["config"]["distill"] == 0.5 and report["config"]["rho_growth"] == 1.3   # the preset's
    plan = json.loads((out / "plan.json").read_text())
    assert plan["preset"] == "lenet5-relu-71x" and plan["rounds"][0]["config"] == report["config"]
    for name in ("report.md", "residuals.png", "accuracy.png", "sparsity.png", "history_admm.csv", "model.npz",
                 "baseline_model.npz"):
        assert (out / name).exists(), name
    assert len(json.loads((out / "history_admm.json").read_text())) == 1 * 4
    m = load_model(out / "model.npz")
    assert [int(np.count_nonzero(m.params[f"{n}.W"])) for n in ("conv1", "conv2", "fc1", "fc2")] == [100, 2000, 3600, 350]
    assert report["accuracy"]["after_retraining"] > 0.5
    capsys.readouterr()
    assert main(["prune", "--preset", "lenet5-relu-71x", "--quick", "--out", str(out)]) == 2
    assert "already holds a finished run" in capsys.readouterr().err


def test_no_retraining_writes_its_report(tmp_path):
    """--retrain-epochs 0 (with the baseline, which then gets no retraining either) finishes with a report."""
    out = tmp_path / "run"
    assert main(["prune", "--preset", "lenet5-71x-one-round", "--quick", "--admm-iters", "1", "--w-epochs", "1", "--retrain-epochs", "0",
                 "--from", str(ROOT / "models" / "lenet5-dense.npz"), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["kept"] == 6050 and report["config"]["retrain_epochs"] == 0
    assert report["accuracy"]["after_retraining"] == report["accuracy"]["after_hard_prune"]


def test_two_round_preset_and_resume_message(tmp_path, capsys):
    """A two-round preset runs round1/ then round2/ from round 1's model, with a row per round; --resume
    of a finished round says which options it ignores."""
    out = tmp_path / "run"
    assert main(["prune", "--preset", "lenet5-71x", "--quick", "--admm-iters", "1", "--w-epochs", "1",
                 "--retrain-epochs", "0", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [r["kept"] for r in report["rounds"]] == [17_800, 6_050]
    assert json.loads((out / "round2" / "run.json").read_text())["dense_from"] == str(out / "round1" / "model.npz")
    assert (out / "model.npz").read_bytes() == (out / "round2" / "model.npz").read_bytes()
    (out / "report.json").unlink()
    capsys.readouterr()
    assert main(["prune", "--resume", "--out", str(out), "--admm-iters", "5", "--distill", "0"]) == 0
    assert "ignoring --admm-iters, --distill" in capsys.readouterr().err
    assert json.loads((out / "report.json").read_text())["rounds"] == report["rounds"]


def interrupted_round(tmp_path, mnist, admm_iters, retrain_epochs, after_iteration):
    """A one-round quick plan at the paper's counts, run until the log line of ADMM iteration
    ``after_iteration`` raises KeyboardInterrupt (that iteration is checkpointed); returns (run dir, plan)."""
    from minadmm.pipeline.run import make_plan, run_plan
    from minadmm.pipeline.rundir import prepare_run_dir
    from minadmm.pruning import PruneConfig
    from minadmm.pruning.targets import PAPER_LENET5
    out = prepare_run_dir(tmp_path / "run", resume=False, overwrite=False)
    save_model(tmp_path / "dense.npz", lenet5(seed=0))
    plan = make_plan("lenet5", [{"keep": {n: kept for n, (_, kept) in PAPER_LENET5.items()},
                                 "config": PruneConfig(admm_iters=admm_iters, retrain_epochs=retrain_epochs)}],
                     str(tmp_path / "dense.npz"), baseline=False, quick=True)

    def interrupt(msg):
        if msg.startswith(f"ADMM {after_iteration}/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_plan(out, plan, mnist, log=interrupt)
    return out, plan


def test_interrupted_prune_resumes(tmp_path, mnist):
    """A prune run interrupted after ADMM iteration 2 resumes from its checkpoint (the dense stage's time
    survives into the report, and the ADMM stage's time counts the two iterations of the first process)."""
    from minadmm.pipeline.run import run_plan
    from minadmm.pipeline.rundir import prepare_run_dir
    out, plan = interrupted_round(tmp_path, mnist, admm_iters=3, retrain_epochs=1, after_iteration=2)
    first = {r["k"]: r["seconds"] for r in json.loads((out / "history_admm.json").read_text())}
    # iterations 1 and 2 finished and were checkpointed before the log line that raised
    with pytest.raises(ValueError, match="unfinished run"):
        prepare_run_dir(out, resume=False, overwrite=False)
    messages = []
    report = run_plan(prepare_run_dir(out, resume=True, overwrite=False), plan, mnist, resume=True,
                      log=messages.append)
    assert any("resumed ADMM" in m and "after iteration 2" in m for m in messages)
    ks = [r["k"] for r in json.loads((out / "history_admm.json").read_text())]
    assert sorted(set(ks)) == [1, 2, 3] and len(ks) == 12
    assert report["kept"] == 6050
    assert {"dense", "admm", "retrain", "total_this_process"} <= set(report["seconds"])
    rows = {r["k"]: r["seconds"] for r in json.loads((out / "history_admm.json").read_text())}
    assert rows[1] == first[1] and rows[2] == first[2]
    assert report["seconds"]["admm"] >= first[1] + first[2] + rows[3]


def test_run_records_its_threads_and_platform_and_warns_when_resumed_in_another(tmp_path, mnist, monkeypatch):
    """run.json records the thread setting (it fixes the floating-point order) and the platform (CPU, BLAS
    build, versions: they fix the bits too); resuming an unfinished round with another thread setting says so,
    naming the setting that would reproduce the uninterrupted run, and on another platform says what changed."""
    from minadmm.pipeline.run import run_plan
    from minadmm.train.parallel import platform_setting, thread_setting
    monkeypatch.setenv("MINADMM_WORKERS", "2")
    out, plan = interrupted_round(tmp_path, mnist, admm_iters=2, retrain_epochs=0, after_iteration=1)
    run = json.loads((out / "run.json").read_text())
    recorded = run["threads"]
    assert recorded == thread_setting() and recorded["workers"] == 2
    assert run["platform"] == platform_setting() and set(run["platform"]) == {"cpu", "blas", "numpy", "numba", "python"}
    monkeypatch.setenv("MINADMM_WORKERS", "1")
    messages = []
    report = run_plan(out, plan, mnist, resume=True, log=messages.append)
    warnings = [m for m in messages if m.startswith("warning:")]
    assert len(warnings) == 1 and "'workers': 2" in warnings[0] and "'workers': 1" in warnings[0]
    assert "MINADMM_WORKERS=2" in warnings[0]
    assert report["threads"] == recorded
    assert "2 gradient workers" in (out / "report.md").read_text()
    assert "Platform (another CPU" in (out / "report.md").read_text()
    messages.clear()
    monkeypatch.setenv("MINADMM_WORKERS", "2")  # the threads it started with, on another CPU
    (out / "report.json").unlink()
    run = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps({**run, "platform": {**run["platform"], "cpu": "another CPU"}}))
    report = run_plan(out, plan, mnist, resume=True, log=messages.append)
    warnings = [m for m in messages if m.startswith("warning:")]
    assert len(warnings) == 1 and "'another CPU' -> " + repr(platform_setting()["cpu"]) in warnings[0]
    assert report["platform"]["cpu"] == "another CPU"  # the platform the run started on


def test_diverging_run_stops_with_advice(tmp_path, capsys, mnist):
    out = tmp_path / "run"
    code = main(["prune", "--preset", "lenet5-71x", "--quick", "--from", str(ROOT_MODELS / "lenet5-dense.npz"),
                 "--out", str(out), "--lr", "1000", "--no-baseline"])
    err = capsys.readouterr().err
    assert code == 2
    assert "ADMM diverged at iteration 1" in err and "smaller --rho" in err and "smaller --lr" in err
    assert "Traceback" not in err
ROOT_MODELS = ROOT / "models"


def test_balanced_rho_validation_split_and_convergence_report(tmp_path):
    """--rho-schedule balanced moves each layer's rho by Boyd's rule from its own residuals; --val holds out
    training images and reports accuracy on them; the report says per layer whether ADMM converged."""
    from minadmm.admm.rho import ResidualBalancing
    out = tmp_path / "run"
    assert main(["prune", "--preset", "lenet5-71x-one-round", "--quick", "--admm-iters", "3", "--w-epochs", "1", "--retrain-epochs", "1",
                 "--rho-schedule", "balanced", "--val", "1000", "--no-baseline", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["rho_schedule"] == "balanced" and report["config"]["val"] == 1000
    assert set(report["val_accuracy"]) == {"dense", "admm_before_hard_prune", "after_hard_prune", "after_retraining"}
    rows = json.loads((out / "history_admm.json").read_text())
    rule = ResidualBalancing(1e-3)
    for layer in ("conv1", "conv2", "fc1", "fc2"):
        mine = [r for r in rows if r["layer"] == layer]
        assert all("val_acc" in r for r in mine)
        for a, b in zip(mine, mine[1:]):
            assert b["rho"] == rule.next(a["k"], a["rho"], a["r"], a["s"])
        c = report["convergence"][layer]
        assert c["iterations"] == 3 and c["met_at_end"] == (mine[-1]["r"] <= mine[-1]["eps_pri"]
                                                           and mine[-1]["s"] <= mine[-1]["eps_dual"])
    assert "ADMM convergence" in (out / "report.md").read_text()
    assert all("val_acc" in r for r in json.loads((out / "history_retrain.json").read_text()))


def test_fit_holds_out_a_validation_split(mnist):
    X, y, Xt, yt = small(mnist)
    h = fit(lenet5(seed=0), (X, y, Xt, yt), TrainConfig(epochs=1, val=100), log=lambda s: None)
    assert 0 <= h[0]["val_acc"] <= 1 and h[0]["samples_per_s"] > 0
    with pytest.raises(ValueError, match="val=600"):
        fit(lenet5(seed=0), (X, y, Xt, yt), TrainConfig(epochs=1, val=600), log=lambda s: None)


def small_run(tmp_path, mnist, keep, **config):
    """One round of ``run_plan`` on 600 training and 500 test images from the dense ``lenet5_relu`` model:
    1 ADMM iteration, 1 retraining epoch, the baseline; returns (run directory, report)."""
    from minadmm.pipeline.run import make_plan, run_plan
    from minadmm.pruning import PruneConfig
    X, y, Xt, yt = mnist
    out = tmp_path / "run"
    out.mkdir()
    cfg = PruneConfig(admm_iters=1, retrain_epochs=1, **config)
    plan = make_plan("lenet5_relu", [{"keep": keep, "config": cfg}], str(ROOT / "models" / "lenet5-relu-dense.npz"))
    return out, run_plan(out, plan, (X[:600], y[:600], Xt[:500], yt[:500]), log=lambda s: None)


def test_structured_round_shrinks(tmp_path, mnist):
    """Structured targets: the pruned model keeps at most k filters/units, is shrunk to a smaller dense
    LeNet-5 with the same predictions, and the baseline keeps the filters of largest L1 norm (Li et al.)."""
    from minadmm.admm.structured import group_mask
    from minadmm.pruning.targets import parse_keep
    keep = parse_keep("conv1=filters:6,conv2=filters:16,fc1=units:100", lenet5())
    assert keep == {"conv1": "filters:6", "conv2": "filters:16", "fc1": "units:100"}
    out, report = small_run(tmp_path, mnist, keep)
    shrunk = report["shrunk"]
    assert shrunk["same_predictions"] and shrunk["widths"] == [6, 16, 100]
    assert shrunk["macs"] == 6 * 25 * 576 + 16 * 6 * 25 * 64 + 256 * 100 + 100 * 10
    small = load_model(out / "model_small.npz", arch="lenet5_relu")
    assert small.n_params() == shrunk["params"]
    m = load_model(out / "model.npz")
    assert np.count_nonzero(np.abs(m.params["conv1.W"]).sum(axis=(1, 2, 3))) <= 6
    assert np.count_nonzero(np.abs(m.params["fc1.W"]).sum(axis=0)) <= 100
    base, d = load_model(out / "baseline_model.npz"), load_model(ROOT / "models" / "lenet5-relu-dense.npz")
    l1 = group_mask(d.params["conv1.W"], "filters", 6, norm="l1")
    assert not np.any(base.params["conv1.W"][~l1])
    assert not np.array_equal(l1, group_mask(d.params["conv1.W"], "filters", 6))  # L1 and L2 rankings differ here


@pytest.mark.parametrize("retrain", ["scale", "codebook"])
def test_quantized_round_packs(tmp_path, mnist, capsys, retrain):
    """Quantized layers: each layer's non-zeros take at most 2^b values (the scale trained, or each codebook
    value apart: then they leave the power-of-two grid), the packed file holds the model exactly (the same
    arrays), and ``minadmm evaluate`` reads it."""
    from minadmm.sparse.packed import unpack
    out, report = small_run(tmp_path, mnist, {"conv1": 60, "conv2": 700, "fc1": 720, "fc2": 242},
                            quant_bits={"conv2": 2, "fc1": 3}, quant_levels="pow2", quant_retrain=retrain)
    m = load_model(out / "model.npz")
    for name, bits in (("conv2", 2), ("fc1", 3)):
        W = m.params[f"{name}.W"]
        values = np.unique(np.abs(W[W != 0]).astype(np.float64))
        assert values.size <= 2 ** bits and report["quantization"][name]["bits"] == bits
        assert report["quantization"][name]["retrain"] == retrain
        ratios = values / values.max()  # on the pow2 grid: every ratio a power of two
        on_grid = np.allclose(np.exp2(np.round(np.log2(ratios))), ratios, rtol=1e-5)
        assert on_grid == (retrain == "scale"), (name, ratios)
        assert np.count_nonzero(W) <= {"conv2": 700, "fc1": 720}[name]
    assert "conv1" not in report["quantization"]
    packed = unpack(out / "model.mpk")
    for k, v in m.params.items():
        np.testing.assert_array_equal(packed.params[k], v, err_msg=k)
    assert report["packed"]["file_bytes"] == (out / "model.mpk").stat().st_size
    md = (out / "report.md").read_text()  # the report gives the file's ratios and each layer's bits
    assert f"Packed file (`model.mpk`, docs/formats.md): {report['packed']['file_bytes']:,} bytes" in md
    assert f"| fc1 | 3, pow2, {retrain} | " in md and "| conv1 | not quantized | " in md
    assert main(["evaluate", str(out / "model.mpk"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nonzero_weights"] == report["kept"]


def test_progressive_baseline_chain(tmp_path, mnist):
    """In a recipe of several rounds the baseline of round r + 1 prunes round r's baseline by magnitude:
    its support is a subset of the previous one (progressive magnitude pruning), and the report has a row
    per round with both accuracies."""
    from minadmm.pipeline.run import make_plan, run_plan
    from minadmm.pruning import PruneConfig
    X, y, Xt, yt = mnist
    data = (X[:600], y[:600], Xt[:200], yt[:200])
    cfg = PruneConfig(admm_iters=1, retrain_epochs=0)
    rounds = [{"keep": {"conv1": 100, "conv2": 2000, "fc1": 3600, "fc2": 350}, "config": cfg},
              {"keep": {"conv1": 60, "conv2": 700, "fc1": 720, "fc2": 242}, "config": cfg}]
    out = tmp_path / "run"
    out.mkdir()
    report = run_plan(out, make_plan("lenet5_relu", rounds, str(ROOT / "models" / "lenet5-relu-dense.npz")), data,
                      log=lambda s: None)
    assert [r["kept"] for r in report["rounds"]] == [6050, 1722]
    assert all(r["baseline_acc"] is not None for r in report["rounds"])
    assert json.loads((out / "round2" / "run.json").read_text())["dense_from"] == str(out / "round1" / "model.npz")
    supports = [{n: load_model(out / f"round{r}" / "baseline_model.npz").params[f"{n}.W"] != 0
                 for n in ("conv1", "conv2", "fc1", "fc2")} for r in (1, 2)]
    assert all(not np.any(supports[1][n] & ~supports[0][n]) for n in supports[0])
    assert all(int(supports[1][n].sum()) == k for n, k in rounds[1]["keep"].items())


def test_quick_schedule_unless_given():
    """--quick sets the short schedule (10 ADMM iterations of 3 epochs, 1 retraining epoch) unless an option
    beside it says otherwise; the preset's other values stay."""
    from minadmm.cli import build_parser
    from minadmm.cli.prune import resolve_plan
    args = build_parser().parse_args(["prune", "--preset", "lenet5-relu-71x", "--quick", "--admm-iters", "1",
                                      "--out", "x"])
    cfg = resolve_plan(args, "")["rounds"][0]["config"]
    assert (cfg["admm_iters"], cfg["w_epochs"], cfg["retrain_epochs"]) == (1, 3, 1)
    assert cfg["rho_growth"] == 1.3 and cfg["distill"] == 0.5
