"""Figures made from saved histories (never from console text). They are drawn on ``matplotlib.figure.Figure``
objects, which need no backend: importing this module leaves matplotlib's backend as it was. Each function
returns its figure and, given a path, saves it there as a PNG."""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def _save(fig, path):
    """Save ``fig`` as a PNG at ``path`` (if given); return the figure."""
    if path is not None:
        fig.savefig(Path(path), dpi=110)
    return fig


def _finish(fig, ax, xlabel, ylabel, path):
    """Labels, a log-log-friendly grid, the legend; then ``_save``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _by_layer(rows):
    layers = list(dict.fromkeys(r["layer"] for r in rows))
    return {n: [r for r in rows if r["layer"] == n] for n in layers}


def plot_residuals(admm_rows, path=None, title="ADMM residuals"):
    """Primal r = ||W - Z|| and dual s = rho ||Z - Z_prev|| per layer and iteration, log axis, with Boyd's
    eps_pri / eps_dual as dashed lines. One panel per layer."""
    per = _by_layer(admm_rows)
    fig = Figure(figsize=(3.6 * len(per), 3.2))
    axes = fig.subplots(1, len(per), squeeze=False)
    for ax, (name, rows) in zip(axes[0], per.items()):
        k = [r["k"] for r in rows]
        ax.semilogy(k, [r["r"] for r in rows], "o-", color="C0", label="primal r")
        ax.semilogy(k, [r["eps_pri"] for r in rows], "--", color="C0", alpha=0.6, label="eps_pri")
        s = [(kk, r["s"]) for kk, r in zip(k, rows) if r["s"] > 0]
        if s:
            ax.semilogy(*zip(*s), "s-", color="C1", label="dual s")
        ax.semilogy(k, [r["eps_dual"] for r in rows], "--", color="C1", alpha=0.6, label="eps_dual")
        ax.set_title(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("ADMM iteration k")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_accuracy(admm_rows, retrain_rows, path=None, dense_acc=None, baseline_rows=None):
    """Test accuracy across ADMM iterations (of W, before hard pruning), then across masked retraining
    epochs (of the pruned model); the magnitude baseline's retraining beside it if given."""
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
    ks = sorted({r["k"] for r in admm_rows})
    acc = {r["k"]: r["test_acc"] for r in admm_rows}
    ax.plot(ks, [100 * acc[k] for k in ks], "o-", label="ADMM: W (dense) after W-step")
    n = len(ks)
    if retrain_rows:
        ax.plot([n + r["epoch"] for r in retrain_rows], [100 * r["test_acc"] for r in retrain_rows], "s-",
                label="ADMM: pruned, masked retraining")
    if baseline_rows:
        ax.plot([n + r["epoch"] for r in baseline_rows], [100 * r["test_acc"] for r in baseline_rows], "^-",
                label="magnitude pruning, same retraining")
    if dense_acc is not None:
        ax.axhline(100 * dense_acc, color="gray", ls="--", label=f"dense {100 * dense_acc:.2f}%")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("ADMM iteration, then retraining epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def plot_sparsity(layers, path=None):
    """Kept % per layer: ours against the paper's (``layers``: rows of the report with kept_pct and
    paper_kept_pct)."""
    fig = Figure(figsize=(5.6, 3.4))
    ax = fig.subplots()
    names = [r["layer"] for r in layers]
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], [r["kept_pct"] for r in layers], 0.4, label="minadmm")
    paper = [r.get("paper_kept_pct") for r in layers]
    if all(p is not None for p in paper):
        ax.bar([i + 0.2 for i in x], paper, 0.4, label="paper")
    ax.set_xticks(list(x), names)
    ax.set_yscale("log")
    ax.set_ylabel("weights kept (%)")
    ax.legend()
    ax.grid(True, axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_pareto(rows, front, path=None):
    """Test accuracy against compression of a sweep's runs (``rows``: compression, test_acc), with the
    Pareto front (``front``: the rows no other run beats in both) drawn as a line."""
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.subplots()
    ax.scatter([r["compression"] for r in rows], [100 * r["test_acc"] for r in rows], s=18, label="runs")
    front = sorted(front, key=lambda r: r["compression"])
    ax.plot([r["compression"] for r in front], [100 * r["test_acc"] for r in front], "r-o", ms=4, label="Pareto front")
    ax.set_xscale("log")
    return _finish(fig, ax, "compression (weights, x)", "test accuracy (%)", path)


def plot_sensitivity(rows, marks=None, path=None):
    """Test accuracy against the keep ratio of the one pruned layer, a colour per layer (``rows``: layer,
    keep_ratio, acc_pruned, acc_retrained): right after the cut (dashed) and after retraining (solid);
    ``marks`` = {layer: ratio} drawn as dotted lines."""
    fig = Figure(figsize=(6, 3.8))
    ax = fig.subplots()
    for n, (layer, rr) in enumerate(_by_layer(rows).items()):
        rr = sorted(rr, key=lambda r: r["keep_ratio"])
        ax.semilogx([r["keep_ratio"] for r in rr], [100 * r["acc_retrained"] for r in rr], "o-", ms=3,
                    color=f"C{n}", label=f"{layer}, retrained")
        ax.semilogx([r["keep_ratio"] for r in rr], [100 * r["acc_pruned"] for r in rr], "--", lw=1,
                    color=f"C{n}", label=f"{layer}, pruned only")
        if marks and layer in marks:
            ax.axvline(marks[layer], color=f"C{n}", ls=":", lw=1)
    ax.set_ylim(bottom=max(ax.get_ylim()[0], 90))
    return _finish(fig, ax, "keep ratio of the one pruned layer (dotted: the paper's)", "test accuracy (%)", path)


def plot_sparse_vd(rows, path=None):
    """A sparse variational dropout round (``history_sparse_vd``): the weights kept (log alpha < threshold) per
    layer, log axis, and the test (and validation) accuracy of the kept weights, per epoch."""
    fig = Figure(figsize=(8.4, 3.2))
    ax_kept, ax_acc = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in rows]
    for key in [k for k in (rows[0] if rows else {}) if k.startswith("kept_")]:
        ax_kept.semilogy(epochs, [r[key] for r in rows], "o-", ms=3, label=key[5:])
    ax_kept.semilogy(epochs, [r["kept"] for r in rows], "k-", label="all")
    ax_kept.set_title("weights with log alpha < threshold")
    ax_acc.plot(epochs, [100 * r["test_acc"] for r in rows], "o-", ms=3, label="test")
    if rows and "val_acc" in rows[0]:
        ax_acc.plot(epochs, [100 * r["val_acc"] for r in rows], "s-", ms=3, label="validation")
    ax_acc.set_title("accuracy of the kept weights")
    for ax in (ax_kept, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _finish(fig, ax_kept, "epoch", "weights", None)
    return _finish(fig, ax_acc, "epoch", "accuracy (%)", path)
