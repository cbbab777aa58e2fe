"""``minadmm prune`` from end to end: recipes as data (presets.py), the run directory (rundir.py) and the
rounds of a recipe, each ADMM -> hard pruning -> masked retraining -> report (run.py)."""
