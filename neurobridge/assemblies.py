"""Brain-Score-style assemblies as plain :class:`xarray.DataArray` objects.

An assembly holds responses (neural recordings, model activations, latents, pixels) with dims
``presentation`` x ``neuroid`` and an optional ``time_bin``. Labels travel as non-index coordinates:

- along ``presentation``: ``stimulus_id`` (brainio's older ``image_id`` is accepted and copied), ``repetition`` for
  trial-level data, and label coords such as ``object_name``, ``category_name``, ``label``;
- along ``neuroid``: ``neuroid_id`` and, for recordings, ``region``; for model activations ``layer`` and ``unit``.

Everything is selected by coordinate, never by position, and two assemblies are aligned on ``stimulus_id``.
We deliberately do not subclass ``DataArray`` (Brain-Score's ``NeuroidAssembly`` subclass is what breaks on xarray
upgrades); :mod:`neurobridge.evaluate.brainscore` converts to and from Brain-Score's types.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge._io import atomic_write

__all__ = [
    "PRESENTATION",
    "NEUROID",
    "TIME_BIN",
    "LABEL_COORDS",
    "AssemblyError",
    "make_assembly",
    "validate",
    "is_trial_level",
    "average_repetitions",
    "select_region",
    "select_time_bin",
    "align",
    "check_id_types",
    "flatten_pixels",
    "presentation_coords",
    "neuroid_coords",
    "read_netcdf",
    "write_netcdf",
    "checksum_encoding",
]

PRESENTATION = "presentation"
NEUROID = "neuroid"
TIME_BIN = "time_bin"
LABEL_COORDS = ("object_name", "category_name", "label")


class AssemblyError(ValueError):
    """An assembly does not follow the conventions above; the message says what to change."""


def _plain_coords(assembly: xr.DataArray) -> xr.DataArray:
    """Replace any pandas MultiIndex (as Brain-Score builds) by plain non-index coords along the same dim."""
    for dim in list(assembly.dims):
        if dim in assembly.indexes and isinstance(assembly.indexes[dim], pd.MultiIndex):
            index = assembly.indexes[dim]
            levels = {name: (dim, index.get_level_values(name).values) for name in index.names}
            assembly = assembly.drop_vars([dim] + [n for n in index.names if n in assembly.coords])
            assembly = assembly.assign_coords(levels)
    return assembly


def make_assembly(
    values,
    *,
    stimulus_id: Sequence | None = None,
    neuroid_id: Sequence | None = None,
    presentation: Mapping[str, Sequence] | None = None,
    neuroid: Mapping[str, Sequence] | None = None,
    name: str | None = None,
    attrs: Mapping | None = None,
) -> xr.DataArray:
    """Build a validated ``presentation x neuroid`` assembly from a 2-D array.

    ``stimulus_id`` defaults to ``"stim_0", "stim_1", ...`` and ``neuroid_id`` to ``"n_0", ...``; further coords go in
    ``presentation`` and ``neuroid`` (name -> sequence of the matching length).
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise AssemblyError(
            f"values must be 2-D (presentation x neuroid); got shape {values.shape}. "
            "Reshape with values.reshape(len(values), -1) or use flatten_pixels for images."
        )
    n, p = values.shape
    pres = dict(presentation or {})
    neur = dict(neuroid or {})
    pres["stimulus_id"] = np.asarray(stimulus_id if stimulus_id is not None else [f"stim_{i}" for i in range(n)])
    neur["neuroid_id"] = np.asarray(neuroid_id if neuroid_id is not None else [f"n_{j}" for j in range(p)])
    coords = {}
    for key, seq in pres.items():
        seq = np.asarray(seq)
        if seq.shape != (n,):
            raise AssemblyError(f"presentation coord {key!r} has shape {seq.shape}; it needs one entry per row ({n})")
        coords[key] = (PRESENTATION, seq)
    for key, seq in neur.items():
        seq = np.asarray(seq)
        if seq.shape != (p,):
            raise AssemblyError(f"neuroid coord {key!r} has shape {seq.shape}; it needs one entry per column ({p})")
        coords[key] = (NEUROID, seq)
    assembly = xr.DataArray(values, dims=(PRESENTATION, NEUROID), coords=coords, name=name, attrs=dict(attrs or {}))
    return validate(assembly)


def presentation_coords(assembly: xr.DataArray) -> list[str]:
    """Names of the coords that lie along ``presentation`` only."""
    return [k for k, c in assembly.coords.items() if c.dims == (PRESENTATION,) and k != PRESENTATION]


def neuroid_coords(assembly: xr.DataArray) -> list[str]:
    """Names of the coords that lie along ``neuroid`` only."""
    return [k for k, c in assembly.coords.items() if c.dims == (NEUROID,) and k != NEUROID]


def is_trial_level(assembly: xr.DataArray) -> bool:
    """True when some ``stimulus_id`` occurs on more than one presentation (repetitions not yet averaged)."""
    ids = assembly.coords["stimulus_id"].values
    return len(pd.unique(ids)) < len(ids)


def validate(
    assembly,
    *,
    name: str = "assembly",
    allow_nan: bool = False,
    require: Iterable[str] = (),
) -> xr.DataArray:
    """Check an assembly and return it in canonical form.

    Canonical form: a plain ``DataArray`` with dims ``(presentation, neuroid)`` or ``(presentation, neuroid,
    time_bin)``, a ``stimulus_id`` coord (copied from ``image_id`` if only that is present), a ``neuroid_id`` coord
    (made from positions if missing), no MultiIndex. Raises :class:`AssemblyError` naming ``name`` and the missing
    dim or coord, NaN or infinite values (both are let through by ``allow_nan=True``), or duplicate ids. ``require`` lists further coords that must be present.
    """
    if not isinstance(assembly, xr.DataArray):
        raise AssemblyError(
            f"{name} must be an xarray.DataArray with dims (presentation, neuroid); got {type(assembly).__name__}. "
            "Build one with neurobridge.assemblies.make_assembly(values, stimulus_id=...)."
        )
    assembly = _plain_coords(assembly)
    dims = set(assembly.dims)
    for dim in (PRESENTATION, NEUROID):
        if dim not in dims:
            raise AssemblyError(f"{name} has dims {tuple(assembly.dims)}; dim {dim!r} is missing (expected presentation x neuroid [x time_bin])")
    extra = dims - {PRESENTATION, NEUROID, TIME_BIN}
    if extra:
        raise AssemblyError(f"{name} has unexpected dims {sorted(extra)}; allowed are presentation, neuroid and time_bin")
    order = [PRESENTATION, NEUROID] + ([TIME_BIN] if TIME_BIN in dims else [])
    assembly = assembly.transpose(*order)
    if assembly.sizes[PRESENTATION] == 0 or assembly.sizes[NEUROID] == 0:
        raise AssemblyError(f"{name} is empty: sizes {dict(assembly.sizes)}")
    if assembly.dtype.kind == "c":
        raise AssemblyError(f"{name} holds complex values ({assembly.dtype}); responses and activations must be real. "
                            f"Take the part you mean first (np.abs for an amplitude, .real for the real part)")
    if "stimulus_id" not in assembly.coords:
        if "image_id" in assembly.coords:
            assembly = assembly.assign_coords(stimulus_id=(PRESENTATION, assembly.coords["image_id"].values))
        else:
            raise AssemblyError(
                f"{name} has no 'stimulus_id' coord along presentation (nor brainio's 'image_id'); "
                "add one with assembly.assign_coords(stimulus_id=('presentation', ids))"
            )
    if assembly.coords["stimulus_id"].dims != (PRESENTATION,):
        raise AssemblyError(f"{name}: 'stimulus_id' must lie along presentation; it lies along {assembly.coords['stimulus_id'].dims}")
    if "neuroid_id" not in assembly.coords:
        assembly = assembly.assign_coords(neuroid_id=(NEUROID, np.array([f"n_{j}" for j in range(assembly.sizes[NEUROID])])))
    for key in require:
        if key not in assembly.coords:
            raise AssemblyError(f"{name} lacks the coord {key!r}; present coords: {sorted(map(str, assembly.coords))}")
    neuroid_ids = pd.Index(assembly.coords["neuroid_id"].values)
    if neuroid_ids.has_duplicates:
        dup = neuroid_ids[neuroid_ids.duplicated()].unique()[:5].tolist()
        raise AssemblyError(f"{name} has duplicate neuroid_id values, e.g. {dup}; each neuroid needs a unique id")
    stim = assembly.coords["stimulus_id"].values
    if "repetition" in assembly.coords:
        keys = pd.MultiIndex.from_arrays([stim, assembly.coords["repetition"].values])
        if keys.has_duplicates:
            dup = list(keys[keys.duplicated()][:5])
            raise AssemblyError(f"{name} has duplicate (stimulus_id, repetition) pairs, e.g. {dup}; each trial must be listed once")
    elif is_trial_level(assembly):
        ids = pd.Index(stim)
        dup = ids[ids.duplicated()].unique()[:5].tolist()
        raise AssemblyError(
            f"{name} has duplicate stimulus_id values, e.g. {dup}, and no 'repetition' coord. "
            "Trial-level data need a 'repetition' coord; otherwise make the ids unique."
        )
    if assembly.dtype.kind in "USO":
        try:
            assembly = assembly.astype(np.float64)
        except (TypeError, ValueError):
            first = assembly.values.flat[0]
            first = first.item() if isinstance(first, np.generic) else first
            raise AssemblyError(
                f"{name} holds non-numeric values (dtype {assembly.dtype}, e.g. {first!r}); "
                "an assembly holds responses as numbers"
            ) from None
    if not allow_nan and np.issubdtype(assembly.dtype, np.floating):
        finite = np.isfinite(assembly.values)
        if not finite.all():
            n_nan = int(np.isnan(assembly.values).sum())
            n_inf = int((~finite).sum()) - n_nan
            bad = ~finite.reshape(assembly.sizes[PRESENTATION], -1).all(axis=1)
            first = assembly.coords["stimulus_id"].values[bad][:3].tolist()
            raise AssemblyError(
                f"{name} contains {n_nan} NaN and {n_inf} infinite values (first stimuli affected: {first}); "
                "drop or impute them, e.g. assembly.dropna('neuroid') or assembly.fillna(0), "
                "after replacing inf with assembly.where(numpy.isfinite(assembly))"
            )
    return assembly


def average_repetitions(assembly: xr.DataArray) -> xr.DataArray:
    """Average trials of the same ``stimulus_id`` (Brain-Score's ``average_repetition``).

    The result has one presentation per stimulus in order of first appearance. Presentation coords that are
    constant within every stimulus are kept; ``repetition`` and any other coord that varies across trials is dropped.
    """
    assembly = validate(assembly, allow_nan=True)
    stim = assembly.coords["stimulus_id"].values
    codes, uniques = pd.factorize(stim, sort=False)
    n_groups = len(uniques)
    values = np.asarray(assembly.values, dtype=np.float64 if assembly.dtype == np.float64 else np.float32)
    flat = values.reshape(values.shape[0], -1)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n_groups))
    sums = np.add.reduceat(flat[order], starts, axis=0)
    counts = np.bincount(codes, minlength=n_groups).astype(flat.dtype)
    mean = (sums / counts[:, None]).reshape((n_groups,) + values.shape[1:])
    first = np.zeros(n_groups, dtype=int)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    coords = {}
    for key in presentation_coords(assembly):
        col = assembly.coords[key].values
        if key == "repetition":
            continue
        constant = pd.Series(col).groupby(codes).nunique(dropna=False).to_numpy() <= 1
        if constant.all():
            coords[key] = (PRESENTATION, col[first])
    for key, coord in assembly.coords.items():
        if PRESENTATION not in coord.dims:
            coords[key] = coord
    out = xr.DataArray(mean, dims=assembly.dims, coords=coords, name=assembly.name, attrs=dict(assembly.attrs))
    return out


def select_region(assembly: xr.DataArray, region: str | Sequence[str]) -> xr.DataArray:
    """Keep the neuroids whose ``region`` coord is ``region`` (a name or a list of names)."""
    assembly = validate(assembly, allow_nan=True)
    if "region" not in assembly.coords:
        raise AssemblyError("select_region: the assembly has no 'region' coord along neuroid")
    wanted = [region] if isinstance(region, str) else list(region)
    present = pd.unique(assembly.coords["region"].values).tolist()
    missing = [r for r in wanted if r not in present]
    if missing:
        raise AssemblyError(f"select_region: region {missing} not in the assembly; available regions: {present}")
    mask = np.isin(assembly.coords["region"].values, wanted)
    return assembly.isel({NEUROID: np.flatnonzero(mask)})


def select_time_bin(assembly: xr.DataArray, time_bin: int | tuple[int, int] | str | None = None) -> xr.DataArray:
    """Drop the ``time_bin`` dim.

    ``time_bin`` is ``None`` (the assembly must have a single bin), ``"mean"`` (average over bins), an integer
    position, or a ``(start, end)`` pair matched against the ``time_bin_start``/``time_bin_end`` coords (ms).
    An assembly without a ``time_bin`` dim is returned unchanged.
    """
    assembly = validate(assembly, allow_nan=True)
    if TIME_BIN not in assembly.dims:
        return assembly
    n_bins = assembly.sizes[TIME_BIN]
    if time_bin is None:
        if n_bins != 1:
            raise AssemblyError(f"select_time_bin: the assembly has {n_bins} time bins; pass time_bin=(start, end), an index or 'mean'")
        return assembly.isel({TIME_BIN: 0}, drop=True).drop_vars([k for k, c in assembly.coords.items() if c.dims == (TIME_BIN,)], errors="ignore")
    if time_bin == "mean":
        return assembly.mean(TIME_BIN, keep_attrs=True)
    if isinstance(time_bin, (bool, np.bool_)) or isinstance(time_bin, (float, np.floating)):
        raise TypeError(
            f"select_time_bin: time_bin must be an integer position, a (start, end) pair in ms, 'mean' or None; "
            f"got {time_bin!r} ({type(time_bin).__name__})"
        )
    if isinstance(time_bin, (int, np.integer)):
        if not -n_bins <= time_bin < n_bins:
            raise AssemblyError(f"select_time_bin: time_bin index {time_bin} is out of range for {n_bins} bins")
        index = int(time_bin)
    else:
        if isinstance(time_bin, str) or not hasattr(time_bin, "__len__") or len(time_bin) != 2:
            raise TypeError(f"select_time_bin: time_bin must be an integer position, a (start, end) pair in ms, 'mean' or None; got {time_bin!r}")
        start, end = time_bin
        if "time_bin_start" not in assembly.coords or "time_bin_end" not in assembly.coords:
            raise AssemblyError("select_time_bin: (start, end) needs the coords time_bin_start and time_bin_end")
        hits = np.flatnonzero((assembly.coords["time_bin_start"].values == start) & (assembly.coords["time_bin_end"].values == end))
        if len(hits) == 0:
            available = list(zip(assembly.coords["time_bin_start"].values.tolist(), assembly.coords["time_bin_end"].values.tolist()))
            raise AssemblyError(f"select_time_bin: no time bin ({start}, {end}); available: {available}")
        index = int(hits[0])
    out = assembly.isel({TIME_BIN: index})
    return out.drop_vars([k for k, c in out.coords.items() if c.dims == () and k in assembly.coords and TIME_BIN in assembly.coords[k].dims], errors="ignore")


_ID_KINDS = {"U": "strings", "S": "bytes", "i": "integers", "u": "integers", "f": "floats", "b": "booleans",
             "c": "complex numbers", "M": "dates", "m": "time spans"}


def _id_kind(ids: np.ndarray) -> str:
    """The kind of an id array: ``strings``, ``integers``, ``floats``, ``bytes``, ... (object arrays by their items)."""
    if ids.dtype.kind != "O":
        return _ID_KINDS.get(ids.dtype.kind, str(ids.dtype))
    kinds = set()
    for value in ids.ravel():
        if isinstance(value, str):
            kinds.add("strings")
        elif isinstance(value, bytes):
            kinds.add("bytes")
        elif isinstance(value, (bool, np.bool_)):
            kinds.add("booleans")
        elif isinstance(value, (int, np.integer)):
            kinds.add("integers")
        elif isinstance(value, (float, np.floating)):
            kinds.add("floats")
        else:
            kinds.add(type(value).__name__)
    return " and ".join(sorted(kinds)) if kinds else "strings"


def check_id_types(ida, idb, names: tuple[str, str] = ("a", "b"), *, coord: str = "stimulus_id", where: str = "align") -> None:
    """Raise :class:`AssemblyError` unless the ids ``ida`` and ``idb`` are of one kind.

    The one policy every comparison of stimulus ids follows (aligning assemblies, paired bridges, predictivity,
    benchmarks): ids match only when they are equal *and* of the same kind (strings with strings, integers with
    integers, ...). Numpy and pandas compare ``1`` and ``"1"`` as different, ``1`` and ``1.0`` as equal, and an
    object array may mix both, so a match by coercion would depend on the containers; two kinds are therefore an
    error naming both kinds, their dtypes and an example of each, never a silent empty or partial match. The width
    of a type (``int32`` and ``int64``, ``<U3`` and ``<U10``) does not matter.
    """
    ida, idb = np.asarray(ida), np.asarray(idb)
    kind_a, kind_b = _id_kind(ida), _id_kind(idb)
    if kind_a != kind_b or " and " in kind_a:
        raise AssemblyError(
            f"{where}: {names[0]}'s {coord} values are {kind_a} (dtype {ida.dtype}, e.g. {ida[:3].tolist()!r}) and "
            f"{names[1]}'s are {kind_b} (dtype {idb.dtype}, e.g. {idb[:3].tolist()!r}); ids of different types are never "
            f"matched by conversion. Give both the same type, e.g. "
            f"assembly.assign_coords({coord}=('presentation', assembly.coords['{coord}'].values.astype(str)))"
        )


def align(a: xr.DataArray, b: xr.DataArray, *, names: tuple[str, str] = ("a", "b")) -> tuple[xr.DataArray, xr.DataArray]:
    """Align two assemblies on ``stimulus_id`` (inner join, one order).

    If both have unique ids, both are reordered to the shared ids in ``a``'s order. If one is trial-level
    (repeated ids) and the other has one presentation per stimulus, the other is repeated to match every trial of the
    trial-level one (kept in its own order). Two trial-level assemblies cannot be aligned: average one first.
    """
    a = validate(a, name=names[0], allow_nan=True)
    b = validate(b, name=names[1], allow_nan=True)
    ida, idb = a.coords["stimulus_id"].values, b.coords["stimulus_id"].values
    check_id_types(ida, idb, names)
    shared = np.isin(ida, idb)
    if not shared.any():
        raise AssemblyError(
            f"align: {names[0]} and {names[1]} share no stimulus_id "
            f"(e.g. {names[0]}: {list(ida[:3])}, {names[1]}: {list(idb[:3])}); check that both describe the same stimuli"
        )
    trial_a, trial_b = is_trial_level(a), is_trial_level(b)
    if trial_a and trial_b:
        raise AssemblyError(f"align: {names[0]} and {names[1]} are both trial-level; average one with average_repetitions first")
    if trial_b:
        b2, a2 = align(b, a, names=(names[1], names[0]))
        return a2, b2
    a = a.isel({PRESENTATION: np.flatnonzero(shared)})
    position = pd.Index(idb).get_indexer(a.coords["stimulus_id"].values)
    return a, b.isel({PRESENTATION: position})


def flatten_pixels(
    images,
    *,
    stimulus_id: Sequence | None = None,
    presentation: Mapping[str, Sequence] | None = None,
    name: str | None = "pixels",
) -> xr.DataArray:
    """Turn images ``(n, H, W)`` or ``(n, H, W, C)`` into a ``presentation x neuroid`` pixel assembly.

    Neuroid coords ``pixel_row``, ``pixel_col``, ``channel`` record where each unit came from, so
    :func:`unflatten_pixels` can restore the images.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise AssemblyError(f"flatten_pixels: images must have shape (n, H, W) or (n, H, W, C); got {images.shape}")
    n, h, w, c = images.shape
    rows, cols, chans = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    neuroid_id = np.array([f"px_{r}_{q}_{ch}" for r, q, ch in zip(rows.ravel(), cols.ravel(), chans.ravel())])
    return make_assembly(
        images.reshape(n, -1),
        stimulus_id=stimulus_id,
        neuroid_id=neuroid_id,
        presentation=presentation,
        neuroid={"pixel_row": rows.ravel(), "pixel_col": cols.ravel(), "channel": chans.ravel()},
        name=name,
        attrs={"image_shape": json.dumps([int(h), int(w), int(c)])},
    )


def unflatten_pixels(assembly: xr.DataArray) -> np.ndarray:
    """Inverse of :func:`flatten_pixels`: return images ``(n, H, W)`` (or ``(n, H, W, C)`` when C > 1)."""
    assembly = validate(assembly, allow_nan=True, require=("pixel_row", "pixel_col", "channel"))
    r = assembly.coords["pixel_row"].values.astype(int)
    q = assembly.coords["pixel_col"].values.astype(int)
    ch = assembly.coords["channel"].values.astype(int)
    out = np.zeros((assembly.sizes[PRESENTATION], r.max() + 1, q.max() + 1, ch.max() + 1), dtype=assembly.dtype)
    out[:, r, q, ch] = assembly.values
    return out[..., 0] if out.shape[-1] == 1 else out


__all__.append("unflatten_pixels")


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_NETCDF3_SIGNATURES = (b"CDF\x01", b"CDF\x02", b"CDF\x05")


def _read_engine(path: Path) -> str:
    """The xarray engine that reads ``path`` without the netCDF4 C library.

    NetCDF4 files are HDF5 files and are read through ``h5netcdf`` (h5py). The netCDF4 C library crashes the
    interpreter when a file with string variables is opened while another netCDF4 handle on the same file is alive
    (netcdf4-python #1444, xarray #8289 and #9093), e.g. a notebook that looked at the file with ``xr.open_dataset``.
    Classic NetCDF3 files go through scipy's reader.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as err:
        raise AssemblyError(f"read_netcdf: cannot open {path} ({err})") from err
    if head == _HDF5_SIGNATURE:
        try:
            import h5netcdf  # noqa: F401
            import h5py  # noqa: F401
        except ImportError as err:
            raise ImportError(
                f"read_netcdf: reading the NetCDF4 file {path} needs the packages h5netcdf and h5py "
                f"({err}); install them with `pip install h5netcdf h5py`"
            ) from err
        return "h5netcdf"
    if head[:4] in _NETCDF3_SIGNATURES:
        return "scipy"
    raise AssemblyError(
        f"read_netcdf: {path} is not a NetCDF file (it starts with {head[:8]!r}, neither the HDF5 nor the NetCDF3 "
        "signature); pass a file written by write_netcdf, xarray's to_netcdf or brainio"
    )


def read_netcdf(path: str | os.PathLike, *, variable: str | None = None) -> xr.DataArray:
    """Read an assembly from NetCDF (ours, or brainio's layout such as ``dims (neuroid, presentation, time_bin)``).

    The file is read fully into memory and closed; the result is validated and canonical (see :func:`validate`).
    NaNs are allowed here (real recordings may have them); call :func:`validate` to reject them. NetCDF4 files are
    read through the ``h5netcdf`` engine (see :func:`_read_engine`), so another open handle on the same file, from
    any engine, is safe.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_netcdf: no file at {path}")
    engine = _read_engine(path)
    try:
        ds = xr.open_dataset(path, engine=engine)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise AssemblyError(f"read_netcdf: cannot read {path} as NetCDF ({type(err).__name__}: {err}); the file is corrupt or truncated") from err
    with ds:
        names = list(ds.data_vars)
        if variable is None:
            if len(names) != 1:
                raise AssemblyError(f"read_netcdf: {path} holds variables {names}; pass variable=NAME")
            variable = names[0]
        elif variable not in names:
            raise AssemblyError(f"read_netcdf: {path} has no variable {variable!r}; it holds {names}")
        try:
            da = ds[variable].load()
        except (OSError, ValueError, RuntimeError) as err:
            text = str(err).lower()
            if "fletcher32" in text or "checksum" in text or ("filter" in text and ds[variable].encoding.get("fletcher32")):
                raise AssemblyError(
                    f"read_netcdf: {path} fails its HDF5 checksum (variable {variable!r}): its bytes changed after it was "
                    "written (disk or copy error). Write it again, or fetch a fresh copy"
                ) from None
            raise AssemblyError(f"read_netcdf: cannot read variable {variable!r} of {path} ({type(err).__name__}: {err}); the file is corrupt or truncated") from err
    attrs = {}
    for key, value in da.attrs.items():
        if isinstance(value, str) and key.startswith("json:"):
            try:
                attrs[key[5:]] = json.loads(value)
            except ValueError as err:
                raise AssemblyError(
                    f"read_netcdf: {path}: the attribute {key!r} is not valid JSON ({err}); the file is corrupt or was "
                    "edited. Write it again with write_netcdf, or remove that attribute"
                ) from None
        else:
            attrs[key] = value
    da.attrs = attrs
    da.name = variable
    return validate(da, name=str(path), allow_nan=True)


def _netcdf_safe(assembly: xr.DataArray) -> xr.DataArray:
    assembly = _plain_coords(assembly).copy()
    for key in list(assembly.coords):
        coord = assembly.coords[key]
        if coord.dtype == object:
            assembly = assembly.assign_coords({key: (coord.dims, np.asarray(coord.values).astype(str))})
    attrs = {}
    for key, value in assembly.attrs.items():
        if isinstance(value, (str, int, float, np.integer, np.floating)) and not isinstance(value, bool):
            attrs[key] = value
        else:
            attrs["json:" + key] = json.dumps(value, default=str)
    assembly.attrs = attrs
    assembly.encoding = {}
    for key in assembly.coords:
        assembly.coords[key].encoding = {}
    return assembly


def checksum_encoding(dataset: xr.Dataset | xr.DataArray) -> dict:
    """``to_netcdf`` encoding that gives every numeric, non-scalar variable an HDF5 fletcher32 checksum.

    HDF5 stores a checksum per chunk and verifies it on every read, so a flipped bit in the data is an error instead
    of a silently changed number. Strings (variable-length in HDF5) and scalars cannot carry the filter and are left
    as they are.
    """
    ds = dataset.to_dataset() if isinstance(dataset, xr.DataArray) else dataset
    return {name: {"fletcher32": True} for name, var in ds.variables.items()
            if var.ndim > 0 and var.dtype.kind in "biufc"}


def write_netcdf(assembly: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write an assembly to a NetCDF4 (HDF5) file atomically (temporary file in the same folder, then rename).

    The file is written by the netCDF4 library, so plain ``xr.open_dataset`` (any engine) and ``netCDF4.Dataset`` read
    it. Every coord round-trips through :func:`read_netcdf`; non-scalar attributes are stored as JSON strings. Numeric
    variables carry fletcher32 checksums (:func:`checksum_encoding`); :func:`read_netcdf` reports a mismatch as an
    :class:`AssemblyError` naming the file.
    """
    safe = _netcdf_safe(assembly)
    if safe.name is None:
        safe.name = "assembly"
    encoding = checksum_encoding(safe)
    return atomic_write(path, lambda tmp: safe.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding))
