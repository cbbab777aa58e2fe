"""Training: data-parallel gradients, the epoch loops, run records and dense training.

    records.py   history tables (CSV + JSON) and checkpoints
    parallel.py  one mini-batch's gradient on the machine's cores
    epochs.py    ``run_epoch`` (one pass) and ``train_epochs`` (the epoch loop: history, checkpoint, resume)
    fit.py       dense training (``TrainConfig``, ``fit``)
"""
from .epochs import DivergenceError, run_epoch, train_epochs
from .fit import TrainConfig, fit
