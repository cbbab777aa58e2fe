"""What the CLI's commands share: the one-line error, the MNIST options and loading."""
from __future__ import annotations

import numpy as np

from ..errors import InputError


class CLIError(InputError):
    """Bad command-line input found by the CLI itself."""


def data_args(p):
    p.add_argument("--data", default=None,
                   help="MNIST directory (default: $MINADMM_DATA, else ~/.cache/minadmm/mnist)")
    p.add_argument("--no-download", action="store_true", help="never try to download MNIST")


def load_data(args):
    from ..data import load_mnist
    return load_mnist(args.data, download=not args.no_download)


def layer_stats(model):
    """Per prunable layer: weights, non-zero weights, kept %. Returns a list of dicts."""
    rows = []
    for name in model.weight_names():
        W = model[name].params["W"]
        nz = int(np.count_nonzero(W))
        rows.append({"layer": name, "weights": int(W.size), "nonzero": nz, "kept_pct": 100.0 * nz / W.size})
    return rows
