"""Layer sensitivity (Han et al. 2015; Distiller): prune one layer alone by magnitude at several keep ratios,
retrain briefly with that mask, and record the accuracy, to see how much each layer tolerates.

    for each layer i, each keep ratio q:
        W_i <- Proj_{card <= round(q n_i)}(W_i)      (the other layers stay dense)
        masked retraining, ``epochs`` epochs           (0: none)
        accuracy on the test set (and the validation split, if held out)
"""
from __future__ import annotations

import json
from pathlib import Path

from ..admm.projections import keep_count
from ..data.split import split_validation
from ..errors import InputError
from ..nn.model import load_model
from ..pruning.config import PruneConfig
from ..pruning.retrain import hard_prune, retrain
from ..pruning.targets import PAPER_LENET5
from ..report.plots import plot_sensitivity
from ..train.records import save_history


def check_ratios(ratios):
    for q in ratios:
        if not 0.0 < q <= 1.0:
            raise InputError(f"keep ratio {q!r}: expected a number in (0, 1]")
    return sorted(set(ratios), reverse=True)


def sensitivity(dense_path, data, ratios, epochs=1, val=0, seed=0, out=None, log=print, lr=1e-4):
    """Rows {layer, keep_ratio, kept, acc_pruned, acc_retrained[, val_acc_retrained]} for every layer of the
    model at ``dense_path`` and every ratio, retrained at Adam ``lr`` (a fine-tune: the dense model ended its
    training at a smaller lr; 1e-3 would shake it off its optimum even uncut); with ``out``,
    sensitivity.csv/.md/.json and sensitivity.png there, rows already in sensitivity.json reused (an
    interrupted run continues)."""
    ratios = check_ratios(ratios)
    data, val_split = split_validation(data, val)
    cfg = PruneConfig(retrain_epochs=epochs, retrain_lr=lr, retrain_lr_decay=0.8, seed=seed)
    done = {}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if (out / "sensitivity.json").exists():
            done = {(r["layer"], r["keep_ratio"]): r for r in json.loads((out / "sensitivity.json").read_text())}
    rows, dense = [], load_model(dense_path)
    for layer in dense.weight_names():
        for q in ratios:
            if (layer, q) in done:
                rows.append(done[(layer, q)])
                continue
            model = load_model(dense_path)
            l = keep_count(q, model[layer].params["W"].size)
            masks = hard_prune(model, {layer: l})
            row = {"layer": layer, "keep_ratio": q, "kept": l, "acc_pruned": model.accuracy(data[2], data[3])}
            if epochs:
                retrain(model, data, masks, cfg, log=lambda s: None)
            row["acc_retrained"] = model.accuracy(data[2], data[3])
            if val_split is not None:
                row["val_acc_retrained"] = model.accuracy(*val_split)
            rows.append(row)
            log(f"{layer} keep {q:g} ({l:,}): test {row['acc_pruned']:.4f} pruned, {row['acc_retrained']:.4f} "
                f"after {epochs} epoch(s) of retraining")
            if out is not None:
                save_history(rows, out, "sensitivity")
    if out is not None:
        lenet5 = dense.arch.startswith("lenet5")
        write(rows, out, {layer: kept / size for layer, (size, kept) in PAPER_LENET5.items()} if lenet5 else None)
    return rows


def write(rows, out, marks=None):
    """sensitivity.json/.csv/.md and sensitivity.png (``marks``: the paper's ratio per layer) in ``out``."""
    save_history(rows, out, "sensitivity")
    lines = ["| layer | keep ratio | kept | test, pruned | test, retrained |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['layer']} | {r['keep_ratio']:g} | {r['kept']:,} | {100 * r['acc_pruned']:.2f}% | "
              f"{100 * r['acc_retrained']:.2f}% |" for r in rows]
    (out / "sensitivity.md").write_text("\n".join(lines) + "\n")
    plot_sensitivity(rows, marks, out / "sensitivity.png")
