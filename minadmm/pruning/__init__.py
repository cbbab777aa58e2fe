"""Pruning with ADMM, stage by stage.

    targets.py     per-layer keep counts l_i: the paper's, and ``--keep`` specifications
    config.py      ``PruneConfig``: the whole schedule of one round
    admm_stage.py  the W-step solver and the ADMM loop with history, checkpoints and resume
    retrain.py     hard pruning, masked retraining, the magnitude-pruning baseline
"""
from .admm_stage import run_admm
from .config import PruneConfig
from .retrain import hard_prune, magnitude_prune, retrain
