"""``minadmm sweep``: a spec expands to runs, each an ordinary prune run; resumable; one table; Dask optional."""
import json
import os

import pytest

from conftest import ROOT
from minadmm.cli import main
from minadmm.cli.sweep import expand, load_spec, pareto, prune_command
from minadmm.errors import InputError

DATA = os.environ.get("MINADMM_DATA", str(ROOT.parent / "shared" / "data" / "mnist"))


def write(tmp_path, spec):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_spec_expands_to_every_combination_in_order(tmp_path):
    spec = load_spec(write(tmp_path, {"preset": "lenet5-relu-71x", "grid": {"rho_growth": [1.2, 1.3], "seed": [0, 1]},
                                      "runs": [{}, {"budget": 6050, "keep": "conv1=500,conv2=25000,fc1=400000,fc2=5000"}]}))
    runs = expand(spec)
    assert [name for name, _ in runs][:3] == ["rho_growth=1.2,seed=0", "rho_growth=1.2,seed=0,budget=6050,keep=conv1=500,"
                                              "conv2=25000,fc1=400000,fc2=5000", "rho_growth=1.2,seed=1"]
    assert len(runs) == 8
    args = prune_command(spec, runs[1][1], tmp_path / "r")
    assert args[:3] == ["prune", "--preset", "lenet5-relu-71x"] and "--no-baseline" in args
    assert args[args.index("--rho-growth") + 1] == "1.2" and args[args.index("--budget") + 1] == "6050"
    assert args[args.index("--keep") + 1] == "conv1=500,conv2=25000,fc1=400000,fc2=5000"


def test_switches_become_flags(tmp_path):
    spec = load_spec(write(tmp_path, {"preset": "lenet5-relu-71x", "runs": [{"early_stop": True}], "quick": True}))
    args = prune_command(spec, expand(spec)[0][1], tmp_path / "r")
    assert "--early-stop" in args and "--quick" in args


@pytest.mark.parametrize("spec,message", [
    ({"grid": {"seed": [0]}}, 'give "preset"'),
    ({"preset": "lenet5-relu-71x", "colour": 1}, "unknown key 'colour'"),
    ({"preset": "lenet5-relu-71x", "grid": {"rho_growht": [1.2]}}, "unknown setting 'rho_growht'"),
    ({"preset": "lenet5-relu-71x", "grid": {"seed": 3}}, "grid 'seed' must be a non-empty list"),
    ({"preset": "lenet5-relu-71x", "grid": {"retrain_epochs": [8, -1]}}, "run retrain_epochs=-1"),
    ({"preset": "no-such-preset"}, "unknown preset 'no-such-preset'"),
])
def test_bad_specs_are_refused_before_any_run(spec, message, tmp_path):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        load_spec(write(tmp_path, spec))


def test_pareto_front():
    rows = [{"compression": 70, "test_acc": 0.99}, {"compression": 80, "test_acc": 0.98},
            {"compression": 60, "test_acc": 0.985}, {"compression": 80, "test_acc": 0.97}]
    assert pareto(rows) == rows[:2]


QUICK = {"preset": "lenet5-relu-71x", "grid": {"seed": [0, 1]}, "quick": True,
         "runs": [{"admm_iters": 1, "w_epochs": 1, "retrain_epochs": 0}]}


def test_two_run_sweep_locally_then_resumed(tmp_path):
    spec = write(tmp_path, QUICK)
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--out", str(out), "--jobs", "2", "--data", DATA]) == 0
    table = (out / "sweep.md").read_text()
    assert table.count("\n") == 4 and "seed=0" in table and "seed=1" in table
    for seed in (0, 1):
        report = json.loads((out / f"seed={seed},admm_iters=1,w_epochs=1,retrain_epochs=0" / "report.json").read_text())
        assert report["kept"] == 6050 and report["config"]["seed"] == seed
    mtime = (out / "seed=0,admm_iters=1,w_epochs=1,retrain_epochs=0" / "report.json").stat().st_mtime
    assert main(["sweep", str(spec), "--out", str(out), "--data", DATA]) == 0  # finished runs are skipped
    assert (out / "sweep.md").read_text() == table
    assert (out / "seed=0,admm_iters=1,w_epochs=1,retrain_epochs=0" / "report.json").stat().st_mtime == mtime
    assert (out / "pareto.png").stat().st_size > 0


@pytest.mark.slow  # starts a local Dask cluster (about 15 s): with the slow tests
def test_two_run_sweep_on_a_local_dask_cluster_gives_the_local_table(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    spec = write(tmp_path, QUICK)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "local"), "--jobs", "2", "--data", DATA]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(["sweep", str(spec), "--out", str(tmp_path / "dask"), "--jobs", "2", "--dask",
                     cluster.scheduler_address, "--data", DATA]) == 0
    assert (tmp_path / "dask" / "sweep.md").read_text() == (tmp_path / "local" / "sweep.md").read_text()
