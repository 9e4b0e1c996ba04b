"""Read image files into arrays (PIL), resized and in a fixed channel mode."""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

__all__ = ["read_images"]


def read_images(paths: Sequence[str | os.PathLike], *, size: int | tuple[int, int] | None = None, mode: str = "L") -> np.ndarray:
    """Load images as float32 in [0, 1], shape ``(n, H, W)`` for mode "L" or ``(n, H, W, 3)`` for "RGB".

    ``size`` (pixels, or (H, W)) resizes with antialiasing; ``None`` keeps the files' own (equal) size.
    """
    from PIL import Image

    if mode not in {"L", "RGB"}:
        raise ValueError(f"read_images: mode must be 'L' (grey) or 'RGB'; got {mode!r}")
    if isinstance(size, int):
        size = (size, size)
    arrays = []
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"read_images: no image file at {path}")
        with Image.open(path) as image:
            image = image.convert(mode)
            if size is not None:
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            arrays.append(np.asarray(image, dtype=np.float32) / 255.0)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"read_images: images differ in shape {sorted(shapes)}; pass size= to resize them to one shape")
    return np.stack(arrays) if arrays else np.zeros((0,) + (size or (0, 0)), dtype=np.float32)
