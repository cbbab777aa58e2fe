"""Knowledge distillation in masked retraining: the dense model teaches the pruned one.

Not part of the paper's recipe (the authors retrain on the labels alone; docs/paper_map.md lists it as a
departure). Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network" (2015): the student's
loss mixes the usual cross-entropy with the labels and the cross-entropy with the teacher's softened
probabilities. With student logits s (N, K), labels y, teacher logits t, temperature T and weight alpha:

    p_T = softmax(t / T),  q_T = softmax(s / T)
    loss = (1 - alpha) * CE(softmax(s), y) + alpha * T^2 * KL(p_T || q_T)          (means over the batch)
    dloss/ds = [(1 - alpha) * (softmax(s) - onehot(y)) + alpha * T * (q_T - p_T)] / N

The T^2 keeps the two terms' gradients on the same scale as T changes (Hinton et al., section 2).
alpha = 0 is plain cross-entropy; pruned weights stay zero exactly as in plain masked retraining, since the
loss only changes the gradient that the masked optimizer receives.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .layers import log_softmax, softmax_cross_entropy


def check_distill(alpha, T):
    """Raise ValueError unless 0 <= alpha <= 1 and T > 0."""
    if not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
        raise InputError(f"distillation weight alpha={alpha!r}: expected a number in [0, 1] (0: no distillation)")
    if not (isinstance(T, (int, float)) and T > 0):
        raise InputError(f"distillation temperature T={T!r}: expected a positive number")


def teacher_probs(teacher, X, T, batch=1000):
    """p_T = softmax(teacher(X) / T): X (N, ...) -> (N, K) float32, the teacher in evaluation mode."""
    teacher.eval()
    logits = np.concatenate([teacher.forward(X[i:i + batch]) for i in range(0, len(X), batch)])
    return np.exp(log_softmax(logits.astype(np.float64) / T)).astype(np.float32)


def distillation_loss(logits, y, p_T, alpha, T):
    """(loss, dlogits) of the module docstring's equation.

    logits (N, K), y (N,) int, p_T (N, K) teacher probabilities at temperature T -> (float, (N, K)).
    """
    ce, dce = softmax_cross_entropy(logits, y)  # dce = (softmax(s) - onehot(y)) / N
    if alpha == 0:
        return ce, dce
    N = logits.shape[0]
    logq = log_softmax(logits / T)
    p = p_T.astype(logits.dtype, copy=False)
    kl = float(np.sum(p * (np.log(np.maximum(p, 1e-30)) - logq)) / N)
    dlogits = (1 - alpha) * dce + (alpha * T / N) * (np.exp(logq) - p)
    return (1 - alpha) * ce + alpha * T * T * kl, dlogits


class Distillation:
    """The teacher's side of a distilled training run: ``probs(idx, xb)`` gives p_T for a batch.

    Without augmentation the teacher's probabilities for every training image are computed once
    (``X``: the training images); with augmentation (``augmented=True``) the teacher sees each batch as
    the student does, at the cost of one teacher forward pass per batch.
    """

    def __init__(self, teacher, alpha, T, X=None, augmented=False):
        check_distill(alpha, T)
        self.teacher, self.alpha, self.T, self.augmented = teacher, float(alpha), float(T), augmented
        self.P = None if augmented else teacher_probs(teacher, X, T)  # (N_train, K)

    def probs(self, idx, xb):
        """p_T for the batch: rows ``idx`` of the training set, whose (possibly shifted) images are ``xb``."""
        return teacher_probs(self.teacher, xb, self.T) if self.augmented else self.P[idx]

    def loss(self, logits, y, p_T):
        return distillation_loss(logits, y, p_T, self.alpha, self.T)


def distillation_for(teacher, alpha, T, X, augmented=False):
    """The ``Distillation`` of weight ``alpha`` at temperature ``T`` for training images X, or None when
    alpha = 0 (plain cross-entropy). Raises ValueError when alpha > 0 and there is no teacher."""
    if alpha == 0:
        return None
    if teacher is None:
        raise InputError(f"distillation weight {alpha}: training with distillation needs a teacher model")
    return Distillation(teacher, alpha, T, X, augmented=augmented)
