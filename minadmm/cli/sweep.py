"""``minadmm sweep``: many ordinary ``minadmm prune`` runs from one spec, run through joblib (local processes, or a
Dask cluster), resumable, summarised in one table and a Pareto plot.

A spec (JSON) names a preset and the values to vary; every combination of ``grid`` values, times every
entry of ``runs``, is one run, with those values overriding the preset's in every round:

    {"preset": "lenet5-relu-71x",
     "grid": {"rho_growth": [1.2, 1.3], "seed": [0, 1, 2]},
     "runs": [{}, {"budget": 6050, "keep": "conv1=500,conv2=25000,fc1=400000,fc2=5000"}],
     "baseline": false, "quick": false}

Each run is a subprocess ``python -m minadmm prune --preset ... --out DIR/<name>`` with its share of the
cores (``MINADMM_WORKERS``, one BLAS thread), so a run of a sweep is exactly the run its command gives.
A run whose ``report.json`` exists is skipped; an interrupted one is resumed.
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from ..errors import InputError
from ..pruning.config import PruneConfig
from ..report.plots import plot_pareto
from ..train.records import save_history
from .common import CLIError
from .prune import SCHEDULE_OPTIONS, SWITCHES

SPEC_KEYS = {"preset", "grid", "runs", "baseline", "quick"}
RUN_KEYS = {"keep", "from"}  # per-run values that are not schedule settings


def load_spec(path):
    """The spec at ``path``, checked: known keys, a preset name, lists of values, known settings."""
    from ..pipeline.presets import load_preset, override
    try:
        spec = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"sweep spec {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise InputError(f"sweep spec {path} is not valid JSON: {err}") from None
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise InputError(f"sweep spec {path}: unknown key {unknown[0]!r}; valid keys are {sorted(SPEC_KEYS)}")
    if "preset" not in spec:
        raise InputError(f"sweep spec {path}: give \"preset\" (minadmm presets lists them)")
    load_preset(spec["preset"])
    grid, runs = spec.get("grid", {}), spec.get("runs", [{}])
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InputError(f"sweep spec {path}: grid {name!r} must be a non-empty list of values, not {values!r}")
    valid = set(PruneConfig.__dataclass_fields__) | RUN_KEYS
    for name in list(grid) + [k for r in runs for k in r]:
        if name not in valid:
            raise InputError(f"sweep spec {path}: unknown setting {name!r}; valid settings are {sorted(valid)}")
    spec = {"preset": spec["preset"], "grid": grid, "runs": runs, "baseline": spec.get("baseline", False),
            "quick": spec.get("quick", False)}
    preset = load_preset(spec["preset"])
    for name, values in expand(spec):  # every run's settings checked before any run starts
        try:
            override(preset, {k: v for k, v in values.items() if k not in RUN_KEYS})
        except (InputError, TypeError) as err:
            raise InputError(f"sweep spec {path}, run {name}: {err}") from None
    return spec


def expand(spec):
    """The runs of a spec: [(name, {setting: value})], in a fixed order (grid in its order, then ``runs``)."""
    names = list(spec["grid"])
    out = []
    for combo in itertools.product(*(spec["grid"][n] for n in names)):
        for extra in spec["runs"]:
            values = {**dict(zip(names, combo)), **extra}
            name = ",".join(f"{k}={v}" for k, v in values.items()) or "preset"
            out.append((name.replace("/", "_").replace(" ", ""), values))
    return out


def prune_command(spec, values, out):
    """The ``minadmm prune`` argument list of one run."""
    options = {field: option for option, field, *_ in SCHEDULE_OPTIONS}
    switches = {field: (option, value) for option, field, value, _ in SWITCHES}
    args = ["prune", "--preset", spec["preset"], "--out", str(out)]
    for k, v in values.items():
        if k in RUN_KEYS:
            args += [f"--{k}", str(v)]
        elif k in switches:
            if v == switches[k][1]:
                args.append(switches[k][0])
            elif v != (not switches[k][1]):
                raise InputError(f"sweep setting {k}={v!r}: expected true or false")
        else:
            args += [options[k], str(v)]
    if not spec["baseline"]:
        args.append("--no-baseline")
    if spec["quick"]:
        args.append("--quick")
    return args


def run_one(args, out, workers, data_dir):
    """One run in a subprocess with ``workers`` gradient threads and one BLAS thread; resumes an unfinished
    run, skips a finished one. Returns the run's report (dict)."""
    out = Path(out)
    if not (out / "report.json").exists():
        env = dict(os.environ, MINADMM_WORKERS=str(workers), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   NUMBA_NUM_THREADS=str(workers))
        if data_dir:
            env["MINADMM_DATA"] = str(data_dir)
        resume = ["--resume"] if (out / "plan.json").exists() else []
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "console.log", "a") as log:
            r = subprocess.run([sys.executable, "-m", "minadmm", *args, *resume], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise CLIError(f"sweep run {out} failed (exit {r.returncode}); see {out / 'console.log'}; "
                           f"the finished runs are kept, and the sweep resumes where it stopped")
    return json.loads((out / "report.json").read_text())


def run_sweep(spec, out, jobs=None, dask=None, data_dir=None, log=print):
    """Every run of ``spec`` into ``out``/<name>, ``jobs`` at a time (default: one per two cores) through
    joblib: local processes, or the Dask cluster at ``dask`` (a scheduler address). Returns the table rows."""
    import joblib
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.json").write_text(json.dumps(spec, indent=1))
    runs = expand(spec)
    cores = os.cpu_count() or 1
    jobs = jobs or max(1, cores // 2)
    workers = max(1, cores // jobs) if dask is None else 1
    done = sum((out / name / "report.json").exists() for name, _ in runs)
    log(f"sweep: {len(runs)} runs ({done} finished), {jobs} at a time, {workers} gradient thread(s) each"
        + (f", on the Dask cluster at {dask}" if dask else ""))
    tasks = [joblib.delayed(run_one)(prune_command(spec, values, out / name), out / name, workers, data_dir)
             for name, values in runs]
    if dask is None:
        reports = joblib.Parallel(n_jobs=jobs, backend="loky")(tasks)
    else:
        from dask.distributed import Client
        with Client(dask), joblib.parallel_backend("dask"):
            reports = joblib.Parallel(n_jobs=jobs)(tasks)
    rows = [table_row(name, values, rep) for (name, values), rep in zip(runs, reports)]
    write_table(rows, out)
    plot_pareto(rows, pareto(rows), out / "pareto.png")
    return rows


def table_row(name, values, report):
    conv = report.get("convergence") or {}
    return {"run": name, **values, "kept": report["kept"],
            "compression": round(report["compression"], 2),
            "test_acc": report["accuracy"]["after_retraining"],
            "val_acc": (report.get("val_accuracy") or {}).get("after_retraining"),
            "baseline_acc": report.get("baseline_magnitude_acc"),
            "converged": all(c["met_at_end"] for c in conv.values()) if conv else None,
            "minutes": round(sum(v for k, v in report["seconds"].items() if k != "total_this_process") / 60, 2)}


def write_table(rows, out):
    """sweep.csv/.json and sweep.md in ``out``: one row per run (the runs' wall times are left out of the
    Markdown so that tables of the same sweep on other machines compare equal)."""
    save_history(rows, out, "sweep")
    keys = list(dict.fromkeys(k for r in rows for k in r))
    shown = [k for k in keys if k != "minutes"]
    fmt = {"test_acc": "{:.2%}", "val_acc": "{:.2%}", "baseline_acc": "{:.2%}"}
    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for r in rows:
        lines.append("| " + " | ".join("" if r.get(k) is None else fmt.get(k, "{}").format(r[k]) for k in shown) + " |")
    (out / "sweep.md").write_text("\n".join(lines) + "\n")


def pareto(rows):
    """The runs no other run beats in both compression and test accuracy (ties count as not beaten)."""
    return [r for r in rows if not any(o["compression"] >= r["compression"] and o["test_acc"] >= r["test_acc"]
                                       and (o["compression"], o["test_acc"]) != (r["compression"], r["test_acc"])
                                       for o in rows)]


def add_sweep_parser(sub):
    p = sub.add_parser("sweep", help="many prune runs from one spec (grid of settings x seeds), one table")
    p.add_argument("spec", help="the sweep's JSON spec (see minadmm/cli/sweep.py)")
    p.add_argument("--out", required=True, help="directory: one run directory per run, sweep.csv/.md, pareto.png")
    p.add_argument("--jobs", type=int, default=None, help="runs at a time (default: one per two cores)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); needs the dask extra")
    p.add_argument("--data", default=None, help="MNIST directory for every run (default: $MINADMM_DATA)")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args):
    spec = load_spec(args.spec)
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: expected a number of runs at a time >= 1")
    if args.dask:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise InputError("--dask needs Dask: pip install -e \".[dask]\"") from None
    rows = run_sweep(spec, args.out, args.jobs, args.dask, args.data)
    print(f"{len(rows)} runs; table {Path(args.out) / 'sweep.md'}, plot {Path(args.out) / 'pareto.png'}")
    return 0
