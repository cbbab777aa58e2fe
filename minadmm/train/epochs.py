"""The training loops: one epoch of mini-batches, and the epoch loop with history, checkpoint and resume.

``run_epoch`` is the one pass over the data in minadmm: dense training, the ADMM W-step and masked retraining
all call it (the W-step passes a ``grad_hook`` that adds the ADMM penalty gradient; masked retraining an
optimizer built with masks). ``train_epochs`` is the one epoch loop: dense training and masked retraining
run it; the ADMM stage checkpoints per iteration instead (pruning/admm_stage.py).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .parallel import GradientWorkers
from .records import resume_epochs, save_checkpoint, save_history


class DivergenceError(RuntimeError):
    """The training loss became NaN/inf or exploded."""


def run_epoch(model, optimizer, X, y, batch_size, rng, grad_hook=None, desc="train", max_loss=1e4, workers=None,
              augment=None, distill=None):
    """One pass over (X, y) in a random order drawn from ``rng``.

    X (N, 1, 28, 28) float32, y (N,) int64. ``grad_hook()``, if given, runs after backward and before the
    optimizer step (the ADMM W-step adds rho (W - Z + U) there). ``workers``: threads computing each
    batch's gradient (default: one per core; 1 = single thread, see parallel.py). ``augment(xb, rng)``, if
    given, transforms each batch's images before the forward pass (``data.augment.RandomShift``). ``distill``
    (an ``nn.distill.Distillation``), if given, replaces the loss by the distillation loss. Returns (mean
    loss, running accuracy on the training batches, in training mode). Raises DivergenceError if a batch
    loss is not finite or exceeds ``max_loss``.
    """
    model.train()
    with GradientWorkers(model, workers) as gw:
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


def train_epochs(model, optimizer, data, epochs, lr, lr_decay, batch_size, rng, out_dir=None, name="train",
                 history_name="history", checkpoint_name="checkpoint.npz", resume=False, log=print, augment=None,
                 distill=None, meta=None, after_epoch=None, val=None):
    """Epochs start + 1 .. ``epochs`` of ``run_epoch`` on ``data = (X, y, X_test, y_test)``; returns the history.

    Epoch e runs at lr * lr_decay^(e - 1). After each epoch: a history row (epoch, lr, loss, train_acc,
    test_acc, seconds, samples_per_s, and val_acc when ``val`` = (X_val, y_val) is given); with ``out_dir``, ``<history_name>.csv/.json`` and
    ``<checkpoint_name>`` (model, optimizer, RNG states, history and ``meta``) are written, then
    ``after_epoch(epoch)`` runs and the epoch is logged. ``resume=True`` continues from the checkpoint if
    there is one, so an interrupted loop resumes to exactly what an uninterrupted one computes.
    """
    X, y, Xt, yt = data
    ckpt = Path(out_dir) / checkpoint_name if out_dir else None
    history, start = [], 0
    if resume and ckpt is not None and ckpt.exists():
        history, start = resume_epochs(ckpt, model, optimizer, rng)
        log(f"resumed {name} from {ckpt} after epoch {start}")
    for epoch in range(start + 1, epochs + 1):
        optimizer.lr = lr * lr_decay ** (epoch - 1)
        t0 = time.perf_counter()
        try:
            loss, train_acc = run_epoch(model, optimizer, X, y, batch_size, rng, desc=f"{name} {epoch}",
                                        augment=augment, distill=distill)
        except DivergenceError as err:
            err.epoch = epoch  # where it happened, for the caller's message
            raise
        seconds = time.perf_counter() - t0
        test_acc = model.accuracy(Xt, yt)
        history.append({"epoch": epoch, "lr": optimizer.lr, "loss": loss, "train_acc": train_acc,
                        "test_acc": test_acc, **({"val_acc": model.accuracy(*val)} if val is not None else {}),
                        "seconds": seconds, "samples_per_s": len(X) / seconds})
        if out_dir:
            save_history(history, out_dir, history_name)
            save_checkpoint(ckpt, model, optimizer, meta={"epoch": epoch, "rng": rng.bit_generator.state,
                                                          "history": history, **(meta or {})})
        if after_epoch is not None:
            after_epoch(epoch)
        log(f"{name} {epoch}/{epochs}  loss {loss:.4f}  train {train_acc:.4f}  test {test_acc:.4f}  "
            f"{seconds:.1f}s ({len(X) / seconds:.0f} samples/s)")
    return history
