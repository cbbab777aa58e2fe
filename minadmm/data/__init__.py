"""The data: real MNIST from a directory with checksums (``mnist.py``), random-shift augmentation
(``augment.py``)."""
from .mnist import MNISTError, load_mnist, resolve_data_home

__all__ = ["MNISTError", "load_mnist", "resolve_data_home"]
