"""``minadmm prune``: a recipe's rounds, each dense model -> ADMM -> hard prune -> masked retraining
(+ magnitude baseline) -> report; or a round of sparse variational dropout (``sparse_vd_round``), which the
ADMM rounds after it start from.

Every stage writes its result to the run directory (rundir.py lists the files), and the long stages
checkpoint as they go, so ``resume=True`` skips finished stages and rounds and continues an unfinished one.
"""
from __future__ import annotations

import functools
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data.split import split_validation
from ..errors import InputError
from ..nn.model import build, load_model, model_widths, save_model
from ..pruning.admm_stage import run_admm
from ..pruning.config import PruneConfig
from ..pruning.quantized import round_biases, zero_dead_biases
from ..pruning.shrink import shrink
from ..pruning.sparse_vd import SparseVDConfig, run_sparse_vd
from ..pruning.retrain import magnitude_prune, prune_to_set, retrain
from ..pruning.targets import check_keep, check_sets, structure_of
from ..sparse.flops import dense_flops
from ..sparse.packed import pack, unpack
from ..report.plots import plot_accuracy, plot_residuals, plot_sparse_vd, plot_sparsity
from ..report.report import build_report, rounds_markdown, write_report
from ..train.fit import TrainConfig, fit
from ..train.parallel import platform_mismatch, platform_setting, thread_mismatch, thread_setting
from ..train.records import checkpointed_seconds, load_history

QUICK = {"train": 6000, "test": 2000}  # --quick: the data subset ...
QUICK_SCHEDULE = {"admm_iters": 10, "w_epochs": 3, "retrain_epochs": 1}  # ... and the schedule, unless given


def subset(data, n_train, n_test):
    X, y, Xt, yt = data
    return X[:n_train], y[:n_train], Xt[:n_test], yt[:n_test]


def check_model_files(arch, cfg: PruneConfig, dense_path=None, teacher_path=None):
    """Raise (before any work) when the dense model file is missing or of another architecture than
    ``arch``, or the teacher file is unreadable or given without distillation."""
    if dense_path:
        load_model(dense_path, arch=arch)
    if teacher_path:
        if cfg is None or cfg.distill == 0:
            raise InputError(f"--teacher {teacher_path} is used only with --distill ALPHA > 0")
        load_model(teacher_path)


def _history(path):
    return load_history(path) if Path(path).exists() else []


def resumed_run(out, log):
    """The run.json of a round being resumed in ``out`` (None if it has none), after logging a warning when the
    round is unfinished and this process's thread setting differs from the one it started with."""
    if not (out / "run.json").exists():
        return None
    run = json.loads((out / "run.json").read_text())
    if not (out / "report.json").exists():
        for warning in (thread_mismatch(run.get("threads"), thread_setting()),
                        platform_mismatch(run.get("platform"), platform_setting())):
            if warning:
                log(warning)
    return run


def new_run(out, run):
    """``run`` with the thread setting, the platform and empty stage times, written to ``out``/run.json
    (``out`` made)."""
    out.mkdir(parents=True, exist_ok=True)
    run = {**run, "threads": thread_setting(), "platform": platform_setting(), "seconds": {}}
    (out / "run.json").write_text(json.dumps(run, indent=1))
    return run


def prune_round(out, arch, keep, cfg: PruneConfig, data, dense_path=None, teacher_path=None, baseline=True,
                quick=False, resume=False, command="", log=print, baseline_from=None):
    """One round into ``out``: dense start, ADMM, hard pruning, masked retraining, the baseline, report.
    ``data`` = (X_train, y_train, X_test, y_test), already cut for quick mode. ``teacher_path``: the model
    that teaches when ``cfg.distill`` > 0 (default: the round's dense start). ``baseline_from``: the model
    the magnitude baseline prunes (default: the round's start; in a recipe of several rounds, the previous
    round's baseline, so the baseline is progressive magnitude pruning). Returns the report dict."""
    out, t_start = Path(out), time.perf_counter()
    run = resumed_run(out, log) if resume else None
    if run is None:
        keep = check_keep(keep, build(arch))
        check_sets(keep, cfg)
        check_model_files(arch, cfg, dense_path, teacher_path)
        run = new_run(out, {"arch": arch, "keep": keep, "config": asdict(cfg), "dense_from": dense_path and str(dense_path),
                            "teacher": teacher_path and str(teacher_path), "quick": quick, "baseline": baseline,
                            "command": command})
    seconds = run["seconds"]  # per stage, kept in run.json so a resumed run reports them all
    data, val = split_validation(data, cfg.val)

    def started(checkpoint):  # a stage's clock, set back by what earlier processes spent on it when resumed
        return time.perf_counter() - (checkpointed_seconds(out / checkpoint) if resume else 0.0)

    def done(stage, t0):
        seconds[stage] = time.perf_counter() - t0
        (out / "run.json").write_text(json.dumps(run, indent=1))

    Xt, yt = data[2], data[3]
    accuracies, val_accuracies = {}, {}

    def measure(stage, model):  # test accuracy, and validation accuracy with a split
        accuracies[stage] = model.accuracy(Xt, yt)
        if val is not None:
            val_accuracies[stage] = model.accuracy(*val)
        return accuracies[stage]

    # 1. the dense starting point
    if not (out / "dense.npz").exists():
        t0 = started("pretrain/checkpoint.npz")
        if dense_path:
            save_model(out / "dense.npz", load_model(dense_path, arch=arch))
        else:
            log("no dense model given: pretraining one first")
            model = build(arch, seed=cfg.seed)
            fit(model, data, TrainConfig(epochs=2 if quick else 17, seed=cfg.seed), out_dir=out / "pretrain",
                resume=(out / "pretrain" / "checkpoint.npz").exists(), log=log)
            save_model(out / "dense.npz", model)
        done("dense", t0)
    dense_acc = measure("dense", load_model(out / "dense.npz"))

    @functools.cache
    def teacher():  # the model that teaches (read once), or None without distillation
        return load_model(teacher_path or out / "dense.npz") if cfg.distill > 0 else None

    # 2. ADMM
    if not (out / "admm_model.npz").exists():
        t0 = started("admm_checkpoint.npz")
        model = load_model(out / "dense.npz")
        run_admm(model, data, keep, cfg, out_dir=out, resume=resume, log=log,
                 teacher=teacher() if cfg.distill_admm else None, val=val)
        save_model(out / "admm_model.npz", model)
        done("admm", t0)
    model = load_model(out / "admm_model.npz")
    measure("admm_before_hard_prune", model)

    # 3. hard pruning and masked retraining
    masks, scales = prune_to_set(model, keep, cfg)
    measure("after_hard_prune", model)
    kept = {name: int(masks[f"{name}.W"].sum()) for name in keep}  # = keep, unless a budget chose the counts
    if not (out / "model.npz").exists():
        t0 = started("retrain_checkpoint.npz")
        retrain(model, data, masks, cfg, out_dir=out, resume=resume, log=log, teacher=teacher(), val=val,
                scales=scales)
        if scales:
            round_biases(model, keep)  # as the packed file stores them, so that it holds this model exactly
            zero_dead_biases(model)  # units that reach nothing: the packed file stores no bias for them
        save_model(out / "model.npz", model)
        done("retrain", t0)
    model = load_model(out / "model.npz")
    final_acc = measure("after_retraining", model)

    # 4. the magnitude-pruning baseline: same targets, same retraining
    baseline_acc = None
    if baseline:
        if not (out / "baseline_model.npz").exists():
            t0 = started("baseline_retrain_checkpoint.npz")
            bmodel = load_model(baseline_from or out / "dense.npz", arch=arch)
            magnitude_prune(bmodel, data, keep, cfg, out_dir=out, resume=resume, log=log, teacher=teacher(), val=val)
            if cfg.quant_bits:
                round_biases(bmodel, keep)
            save_model(out / "baseline_model.npz", bmodel)
            done("baseline", t0)
        bmodel = load_model(out / "baseline_model.npz")
        baseline_acc = bmodel.accuracy(Xt, yt)
        if val is not None:
            val_accuracies["magnitude_baseline"] = bmodel.accuracy(*val)

    # 5. report and plots
    stage_seconds = {**seconds, "total_this_process": time.perf_counter() - t_start}
    admm_rows = load_history(out / "history_admm.json")
    report = build_report(model, kept, accuracies, stage_seconds, run["config"], run["command"], baseline_acc,
                          admm_rows=admm_rows, val_accuracies=val_accuracies or None)
    report["quick"] = run["quick"]
    report["threads"], report["platform"] = run.get("threads"), run.get("platform")
    if any(structure_of(t) is not None and structure_of(t).shrinks for t in keep.values()):
        report["shrunk"] = shrink_and_check(model, out / "model_small.npz", Xt, yt)
    if cfg.quant_bits:
        report["quantization"] = quantization_summary(model, cfg.quantizers(keep), cfg.quant_retrain)
        report["packed"] = pack_and_check(model, out / "model.mpk", out / "dense.npz", Xt, yt)
    plot_residuals(admm_rows, out / "residuals.png")
    plot_accuracy(admm_rows, _history(out / "history_retrain.json"), out / "accuracy.png", dense_acc,
                  _history(out / "history_baseline_retrain.json") if baseline else None)
    plot_sparsity(report["layers"], out / "sparsity.png")
    write_report(report, out)
    log(f"pruned model {out / 'model.npz'}: {report['kept']:,} of {report['weights']:,} weights kept "
        f"({report['compression']:.1f}x), test accuracy {final_acc:.4f} (dense {dense_acc:.4f}"
        + (f", magnitude baseline {baseline_acc:.4f}" if baseline_acc is not None else "") + ")")
    return report


def sparse_vd_round(out, arch, cfg: SparseVDConfig, data, dense_path=None, quick=False, resume=False, command="",
                    log=print):
    """A round of sparse variational dropout into ``out`` (``pruning.sparse_vd``): the start model to
    dense.npz, the training (history_sparse_vd.*, sparse_vd_checkpoint.npz per epoch), the model with the
    weights of log alpha < threshold to model.npz, and a report with its kept weights and accuracies.
    Returns the report dict."""
    out, t_start = Path(out), time.perf_counter()
    run = resumed_run(out, log) if resume else None
    if run is None:
        if not dense_path:
            raise InputError("a sparse_vd round starts from a trained model: give --from MODEL.npz")
        check_model_files(arch, None, dense_path)
        run = new_run(out, {"kind": "sparse_vd", "arch": arch, "config": asdict(cfg), "dense_from": str(dense_path),
                            "quick": quick, "command": command})
    seconds = run["seconds"]
    data, val = split_validation(data, cfg.val)
    Xt, yt = data[2], data[3]
    if not (out / "dense.npz").exists():
        save_model(out / "dense.npz", load_model(dense_path or run["dense_from"], arch=arch))
    dense = load_model(out / "dense.npz")
    accuracies = {"dense": dense.accuracy(Xt, yt)}
    val_accuracies = {"dense": dense.accuracy(*val)} if val is not None else {}
    if not (out / "model.npz").exists():
        t0 = time.perf_counter() - (checkpointed_seconds(out / "sparse_vd_checkpoint.npz") if resume else 0.0)
        run_sparse_vd(dense, data, cfg, out_dir=out, resume=resume, log=log, val=val)
        save_model(out / "model.npz", dense)
        seconds["sparse_vd"] = time.perf_counter() - t0
        (out / "run.json").write_text(json.dumps(run, indent=1))
    model = load_model(out / "model.npz")
    accuracies["sparse_vd"] = model.accuracy(Xt, yt)
    if val is not None:
        val_accuracies["sparse_vd"] = model.accuracy(*val)
    history = load_history(out / "history_sparse_vd.json")
    kept = {name: int(np.count_nonzero(model[name].params["W"])) for name in model.weight_names()}
    report = build_report(model, kept, accuracies, {**seconds, "total_this_process": time.perf_counter() - t_start},
                          run["config"], run["command"], val_accuracies=val_accuracies or None)
    report.update(kind="sparse_vd", quick=run["quick"], threads=run.get("threads"), platform=run.get("platform"))
    plot_sparse_vd(history, out / "sparse_vd.png")
    write_report(report, out)
    log(f"sparse VD model {out / 'model.npz'}: {report['kept']:,} of {report['weights']:,} weights kept "
        f"({report['compression']:.1f}x), test accuracy {accuracies['sparse_vd']:.4f} (start {accuracies['dense']:.4f})")
    return report


def final_accuracy(report, split="accuracy"):
    """A round's accuracy at its end: after retraining (ADMM rounds) or after sparse VD; ``split``:
    "accuracy" (test) or "val_accuracy" (None without a validation split)."""
    acc = report.get(split) or {}
    return acc.get("sparse_vd" if report.get("kind") == "sparse_vd" else "after_retraining")


def quantization_summary(model, quantizers, retrain="scale"):
    """{layer: {"bits", "levels", "retrain", "values"}}: each quantized layer's bits, level set and what
    retraining trained (``PruneConfig.quant_retrain``), and how many distinct values its non-zeros take (at
    most 2^bits)."""
    out = {}
    for name, q in quantizers.items():
        W = model[name].params["W"]
        out[name] = {"bits": q.bits, "levels": q.levels, "retrain": retrain, "values": int(np.unique(W[W != 0]).size)}
    return out


def shrink_and_check(model, path, Xt, yt):
    """Write the smaller dense network of a structurally pruned ``model`` (``pruning.shrink``) to ``path``;
    return its widths, parameters, multiply-adds per image against the full network's, its test accuracy and
    whether it predicts every test image as the masked ``model`` does."""
    small, kept = shrink(model)
    save_model(path, small)
    full = build(model.arch)
    preds = small.predict(Xt)
    return {"file": str(path), "widths": list(model_widths(small)), "kept_channels": kept,
            "params": small.n_params(), "params_full": full.n_params(),
            "macs": dense_flops(small) // 2, "macs_full": dense_flops(full) // 2,
            "test_acc": float((preds == yt).mean()), "same_predictions": bool(np.array_equal(preds, model.predict(Xt)))}


def pack_and_check(model, path, dense_path, Xt, yt):
    """Write ``model`` as a packed file (``sparse.packed``), read it back, and return its sizes with its own
    test accuracy, the size of the dense float32 model file ``dense_path`` and the ratio of the two."""
    stats = pack(model, path)
    dense_bytes = Path(dense_path).stat().st_size
    return {**stats, "test_acc": unpack(path).accuracy(Xt, yt), "dense_file": str(dense_path),
            "dense_file_bytes": dense_bytes, "file_ratio": dense_bytes / stats["file_bytes"]}


def make_plan(arch, rounds, dense_path=None, baseline=True, quick=False, preset=None, command="", teacher=None):
    """The resolved recipe that plan.json records: rounds = [{"keep": {...}, "config": PruneConfig}, ...];
    ``teacher``: the model that teaches distilled rounds (default: the dense start)."""
    return {"preset": preset, "arch": arch, "from": dense_path and str(dense_path), "teacher": teacher,
            "baseline": baseline, "quick": quick, "command": command,
            "rounds": [plan_round(r) for r in rounds]}


def plan_round(r):
    """A recipe round as plan.json records it: {"keep", "config"} for ADMM, {"kind": "sparse_vd", "config"}."""
    if r.get("kind", "admm") == "sparse_vd":
        return {"kind": "sparse_vd", "config": asdict(r["config"])}
    return {"keep": r["keep"], "config": asdict(r["config"])}


def round_dir(out, plan, r):
    """Where round r (0-based) runs: the run directory itself for a one-round plan, else out/round<r+1>."""
    return Path(out) if len(plan["rounds"]) == 1 else Path(out) / f"round{r + 1}"


def run_plan(out, plan, data, resume=False, log=print):
    """Run (or resume) every round of ``plan`` (``make_plan``) into ``out``; returns the last round's report,
    with one row per round under "rounds" when there are several. Round r + 1 starts from round r's
    model; the teacher of every distilled round is plan["teacher"], by default the plan's dense model
    (the first round's start). A round of kind "sparse_vd" runs ``sparse_vd_round``."""
    out = Path(out)
    if not resume:
        (out / "plan.json").write_text(json.dumps(plan, indent=1))
    if plan["quick"]:
        held_out = max(r["config"].get("val", 0) for r in plan["rounds"])  # a validation split comes on top
        data = subset(data, QUICK["train"] + held_out, QUICK["test"])
    start, baseline_start, rows, report = plan["from"], None, [], None
    for r, rnd in enumerate(plan["rounds"]):
        d = round_dir(out, plan, r)
        vd = rnd.get("kind") == "sparse_vd"
        cfg = (SparseVDConfig if vd else PruneConfig)(**rnd["config"])
        teacher = plan["teacher"] or (None if r == 0 or vd or cfg.distill == 0 else str(out / "round1" / "dense.npz"))
        if len(plan["rounds"]) > 1:
            log(f"round {r + 1}/{len(plan['rounds'])}: " + ("sparse variational dropout" if vd else f"targets {rnd['keep']}"))
        if (d / "report.json").exists() and len(plan["rounds"]) > 1:
            report = json.loads((d / "report.json").read_text())
        elif vd:
            report = sparse_vd_round(d, plan["arch"], cfg, data, dense_path=start, quick=plan["quick"], resume=resume,
                                     command=plan["command"], log=log)
        else:
            report = prune_round(d, plan["arch"], rnd["keep"], cfg, data, dense_path=start, teacher_path=teacher,
                                 baseline=plan["baseline"], quick=plan["quick"], resume=resume,
                                 command=plan["command"], log=log, baseline_from=baseline_start)
        rows.append({"round": r + 1, "kind": "sparse_vd" if vd else "admm", "keep": rnd.get("keep"),
                     "kept": report["kept"], "compression": report["compression"],
                     "accuracy": final_accuracy(report), "val_accuracy": final_accuracy(report, "val_accuracy"),
                     "baseline_acc": report["baseline_magnitude_acc"], "minutes": sum(
                         v for k, v in report["seconds"].items() if k != "total_this_process") / 60})
        start = str(d / "model.npz")
        # the baseline: each ADMM round's prunes the previous ADMM round's baseline (progressive magnitude
        # pruning); after a sparse VD round, its model (magnitude pruning from the same start as ADMM)
        baseline_start = None if vd or not plan["baseline"] else str(d / "baseline_model.npz")
    if len(plan["rounds"]) > 1:
        shutil.copyfile(start, out / "model.npz")
        report = {**report, "rounds": rows, "plan": plan}
        (out / "report.json").write_text(json.dumps(report, indent=1))
        (out / "report.md").write_text(rounds_markdown(report))
    return report
