"""Write the result tables of README.md, results/README.md and docs/experiments.md from the committed
reports, so that no number is typed twice. Run from anywhere: ``python docs/tables.py``; ``--check`` exits 1
(and names the file) when a table differs from what the reports give.

A table sits between ``<!-- table:NAME -->`` and ``<!-- /table -->``; everything outside is left alone.
``admm_loop`` is not a table but the ADMM loop quoted from the source into docs/paper_map.md.
Sources: results/<run>/report.json (and plan.json, run.json) of the committed runs, results/lenet5*-dense/
summary.json, results/experiments/*/ with results/experiments/notes.json (one line per folder: what changed),
results/bench_*.jsonl.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
MODELS = {  # committed model file -> the run directory (under results/) that made it
    "models/lenet5-relu-admm-71x.npz": "lenet5-relu-71x",
    "models/lenet5-relu-admm-71x-converge.npz": "lenet5-relu-71x-converge",
    "models/lenet5-admm-71x.npz": "lenet5-71x",
    "models/lenet5-admm-250x.npz": "lenet5-relu-250x-vd",
    "models/lenet5-admm-quantized.npz": "lenet5-relu-205x-vd-quantized",
}
HEADLINES = ["lenet5-relu-71x", "lenet5-relu-71x-converge", "lenet5-71x", "lenet5-relu-250x-vd", "lenet5-relu-250x",
             "lenet5-relu-205x-vd-quantized", "lenet5-relu-250x-quantized"]  # the runs reported across seeds
DENSE = {"models/lenet5-dense.npz": "lenet5-dense", "models/lenet5-relu-dense.npz": "lenet5-relu-dense",
         "models/lenet5-relu-dense-val.npz": "lenet5-relu-dense-val"}
COPIES = {"runs/lenet5-relu-dense-val/model.npz": "models/lenet5-relu-dense-val.npz"}  # run output -> committed copy
NETWORK = {"lenet5": "`lenet5` (PAPER.md: no ReLU after the convolutions)",
           "lenet5_relu": "`lenet5_relu` (the authors' code: ReLU after the convolutions)"}


def load(path):
    return json.loads(Path(path).read_text())


def pct(x):
    return "" if x is None else f"{100 * x:.2f}%"


def minutes(report, stages=("sparse_vd", "admm", "retrain")):
    return sum(report["seconds"].get(s, 0.0) for s in stages) / 60


def final(report, split="accuracy"):
    """A round's test (or "val_accuracy") accuracy at its end: after sparse VD or after masked retraining."""
    from minadmm.pipeline.run import final_accuracy
    return final_accuracy(report, split)


def round_reports(run):
    """The reports of a run directory's rounds, in order (one for a one-round run)."""
    rounds = sorted((p for p in run.glob("round[0-9]*") if p.name[5:].isdigit() and (p / "report.json").exists()),
                    key=lambda p: int(p.name[5:]))
    return [load(p / "report.json") for p in rounds] or [load(run / "report.json")]


def results_table():
    lines = ["| model | network | dense | kept weights | test accuracy | magnitude baseline | minutes: sparse VD, ADMM and retraining (whole run) | command |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for model, run in MODELS.items():
        reports = round_reports(RESULTS / run)
        last, plan = reports[-1], load(RESULTS / run / "plan.json")
        rounds = f" in {len(reports)} rounds" if len(reports) > 1 else ""
        lines.append(f"| `{model}` | {NETWORK[last['arch']]} | {pct(reports[0]['accuracy']['dense'])} | "
                     f"{last['kept']:,} ({last['compression']:.1f}x){rounds} | **{pct(last['accuracy']['after_retraining'])}** | "
                     f"{pct(last.get('baseline_magnitude_acc')) or 'not run'} | "
                     f"{sum(minutes(r) for r in reports):.1f} "
                     f"({sum(minutes(r, ('dense', 'sparse_vd', 'admm', 'retrain', 'baseline')) for r in reports):.1f}) | "
                     f"`minadmm prune --preset {plan['preset']}` |")
    for model, run in DENSE.items():
        s = load(RESULTS / run / "summary.json")
        lines.append(f"| `{model}` | {NETWORK[s['model']]} | | 430,500 (dense) | {pct(s['test_acc'])} | | | "
                     f"`{s['command'].replace(' --out runs/' + run, '')}` |")
    return "\n".join(lines)


def accuracy_stages():
    lines = ["| model | dense | end of ADMM (W, dense) | after hard pruning | after masked retraining |",
             "|---|---:|---:|---:|---:|"]
    for model, run in MODELS.items():
        for i, r in enumerate(round_reports(RESULTS / run)):
            a = r["accuracy"]
            name = f"`{model}`" + (f" round {i + 1} ({r['kept']:,} weights)" if (RESULTS / run / "round1").exists() else "")
            if r.get("kind") == "sparse_vd":
                lines.append(f"| {name}: sparse VD, weights of log alpha < 3 | {pct(a['dense'])} | | | {pct(a['sparse_vd'])} |")
                continue
            lines.append(f"| {name} | {pct(a['dense'])} | {pct(a['admm_before_hard_prune'])} | "
                         f"{pct(a['after_hard_prune'])} | {pct(a['after_retraining'])} |")
    return "\n".join(lines)


ABSENT = {"weight_decay": 0.0}  # what a setting a run.json does not record meant when it was made (no L2)


CONVERGENCE = {  # run directory under results/ -> what it is
    "lenet5-relu-71x-converge": "`lenet5-relu-71x-converge`",
    "lenet5-relu-71x": "`lenet5-relu-71x`",
    "lenet5-71x/round2": "`lenet5-71x`, round 2",
}


def convergence_table():
    """Per run and layer: did ADMM meet Boyd's criterion, and when (from the run's history)."""
    from minadmm.report.report import convergence
    lines = ["| run | tolerances (eps_abs, eps_rel) | iterations | conv1 | conv2 | fc1 | fc2 |", "|---|---|---:|---|---|---|---|"]
    for run, name in CONVERGENCE.items():
        d = RESULTS / run
        header, *rows = csv_rows(d / "history_admm.csv")
        hist = [dict(zip(header, v)) for v in rows]
        cfg = load(d / "run.json")["config"]
        conv = convergence(hist)
        cells = []
        for layer in ("conv1", "conv2", "fc1", "fc2"):
            c = conv[layer]
            met = f"met from {c['converged_at']}" if c["met_at_end"] else (
                f"met at {c['converged_at']}, not at the end" if c["converged_at"] else "never met")
            cells.append(f"{met}: r/eps_pri {c['r'] / c['eps_pri']:.2g}, s/eps_dual {c['s'] / c['eps_dual']:.2g}")
        lines.append(f"| {name} | {cfg['eps_abs']:g}, {cfg['eps_rel']:g} | {c['iterations']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


BUDGET = ["lenet5-relu-71x", "lenet5-relu-71x-budget"]  # the same schedule: the paper's counts, one budget


def multiply_adds(arch, kept):
    """Multiply-adds per image of a pruned network with ``kept`` = {layer: non-zeros}: each layer's dense
    count (``sparse.flops``, layer by layer) times its kept fraction."""
    from minadmm.nn.model import build
    from minadmm.sparse.flops import flops
    layers = build(arch).layers
    total = 0
    for j, (name, layer) in enumerate(layers):
        if name in kept:
            per_layer = (flops(layers[:j + 1]) - flops(layers[:j])) // 2
            total += per_layer * kept[name] // layer.params["W"].size
    return total


def budget_table():
    """Per-layer counts by hand (the paper's) against those one global budget chose, with the accuracies."""
    lines = ["| recipe | non-zeros conv1 / conv2 / fc1 / fc2, each seed | multiply-adds per image (seed 0) | "
             "test accuracy, each seed | mean +- sd | magnitude baseline (seed 0) |", "|---|---|---:|---|---:|---:|"]
    for run in BUDGET:
        if not (RESULTS / run).exists():
            continue
        runs = seed_runs(run)
        counts = [" / ".join(f"{r['kept']:,}" for r in report["layers"]) for _, report, _ in runs]
        counts = f"{counts[0]} (each seed)" if len(set(counts)) == 1 else "; ".join(counts)
        acc = [r["accuracy"]["after_retraining"] for _, r, _ in runs]
        first = runs[0][1]
        macs = multiply_adds(first["arch"], {r["layer"]: r["kept"] for r in first["layers"]})
        lines.append(f"| `{load(RESULTS / run / 'plan.json')['preset']}` | {counts} | {macs:,} | {', '.join(pct(a) for a in acc)} | "
                     f"**{mean_sd(acc)}** | {pct(runs[0][1].get('baseline_magnitude_acc'))} |")
    return "\n".join(lines)


SWEEP = "sweep-budgets"  # the committed sweep (results/<SWEEP>/sweep.csv)


def sweep_table():
    """The committed sweep by budget: compression and test accuracy of each seed, mean +- sd."""
    import csv
    path = RESULTS / SWEEP / "sweep.csv"
    if not path.exists():
        return "(no committed sweep)"
    with open(path) as f:
        rows = list(csv.DictReader(f))
    lines = ["| budget (non-zero weights) | compression | test accuracy, each seed | mean +- sd | validation, mean |",
             "|---:|---:|---|---:|---:|"]
    for budget in sorted({int(r["budget"]) for r in rows}, reverse=True):
        rr = sorted((r for r in rows if int(r["budget"]) == budget), key=lambda r: int(r["seed"]))
        acc = [float(r["test_acc"]) for r in rr]
        val = [float(r["val_acc"]) for r in rr if r.get("val_acc")]
        lines.append(f"| {budget:,} | {float(rr[0]['compression']):.1f}x | {', '.join(pct(a) for a in acc)} | "
                     f"**{mean_sd(acc)}** | {pct(sum(val) / len(val)) if val else ''} |")
    real = re.search(r"^real\s+(\d+)m([\d.]+)s", (RESULTS / SWEEP / "console.log").read_text(), re.M)
    if real:
        lines += ["", f"{len(rows)} runs in {int(real[1]) + float(real[2]) / 60:.1f} minutes of wall time "
                      f"(`time`, `{SWEEP}/console.log`)."]
    return "\n".join(lines)


def csv_rows(path):
    """The rows of a history CSV with numbers as floats (k as int)."""
    import csv
    with open(path) as f:
        rows = list(csv.reader(f))
    yield rows[0]
    for row in rows[1:]:
        yield [v if h == "layer" else (int(v) if h == "k" else float(v)) for h, v in zip(rows[0], row)]


def seed_runs(run):
    """The reports of the run that made a committed model and of its seed runs (results/seeds/<run>-seed*/),
    as (seed, last round's report) pairs, in seed order."""
    runs = [RESULTS / run] + sorted((RESULTS / "seeds").glob(f"{run}-seed*"))
    out = [(load(r / "plan.json")["rounds"][-1]["config"]["seed"], round_reports(r)[-1], r) for r in runs]
    return sorted(out, key=lambda p: p[0])


def boyd_summary(run):
    """From the ADMM history of a run's last round: 'every layer at k = 47' or '1 of 4 layers at k = 16'."""
    from minadmm.report.report import convergence
    last = sorted(run.glob("round[0-9]*"), key=lambda p: int(p.name[5:]))[-1:] or [run]
    header, *rows = csv_rows(last[0] / "history_admm.csv")
    conv = convergence([dict(zip(header, v)) for v in rows])
    met, k = sum(c["met_at_end"] for c in conv.values()), max(c["iterations"] for c in conv.values())
    if met == len(conv):
        return f"every layer at k = {k}"
    return f"no layer at k = {k}" if met == 0 else f"{met} of {len(conv)} layers at k = {k}"


def mean_sd(values):
    """'mean +- sd' in percent (sd of the sample, n - 1), or the one value."""
    import statistics
    if len(values) < 2:
        return pct(values[0])
    return f"{100 * statistics.mean(values):.2f}% +- {100 * statistics.stdev(values):.2f}"


def seeds_table():
    lines = ["| recipe | seeds | test accuracy, each seed | mean +- sd | magnitude baseline, each seed | mean +- sd | "
             "ADMM met Boyd's criterion, each seed |", "|---|---:|---|---:|---|---:|---|"]
    for run in HEADLINES:
        runs = seed_runs(run)
        acc = [r["accuracy"]["after_retraining"] for _, r, _ in runs]
        base = [r.get("baseline_magnitude_acc") for _, r, _ in runs]
        base = [b for b in base if b is not None]
        lines.append(f"| `{load(RESULTS / run / 'plan.json')['preset']}` | {', '.join(str(s) for s, _, _ in runs)} | "
                     f"{', '.join(pct(a) for a in acc)} | **{mean_sd(acc)}** | {', '.join(pct(b) for b in base)} | "
                     f"{mean_sd(base) if base else ''} | {'; '.join(boyd_summary(d) for _, _, d in runs)} |")
    return "\n".join(lines)


CANDIDATES_250X = [  # (candidate, its runs for seeds 0, 1, 2 under results/)
    ("sparse variational dropout, then one ADMM round to 1,722 weights, its W-step on the sparse VD model's non-zeros "
     "(the preset `lenet5-relu-250x-vd`, the committed model)",
     ["lenet5-relu-250x-vd", "seeds/lenet5-relu-250x-vd-seed1", "seeds/lenet5-relu-250x-vd-seed2"]),
    ("the chain of smaller steps, its last round's W-step on the 1,900-weight model's non-zeros (the preset "
     "`lenet5-relu-250x`)",
     ["lenet5-relu-250x", "seeds/lenet5-relu-250x-seed1", "seeds/lenet5-relu-250x-seed2"]),
    ("the same chain, its last round's W-step dense (`relu-250x-dense-last-round/`: 3,230, 2,600, 2,100, 1,900, then "
     "1,722 weights)", [f"experiments/relu-250x-dense-last-round{s}" for s in ("", "-seed1", "-seed2")]),
    ("`relu-250x-three-rounds/` (3,230 weights, then 1,722)",
     [f"experiments/relu-250x-three-rounds{s}" for s in ("", "-seed1", "-seed2")]),
]
QUANT_CANDIDATES = [
    ("`lenet5-relu-205x-vd-quantized` (sparse VD, ADMM to 2,100 weights, then quantized; chosen)",
     ["lenet5-relu-205x-vd-quantized", "seeds/lenet5-relu-205x-vd-quantized-seed1",
      "seeds/lenet5-relu-205x-vd-quantized-seed2"]),
    ("`relu-205x-vd-quant-codebook/` (the same, its codebooks retrained)",
     [f"experiments/relu-205x-vd-quant-codebook{s}" for s in ("", "-seed1", "-seed2")]),
    ("`relu-205x-quant-Q1/` (the last round of `lenet5-relu-250x-quantized`)", ["lenet5-relu-250x-quantized", "seeds/lenet5-relu-250x-quantized-seed1",
                                                         "seeds/lenet5-relu-250x-quantized-seed2"]),
    ("`relu-166x-quant-T1/`", [f"experiments/relu-166x-quant-T1{s}" for s in ("", "-seed1", "-seed2")]),
    ("`relu-166x-quant-T2/`", [f"experiments/relu-166x-quant-T2{s}" for s in ("", "-seed1", "-seed2")]),
    ("`relu-133x-quant-V2/`", [f"experiments/relu-133x-quant-V2{s}" for s in ("", "-seed1", "-seed2")]),
    *((f"`relu-71x-quant-{x}/`", [f"experiments/relu-71x-quant-{x}{s}" for s in ("", "-seed1", "-seed2")])
      for x in ("X1", "X2", "X3")),
    ("`relu-250x-svd-quant/` (from the sparse VD + ADMM model of `relu-250x-svd-admm/`)",
     [f"experiments/relu-250x-svd-quant{s}" for s in ("", "-seed1", "-seed2")]),
    ("`relu-250x-svd-quant-4bit/` (the same, conv2 and fc2 at 4 bits)",
     [f"experiments/relu-250x-svd-quant-4bit{s}" for s in ("", "-seed1", "-seed2")]),
]


def candidates_table(candidates, packed=False):
    """Candidates over seeds 0-2: validation and test accuracy of each seed and their means (with ``packed``, the
    seed-0 model's kept weights, weight-bits ratio and file)."""
    extra = "kept, seed 0 | weight bits, seed 0 | file, seed 0 | " if packed else ""
    lines = [f"| candidate | {extra}validation, each seed | mean +- sd | test, each seed | mean +- sd |",
             "|---|" + "---:|" * (3 if packed else 0) + "---|---:|---|---:|"]
    for name, runs in candidates:
        reports = [load(RESULTS / r / "report.json") for r in runs]
        val = [r["val_accuracy"]["after_retraining"] for r in reports]
        test = [r["accuracy"]["after_retraining"] for r in reports]
        cells = ""
        if packed:
            p = reports[0]["packed"]
            cells = (f"{reports[0]['kept']:,} | {p['weight_bits_ratio']:,.0f}x | {p['file_bytes']:,} bytes "
                     f"({p['file_ratio']:.0f}x) | ")
        lines.append(f"| {name} | {cells}{', '.join(pct(v) for v in val)} | {mean_sd(val)} | "
                     f"{', '.join(pct(t) for t in test)} | {mean_sd(test)} |")
    return "\n".join(lines)


def command_of(run_json, previous_round=None):
    """A command of the current CLI with the configuration a run recorded (its own command may use
    options whose meaning has changed since): --keep, --model, --from and every value that differs from
    PruneConfig's default. A setting the run does not record had the value of ``ABSENT`` or, for settings
    added later, the one that turns it off, which is the default."""
    from minadmm.cli.prune import SCHEDULE_OPTIONS, SWITCHES
    from minadmm.pruning.config import PruneConfig
    default = PruneConfig().__dict__
    keep = ",".join(f"{k}={v}" for k, v in run_json["keep"].items())
    parts = [f"minadmm prune --keep {keep} --model {run_json['arch']}"]
    if previous_round:
        parts.append(f"--from {previous_round}/model.npz")
    elif run_json.get("dense_from"):
        parts.append(f"--from {COPIES.get(run_json['dense_from'], run_json['dense_from'])}")
    teacher = run_json.get("teacher")
    if teacher and not teacher.endswith("round1/dense.npz"):  # a chain's rounds are taught by its dense start
        parts.append(f"--teacher {COPIES.get(teacher, teacher)}")
    cfg = {**ABSENT, **run_json["config"]}
    for option, field, *_ in SCHEDULE_OPTIONS:
        if field in cfg and cfg[field] != default[field]:
            v = cfg[field]
            if isinstance(v, dict):  # per-layer values, as the option takes them: conv1=8,fc1=3
                v = ",".join(f"{k}={b}" for k, b in v.items())
            elif isinstance(v, float):
                v = f"{v:g}"
            parts.append(f"{option} {v}")
    for option, field, value, _ in SWITCHES:
        if cfg.get(field, default[field]) == value and value != default[field]:
            parts.append(option)
    if not run_json.get("baseline", True):
        parts.append("--no-baseline")
    return " ".join(parts)


def converged_summary(report):
    """'every layer, at k = 17' / '3 of 4 layers by k = 40' / '' (no convergence record in the report)."""
    conv = report.get("convergence")
    if not conv:
        return ""
    met = [c for c in conv.values() if c["met_at_end"]]
    k = max(c["iterations"] for c in conv.values())
    return f"every layer, at k = {k}" if len(met) == len(conv) else f"{len(met)} of {len(conv)} layers by k = {k}"


def round_settings(r):
    """A round's every setting as a dict (its config, in a plan.json or a loaded preset, completed with the
    defaults of its kind: SparseVDConfig for a sparse VD round, else PruneConfig)."""
    from dataclasses import asdict, is_dataclass

    from minadmm.pruning.config import PruneConfig
    from minadmm.pruning.sparse_vd import SparseVDConfig
    config = asdict(r["config"]) if is_dataclass(r["config"]) else r["config"]
    return asdict((SparseVDConfig if r.get("kind") == "sparse_vd" else PruneConfig).from_dict(config))


def preset_differences(plan):
    """How a multi-round run's plan.json departs from the preset it names, as the preset now stands:
    {round: {setting: value the run used}} (empty: it ran the preset; the seed, set by --seed, is not a
    difference), or None if the rounds differ in number, kind or targets."""
    from minadmm.pipeline.presets import load_preset, preset_names
    if plan.get("preset") not in preset_names():
        return None
    recipe = load_preset(plan["preset"])["rounds"]
    if len(recipe) != len(plan["rounds"]):
        return None
    out = {}
    for r, (ran, want) in enumerate(zip(plan["rounds"], recipe), 1):
        if ran.get("kind") != want.get("kind") or ran.get("keep") != want.get("keep"):
            return None
        used, given = round_settings(ran), {**round_settings(want), "seed": ran["config"].get("seed", 0)}
        if diff := {k: v for k, v in used.items() if given.get(k) != v}:
            out[r] = diff
    return out


def experiments_table():
    notes = load(RESULTS / "experiments" / "notes.json")
    folders = {d.name for d in (RESULTS / "experiments").iterdir() if d.is_dir()}
    if set(notes) != folders:  # a row for a run that is not there, or a run with no row
        raise SystemExit(f"results/experiments/notes.json: notes without a folder {sorted(set(notes) - folders)}, "
                         f"folders without a note {sorted(folders - set(notes))}; give each folder one note")
    lines = ["| folder | what it shows | after retraining | validation | magnitude baseline | ADMM converged (Boyd) | "
             "configuration, as a command |", "|---|---|---:|---:|---:|---|---|"]
    for folder, note in notes.items():
        run = RESULTS / "experiments" / folder
        if not (run / "report.json").exists() and (run / "history_admm.csv").exists():  # a run stopped in ADMM
            header, *rows = csv_rows(run / "history_admm.csv")
            lines.append(f"| `{folder}/` | {note} | | | | not by k = {max(dict(zip(header, r))['k'] for r in rows)} | "
                         f"`{command_of(load(run / 'run.json'))}` |")
            continue
        if not (run / "report.json").exists() and not (run / "round1" / "report.json").exists():
            logs = sorted(run.glob("*.log"))  # a sweep script's logs: one JSON line per epoch
            last = [json.loads(f.read_text().splitlines()[-1]) for f in logs]
            acc = " / ".join(f"{f.stem}: {pct(row['test_acc'])}" for f, row in zip(logs, last))
            val = " / ".join(f"{f.stem}: {pct(row['val_acc'])}" for f, row in zip(logs, last) if "val_acc" in row)
            lines.append(f"| `{folder}/` | {note} | {acc} | {val} | | | the script in the folder |")
            continue
        reports = round_reports(run)
        runs = sorted((p for p in run.glob("round[0-9]*/run.json") if p.parent.name[5:].isdigit()),
                      key=lambda p: int(p.parent.name[5:])) or [run / "run.json"]
        acc = " / ".join(pct(final(r)) for r in reports)
        plan = load(run / "plan.json") if (run / "plan.json").exists() else {}
        if any(r.get("kind") == "sparse_vd" for r in plan.get("rounds", [])):  # no --keep command for sparse VD
            differences = preset_differences(plan)
            if differences is None:
                raise SystemExit(f"{run}: a sparse VD run whose rounds are not those of a preset; give its command")
            cmds = "`" + re.sub(r" --out \S+", "", plan["command"]) + "`"  # the preset's command, no run directory
            cmds += "".join(f", its round {r} with " + ", ".join(f"{k} = {v}" for k, v in d.items())
                            for r, d in differences.items())
        else:
            cmds = "; ".join(f"`{command_of(load(p), runs[i - 1].parent.name if i else None)}`"
                             for i, p in enumerate(runs))
        val = pct(final(reports[-1], "val_accuracy"))
        lines.append(f"| `{folder}/` | {note} | {acc} | {val} | {pct(reports[-1].get('baseline_magnitude_acc'))} | "
                     f"{converged_summary(reports[-1])} | {cmds} |")
    return "\n".join(lines)


def jsonl(name):
    return [json.loads(line) for line in (RESULTS / name).read_text().splitlines() if line.strip()]


def bench_table():
    """Speed and size from results/bench_train.jsonl and results/bench_infer.jsonl (each a same-run ratio)."""
    train, infer = jsonl("bench_train.jsonl"), jsonl("bench_infer.jsonl")
    lines = ["| what | minadmm | against | ratio | command |", "|---|---:|---:|---:|---|"]
    for b in sorted({r["batch"] for r in train if "batch" in r}):
        ours, torch = (next(r for r in train if r.get("impl") == i and r.get("batch") == b) for i in ("minadmm", "torch"))
        lines.append(f"| training, batch {b} (samples/s; peak RSS MB) | {ours['samples_per_s']:,.0f}; "
                     f"{ours['peak_rss_mb']:.0f} | PyTorch (CPU) {torch['samples_per_s']:,.0f}; {torch['peak_rss_mb']:.0f} | "
                     f"{ours['samples_per_s'] / torch['samples_per_s']:.2f}x | `python benchmarks/bench_train.py --reps 5` |")
    for b in sorted({r["batch"] for r in infer if "batch" in r}):
        sparse, dense = (next(r for r in infer if r.get("impl") == i and r.get("batch") == b) for i in ("sparse", "dense"))
        same = "identical predictions" if sparse["same_predictions"] else "PREDICTIONS DIFFER"
        lines.append(f"| inference of `models/lenet5-admm-71x.npz`, batch {b} (samples/s) | sparse {sparse['samples_per_s']:,.0f} | "
                     f"dense {dense['samples_per_s']:,.0f} | {sparse['samples_per_s'] / dense['samples_per_s']:.1f}x ({same}) | "
                     f"`python benchmarks/bench_infer.py --reps 5` |")
    size = next(r for r in infer if "dense_file_bytes" in r)
    lines.append(f"| model file (bytes) | compressed {size['compressed_file_bytes']:,} | dense {size['dense_file_bytes']:,} | "
                 f"{size['dense_file_bytes'] / size['compressed_file_bytes']:.0f}x smaller | same run |")
    return "\n".join(lines)


def shared_rounds(plan, other):
    """How many leading rounds ``plan`` has in common with ``other`` (the same kind, targets and configuration)."""
    n = 0
    for a, b in zip(plan["rounds"], other["rounds"]):
        if a.get("kind") != b.get("kind") or a.get("keep") != b.get("keep") or round_settings(a) != round_settings(b):
            break
        n += 1
    return n


def progressive_table():
    """Round by round: progressive ADMM (lenet5-relu-250x, then the rounds of lenet5-relu-250x-quantized after
    those it shares with it) against progressive magnitude pruning at the same targets and retraining; then
    sparse VD + ADMM (lenet5-relu-250x-vd, then the rounds of lenet5-relu-205x-vd-quantized after those it
    shares with it), whose baseline prunes the sparse VD model by magnitude."""
    lines = ["| recipe, round | targets conv1 / conv2 / fc1 / fc2 | kept | compression | validation | test accuracy | "
             "magnitude baseline | minutes |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    progressive = load(RESULTS / "lenet5-relu-250x" / "report.json")
    quantized = load(RESULTS / "lenet5-relu-250x-quantized" / "report.json")
    vd = load(RESULTS / "lenet5-relu-250x-vd" / "report.json")
    vd_quantized = load(RESULTS / "lenet5-relu-205x-vd-quantized" / "report.json")
    for rep, skip in ((progressive, 0), (quantized, shared_rounds(quantized["plan"], progressive["plan"])), (vd, 0),
                      (vd_quantized, shared_rounds(vd_quantized["plan"], vd["plan"]))):
        for r in rep["rounds"][skip:]:
            if r.get("kind") == "sparse_vd":
                lines.append(f"| `{rep['plan']['preset']}`, {r['round']} | sparse VD: log alpha < 3 | {r['kept']:,} | "
                             f"{r['compression']:.1f}x | {pct(r.get('val_accuracy'))} | **{pct(r['accuracy'])}** | | "
                             f"{r['minutes']:.1f} |")
                continue
            cfg = rep["plan"]["rounds"][r["round"] - 1]["config"]
            bits = cfg.get("quant_bits")
            bits = " / ".join(str(b) for b in bits.values()) + " bits" if isinstance(bits, dict) else f"{bits}-bit"
            quant = f" + {bits} {cfg['quant_levels']} levels" if cfg.get("quant_bits") else ""
            lines.append(f"| `{rep['plan']['preset']}`, {r['round']} | {' / '.join(f'{v:,}' for v in r['keep'].values())}{quant} | "
                         f"{r['kept']:,} | {r['compression']:.1f}x | {pct(r.get('val_accuracy'))} | **{pct(r['accuracy'])}** | "
                         f"{pct(r.get('baseline_acc'))} | {r['minutes']:.1f} |")
    return "\n".join(lines)


def progressive_seeds_table(run="lenet5-relu-250x"):
    """Round by round over seeds 0-2: each round's validation and test accuracy in the run of ``run`` and in
    its seed runs, and their means (a sparse VD round keeps another count in each seed: their mean)."""
    import statistics
    runs = [d for _, _, d in seed_runs(run)]
    per_seed = [round_reports(d) for d in runs]
    lines = ["| round | kept | compression | validation, each seed | mean +- sd | test, each seed | mean +- sd |",
             "|---:|---:|---:|---|---:|---|---:|"]
    for i, first in enumerate(per_seed[0]):
        reps = [reports[i] for reports in per_seed]
        vd = first.get("kind") == "sparse_vd"
        quantized = bool(first.get("quantization"))  # the projection onto the levels zeroes some weights too
        if not (vd or quantized) and any(r["kept"] != first["kept"] for r in reps):
            raise SystemExit(f"round {i + 1} keeps other counts in the seed runs {[str(d) for d in runs]}")
        val = [final(r, "val_accuracy") for r in reps]
        test = [final(r) for r in reps]
        kept = statistics.mean(r["kept"] for r in reps)
        kind = " (sparse VD)" if vd else " (quantized)" if quantized else ""
        varies = len({r["kept"] for r in reps}) > 1
        lines.append(f"| {i + 1}{kind} | {kept:,.0f}{' (mean)' if varies else ''} | "
                     f"{sum(r['weights'] for r in reps) / len(reps) / kept:.1f}x | {', '.join(pct(v) for v in val)} | "
                     f"{mean_sd(val)} | {', '.join(pct(t) for t in test)} | **{mean_sd(test)}** |")
        if not vd and all((r.get("val_accuracy") or {}).get("magnitude_baseline") is not None for r in reps):
            val = [r["val_accuracy"]["magnitude_baseline"] for r in reps]
            test = [r["baseline_magnitude_acc"] for r in reps]
            lines.append(f"| {i + 1}: its magnitude baseline | {first['kept']:,} | {first['compression']:.1f}x | "
                         f"{', '.join(pct(v) for v in val)} | {mean_sd(val)} | {', '.join(pct(t) for t in test)} | "
                         f"{mean_sd(test)} |")
    return "\n".join(lines)


def quantized_table():
    """What the packed file of the quantized model spends, per layer, and its two ratios."""
    rep = load(RESULTS / MODELS["models/lenet5-admm-quantized.npz"] / "report.json")
    p = rep["packed"]
    lines = ["| layer | non-zeros | distinct values | bits per value | bits per index (p) | bytes: codebook + codes + indices + biases | biases stored |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in p["layers"]:
        lines.append(f"| {r['layer']} | {r['nnz']:,} | {r['values']} | {r['value_bits']} | {r['index_bits_per_nz']:.2f} "
                     f"({r['index_bits']}) | {r['codebook_bytes']} + {r['code_bytes']} + {r['index_bytes']} + {r['bias_bytes']} | "
                     f"{r['stored_biases']} of {r['biases']} |")
    lines.append(f"| **all** | {p['nnz']:,} | | weight bits {p['weight_value_bits']:,}: **{p['weight_bits_ratio']:,.0f}x** "
                 f"fewer than 430,500 x 32 | | file {p['file_bytes']:,} bytes (header {p['header_bytes']}): "
                 f"**{p['file_ratio']:.0f}x** smaller than {p['dense_file_bytes']:,} | |")
    lines.append(f"| test accuracy | | | model **{pct(rep['accuracy']['after_retraining'])}** | | packed file read back "
                 f"{pct(p['test_acc'])} | |")
    return "\n".join(lines)


STRUCTURED = [  # (run under results/, what it is)
    ("lenet5-relu-structured", "structured: conv1 6 filters, conv2 16 filters, fc1 100 units, shrunk"),
    ("lenet5-relu-unstructured-29k", "unstructured, the shrunk network's per-layer counts"),
    ("lenet5-relu-2of4", "2:4 in every layer"),
    ("lenet5-relu-unstructured-2of4-counts", "unstructured, 2:4's per-layer counts"),
]


def structured_table():
    """Structured, 2:4 and unstructured ADMM at comparable counts: weights, multiply-adds, accuracy, baseline,
    and the measured speed of the shrunk network (results/bench_structured.jsonl)."""
    lines = ["| run | non-zero weights | parameters of the network it runs as | multiply-adds per image | test accuracy | "
             "baseline (same targets and retraining) | command |", "|---|---:|---:|---:|---:|---:|---|"]
    for run, what in STRUCTURED:
        rep = load(RESULTS / run / "report.json")
        plan = load(RESULTS / run / "plan.json")
        sh = rep.get("shrunk")
        kept = {l["layer"]: l["kept"] for l in rep["layers"]}
        params = f"{sh['params']:,} (dense, shrunk)" if sh else f"{rep['nonzero_params']:,} (sparse)"
        macs = sh["macs"] if sh else multiply_adds(rep["arch"], kept)
        base = "L1-norm filters" if sh else ("magnitude 2:4" if "2:4" in what and "counts" not in what else "magnitude")
        lines.append(f"| {what} | {rep['kept']:,} | {params} | {macs:,} | **{pct(rep['accuracy']['after_retraining'])}** | "
                     f"{base} {pct(rep['baseline_magnitude_acc'])} | `{plan['command']}` |")
    return "\n".join(lines)


def structured_bench():
    """The shrunk network against the dense one, same dense kernels (results/bench_structured.jsonl)."""
    rows = jsonl("bench_structured.jsonl")
    speed = next(r for r in rows if "speedup_256" in r)
    by = {(r["model"], r["batch"]): r for r in rows if "model" in r}
    lines = ["| batch | dense LeNet-5 (images/s) | shrunk structured LeNet-5 (images/s) | speed-up | multiply-adds ratio | "
             "same predictions as the masked network | command |", "|---:|---:|---:|---:|---:|---|---|"]
    for b in (256, 1):
        d, s = by[("dense", b)], by[("small", b)]
        same = {True: "yes, all 10,000", False: "no", None: ""}[s["same_predictions_as_masked"]]
        lines.append(f"| {b} | {d['samples_per_s']:,.0f} | {s['samples_per_s']:,.0f} | **{speed[f'speedup_{b}']}x** | "
                     f"{speed['macs_ratio']}x | {same} | `{speed.get('command', 'python benchmarks/bench_structured.py')}` |")
    return "\n".join(lines)


def admm_loop():
    """The loop of ``admm.loop.admm`` as the source has it, from ``while`` to ``return``."""
    src = (ROOT / "minadmm" / "admm" / "loop.py").read_text()
    body = src[src.index("    while state.k < iters:"):src.index("    return state", src.index("    while state.k < iters:"))]
    return "```python\n" + body.rstrip() + "\n```"


TABLES = {
    "results": results_table, "stages": accuracy_stages, "seeds": seeds_table, "convergence": convergence_table,
    "budget": budget_table, "sweep": sweep_table, "progressive": progressive_table,
    "progressive_seeds": progressive_seeds_table, "vd_seeds": lambda: progressive_seeds_table("lenet5-relu-250x-vd"),
    "vd_quantized_seeds": lambda: progressive_seeds_table("lenet5-relu-205x-vd-quantized"),
    "quantized": quantized_table,
    "candidates_250x": lambda: candidates_table(CANDIDATES_250X),
    "quant_candidates": lambda: candidates_table(QUANT_CANDIDATES, packed=True),
    "structured": structured_table, "structured_bench": structured_bench, "admm_loop": admm_loop,
    "experiments": experiments_table, "bench": bench_table,
}
FILES = ["README.md", "results/README.md", "docs/experiments.md", "docs/performance.md", "docs/paper_map.md"]
BLOCK = re.compile(r"(<!-- table:(\w+) -->\n)(.*?)(<!-- /table -->)", re.S)


def render(text):
    return BLOCK.sub(lambda m: m.group(1) + TABLES[m.group(2)]() + "\n" + m.group(4), text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if a table is out of date")
    args = ap.parse_args(argv)
    stale = []
    for name in FILES:
        path = ROOT / name
        if not path.exists():
            continue
        text = path.read_text()
        new = render(text)
        if new != text:
            stale.append(name)
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)} (run python docs/tables.py)")
        return 1
    print(("wrote " if stale else "up to date: ") + ", ".join(stale or FILES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
