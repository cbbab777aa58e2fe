"""Recipes as data: a preset (``presets/<name>.json``) names the architecture, the dense model it starts
from, whether the magnitude baseline runs, what it reproduces, and one or more rounds, each with its
targets {layer: l} and its whole ``PruneConfig`` schedule, or a round of sparse variational dropout
({"kind": "sparse_vd", "config": its ``SparseVDConfig``}). Round r + 1 starts from round r's model; the
teacher of every distilled round is the preset's dense model.

``minadmm presets`` lists them; ``minadmm prune --preset NAME --out DIR`` runs one; a flag given beside it
overrides that one value in every ADMM round (--seed and --val in every round, sparse VD too).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ..errors import InputError
from ..pruning.config import PruneConfig
from ..pruning.sparse_vd import SparseVDConfig

PRESET_DIR = Path(__file__).parent / "presets"
REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout an editable install runs from
KEYS = {"description", "arch", "from", "baseline", "reproduces", "results", "rounds"}
SHARED = ("seed", "val")  # the settings a flag sets in a sparse VD round too
QUICK_SPARSE_VD = {"epochs": 2, "kl_ramp": 1.0}  # --quick: a sparse VD round's schedule


def preset_names():
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name):
    """The preset ``name`` as a dict, its rounds' configs as ``PruneConfig``s. Raises ValueError naming
    the valid presets, or the bad key of a preset file."""
    path = PRESET_DIR / f"{name}.json"
    if not path.exists():
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(preset_names())} (minadmm presets)")
    p = json.loads(path.read_text())
    if set(p) != KEYS:
        raise InputError(f"preset file {path}: expected the keys {sorted(KEYS)}, found {sorted(p)}")
    p["rounds"] = [load_round(r, f"preset {name} round {i + 1}") for i, r in enumerate(p["rounds"])]
    return {"name": name, **p}


def load_round(r, where):
    """A round of a preset file: {"keep", "config": PruneConfig} or {"kind": "sparse_vd", "config":
    SparseVDConfig}. Raises InputError naming the bad kind or key."""
    kind = r.get("kind", "admm")
    if kind == "sparse_vd":
        if set(r) != {"kind", "config"}:
            raise InputError(f"{where}: a sparse_vd round has the keys ['config', 'kind'], found {sorted(r)}")
        return {"kind": kind, "config": SparseVDConfig.from_dict(r["config"], where)}
    if kind != "admm" or set(r) - {"kind"} != {"keep", "config"}:
        raise InputError(f"{where}: expected a round {{'keep', 'config'}} or {{'kind': 'sparse_vd', 'config'}}, "
                         f"found kind {kind!r} with keys {sorted(r)}")
    return {"keep": dict(r["keep"]), "config": PruneConfig.from_dict(r["config"], where)}


def override(preset, values, quick=False):
    """A copy of ``preset`` whose every ADMM round's config has ``values`` ({PruneConfig field: value}) set,
    and every sparse VD round's the values of ``SHARED`` (with ``quick``: its short schedule too)."""
    rounds = []
    for r in preset["rounds"]:
        if r.get("kind") == "sparse_vd":
            vd = {**asdict(r["config"]), **(QUICK_SPARSE_VD if quick else {}),
                  **{k: v for k, v in values.items() if k in SHARED}}
            rounds.append({"kind": "sparse_vd", "config": SparseVDConfig.from_dict(vd)})
        else:
            rounds.append({"keep": r["keep"], "config": PruneConfig.from_dict({**asdict(r["config"]), **values})})
    return {**preset, "rounds": rounds}


def find_file(relative, what):
    """``relative`` as given if it exists there, else in the minadmm checkout (so a preset's
    ``models/...`` is found from any working directory). Raises FileNotFoundError naming both places."""
    for path in (Path(relative), REPO_ROOT / relative):
        if path.exists():
            return path
    raise FileNotFoundError(f"{what} {relative} not found in {Path.cwd()} or {REPO_ROOT}; give the file with --from")
