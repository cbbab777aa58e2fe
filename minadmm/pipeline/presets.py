"""Recipes as data: a preset (``presets/<name>.json``) names the architecture, the dense model it starts
from, whether the magnitude baseline runs, what it reproduces, and one or more rounds, each with its
targets {layer: l} and its whole ``PruneConfig`` schedule. Round r + 1 starts from round r's pruned model;
the teacher of every distilled round is the preset's dense model.

``minadmm presets`` lists them; ``minadmm prune --preset NAME --out DIR`` runs one; a flag given beside it
overrides that one value in every round.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ..errors import InputError
from ..pruning.config import PruneConfig

PRESET_DIR = Path(__file__).parent / "presets"
REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout an editable install runs from
KEYS = {"description", "arch", "from", "baseline", "reproduces", "results", "rounds"}


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
    p["rounds"] = [{"keep": dict(r["keep"]), "config": PruneConfig.from_dict(r["config"], f"preset {name}")}
                   for r in p["rounds"]]
    return {"name": name, **p}


def override(preset, values):
    """A copy of ``preset`` whose every round's config has ``values`` ({PruneConfig field: value}) set."""
    rounds = [{"keep": r["keep"], "config": PruneConfig.from_dict({**asdict(r["config"]), **values})}
              for r in preset["rounds"]]
    return {**preset, "rounds": rounds}


def find_file(relative, what):
    """``relative`` as given if it exists there, else in the minadmm checkout (so a preset's
    ``models/...`` is found from any working directory). Raises FileNotFoundError naming both places."""
    for path in (Path(relative), REPO_ROOT / relative):
        if path.exists():
            return path
    raise FileNotFoundError(f"{what} {relative} not found in {Path.cwd()} or {REPO_ROOT}; give the file with --from")
