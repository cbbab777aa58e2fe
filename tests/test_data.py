"""The MNIST loader: error paths on small synthetic IDX files in a temp dir, the rest on real MNIST."""
import gzip
import hashlib
import io

import numpy as np
import pytest

from minadmm.data import mnist as D
from minadmm.data import MNISTError, load_mnist, resolve_data_home


def idx_bytes(magic, arr):
    head = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


@pytest.fixture
def fake_files(monkeypatch, tmp_path):
    """Tiny synthetic IDX files (3 train, 2 test images) with their checksums patched into the loader."""
    rng = np.random.default_rng(0)
    raw = {"train-images-idx3-ubyte": idx_bytes(2051, rng.integers(0, 256, (3, 28, 28))),
           "train-labels-idx1-ubyte": idx_bytes(2049, np.array([1, 2, 3])),
           "t10k-images-idx3-ubyte": idx_bytes(2051, rng.integers(0, 256, (2, 28, 28))),
           "t10k-labels-idx1-ubyte": idx_bytes(2049, np.array([4, 5]))}
    counts = {"train-images-idx3-ubyte": 3, "train-labels-idx1-ubyte": 3,
              "t10k-images-idx3-ubyte": 2, "t10k-labels-idx1-ubyte": 2}
    files = {n: (hashlib.sha256(b).hexdigest(), len(b), D.FILES[n][2], counts[n]) for n, b in raw.items()}
    monkeypatch.setattr(D, "FILES", files)
    return raw


def write_all(directory, raw, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    for n, b in raw.items():
        if gz:
            (directory / (n + ".gz")).write_bytes(gzip.compress(b))
        else:
            (directory / n).write_bytes(b)


@pytest.mark.parametrize("gz", [True, False])
def test_loads_gzip_and_raw(fake_files, tmp_path, gz):
    write_all(tmp_path, fake_files, gz)
    X, y, Xt, yt = load_mnist(tmp_path, download=False)
    assert X.shape == (3, 1, 28, 28) and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    assert y.dtype == np.int64 and list(y) == [1, 2, 3] and list(yt) == [4, 5]


def test_directory_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("MINADMM_DATA", str(tmp_path / "env"))
    assert resolve_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_home() == tmp_path / "env"
    monkeypatch.delenv("MINADMM_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_home() == tmp_path / "xdg" / "minadmm" / "mnist"


def test_missing_offline_names_file_dir_and_env(fake_files, tmp_path):
    with pytest.raises(MNISTError) as e:
        load_mnist(tmp_path / "empty", download=False)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path / "empty") in msg and "MINADMM_DATA" in msg


@pytest.mark.parametrize("damage", ["truncated_gz", "short", "magic", "checksum"])
def test_damaged_file_clear_error_and_file_kept(fake_files, tmp_path, damage):
    write_all(tmp_path, fake_files)
    target = tmp_path / "train-labels-idx1-ubyte.gz"
    raw = fake_files["train-labels-idx1-ubyte"]
    bad = {"truncated_gz": gzip.compress(raw)[:-6],
           "short": gzip.compress(raw[:-1]),
           "magic": gzip.compress((2051).to_bytes(4, "big") + raw[4:]),
           "checksum": gzip.compress(raw[:-1] + bytes([(raw[-1] + 1) % 256]))}[damage]
    target.write_bytes(bad)
    with pytest.raises(MNISTError) as e:
        load_mnist(tmp_path, download=True)  # a present file is never re-downloaded or replaced
    assert str(target) in str(e.value)
    assert target.read_bytes() == bad


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_download_tries_next_mirror_and_renames_after_checksum(fake_files, tmp_path, monkeypatch):
    calls = []

    def urlopen(url, timeout):
        calls.append(url)
        name = url.rsplit("/", 1)[1][:-3]
        if url.startswith(D.MIRRORS[0]):
            return FakeResponse(gzip.compress(fake_files[name][:-1] + b"\x00"))  # bad checksum
        return FakeResponse(gzip.compress(fake_files[name]))

    monkeypatch.setattr(D.urllib.request, "urlopen", urlopen)
    X, y, _, _ = load_mnist(tmp_path / "dl", download=True)
    assert list(y) == [1, 2, 3]
    assert len(calls) == 8  # each file: mirror 1 (rejected), then mirror 2
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == sorted(n + ".gz" for n in fake_files)


def test_download_offline_error(fake_files, tmp_path, monkeypatch):
    def urlopen(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(D.urllib.request, "urlopen", urlopen)
    with pytest.raises(MNISTError, match="could not be downloaded") as e:
        load_mnist(tmp_path / "off", download=True)
    assert "MINADMM_DATA" in str(e.value) and "network is unreachable" in str(e.value)
    assert list((tmp_path / "off").iterdir()) == []  # no partial files left


def test_real_mnist(mnist):
    X, y, Xt, yt = mnist
    assert X.shape == (60000, 1, 28, 28) and Xt.shape == (10000, 1, 28, 28)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert list(np.bincount(y)) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
