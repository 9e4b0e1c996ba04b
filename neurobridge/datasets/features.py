"""A user's own features (.nc, .npy, .npz) with labels, as an assembly."""
from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from neurobridge.assemblies import AssemblyError, make_assembly, read_netcdf, validate

__all__ = ["load_features"]


def load_features(
    path: str | os.PathLike,
    *,
    labels: Sequence | str | os.PathLike | None = None,
    label_coord: str = "label",
    stimulus_id: Sequence | None = None,
    variable: str | None = None,
) -> xr.DataArray:
    """Load features as a ``presentation x neuroid`` assembly.

    - ``.nc``: an assembly written by :func:`neurobridge.assemblies.write_netcdf` (or brainio's layout).
    - ``.npy``: a 2-D array; ``labels`` is a sequence or a path to a ``.npy``/``.txt`` file with one label per row.
    - ``.npz``: keys ``features`` (or ``X``), optionally ``labels`` (or ``y``) and ``stimulus_id``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"features: no file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".nc":
        try:
            out = read_netcdf(path, variable=variable)
        except AssemblyError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as error:
            raise AssemblyError(
                f"features: {path} cannot be read as NetCDF ({type(error).__name__}: {_first_line(error)}); it is truncated, "
                "corrupt or not NetCDF. Write it with neurobridge.assemblies.write_netcdf"
            ) from None
        if labels is not None:
            out = out.assign_coords({label_coord: ("presentation", _labels(labels, out.sizes["presentation"]))})
        return validate(out, name=str(path))
    if suffix not in (".npy", ".npz"):
        raise AssemblyError(f"features: unsupported file type {suffix!r} for {path}; use .nc, .npy or .npz")
    try:
        if suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as archive:
                keys = set(archive.files)
                key = "features" if "features" in keys else "X" if "X" in keys else None
                if key is None:
                    raise AssemblyError(f"features: {path} holds {sorted(keys)}; store the array under 'features' (or 'X')")
                values = archive[key]
                if labels is None:
                    labels = archive["labels"] if "labels" in keys else archive["y"] if "y" in keys else None
                if stimulus_id is None and "stimulus_id" in keys:
                    stimulus_id = archive["stimulus_id"]
    except AssemblyError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise AssemblyError(
            f"features: {path} cannot be read as {suffix} ({type(error).__name__}: {_first_line(error)}); it is truncated, "
            "corrupt, or holds Python objects (only plain numeric arrays are read, never pickles). Save it with numpy.save / numpy.savez"
        ) from None
    if values.dtype.kind not in "biuf":
        raise AssemblyError(f"features: {path} holds an array of dtype {values.dtype}; features must be numbers")
    if values.ndim != 2:
        raise AssemblyError(f"features: {path} holds an array of shape {values.shape}; it must be 2-D (stimuli x features)")
    presentation = {}
    if labels is not None:
        presentation[label_coord] = _labels(labels, len(values))
    ids = stimulus_id if stimulus_id is not None else [f"{path.stem}-{i}" for i in range(len(values))]
    try:
        return make_assembly(values, stimulus_id=ids, presentation=presentation, name=path.stem)
    except AssemblyError as error:
        raise AssemblyError(f"features: {path}: {error}") from None


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return text[:200]


def _labels(labels, n: int) -> np.ndarray:
    if isinstance(labels, (str, os.PathLike)):
        p = Path(labels)
        if not p.is_file():
            raise FileNotFoundError(f"features: no labels file at {p}; pass a .npy/.txt file with one label per row, or a sequence")
        try:
            labels = np.load(p, allow_pickle=False) if p.suffix == ".npy" else np.loadtxt(p, dtype=str, ndmin=1)
        except (OSError, ValueError, EOFError) as error:
            raise AssemblyError(f"features: labels file {p} cannot be read ({type(error).__name__}: {_first_line(error)})") from None
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise AssemblyError(f"features: labels have shape {labels.shape}; expected one label per row ({n},)")
    return labels
