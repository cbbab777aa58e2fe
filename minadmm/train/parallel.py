"""Data-parallel gradients of one mini-batch on the machine's cores.

The batch is split into one shard per worker; each worker thread runs forward and backward of a model
replica (shared parameter arrays, own gradients and caches) on its shard, and the shard gradients are
summed into the model's. NumPy's GEMMs and minadmm's numba kernels (``nogil=True``) release the GIL, so
the threads run in parallel; OpenBLAS is held to one thread while they compute a batch's gradient
(threadpoolctl), since two levels of threading on two cores slow each other down (docs/performance.md has
the measurements). OpenBLAS's thread count is a setting of the whole process, so the limit is held only
for that computation (about 8 us to set and restore per batch) and restored after it, even on an error.

The result equals the single-threaded gradient of the mean loss over the whole batch up to float rounding:
shard n_i's loss gradient is scaled by n_i / N. Dropout in replica i draws from an RNG reseeded at every
step from the model's own dropout RNG, so a run is reproducible and resumable from the model's RNG state.
"""
from __future__ import annotations

import os
import platform
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from threadpoolctl import ThreadpoolController

from ..errors import InputError
from ..nn.layers import Dropout, softmax_cross_entropy
from ..nn.optim import piece


def default_workers():
    """$MINADMM_WORKERS if set, else one worker per core (at most 8)."""
    env = os.environ.get("MINADMM_WORKERS")
    if env:
        if not env.isdigit() or int(env) < 1:
            raise InputError(f"MINADMM_WORKERS={env!r}: expected a positive integer")
        return int(env)
    return max(1, min(os.cpu_count() or 1, 8))


def thread_setting():
    """The settings that fix a run's floating-point order, and so its bits: {"workers": gradient threads
    (``default_workers``), "blas_threads": OpenBLAS's threads outside the gradient computation,
    "numba_threads": numba's}. Two runs of one command agree bit for bit when these (and the machine and
    code) agree; each pruning round's run.json and each dense training's checkpoint record them."""
    blas = [p["num_threads"] for p in ThreadpoolController().info() if p["user_api"] == "blas"]
    return {"workers": default_workers(), "blas_threads": max(blas, default=1),
            "numba_threads": numba.get_num_threads()}


def platform_setting():
    """What else fixes a run's bits besides its threads: {"cpu": the processor's model name, "blas": the BLAS
    library, its version and the kernels it chose for this CPU, "numpy", "numba", "python": versions}. The
    same command, threads and platform give the same bits; another CPU or BLAS build may not (each pruning
    round's run.json records it, so two runs that disagree can be told apart)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    blas = [f"{p.get('internal_api')} {p.get('version')} {p.get('architecture') or ''}".strip()
            for p in ThreadpoolController().info() if p["user_api"] == "blas"]
    return {"cpu": cpu, "blas": ", ".join(blas), "numpy": np.__version__, "numba": numba.__version__,
            "python": platform.python_version()}


def platform_mismatch(recorded, now):
    """The message for resuming on another platform than the run started on (None if it is the same, or the
    run recorded none)."""
    if not recorded or recorded == now:
        return None
    changed = ", ".join(f"{k} {recorded.get(k)!r} -> {now.get(k)!r}" for k in now if recorded.get(k) != now.get(k))
    return (f"warning: this run started on another platform ({changed}): the result may not equal an "
            f"uninterrupted run bit for bit")


def thread_mismatch(recorded, now):
    """The message for resuming in another thread setting than the run started in (None if it is the same,
    or the run recorded none)."""
    if not recorded or recorded == now:
        return None
    env = {"workers": "MINADMM_WORKERS", "blas_threads": "OPENBLAS_NUM_THREADS", "numba_threads": "NUMBA_NUM_THREADS"}
    again = " ".join(f"{env[k]}={v}" for k, v in recorded.items() if k in env)
    return (f"warning: this run started with threads {recorded} and resumes with {now}: the floating-point "
            f"order differs, so the result will not equal an uninterrupted run bit for bit (to match it, "
            f"resume with {again})")


class GradientWorkers:
    """``loss_and_grads(X, y)`` for ``model`` with ``n`` threads (n = 1: the plain single-process path)."""

    def __init__(self, model, n=None):
        self.model = model
        self.n = default_workers() if n is None else n
        if self.n < 1:
            raise InputError(f"workers={n}: expected at least 1")
        self.replicas = [model] + [model.replica() for _ in range(self.n - 1)]
        self.pool = ThreadPoolExecutor(self.n) if self.n > 1 else None
        self.blas = ThreadpoolController() if self.n > 1 else None

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _reseed_dropout(self):
        src = [layer for _, layer in self.model.layers if isinstance(layer, Dropout)]
        for rep in self.replicas[1:]:
            dst = [layer for _, layer in rep.layers if isinstance(layer, Dropout)]
            for s, d in zip(src, dst):
                d.keep, d.training = s.keep, s.training
                d.rng = np.random.default_rng(s.rng.integers(2**63))

    def step(self, optimizer):
        """``optimizer.step(model.grads)``, its pieces spread over the worker threads."""
        optimizer.step(self.model.grads, pool=self.pool, n=self.n)

    def loss_and_grads(self, X, y, distill=None, p_T=None):
        """Mean loss over the batch and its gradients in ``model.grads`` (see ``_loss_and_grads``), with
        OpenBLAS held to one thread meanwhile when there are several workers."""
        if self.blas is None:
            return self._loss_and_grads(X, y, distill, p_T)
        with self.blas.limit(limits=1, user_api="blas"):
            return self._loss_and_grads(X, y, distill, p_T)

    def _loss_and_grads(self, X, y, distill=None, p_T=None):
        """Mean softmax cross-entropy over the batch and its gradients in ``model.grads``.
        X (N, ...), y (N,) -> (loss, logits (N, K)). With ``distill`` (a ``distill.Distillation``) and the
        teacher's probabilities ``p_T`` (N, K), the distillation loss instead."""
        N = len(X)

        def loss_fn(logits, a, b):
            if distill is None:
                return softmax_cross_entropy(logits, y[a:b])
            return distill.loss(logits, y[a:b], p_T[a:b])

        if self.pool is None or N < 2 * self.n:
            logits = self.model.forward(X)
            loss, d = loss_fn(logits, 0, N)
            self.model.backward(d)
            return loss, logits
        self._reseed_dropout()
        bounds = np.linspace(0, N, self.n + 1).astype(int)

        def work(i):
            a, b = bounds[i], bounds[i + 1]
            rep = self.replicas[i]
            logits = rep.forward(X[a:b])
            loss, d = loss_fn(logits, a, b)
            d *= (b - a) / N
            rep.backward(d)
            return loss * (b - a) / N, logits

        results = list(self.pool.map(work, range(self.n)))
        grads = self.model.grads
        others = [rep.grads for rep in self.replicas[1:]]

        def reduce(i):  # the shards' gradients summed into the model's, piece i of every parameter
            for k, g in grads.items():
                sl = piece(g.size, i, self.n)
                gi = g.reshape(-1)[sl]
                for other in others:
                    gi += other[k].reshape(-1)[sl]

        list(self.pool.map(reduce, range(self.n)))
        return sum(r[0] for r in results), np.concatenate([r[1] for r in results])
