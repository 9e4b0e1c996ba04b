"""Bridges to Brain-Score itself (Schrimpf et al. 2018, 2020): assembly converters and a ``BrainModel`` adapter.

``brainscore_vision`` / ``brainscore_core`` are imported inside the functions that need them, so this module imports
without them. Brain-Score pins old ``numpy``/``xarray``; the project keeps it in a separate virtual environment
(``scripts/make_brainscore_env.sh``), where these functions are exercised by ``scripts/brainscore_reference.py``.

- :func:`to_brainscore`: a neurobridge assembly (plain ``DataArray``, non-index coords) to Brain-Score's
  ``NeuroidAssembly`` (every coord gathered into a ``MultiIndex`` per dim);
- :func:`from_brainscore`: back to a plain, validated neurobridge assembly (non-scalar attrs such as the
  ``stimulus_set`` DataFrame are dropped; their identifiers are kept);
- :class:`AlignedBrainModel`: wraps ``stimulus_set -> assembly`` callables (for example an aligned neurobridge
  pipeline that maps stimuli into a brain region's space) so Brain-Score benchmarks can score them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from neurobridge.assemblies import NEUROID, PRESENTATION, TIME_BIN, AssemblyError, check_id_types, validate

__all__ = ["to_brainscore", "from_brainscore", "AlignedBrainModel"]


def to_brainscore(assembly: xr.DataArray, *, cls: str = "NeuroidAssembly"):
    """Convert a neurobridge assembly into a Brain-Score ``NeuroidAssembly`` (or another brainio class by name).

    Coords along each dim become the levels of that dim's ``MultiIndex`` (brainio's ``gather_indexes``); scalar
    coords and attrs are kept. Needs ``brainscore_core`` (or ``brainio``).
    """
    assemblies = _brainio_assemblies()
    target = getattr(assemblies, cls, None)
    if target is None:
        raise ValueError(f"to_brainscore: cls={cls!r} is not a brainio assembly class (e.g. NeuroidAssembly, DataAssembly)")
    assembly = validate(assembly, name="assembly", allow_nan=True)
    coords = {}
    for key, coord in assembly.coords.items():
        if key in assembly.dims:
            continue
        values = coord.values
        if values.dtype.kind == "U":
            values = values.astype(object)
        coords[key] = (coord.dims, values)
    attrs = {k: v for k, v in assembly.attrs.items() if not isinstance(v, (dict, list))}
    return target(np.asarray(assembly.values), coords=coords, dims=list(assembly.dims), name=assembly.name, attrs=attrs)


def from_brainscore(assembly) -> xr.DataArray:
    """Convert a Brain-Score / brainio assembly (``MultiIndex`` coords) into a plain neurobridge assembly."""
    if not isinstance(assembly, xr.DataArray):
        raise AssemblyError(f"from_brainscore: expected a brainio DataAssembly (an xarray.DataArray); got {type(assembly).__name__}")
    coords: dict = {}
    for dim in assembly.dims:
        index = assembly.indexes.get(dim)
        if isinstance(index, pd.MultiIndex):
            for level in index.names:
                coords[level] = (dim, np.asarray(index.get_level_values(level)))
        elif index is not None and dim in assembly.coords:
            coords[dim] = (dim, np.asarray(index))
    for key, coord in assembly.coords.items():
        if key in coords or key in assembly.dims:
            continue
        coords[key] = (coord.dims, np.asarray(coord.values))
    for key, (dims, values) in list(coords.items()):
        if values.dtype == object and len(values) and all(isinstance(v, str) for v in values.ravel()):
            coords[key] = (dims, values.astype(str))
    attrs = {}
    for key, value in assembly.attrs.items():
        if isinstance(value, (str, int, float, bool, np.integer, np.floating)):
            attrs[key] = value
    if "stimulus_set" in assembly.attrs and "stimulus_set_identifier" not in attrs:
        identifier = getattr(assembly.attrs["stimulus_set"], "identifier", None)
        if identifier is not None:
            attrs["stimulus_set_identifier"] = str(identifier)
    plain = xr.DataArray(np.asarray(assembly.values), dims=tuple(assembly.dims), coords=coords, name=assembly.name, attrs=attrs)
    return validate(plain, name="brainscore assembly", allow_nan=True)


class AlignedBrainModel:
    """A Brain-Score ``BrainModel`` around callables ``stimulus_set -> assembly`` (one per recorded region).

    ``activations`` is one callable, used for every region, or a mapping ``region -> callable``. Each callable gets
    Brain-Score's ``StimulusSet`` (a DataFrame with ``stimulus_id`` and ``get_stimulus(stimulus_id) -> path``) and
    returns a neurobridge assembly with one presentation per ``stimulus_id``. :meth:`look_at` reorders it to the
    stimulus set, copies every stimulus-set column onto ``presentation``, sets ``region`` on ``neuroid``, adds the
    requested ``time_bin`` (the same responses in every bin: the wrapped pipeline is static) and returns a
    ``NeuroidAssembly``. Only passive fixation is supported as a task.

    It implements ``identifier``, ``visual_degrees``, ``start_task``, ``start_recording`` and ``look_at`` (the
    ``brainscore_vision.model_interface.BrainModel`` interface, which benchmarks use by duck typing);
    :meth:`as_brainscore` returns the same model as a true ``BrainModel`` subclass instance.
    """

    def __init__(
        self,
        identifier: str,
        activations: Callable | Mapping[str, Callable],
        *,
        visual_degrees: float = 8,
        regions: Sequence[str] | None = None,
    ):
        if not isinstance(identifier, str) or not identifier:
            raise ValueError(f"identifier must be a non-empty string; got {identifier!r}")
        if callable(activations):
            self._activations = {None: activations}
        elif isinstance(activations, Mapping) and activations and all(callable(f) for f in activations.values()):
            self._activations = dict(activations)
        else:
            raise ValueError("activations must be a callable stimulus_set -> assembly or a mapping region -> callable")
        self._identifier = identifier
        self._visual_degrees = visual_degrees
        self._regions = tuple(regions) if regions is not None else tuple(k for k in self._activations if k is not None) or None
        self._region = None
        self._time_bins = [(70, 170)]

    @property
    def identifier(self) -> str:
        return self._identifier

    def visual_degrees(self) -> float:
        return self._visual_degrees

    def start_task(self, task, fitting_stimuli=None) -> None:
        if str(task) != "passive":
            raise NotImplementedError(f"AlignedBrainModel supports only the passive task (neural recordings); got {task!r}")

    def start_recording(self, recording_target, time_bins=None) -> None:
        region = str(recording_target)
        if self._regions is not None and region not in self._regions:
            raise ValueError(f"AlignedBrainModel {self._identifier!r} records from {list(self._regions)}; got {region!r}")
        self._region = region
        if time_bins is not None:
            bins = [time_bins] if _is_pair(time_bins) else list(time_bins)
            bins = [b.item() if isinstance(b, np.ndarray) and b.ndim == 0 else b for b in bins]
            try:
                self._time_bins = [(int(start), int(end)) for start, end in (tuple(b) for b in bins)]
            except (TypeError, ValueError) as error:
                raise ValueError(f"time_bins must be (start, end) pairs in ms, e.g. [(70, 170)]; got {time_bins!r}") from error

    def look_at(self, stimuli, number_of_trials: int = 1):
        if self._region is None:
            raise RuntimeError("call start_recording(region, time_bins) before look_at")
        function = self._activations.get(self._region, self._activations.get(None))
        if function is None:
            raise ValueError(f"no activations callable for region {self._region!r}")
        assembly = validate(function(stimuli), name=f"activations of {self._identifier!r}")
        if TIME_BIN in assembly.dims:
            raise AssemblyError("the activations callable must return presentation x neuroid; time bins are added here")
        ids = np.asarray(stimuli["stimulus_id"].values)
        check_id_types(assembly.coords["stimulus_id"].values, ids, ("the activations", "the stimulus set"), where="look_at")
        position = pd.Index(assembly.coords["stimulus_id"].values).get_indexer(ids)
        if (position < 0).any():
            missing = ids[position < 0][:3].tolist()
            raise AssemblyError(f"the activations callable returned no responses for stimuli {missing}")
        assembly = assembly.isel({PRESENTATION: position})
        columns = {c: (PRESENTATION, np.asarray(stimuli[c].values)) for c in stimuli.columns if c != "stimulus_id"}
        assembly = assembly.assign_coords(columns).assign_coords(region=(NEUROID, np.full(assembly.sizes[NEUROID], self._region)))
        starts, ends = zip(*self._time_bins)
        stacked = np.repeat(assembly.values[..., None], len(self._time_bins), axis=-1)
        coords = {k: (c.dims, c.values) for k, c in assembly.coords.items() if k not in assembly.dims}
        coords.update(time_bin_start=(TIME_BIN, np.asarray(starts)), time_bin_end=(TIME_BIN, np.asarray(ends)))
        timed = xr.DataArray(stacked, dims=(PRESENTATION, NEUROID, TIME_BIN), coords=coords, name=assembly.name)
        out = to_brainscore(timed)
        out.attrs["stimulus_set"] = stimuli
        return out

    def as_brainscore(self):
        """This model as an instance of a ``brainscore_vision.model_interface.BrainModel`` subclass."""
        from brainscore_vision.model_interface import BrainModel

        wrapped = self

        class _Aligned(BrainModel):
            identifier = property(lambda _: wrapped.identifier)
            visual_degrees = lambda _: wrapped.visual_degrees()  # noqa: E731
            start_task = lambda _, task, fitting_stimuli=None: wrapped.start_task(task, fitting_stimuli)  # noqa: E731
            start_recording = lambda _, target, time_bins=None: wrapped.start_recording(target, time_bins)  # noqa: E731
            look_at = lambda _, stimuli, number_of_trials=1: wrapped.look_at(stimuli, number_of_trials)  # noqa: E731

        return _Aligned()


def _is_pair(time_bins) -> bool:
    return isinstance(time_bins, tuple) and len(time_bins) == 2 and all(np.isscalar(v) for v in time_bins)


def _brainio_assemblies():
    try:
        from brainscore_core.supported_data_standards.brainio import assemblies
    except ImportError:
        try:
            from brainio import assemblies
        except ImportError as error:
            raise ImportError(
                "to_brainscore needs brainscore-core (or brainio); build the separate environment with "
                "scripts/make_brainscore_env.sh and run there"
            ) from error
    return assemblies
