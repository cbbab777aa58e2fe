"""Real MNIST, loaded from IDX files with checksums verified.

``load_mnist`` looks for the four standard files (gzip or raw IDX) in a directory chosen as:

1. the ``data_home`` argument,
2. else the ``MINADMM_DATA`` environment variable,
3. else ``$XDG_CACHE_HOME/minadmm/mnist`` (``~/.cache/minadmm/mnist`` when XDG_CACHE_HOME is unset).

Every file is checked by the SHA256 of its *decompressed* bytes, so both the canonical archives and
re-compressed copies pass, and by its IDX magic number and size. Missing files are downloaded (when
``download=True``) from the mirrors below into a temporary file that is renamed only after its checksum
passes. A file the user put in the directory is never deleted or overwritten.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

ENV_VAR = "MINADMM_DATA"
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# name -> (SHA256 of the decompressed bytes, raw size in bytes, IDX magic, number of items)
FILES = {
    "train-images-idx3-ubyte": ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                                47040016, 2051, 60000),
    "train-labels-idx1-ubyte": ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                                60008, 2049, 60000),
    "t10k-images-idx3-ubyte": ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                               7840016, 2051, 10000),
    "t10k-labels-idx1-ubyte": ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                               10008, 2049, 10000),
}


class MNISTError(RuntimeError):
    """MNIST could not be loaded; the message names the file, the directory and what to do."""


def default_data_home() -> Path:
    """The directory used when neither ``data_home`` nor ``MINADMM_DATA`` is given."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "minadmm" / "mnist"


def resolve_data_home(data_home=None) -> Path:
    """Argument, else $MINADMM_DATA, else the cache directory."""
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return default_data_home()


def _hint(directory: Path) -> str:
    return (f"Put the four MNIST files ({', '.join(n + '.gz' for n in FILES)}) in {directory}, "
            f"or set {ENV_VAR} to a directory that holds them, or pass data_home=.")


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / (name + ".gz"), directory / name):
        if candidate.is_file():
            return candidate
    return None


def _read_bytes(path: Path, directory: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as e:  # truncated gzip, unreadable file
        raise MNISTError(f"cannot read {path}: {e}. The file is damaged or truncated; "
                         f"replace it with a good copy. {_hint(directory)}") from e


def _check(raw: bytes, name: str, path: Path, directory: Path) -> None:
    sha, size, magic, count = FILES[name]
    if len(raw) < 8:
        raise MNISTError(f"{path} is truncated: {len(raw)} bytes, expected {size}. {_hint(directory)}")
    got_magic = int.from_bytes(raw[:4], "big")
    if got_magic != magic:
        raise MNISTError(f"{path} has IDX magic number {got_magic}, expected {magic}: "
                         f"it is not {name}. {_hint(directory)}")
    if len(raw) != size:
        raise MNISTError(f"{path} has {len(raw)} decompressed bytes, expected {size}: "
                         f"truncated or wrong file. {_hint(directory)}")
    got = hashlib.sha256(raw).hexdigest()
    if got != sha:
        raise MNISTError(f"{path} fails its checksum: SHA256 of the decompressed bytes is {got}, "
                         f"expected {sha}. Replace it with a good copy. {_hint(directory)}")


def _parse(raw: bytes, name: str) -> np.ndarray:
    _, _, magic, count = FILES[name]
    if magic == 2051:
        rows = int.from_bytes(raw[8:12], "big")
        cols = int.from_bytes(raw[12:16], "big")
        return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    return np.frombuffer(raw, dtype=np.uint8, offset=8)


def _download(name: str, directory: Path) -> Path:
    """Fetch ``name``.gz into ``directory`` through a temporary file; rename only after its checksum passes."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MNISTError(f"{name}.gz is missing from {directory} and the directory cannot be created "
                         f"({e}). {_hint(directory)}") from e
    target = directory / (name + ".gz")
    errors = []
    for mirror in MIRRORS:
        url = mirror + name + ".gz"
        fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".part", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as resp:
                out.write(resp.read())
            raw = gzip.decompress(Path(tmp).read_bytes())
            _check(raw, name, Path(url), directory)
            os.replace(tmp, target)
            return target
        except Exception as e:  # network down, bad archive, bad checksum: try the next mirror
            errors.append(f"{url}: {e}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise MNISTError(f"{name}.gz is missing from {directory} and could not be downloaded "
                     f"({'; '.join(errors)}). {_hint(directory)}")


def load_mnist(data_home=None, download: bool = True):
    """Load real MNIST.

    Returns ``(X_train, y_train, X_test, y_test)``: X float32 in [0, 1] of shape (N, 1, 28, 28),
    y int64 of shape (N,), with N = 60000 (train) and 10000 (test).

    Raises MNISTError naming the file, the directory and the ``MINADMM_DATA`` variable when a file is
    missing (and cannot be downloaded), truncated, of the wrong kind or fails its checksum.
    """
    directory = resolve_data_home(data_home)
    missing = [n for n in FILES if _find(directory, n) is None]
    if missing and not download:
        raise MNISTError(f"MNIST file(s) {', '.join(m + '.gz' for m in missing)} not found in {directory} "
                         f"(download=False). {_hint(directory)}")
    arrays = {}
    for name in FILES:
        path = _find(directory, name) or _download(name, directory)
        raw = _read_bytes(path, directory)
        _check(raw, name, path, directory)
        arrays[name] = _parse(raw, name)

    def images(a):
        return (a.astype(np.float32) / np.float32(255.0))[:, None, :, :]  # (N, 1, 28, 28)

    return (images(arrays["train-images-idx3-ubyte"]), arrays["train-labels-idx1-ubyte"].astype(np.int64),
            images(arrays["t10k-images-idx3-ubyte"]), arrays["t10k-labels-idx1-ubyte"].astype(np.int64))
