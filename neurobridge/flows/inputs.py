"""Turn the inputs of a flow (numpy arrays, torch tensors or ``presentation x neuroid`` assemblies) into float32
matrices, keeping the assembly coords that must travel to the outputs."""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
import xarray as xr

from .._validation import check_points
from ..assemblies import NEUROID, PRESENTATION, TIME_BIN, neuroid_coords, presentation_coords, validate

__all__ = ["Matrix", "as_matrix", "coords_to_json", "coords_from_json"]


class Matrix(NamedTuple):
    """A float32 CPU tensor (n, d) plus, for an assembly input, the assembly itself (else None)."""

    values: torch.Tensor
    assembly: xr.DataArray | None


def as_matrix(data: Any, name: str, *, allow_nan: bool = False) -> Matrix:
    """Check ``data`` is a finite, non-empty 2-D array / tensor / assembly named ``name`` and return it as float32
    (see :func:`neurobridge._validation.check_points`)."""
    assembly = None
    if isinstance(data, xr.DataArray):
        if TIME_BIN in data.dims:
            raise ValueError(
                f"{name} has a time_bin dim {dict(data.sizes)}; pick one with neurobridge.assemblies.select_time_bin first"
            )
        assembly = validate(data, name=name, allow_nan=True)
        data = assembly
    values = check_points(data, name, dtype=np.float32, allow_nan=allow_nan)
    return Matrix(torch.from_numpy(values), assembly)


def _jsonable(values: np.ndarray) -> list:
    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        return arr.tolist()
    if arr.dtype.kind == "f":
        return [float(v) for v in arr]
    return [str(v) for v in arr]


def coords_to_json(assembly: xr.DataArray) -> dict[str, list]:
    """The coords along ``neuroid`` as JSON-ready lists (strings for non-numeric values)."""
    return {key: _jsonable(assembly.coords[key].values) for key in neuroid_coords(assembly)}


def coords_from_json(coords: dict[str, list]) -> dict[str, tuple[str, np.ndarray]]:
    """Inverse of :func:`coords_to_json`, ready for ``xr.DataArray(coords=...)``."""
    return {key: (NEUROID, np.asarray(values)) for key, values in coords.items()}


def presentation_coord_dict(assembly: xr.DataArray) -> dict[str, tuple[str, np.ndarray]]:
    """The coords along ``presentation`` of ``assembly``, ready for ``xr.DataArray(coords=...)``."""
    return {key: (PRESENTATION, assembly.coords[key].values) for key in presentation_coords(assembly)}
