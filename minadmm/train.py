"""Mini-batch training: seeded shuffling, per-epoch evaluation, history rows and checkpoints.

``run_epoch`` is the one training loop in minadmm. Dense pretraining, the ADMM W-step and masked retraining
all call it; the W-step passes a ``grad_hook`` that adds the ADMM penalty gradient, masked retraining passes
an optimizer built with masks.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .augment import RandomShift, check_shift
from .history import resume_epochs, save_checkpoint, save_history
from .parallel import GradientWorkers
from .model import save_model
from .optim import make_optimizer


class DivergenceError(RuntimeError):
    """The training loss became NaN/inf or exploded."""


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
    shift: int = 0  # random translations of up to this many pixels (augment.py; 0: none, as the authors)
    seed: int = 0

    def __post_init__(self):
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ValueError(f"epochs={self.epochs}: expected a positive integer")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"batch_size={self.batch_size}: expected a positive integer")
        if not 0.0 < self.keep <= 1.0:
            raise ValueError(f"keep={self.keep}: expected a dropout keep probability in (0, 1]")
        check_shift(self.shift)
        if not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay={self.lr_decay}: expected a factor in (0, 1]")


def run_epoch(model, optimizer, X, y, batch_size, rng, grad_hook=None, desc="train", max_loss=1e4, workers=None,
              augment=None, distill=None):
    """One pass over (X, y) in a random order drawn from ``rng``.

    X (N, 1, 28, 28) float32, y (N,) int64. ``grad_hook()``, if given, runs after backward and before the
    optimizer step (the ADMM W-step adds rho (W - Z + U) there). ``workers``: threads computing each
    batch's gradient (default: one per core; 1 = single thread, see parallel.py). ``augment(xb, rng)``, if
    given, transforms each batch's images before the forward pass (``augment.RandomShift``). ``distill`` (a
    ``distill.Distillation``), if given, replaces the loss by the distillation loss. Returns (mean loss,
    running accuracy on the training batches, in training mode). Raises DivergenceError if a batch loss
    is not finite or exceeds ``max_loss``.
    """
    model.train()
    with GradientWorkers(model, workers) as gw:
        return _run_epoch(model, gw, optimizer, X, y, batch_size, rng, grad_hook, desc, max_loss, augment, distill)


def _run_epoch(model, gw, optimizer, X, y, batch_size, rng, grad_hook, desc, max_loss, augment, distill):
    order = rng.permutation(len(X))
    total_loss, correct, seen = 0.0, 0, 0
    n_batches = math.ceil(len(X) / batch_size)
    bar = tqdm(range(n_batches), desc=desc, leave=False, disable=None, unit="batch")
    for b in bar:
        idx = order[b * batch_size:(b + 1) * batch_size]
        xb = X[idx] if augment is None else augment(X[idx], rng)
        p_T = None if distill is None else distill.probs(idx, xb)
        loss, logits = gw.loss_and_grads(xb, y[idx], distill, p_T)
        if not np.isfinite(loss) or loss > max_loss:
            raise DivergenceError(f"loss {loss} at batch {b}")
        if grad_hook is not None:
            grad_hook()
        gw.step(optimizer)
        total_loss += loss * len(idx)
        correct += int((logits.argmax(axis=1) == y[idx]).sum())
        seen += len(idx)
        if b % 50 == 0:
            bar.set_postfix(loss=f"{total_loss / seen:.4f}")
    return total_loss / seen, correct / seen


def fit(model, data, config: TrainConfig, out_dir=None, resume=False, log=print):
    """Train ``model`` on ``data = (X_train, y_train, X_test, y_test)``.

    Writes to ``out_dir`` (if given) after every epoch: ``history.csv``/``.json`` (epoch, loss,
    train_acc, test_acc, seconds, samples_per_s), ``checkpoint.npz`` (model, Adam state, RNG states) and
    ``model.npz``. ``resume=True`` continues from ``out_dir/checkpoint.npz``. Returns the history rows.
    """
    X, y, Xt, yt = data
    model.set_dropout(config.keep)
    opt = make_optimizer(config.optimizer, model.params, config.lr, config.weight_decay)
    rng = np.random.default_rng(config.seed)
    history, start = [], 0
    ckpt = Path(out_dir) / "checkpoint.npz" if out_dir else None
    if resume:
        if ckpt is None or not ckpt.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt}")
        history, start = resume_epochs(ckpt, model, opt, rng)
        log(f"resumed from {ckpt} after epoch {start}")
    for epoch in range(start + 1, config.epochs + 1):
        opt.lr = config.lr * config.lr_decay ** (epoch - 1)
        t0 = time.perf_counter()
        loss, train_acc = run_epoch(model, opt, X, y, config.batch_size, rng, desc=f"epoch {epoch}",
                                    augment=RandomShift(config.shift))
        seconds = time.perf_counter() - t0
        test_acc = model.accuracy(Xt, yt)
        row = {"epoch": epoch, "lr": opt.lr, "loss": loss, "train_acc": train_acc, "test_acc": test_acc,
               "seconds": seconds, "samples_per_s": len(X) / seconds}
        history.append(row)
        log(f"epoch {epoch}/{config.epochs}  loss {loss:.4f}  train {train_acc:.4f}  "
            f"test {test_acc:.4f}  {seconds:.1f}s ({row['samples_per_s']:.0f} samples/s)")
        if out_dir:
            save_history(history, out_dir)
            save_checkpoint(ckpt, model, opt, meta={"epoch": epoch, "rng": rng.bit_generator.state,
                                                    "history": history, "config": asdict(config)})
            save_model(Path(out_dir) / "model.npz", model)
    if out_dir:
        (Path(out_dir) / "config.json").write_text(json.dumps(asdict(config), indent=1))
    return history
