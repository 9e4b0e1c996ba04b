"""MNIST (LeCun et al. 1998) from the four IDX files, resolved and checksummed through the manifest."""
from __future__ import annotations

import gzip
import os

import numpy as np
import xarray as xr

from neurobridge._validation import check_int, check_seed
from neurobridge.assemblies import flatten_pixels
from neurobridge.datasets.download import resolve
from neurobridge.datasets.manifests import DataError

__all__ = ["read_idx", "load_mnist"]

_SIZES = {"train": 60000, "test": 10000}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or not): 2 zero bytes, a dtype byte, a rank byte, big-endian dims, data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    rank = raw[3]
    offset = 4 + 4 * rank
    if len(raw) < offset:
        raise DataError(f"{path}: IDX header names {rank} dimensions but the file ends after {len(raw)} bytes; it is "
                        "truncated or not an IDX file")
    dims = [int(d) for d in np.frombuffer(raw, dtype=">u4", count=rank, offset=4)]
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = 1
    for d in dims:
        count *= d
    if len(raw) - offset != count * dtype.itemsize:
        raise DataError(f"{path}: IDX header says {tuple(dims)} but the file holds {len(raw) - offset} data bytes")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(dims)


def load_mnist(split: str = "train", *, n: int | None = None, seed: int | None = None, download: bool | None = None) -> xr.DataArray:
    """MNIST ``split`` ("train": 60,000; "test": 10,000) as a pixel assembly in [0, 1] with a ``label`` coord.

    ``n`` keeps a subset: the first ``n`` images, or ``n`` drawn without replacement with ``seed`` when one is given.
    """
    if split not in {"train", "test"}:
        raise ValueError(f"mnist: split must be 'train' or 'test'; got {split!r}")
    n = check_int(n, "mnist: n (the number of images)", low=1, high=_SIZES[split], allow_none=True)
    seed = check_seed(seed, "mnist: seed", allow_none=True)
    images = read_idx(resolve("mnist", f"{split}-images", download=download))
    labels = read_idx(resolve("mnist", f"{split}-labels", download=download)).astype(np.int64)
    index = np.arange(len(labels))
    if n is not None:
        if n > len(labels):
            raise ValueError(f"mnist: n must be in 1..{len(labels)}; got {n}")
        index = np.sort(np.random.default_rng(seed).choice(len(labels), n, replace=False)) if seed is not None else index[:n]
    ids = np.array([f"mnist-{split}-{i:05d}" for i in index])
    out = flatten_pixels((images[index] / 255.0).astype(np.float32), stimulus_id=ids, presentation={"label": labels[index]}, name=f"mnist_{split}")
    out.attrs["dataset"] = f"mnist.{split}"
    return out
