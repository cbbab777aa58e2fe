"""The validation split: the first n training images held out, as the authors' TensorFlow input pipeline
holds out the first 5,000 of MNIST's."""
from __future__ import annotations

from ..errors import InputError


def split_validation(data, n):
    """``data`` = (X, y, X_test, y_test) -> (data without its first n training images, (X_val, y_val) = those
    n images, or None when n = 0)."""
    X, y, Xt, yt = data
    if n == 0:
        return data, None
    if not 0 < n < len(X):
        raise InputError(f"val={n}: expected a number of training images to hold out, from 0 to {len(X) - 1}")
    return (X[n:], y[n:], Xt, yt), (X[:n], y[:n])
