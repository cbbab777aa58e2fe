"""``minadmm prune``: dense model -> ADMM -> hard prune -> masked retraining (+ magnitude baseline) -> report.

Every stage writes its result to the run directory, and the long stages checkpoint as they go, so
``resume=True`` skips finished stages and continues an unfinished one:

    run.json                 what was asked (architecture, targets, configuration, dense model)
    dense.npz                the starting dense model (pretrained here when none is given)
    history_admm.csv/.json   one row per ADMM iteration and layer; admm_checkpoint.npz after each iteration
    admm_model.npz           W after the last ADMM iteration (before hard pruning)
    history_retrain.*        masked retraining; retrain_checkpoint.npz after each epoch
    model.npz                the pruned model (pruned weights stored as zeros)
    history_baseline_retrain.*, baseline_model.npz   the magnitude-pruning baseline
    report.md/.json, residuals.png, accuracy.png, sparsity.png
"""
from __future__ import annotations

import functools
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from .history import load_history
from .model import build, load_model, save_model
from .plots import plot_accuracy, plot_residuals, plot_sparsity
from .prune import PruneConfig, hard_prune, magnitude_prune, retrain, run_admm
from .report import build_report, write_report
from .targets import check_keep
from .train import TrainConfig, fit

OUTPUTS = ["run.json", "dense.npz", "admm_model.npz", "model.npz", "baseline_model.npz", "report.json",
           "report.md", "residuals.png", "accuracy.png", "sparsity.png", "admm_checkpoint.npz",
           "retrain_checkpoint.npz", "baseline_retrain_checkpoint.npz", "pretrain"] + [
    f"history_{n}.{e}" for n in ("admm", "retrain", "baseline_retrain") for e in ("csv", "json")]

QUICK = {"train": 6000, "test": 2000}


def quick_config(cfg: PruneConfig) -> PruneConfig:
    """The ``--quick`` schedule: 3 ADMM iterations of 1 epoch, 1 retraining epoch (on a data subset)."""
    d = asdict(cfg)
    d.update(admm_iters=3, w_epochs=1, retrain_epochs=1)
    return PruneConfig(**d)


def subset(data, n_train, n_test):
    X, y, Xt, yt = data
    return X[:n_train], y[:n_train], Xt[:n_test], yt[:n_test]


def prepare_run_dir(out, resume, overwrite):
    """Refuse a finished run unless ``overwrite``; refuse an unfinished one unless ``resume`` or
    ``overwrite``. ``overwrite`` removes only the files minadmm writes there."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    ours = [n for n in OUTPUTS if (out / n).exists()]
    if overwrite:
        for n in ours:
            p = out / n
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    elif (out / "report.json").exists():
        raise ValueError(f"{out} already holds a finished run (report.json); pass --overwrite to replace it "
                         f"or choose another --out")
    elif ours and not resume:
        raise ValueError(f"{out} holds an unfinished run; pass --resume to continue it or --overwrite to "
                         f"start again")
    elif resume and not (out / "run.json").exists():
        raise ValueError(f"--resume: {out} holds no run to continue (no run.json)")
    out.mkdir(parents=True, exist_ok=True)
    return out


def check_model_files(arch, cfg: PruneConfig, dense_path=None, teacher_path=None):
    """Raise (before any work) when the dense model file is missing or of another architecture than
    ``arch``, or the teacher file is unreadable or given without distillation."""
    if dense_path:
        load_model(dense_path, arch=arch)
    if teacher_path:
        if cfg.distill == 0:
            raise ValueError(f"--teacher {teacher_path} is used only with --distill ALPHA > 0")
        load_model(teacher_path)


def prune_run(out, arch=None, keep=None, cfg: PruneConfig = None, dense_path=None, data=None, quick=False,
              resume=False, baseline=True, command="", log=print, teacher_path=None):
    """Run (or resume) the whole pipeline into ``out``; returns the report dict.

    ``data`` = (X_train, y_train, X_test, y_test). Targets are checked against the architecture and the
    dense model file against ``arch`` before any training starts. ``teacher_path``: the model that teaches
    masked retraining when ``cfg.distill`` > 0 (default: the dense starting model).
    """
    out = Path(out)
    t_start = time.perf_counter()
    if resume:
        run = json.loads((out / "run.json").read_text())
        arch, keep, quick, baseline = run["arch"], run["keep"], run["quick"], run["baseline"]
        cfg, dense_path, command = PruneConfig(**run["config"]), run["dense_from"], run["command"]
        teacher_path = run.get("teacher")
    else:
        keep = check_keep(keep, build(arch))
        check_model_files(arch, cfg, dense_path, teacher_path)
        run = {"arch": arch, "keep": keep, "config": asdict(cfg), "dense_from": dense_path and str(dense_path),
               "teacher": teacher_path and str(teacher_path), "quick": quick, "baseline": baseline,
               "command": command}
        (out / "run.json").write_text(json.dumps(run, indent=1))
    if quick:
        data = subset(data, QUICK["train"], QUICK["test"])
    seconds = run.setdefault("seconds", {})  # per stage, kept in run.json so a resumed run reports them all

    def done(stage, t0):
        seconds[stage] = time.perf_counter() - t0
        (out / "run.json").write_text(json.dumps(run, indent=1))

    # 1. the dense starting point
    if not (out / "dense.npz").exists():
        t0 = time.perf_counter()
        if dense_path:
            save_model(out / "dense.npz", load_model(dense_path, arch=arch))
        else:
            log("no dense model given: pretraining one first")
            model = build(arch, seed=cfg.seed)
            fit(model, data, TrainConfig(epochs=2 if quick else 17, seed=cfg.seed), out_dir=out / "pretrain",
                resume=(out / "pretrain" / "checkpoint.npz").exists(), log=log)
            save_model(out / "dense.npz", model)
        done("dense", t0)
    dense_acc = load_model(out / "dense.npz").accuracy(data[2], data[3])

    @functools.cache
    def teacher():  # the model that teaches (read once), or None without distillation
        return load_model(teacher_path or out / "dense.npz") if cfg.distill > 0 else None

    # 2. ADMM
    if not (out / "admm_model.npz").exists():
        t0 = time.perf_counter()
        model = load_model(out / "dense.npz")
        run_admm(model, data, keep, cfg, out_dir=out, resume=resume, log=log,
                 teacher=teacher() if cfg.distill_admm else None)
        save_model(out / "admm_model.npz", model)
        done("admm", t0)
    model = load_model(out / "admm_model.npz")
    admm_acc = model.accuracy(data[2], data[3])

    # 3. hard pruning and masked retraining
    masks = hard_prune(model, keep)
    hard_acc = model.accuracy(data[2], data[3])
    if not (out / "model.npz").exists():
        t0 = time.perf_counter()
        retrain(model, data, masks, cfg, out_dir=out, resume=resume, log=log, teacher=teacher())
        save_model(out / "model.npz", model)
        done("retrain", t0)
    model = load_model(out / "model.npz")
    final_acc = model.accuracy(data[2], data[3])

    # 4. the magnitude-pruning baseline: same targets, same retraining
    baseline_acc, baseline_rows = None, None
    if baseline:
        if not (out / "baseline_model.npz").exists():
            t0 = time.perf_counter()
            bmodel = load_model(out / "dense.npz")
            magnitude_prune(bmodel, data, keep, cfg, out_dir=out, resume=resume, log=log, teacher=teacher())
            save_model(out / "baseline_model.npz", bmodel)
            done("baseline", t0)
        baseline_acc = load_model(out / "baseline_model.npz").accuracy(data[2], data[3])
        baseline_rows = load_history(out / "history_baseline_retrain.json")

    # 5. report and plots
    seconds = {**seconds, "total_this_session": time.perf_counter() - t_start}
    accuracies = {"dense": dense_acc, "admm_before_hard_prune": admm_acc, "after_hard_prune": hard_acc,
                  "after_retraining": final_acc}
    report = build_report(model, keep, accuracies, seconds, run["config"], command, baseline_acc)
    report["quick"] = quick
    admm_rows = load_history(out / "history_admm.json")
    retrain_rows = load_history(out / "history_retrain.json") if cfg.retrain_epochs else []
    plot_residuals(admm_rows, out / "residuals.png")
    plot_accuracy(admm_rows, retrain_rows, out / "accuracy.png", dense_acc, baseline_rows)
    plot_sparsity(report["layers"], out / "sparsity.png")
    write_report(report, out)
    log(f"pruned model {out / 'model.npz'}: {report['kept']:,} of {report['weights']:,} weights kept "
        f"({report['compression']:.1f}x), test accuracy {final_acc:.4f} (dense {dense_acc:.4f}"
        + (f", magnitude baseline {baseline_acc:.4f}" if baseline_acc is not None else "") + ")")
    return report
