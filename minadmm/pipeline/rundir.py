"""The run directory: what minadmm writes there, and when it may write there.

    plan.json                the resolved recipe: preset, rounds (targets and full configuration), command
    run.json                 one round: architecture, targets, configuration, dense model, stage times,
                             threads and platform (CPU, BLAS build, versions: what fixes its bits)
    dense.npz                the round's starting model
    history_admm.csv/.json   one row per ADMM iteration and layer; admm_checkpoint.npz after each iteration
    admm_model.npz           W after the last ADMM iteration (before hard pruning)
    history_retrain.*        masked retraining; retrain_checkpoint.npz after each epoch
    model.npz                the pruned model (pruned weights stored as zeros)
    history_baseline_retrain.*, baseline_model.npz   the magnitude-pruning baseline (in a recipe of several
                             rounds, each round's prunes the previous round's: progressive magnitude pruning)
    model_small.npz          structured targets: the pruned network shrunk to a smaller dense one
    model.mpk                quantized layers: the model as a packed file (docs/formats.md)
    history_sparse_vd.csv/.json, sparse_vd_checkpoint.npz, sparse_vd.png   a sparse variational dropout round
    report.md/.json, residuals.png, accuracy.png, sparsity.png
    round1/, round2/, ...    one such directory per round when a recipe has several rounds
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import InputError

OUTPUTS = ["plan.json", "run.json", "dense.npz", "admm_model.npz", "model.npz", "baseline_model.npz", "model_small.npz",
           "model.mpk",
           "report.json", "report.md", "residuals.png", "accuracy.png", "sparsity.png", "admm_checkpoint.npz",
           "retrain_checkpoint.npz", "baseline_retrain_checkpoint.npz", "pretrain", "sparse_vd_checkpoint.npz",
           "sparse_vd.png"] + [
    f"history_{n}.{e}" for n in ("admm", "retrain", "baseline_retrain", "sparse_vd") for e in ("csv", "json")]


def _ours(out):
    return [p for p in out.iterdir() if p.name in OUTPUTS or (p.is_dir() and p.name.startswith("round")
                                                              and p.name[5:].isdigit())]


def prepare_run_dir(out, resume, overwrite):
    """Refuse a finished run unless ``overwrite``; refuse an unfinished one unless ``resume`` or
    ``overwrite``. ``overwrite`` removes only the files minadmm writes there. Returns the directory."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    ours = _ours(out) if out.exists() else []
    if overwrite:
        for p in ours:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    elif (out / "report.json").exists():
        raise InputError(f"{out} already holds a finished run (report.json); pass --overwrite to replace it "
                         f"or choose another --out")
    elif ours and not resume:
        raise InputError(f"{out} holds an unfinished run; pass --resume to continue it or --overwrite to "
                         f"start again")
    elif resume and not (out / "plan.json").exists():
        raise InputError(f"--resume: {out} holds no run to continue (no plan.json)")
    out.mkdir(parents=True, exist_ok=True)
    return out
