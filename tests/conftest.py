"""Shared fixtures. Tests that need real MNIST fail (never skip) when it cannot be found: point
MINADMM_DATA at a directory that holds it (CI uses ../shared/data/mnist)."""
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist():
    from minadmm.data import load_mnist
    return load_mnist(download=False)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def central_difference(f, p, idx, h=1e-6):
    """(f() at p[idx] + h - f() at p[idx] - h) / 2h, the entry idx of the array p restored afterwards."""
    old = p[idx]
    p[idx] = old + h
    up = f()
    p[idx] = old - h
    down = f()
    p[idx] = old
    return (up - down) / (2 * h)
