"""Dense training: ``fit(model, data, TrainConfig)``, the authors' LeNet-5 pretraining by default."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data.augment import RandomShift, check_shift
from ..data.split import split_validation
from ..errors import InputError
from ..nn.model import save_model
from ..nn.optim import make_optimizer
from .epochs import train_epochs
from .parallel import thread_mismatch, thread_setting
from .records import checkpoint_meta


@dataclass
class TrainConfig:
    """Hyperparameters of dense training (defaults: the authors' LeNet-5 pretraining, Adam lr 1e-3,
    batch 50, dropout keep 0.5, L2 5e-5 * sum(W^2) / 2)."""
    epochs: int = 17  # 17 x 1,200 batches of 50 = 20,400 steps, the authors' 20,000
    batch_size: int = 50
    lr: float = 1e-3
    lr_decay: float = 1.0  # lr multiplied by this after every epoch (1.0: constant, as the authors)
    optimizer: str = "adam"
    weight_decay: float = 5e-5
    keep: float = 0.5
    shift: int = 0  # random translations of up to this many pixels (data/augment.py; 0: none, as the authors)
    seed: int = 0
    val: int = 0  # training images held out as a validation split (the first val of them); 0: none

    def __post_init__(self):
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise InputError(f"epochs={self.epochs}: expected a positive integer")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise InputError(f"batch_size={self.batch_size}: expected a positive integer")
        if not 0.0 < self.keep <= 1.0:
            raise InputError(f"keep={self.keep}: expected a dropout keep probability in (0, 1]")
        check_shift(self.shift)
        if not 0.0 < self.lr_decay <= 1.0:
            raise InputError(f"lr_decay={self.lr_decay}: expected a factor in (0, 1]")


def fit(model, data, config: TrainConfig, out_dir=None, resume=False, log=print):
    """Train ``model`` on ``data = (X_train, y_train, X_test, y_test)``.

    Writes to ``out_dir`` (if given) after every epoch: ``history.csv``/``.json`` (epoch, lr, loss,
    train_acc, test_acc, seconds, samples_per_s, and val_acc with ``config.val``), ``checkpoint.npz``
    (model, optimizer and RNG states, and the thread setting the run started in: ``parallel.thread_setting``)
    and ``model.npz``. ``resume=True`` continues from ``out_dir/checkpoint.npz``, with a warning if the thread
    setting differs from the recorded one. Returns the history rows.
    """
    threads = thread_setting()
    if resume:
        ckpt = Path(out_dir or ".") / "checkpoint.npz"
        if out_dir is None or not ckpt.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt}")
        recorded = checkpoint_meta(ckpt).get("threads")
        if warning := thread_mismatch(recorded, threads):
            log(warning)
        threads = recorded or threads  # the setting the run started in stays on record
    data, val = split_validation(data, config.val)
    model.set_dropout(config.keep)
    opt = make_optimizer(config.optimizer, model.params, config.lr, config.weight_decay)
    save = (lambda epoch: save_model(Path(out_dir) / "model.npz", model)) if out_dir else None
    history = train_epochs(model, opt, data, config.epochs, config.lr, config.lr_decay, config.batch_size,
                           np.random.default_rng(config.seed), out_dir=out_dir, name="epoch", resume=resume, log=log,
                           augment=RandomShift(config.shift), meta={"config": asdict(config), "threads": threads},
                           after_epoch=save, val=val)
    if out_dir:
        (Path(out_dir) / "config.json").write_text(json.dumps(asdict(config), indent=1))
    return history
