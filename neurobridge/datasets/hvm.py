"""HvM stimuli (Majaj et al. 2015): metadata for all 5,760 images, and the images themselves where present."""
from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge.assemblies import flatten_pixels
from neurobridge.datasets.download import confined, resolve
from neurobridge.datasets.images import read_images
from neurobridge.datasets.locations import cache_dir
from neurobridge.datasets.manifests import DataError, get_manifest

__all__ = ["hvm_metadata", "load_hvm", "image_paths"]

_META_COLUMNS = ("object_name", "category_name", "variation")
_VARIANTS = {"public": "stimuli-public", "private": "stimuli-private", "full": "stimuli-full"}


def hvm_metadata(*, download: bool | None = None) -> pd.DataFrame:
    """The HvM metadata table indexed by ``stimulus_id`` (object_name, category_name, variation, pose, size)."""
    table = pd.read_csv(resolve("hvm", "metadata", download=download))
    return table.set_index("stimulus_id")


def _slice_paths(download: bool | None) -> dict[str, Path]:
    manifest = get_manifest("majajhong2015_slice25")
    paths = {}
    for entry in manifest.files:
        if entry.key.startswith("image-"):
            paths[entry.filename[:-4]] = resolve(manifest.name, entry.key, download=download)
    return paths


def _zip_paths(variant: str, download: bool | None) -> dict[str, Path]:
    """Unpack the stimulus ZIP of ``variant`` once into the cache (atomically) and map stimulus_id -> file.

    The folder is keyed by the archive's manifest checksum, so a changed archive is never read from a stale unpack.
    """
    csv = pd.read_csv(resolve("majajhong2015", f"{_VARIANTS[variant]}-csv", download=download))
    archive = resolve("majajhong2015", f"{_VARIANTS[variant]}-zip", download=download)
    checksum = get_manifest("majajhong2015").file(f"{_VARIANTS[variant]}-zip").checksum
    target = cache_dir() / "majajhong2015" / f"hvm-{variant}-images-{checksum[:12]}"
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    try:
                        confined(staging, staging / member, f"the unpack folder of {archive}")
                    except DataError:
                        raise DataError(f"hvm: the archive {archive} holds the member {member!r}, whose path leaves the "
                                        "folder it is unpacked into; refusing to unpack it. Delete the archive and fetch "
                                        "it again") from None
                zf.extractall(staging)
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    files = {p.name: p for p in target.rglob("*") if p.is_file()}
    column = "filename" if "filename" in csv.columns else "image_file_name"
    id_column = "stimulus_id" if "stimulus_id" in csv.columns else "image_id"
    return {sid: files[name] for sid, name in zip(csv[id_column], csv[column].map(lambda s: Path(str(s)).name)) if name in files}


def image_paths(variant: str = "slice25", *, download: bool | None = None) -> dict[str, Path]:
    """Map ``stimulus_id`` -> image file for a stimulus set: "slice25" (25 images), "public", "private" or "full"."""
    if variant == "slice25":
        return _slice_paths(download)
    if variant in _VARIANTS:
        return _zip_paths(variant, download)
    raise ValueError(f"hvm: variant must be 'slice25', 'public', 'private' or 'full'; got {variant!r}")


def load_hvm(
    variant: str = "slice25",
    *,
    stimulus_ids: Sequence[str] | None = None,
    size: int | tuple[int, int] = 64,
    mode: str = "L",
    download: bool | None = None,
) -> xr.DataArray:
    """HvM stimulus images as a pixel assembly with coords object_name, category_name and variation.

    ``stimulus_ids`` picks (and orders) images; the default is every image of ``variant`` that is present.
    """
    paths = image_paths(variant, download=download)
    ids = list(paths) if stimulus_ids is None else list(stimulus_ids)
    missing = [s for s in ids if s not in paths]
    if missing:
        raise DataError(f"hvm: {len(missing)} stimulus ids have no image in variant {variant!r}, e.g. {missing[:3]}")
    images = read_images([paths[s] for s in ids], size=size, mode=mode)
    presentation = {}
    try:
        meta = hvm_metadata(download=download).reindex(ids)
        for column in _META_COLUMNS:
            presentation[column] = meta[column].to_numpy()
    except DataError:
        pass
    out = flatten_pixels(images, stimulus_id=np.asarray(ids), presentation=presentation, name="hvm")
    out.attrs["dataset"] = f"hvm.{variant}"
    return out
