"""Run records: history tables (CSV + JSON) and checkpoints (model + optimizer + RNG state, one .npz).

Every long loop in minadmm appends one dict per epoch/iteration to a list and saves it with
``save_history``; plots and reports read these files, never console text.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_history(rows, out_dir, name="history"):
    """Write ``rows`` (a list of flat dicts) to ``out_dir/name.csv`` and ``out_dir/name.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(out_dir / f"{name}.json", json.dumps(rows, indent=1))
    if not rows:
        return
    fields = list(dict.fromkeys(k for r in rows for k in r))
    tmp = out_dir / f"{name}.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, out_dir / f"{name}.csv")


def load_history(path):
    """Read a history written by ``save_history`` (give the .json or .csv path; the JSON is read)."""
    path = Path(path)
    return json.loads(path.with_suffix(".json").read_text())


def save_checkpoint(path, model, optimizer=None, arrays=None, meta=None):
    """One .npz with the model's parameters ("param:<name>"), the optimizer state ("opt:<key>"), extra
    arrays ("arr:<name>", e.g. ADMM's Z and U) and a JSON ``meta`` dict (epoch, RNG states, history...).
    Written to a temporary file and renamed, so an interruption never leaves a broken checkpoint."""
    path = str(path)
    out = {f"param:{k}": v for k, v in model.params.items()}
    if optimizer is not None:
        out.update({f"opt:{k}": np.asarray(v) for k, v in optimizer.state_dict().items()})
    out.update({f"arr:{k}": v for k, v in (arrays or {}).items()})
    meta = dict(meta or {})
    meta["arch"] = model.arch
    meta["dropout_rng"] = [layer.rng.bit_generator.state for _, layer in model.layers if hasattr(layer, "rng")]
    tmp = path + ".tmp.npz"
    np.savez(tmp, __meta__=np.array(json.dumps(meta)), **out)
    os.replace(tmp, path)


def load_checkpoint(path, model, optimizer=None):
    """Restore what ``save_checkpoint`` wrote into ``model`` (and ``optimizer``); returns (arrays, meta)."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        if meta.get("arch") != model.arch:
            raise InputError(f"checkpoint {path} is for {meta.get('arch')!r}, not {model.arch!r}")
        for k, v in model.params.items():
            v[...] = data[f"param:{k}"]
        if optimizer is not None:
            optimizer.load_state_dict({k[4:]: data[k] for k in data.files if k.startswith("opt:")})
        arrays = {k[4:]: data[k].copy() for k in data.files if k.startswith("arr:")}
    rngs = [layer.rng for _, layer in model.layers if hasattr(layer, "rng")]
    for rng, state in zip(rngs, meta.get("dropout_rng", [])):
        rng.bit_generator.state = state
    return arrays, meta


def checkpoint_meta(ckpt):
    """The JSON ``meta`` dict of a checkpoint written by ``save_checkpoint`` (without loading its arrays)."""
    with np.load(ckpt, allow_pickle=False) as data:
        return json.loads(str(data["__meta__"]))


def checkpointed_seconds(ckpt):
    """The seconds that the epochs (or ADMM iterations) in a checkpoint's history took: what earlier processes
    spent on a loop that this one resumes. One row per epoch, or per layer and iteration k for ADMM (each of
    those rows holds the whole iteration's seconds). 0 when there is no checkpoint."""
    if not Path(ckpt).exists():
        return 0.0
    rows = checkpoint_meta(ckpt).get("history", [])
    return float(sum({row.get("k", row.get("epoch")): row["seconds"] for row in rows}.values()))


def resume_epochs(ckpt, model, optimizer, rng):
    """Restore an epoch loop's checkpoint (written with meta keys "epoch", "rng", "history") into
    ``model``, ``optimizer`` and ``rng``; returns (history, last finished epoch)."""
    _, meta = load_checkpoint(ckpt, model, optimizer)
    rng.bit_generator.state = meta["rng"]
    return meta["history"], meta["epoch"]
