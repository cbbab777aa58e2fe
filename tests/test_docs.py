"""The documents describe the product as it is: their tables are the ones the committed reports give, each
preset is the recipe of its committed run, and no file narrates when or in which order the work was done."""
import json
import re
import subprocess
import sys

from conftest import ROOT


def test_tables_match_the_committed_reports():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "tables.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_no_file_narrates_the_work():
    narration = re.compile(r"session|today|\bissue \d+|earlier code", re.I)
    files = [p for d in ("README.md", "docs", "results", "tutorials", "minadmm", "benchmarks")
             for p in ([ROOT / d] if (ROOT / d).is_file() else (ROOT / d).rglob("*"))
             if p.is_file() and p.suffix in (".md", ".py", ".json", ".log", ".txt")]
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()[:80]}" for p in files
            for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if narration.search(line)]
    assert not hits, "\n".join(hits[:20])


def test_each_preset_is_the_recipe_of_its_committed_run():
    """A preset's rounds (targets and every setting) equal those its committed run (``results`` in the preset)
    recorded, so the command README gives beside a committed number is the recipe that made it."""
    from dataclasses import asdict

    from minadmm.pipeline.presets import load_preset, preset_names
    from minadmm.pruning.config import PruneConfig
    from minadmm.pruning.sparse_vd import SparseVDConfig
    checked = 0
    for name in preset_names():
        preset = load_preset(name)
        if not preset["results"]:
            continue
        run = ROOT / preset["results"]
        if (run / "plan.json").exists():
            rounds = json.loads((run / "plan.json").read_text())["rounds"]
        else:
            one = json.loads((run / "run.json").read_text())
            rounds = [{"keep": one["keep"], "config": one["config"]}]
        assert len(rounds) == len(preset["rounds"]), name
        for r, (ran, recipe) in enumerate(zip(rounds, preset["rounds"]), 1):
            if recipe.get("kind") == "sparse_vd":
                assert ran.get("kind") == "sparse_vd", f"{name} round {r}"
                assert asdict(SparseVDConfig.from_dict(ran["config"])) == asdict(recipe["config"]), f"{name} round {r}"
                continue
            assert ran["keep"] == recipe["keep"], f"{name} round {r}"
            assert asdict(PruneConfig.from_dict(ran["config"])) == asdict(recipe["config"]), f"{name} round {r}"
        checked += 1
    assert checked >= 9
