"""Small helpers the tutorials share: quick mode and where figures go.

``MINADMM_QUICK=1`` makes every tutorial finish in about a minute (data subsets, fewer iterations).
Figures go to ``$MINADMM_FIGURES`` if set, else to ``./figures`` next to where the tutorial runs.
"""
from __future__ import annotations

import os
from pathlib import Path


def quick() -> bool:
    return os.environ.get("MINADMM_QUICK", "0") not in ("", "0", "false", "False")


def figure_dir() -> Path:
    d = Path(os.environ.get("MINADMM_FIGURES", "figures"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where figures can show inline)."""
    import sys
    return "ipykernel" in sys.modules


def savefig(fig, name):
    """Save ``fig`` as ``<figure_dir>/<name>.png`` and print the path. In a notebook the figure also shows
    below the cell; in a script it is closed once saved."""
    import matplotlib.pyplot as plt
    path = figure_dir() / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    if in_notebook():
        from IPython.display import Image, display
        display(Image(filename=str(path)))  # shown here, so it is closed below and not shown twice
    plt.close(fig)
    print(f"wrote {path}")
    return path


def repo_file(relative):
    """Find ``relative`` (e.g. "models/lenet5-dense.npz") in the working directory or one of its parents,
    else in the minadmm checkout this package runs from (an editable install), so tutorials find the
    committed models wherever they run. Raises FileNotFoundError naming the places searched."""
    here = Path.cwd().resolve()
    checkout = Path(__file__).resolve().parents[1]
    for d in (here, *here.parents, checkout):
        if (d / relative).exists():
            return d / relative
    raise FileNotFoundError(f"{relative} not found in {here}, its parents or {checkout}")


def mnist_subset(n_train, n_test):
    """Real MNIST (see minadmm.data.load_mnist), cut to the first n_train / n_test images (None: all)."""
    from .data import load_mnist
    X, y, Xt, yt = load_mnist()
    return X[:n_train], y[:n_train], Xt[:n_test], yt[:n_test]
