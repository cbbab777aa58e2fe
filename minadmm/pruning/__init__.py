"""Pruning with ADMM, stage by stage.

    targets.py     per-layer keep counts l_i: the paper's, and ``--keep`` specifications
    config.py      ``PruneConfig``: the whole schedule of one round
    admm_stage.py  the W-step solver and the ADMM loop with history, checkpoints and resume
    retrain.py     hard pruning, masked retraining, the magnitude-pruning baseline
    quantized.py   hard quantization and retraining inside the quantized set
    shrink.py      a structurally pruned network as the smaller dense network it is
    sparse_vd.py   ``SparseVDConfig`` and a round of sparse variational dropout (a start for ADMM)
"""
from .admm_stage import run_admm
from .config import PruneConfig
from .retrain import hard_prune, magnitude_prune, retrain
from .sparse_vd import SparseVDConfig, run_sparse_vd
