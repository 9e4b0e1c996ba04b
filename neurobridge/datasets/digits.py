"""scikit-learn's bundled 8x8 digits (1,797 images; Alpaydin & Kaynak 1998): the embedded default, no files needed."""
from __future__ import annotations

import numpy as np
import xarray as xr

from neurobridge.assemblies import flatten_pixels

__all__ = ["load_digits"]


def load_digits() -> xr.DataArray:
    """Pixel assembly (1797 x 64, values in [0, 1]) with coords ``label`` (0-9) and ``stimulus_id`` ``digits-NNNN``."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    ids = np.array([f"digits-{i:04d}" for i in range(len(labels))])
    out = flatten_pixels(images, stimulus_id=ids, presentation={"label": labels}, name="digits")
    out.attrs["dataset"] = "digits"
    return out
