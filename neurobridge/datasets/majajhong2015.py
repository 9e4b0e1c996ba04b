"""MajajHong2015 (Majaj, Hong, Solomon & DiCarlo 2015): macaque V4 and IT multi-unit responses to HvM images.

Variants: ``public`` (variations 0 and 3), ``private`` (variation 6), ``full`` and ``slice25`` (the real 25-image
Brain-Score test fixture). Files come through the manifests (Brain-Score's cache is read in place).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge.assemblies import average_repetitions, read_netcdf, select_region, select_time_bin
from neurobridge.datasets.download import resolve
from neurobridge.datasets.manifests import DataError

__all__ = ["load_majajhong2015"]

_FILES = {"public": ("majajhong2015", "public"), "private": ("majajhong2015", "private"), "full": ("majajhong2015", "full"), "slice25": ("majajhong2015_slice25", "assembly")}
_LABELS = ("object_name", "category_name", "variation")


def _stimulus_metadata(variant: str, download: bool | None) -> pd.DataFrame | None:
    from neurobridge.datasets.hvm import hvm_metadata

    try:
        return hvm_metadata(download=download)
    except DataError:
        if variant != "slice25":
            return None
    table = pd.read_csv(resolve("majajhong2015_slice25", "images-csv", download=download))
    return table.rename(columns={"image_id": "stimulus_id"}).set_index("stimulus_id")


def _select_animal(assembly: xr.DataArray, animal) -> xr.DataArray:
    wanted = [animal] if isinstance(animal, str) else list(animal) if isinstance(animal, (list, tuple)) else None
    if not wanted or not all(isinstance(a, str) for a in wanted):
        raise ValueError(f"majajhong2015: animal must be a name, a non-empty list of names or None; got {animal!r}")
    if "animal" not in assembly.coords:
        raise DataError("majajhong2015: the assembly has no 'animal' coord along neuroid; load with animal=None")
    present = sorted(pd.unique(assembly.coords["animal"].values).tolist())
    missing = [a for a in wanted if a not in present]
    if missing:
        raise ValueError(f"majajhong2015: animal {missing} not among the loaded sites; animals present: {present} "
                         "(pass one of them, a list, or animal=None for all)")
    keep = np.flatnonzero(np.isin(assembly.coords["animal"].values, wanted))
    return assembly.isel(neuroid=keep)


def load_majajhong2015(
    variant: str = "public",
    *,
    region: str | list[str] | None = None,
    animal: str | list[str] | None = None,
    time_bin="mean",
    average: bool = True,
    download: bool | None = None,
) -> xr.DataArray:
    """Load MajajHong2015 as a ``presentation x neuroid`` assembly.

    ``region``: "IT", "V4", a list, or None for all sites. ``animal``: one monkey ("Chabo" or "Tito" in the
    released data), a list, or None for all; it keeps the neuroids whose ``animal`` coord matches, so that one
    animal's sites can be aligned to another's (the two saw the same images). ``time_bin``: see
    :func:`neurobridge.assemblies.select_time_bin` (the released files hold one 70-170 ms bin). ``average``: average
    repetitions (one presentation per image) or keep trial-level data with a ``repetition`` coord. The HvM metadata
    are joined so that ``object_name``, ``category_name`` and ``variation`` are presentation coords.
    """
    if variant not in _FILES:
        raise ValueError(f"majajhong2015: variant must be one of {sorted(_FILES)}; got {variant!r}")
    assembly = read_netcdf(resolve(*_FILES[variant], download=download))
    assembly = select_time_bin(assembly, time_bin)
    if region is not None:
        assembly = select_region(assembly, region)
    if animal is not None:
        assembly = _select_animal(assembly, animal)
    meta = _stimulus_metadata(variant, download)
    if meta is not None:
        ids = assembly.coords["stimulus_id"].values
        joined = meta.reindex(ids)
        for column in _LABELS:
            if column in joined.columns and column not in assembly.coords:
                values = joined[column].to_numpy()
                if pd.isna(values).any():
                    raise DataError(f"majajhong2015: {int(pd.isna(values).sum())} presentations have no {column} in the HvM metadata")
                assembly = assembly.assign_coords({column: ("presentation", values)})
    if average:
        assembly = average_repetitions(assembly)
    assembly.name = f"majajhong2015.{variant}"
    assembly.attrs.update({"dataset": f"majajhong2015.{variant}", "averaged": int(bool(average))})
    return assembly
