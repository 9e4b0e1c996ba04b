"""The long-format results table every experiment writes, its per-unit store, and its summary.

One row per measurement, with the columns ``experiment, method, fraction, seed, metric, value``. Each unit of work
(one method at one labelled fraction and seed) is stored as its own small JSON file under ``OUT/units/`` the moment
it finishes, so an interrupted run resumes where it stopped. A unit file records

- ``key``: a hash of everything that changes the unit's result (see :func:`unit_key`); a unit whose key differs
  from the current run's is stale and never counted as done;
- ``status``: ``"done"`` (with its ``rows``; a NaN value stays NaN, written ``nan``) or ``"failed"`` (with the
  ``reason``): a failed unit is neither a result nor "not run";
- ``timings``: seconds per phase; ``files``: the figures the unit drew (a unit whose figures are missing is redone);
- ``selection``: for a coupling that chooses among candidates by validation (``auto``), one row per fitted
  direction and candidate with its validation score's mean and sd and whether it was chosen.

``results.csv``/``results.nc`` (done units), ``failures.csv`` (failed units, with the reason), ``timings.csv``
(seconds per unit and phase) and ``selection.csv`` (the candidates a selecting coupling scored, per unit and direction) are rebuilt from the unit files, atomically, readable by group and others.
``run.json`` records each experiment's settings in ``OUT``; a rerun with other settings is refused
(:meth:`ResultStore.check_settings`).

The tables are derived, never edited: only unit files the store itself names (``EXPERIMENT__METHOD__FRACTION__SEED.json``,
whose rows carry the same coordinates, and, for the running experiment, the current key) count. Any other file in
``units/`` (a stray copy, a file from another tool, a unit made with other settings) is left out with a
:class:`ForeignUnitWarning` naming it, so it can neither double a row nor stop the run. ``--fresh`` deletes the
derived tables before anything else, so a run killed midway never leaves old numbers beside new settings, and it
clears whatever it finds at the paths it owns (a corrupt ``run.json``, a folder where a file belongs), so it always
starts over.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import warnings
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from neurobridge._io import atomic_write

__all__ = ["COLUMNS", "FAILURE_COLUMNS", "TIMING_COLUMNS", "SELECTION_COLUMNS", "format_selection", "PHASES", "ResultStore", "unit_key", "summarize",
           "format_summary", "format_failures", "format_timings", "atomic_write_text", "SettingsMismatch", "ForeignUnitWarning",
           "TABLES", "OutputFolderError", "RunLocked", "run_lock", "LOCK_NAME", "format_report", "describe_run",
           "chance_levels", "is_bookkeeping", "n_classes"]

COLUMNS = ["experiment", "method", "fraction", "seed", "metric", "value"]
FAILURE_COLUMNS = ["experiment", "method", "fraction", "seed", "reason"]
TIMING_COLUMNS = ["experiment", "method", "fraction", "seed", "phase", "seconds"]
SELECTION_COLUMNS = ["experiment", "method", "fraction", "seed", "direction", "candidate", "mean", "sd", "chosen"]
PHASES = ("reference models", "bridges", "couplings", "flows", "baselines", "evaluation", "figures")
SETUP_METHOD = "(setup)"


TABLES = ("results.csv", "results.nc", "selection.csv", "failures.csv", "timings.csv")


class SettingsMismatch(ValueError):
    """A rerun into a folder whose results were made with other settings."""


class OutputFolderError(ValueError):
    """The output folder cannot be created or written; the message names it and says what to do."""


class ForeignUnitWarning(UserWarning):
    """A file in ``units/`` that this store did not write (or wrote under other settings) was left out."""


def _remove(path: Path) -> None:
    """Remove whatever is at ``path`` (file, link or folder); nothing when absent."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _unit_name(path: Path):
    """``(experiment, method, fraction, seed)`` when ``path`` is named exactly as the store names a unit, else None."""
    parts = path.stem.split("__")
    if path.suffix != ".json" or len(parts) != 4 or not all(parts):
        return None
    experiment, method, fraction, seed = parts
    try:
        fraction_value, seed_value = float(fraction), int(seed)
    except ValueError:
        return None
    if not math.isfinite(fraction_value) or f"{fraction_value:g}" != fraction or str(seed_value) != seed:
        return None
    return experiment, method, fraction_value, seed_value


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def unit_key(settings: Mapping, method: str, fraction: float, seed: int, method_settings: Mapping | None = None) -> str:
    """sha1 of the run's settings (experiment, ``--quick``, options, device, package version, data, model and
    flow settings), the method's own settings (e.g. the Aligner's parameters) and the unit's coordinates."""
    payload = {"settings": settings, "method": method, "method_settings": method_settings,
               "fraction": float(fraction), "seed": int(seed)}
    return hashlib.sha1(_canonical(payload).encode()).hexdigest()


def _differences(old, new, prefix: str = "") -> list[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                out.append(f"{name} (unset -> {_canonical(new[key])})")
            elif key not in new:
                out.append(f"{name} ({_canonical(old[key])} -> unset)")
            else:
                out.extend(_differences(old[key], new[key], name))
        return out
    if _canonical(old) != _canonical(new):
        return [f"{prefix} ({_canonical(old)} -> {_canonical(new)})"]
    return []


def _read_unit(path: Path):
    """The unit file's record, or None when unreadable (an unfinished or foreign file)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(record, list):
        return {"key": None, "status": "done", "rows": record}
    return record if isinstance(record, dict) else None


class ResultStore:
    """Results of one experiment in ``out``; units already done under the same ``settings`` are skipped.

    ``resume=False`` (``--fresh``) deletes this experiment's earlier units, figures, plots and recorded settings.
    ``settings`` (the run's settings, see :func:`unit_key`) makes a unit count as done only when its key matches;
    ``method_settings(method)`` adds each method's own settings to its units' keys.
    """

    def __init__(self, out: str | os.PathLike, experiment: str, *, resume: bool = True, worker: bool = False,
                 settings: Mapping | None = None, method_settings=None):
        self.out = Path(out)
        self.experiment = experiment
        self.settings = settings
        self.method_settings = method_settings
        self._method_cache: dict = {}
        self._warned: set[str] = set()
        self.units = self.out / "units"
        check_output_folder(self.out)
        if not resume:
            self._forget()
        try:
            self.units.mkdir(exist_ok=True)
        except FileExistsError:
            raise OutputFolderError(f"{self.units} is a file where neurobridge keeps its unit folder; rerun with --fresh to "
                                    "replace it, or choose another --out") from None
        if not worker:
            for path in self.units.glob(f"{experiment}__*.claim"):
                _remove(path)

    def _forget(self) -> None:
        """``--fresh``: delete the derived tables first, then this experiment's units, figures, plots and recorded
        settings. Whatever lies at a path the store owns is removed, whatever it is, so this never fails on a corrupt
        folder; an unreadable ``run.json`` is removed whole (it cannot be edited)."""
        for name in TABLES:
            _remove(self.out / name)
        if self.units.exists() and not self.units.is_dir():
            _remove(self.units)
        for pattern in (f"units/{self.experiment}__*", f"units/{self.experiment}.*.phase", f"figures/{self.experiment}_*",
                        f"plots/{self.experiment}_*"):
            for path in self.out.glob(pattern):
                _remove(path)
        for folder in ("figures", "plots"):
            if (self.out / folder).exists() and not (self.out / folder).is_dir():
                _remove(self.out / folder)
        run_json = self.out / "run.json"
        try:
            recorded = self.recorded_settings()
        except ValueError:
            _remove(run_json)
            return
        if run_json.exists() and not run_json.is_file():
            _remove(run_json)
        elif self.experiment in recorded:
            del recorded[self.experiment]
            atomic_write_text(run_json, json.dumps(recorded, indent=1, sort_keys=True, default=str))

    def recorded_settings(self) -> dict:
        path = self.out / "run.json"
        if path.exists() and not path.is_file():
            raise ValueError(f"{path} is not a file; rerun with --fresh or choose another --out")
        if not path.is_file():
            return {}
        try:
            recorded = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"{path} is not valid JSON ({err}); rerun with --fresh or choose another --out") from None
        if not isinstance(recorded, dict):
            raise ValueError(f"{path} does not hold a settings table; rerun with --fresh or choose another --out")
        return recorded

    def check_settings(self) -> None:
        """Refuse (one line naming the settings that differ) when ``out`` holds this experiment's units made with
        other settings; otherwise record the settings in ``run.json``."""
        recorded = self.recorded_settings()
        previous = recorded.get(self.experiment)
        has_units = any(self.units.glob(f"{self.experiment}__*.json"))
        if previous is not None and _canonical(previous) != _canonical(self.settings) and has_units:
            raise SettingsMismatch(
                f"{self.out} holds {self.experiment} results made with other settings: "
                f"{'; '.join(_differences(previous, self.settings))}; rerun with --fresh to replace them, or choose another --out")
        if previous is None and has_units:
            raise SettingsMismatch(
                f"{self.out} holds {self.experiment} results whose settings were not recorded (an older neurobridge); "
                "rerun with --fresh to replace them, or choose another --out")
        if previous is None or _canonical(previous) != _canonical(self.settings):
            recorded[self.experiment] = self.settings
            atomic_write_text(self.out / "run.json", json.dumps(recorded, indent=1, sort_keys=True, default=str))

    def _path(self, method: str, fraction: float, seed: int) -> Path:
        return self.units / f"{self.experiment}__{method}__{fraction:g}__{seed}.json"

    def key(self, method: str, fraction: float, seed: int) -> str | None:
        if self.settings is None:
            return None
        if method not in self._method_cache:
            self._method_cache[method] = self.method_settings(method) if self.method_settings else None
        return unit_key(self.settings, method, fraction, seed, self._method_cache[method])

    def record(self, method: str, fraction: float, seed: int) -> dict | None:
        """The stored record of the unit, or None if it does not exist or is stale (another key)."""
        path = self._path(method, fraction, seed)
        record = self._valid(path, (self.experiment, method, float(fraction), int(seed)), warn=False)
        if record is None:
            return None
        if self.settings is not None and record.get("key") != self.key(method, fraction, seed):
            return None
        return record

    def done(self, method: str, fraction: float, seed: int) -> bool:
        """True when the unit finished under the current settings and every figure it drew is present."""
        record = self.record(method, fraction, seed)
        if record is None or record.get("status") != "done":
            return False
        return all((self.out / name).is_file() for name in record.get("files", ()))

    def claim(self, method: str, fraction: float, seed: int) -> bool:
        """True if this process should run the unit: it is not done and no other worker has claimed it.

        Workers of one run share the units dynamically this way (an exclusive create is atomic); claims left by an
        interrupted run are cleared when the next run starts. A failed unit is run again.
        """
        if self.done(method, fraction, seed):
            return False
        try:
            os.close(os.open(self._path(method, fraction, seed).with_suffix(".claim"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _store(self, method: str, fraction: float, seed: int, record: dict) -> None:
        path = self._path(method, fraction, seed)
        atomic_write_text(path, json.dumps({"key": self.key(method, fraction, seed), **record}))
        path.with_suffix(".claim").unlink(missing_ok=True)

    def add(self, method: str, fraction: float, seed: int, metrics: Mapping[str, float], *,
            timings: Mapping[str, float] | None = None, files: Iterable[str] = (),
            selection: Iterable[Mapping] = ()) -> None:
        """Store a finished unit. ``None`` metrics are left out (not applicable); NaN and inf are kept as they are.
        ``selection``: rows ``{direction, candidate, mean, sd, chosen}`` of a coupling's choice among candidates."""
        rows = [
            {"experiment": self.experiment, "method": method, "fraction": float(fraction), "seed": int(seed), "metric": k, "value": float(v)}
            for k, v in metrics.items()
            if v is not None
        ]
        record = {"status": "done", "rows": rows, "timings": dict(timings or {}), "files": list(files)}
        selection = [{"direction": str(r["direction"]), "candidate": str(r["candidate"]), "mean": float(r["mean"]),
                      "sd": float(r["sd"]), "chosen": bool(r["chosen"])} for r in selection]
        if selection:
            record["selection"] = selection
        self._store(method, fraction, seed, record)

    def fail(self, method: str, fraction: float, seed: int, reason: str, *, timings: Mapping[str, float] | None = None) -> None:
        """Store a unit that raised, with the reason; a rerun tries it again."""
        self._store(method, fraction, seed, {"status": "failed", "reason": str(reason), "timings": dict(timings or {})})

    def add_phase(self, phase: str, seconds: float, tag: str) -> None:
        """Time spent outside the units (e.g. ``reference models`` in each worker), kept until the next run starts."""
        atomic_write_text(self.units / f"{self.experiment}.{tag}.phase", json.dumps({phase: float(seconds)}))

    def clear_phases(self) -> None:
        for path in self.units.glob(f"{self.experiment}.*.phase"):
            path.unlink()

    def _foreign(self, path: Path, why: str, warn: bool) -> None:
        if warn and str(path) not in self._warned:
            self._warned.add(str(path))
            warnings.warn(f"{path} was left out of the results: {why}. Remove it (or rerun with --fresh) if it is not "
                          "meant to be there", ForeignUnitWarning, stacklevel=4)

    def _valid(self, path: Path, coords, *, warn: bool = True):
        """The record of the unit file ``path`` named for ``coords``, or None (with a warning when ``warn``) when it
        is unreadable, not a unit record, holds rows of another unit or, for this experiment, has another key."""
        if not path.is_file():
            return None
        record = _read_unit(path)
        if record is None or record.get("status") not in ("done", "failed"):
            self._foreign(path, "it is not a neurobridge unit record (unreadable or unfinished)", warn)
            return None
        experiment, method, fraction, seed = coords
        rows = record.get("rows", []) if record.get("status") == "done" else []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            self._foreign(path, "its rows are not a list of records", warn)
            return None
        for row in rows:
            try:
                same = (row.get("experiment"), row.get("method"), float(row.get("fraction")), int(row.get("seed"))) == coords
            except (TypeError, ValueError):
                same = False
            if not same or set(row) != set(COLUMNS):
                self._foreign(path, f"it holds rows of another unit or another layout (e.g. {row}), not of "
                                    f"{experiment} {method} f={fraction:g} seed={seed}", warn)
                return None
        if experiment == self.experiment and self.settings is not None:
            try:
                expected = self.key(method, fraction, seed)
            except (KeyError, ValueError):
                self._foreign(path, f"{method!r} is not a method this neurobridge knows", warn)
                return None
            if record.get("key") != expected:
                self._foreign(path, "it was made with other settings than this run's (its key differs)", warn)
                return None
        return record

    def _records(self, experiment: str | None = None):
        """``(path, record)`` of every valid unit file (of ``experiment``, or of all), in name order; other files in
        ``units/`` are left out with a :class:`ForeignUnitWarning`."""
        for path in sorted(self.units.glob("*.json")):
            coords = _unit_name(path)
            if coords is None:
                self._foreign(path, "its name is not EXPERIMENT__METHOD__FRACTION__SEED.json as neurobridge writes it", True)
                continue
            if experiment is not None and coords[0] != experiment:
                continue
            record = self._valid(path, coords)
            if record is not None:
                yield path, record

    def frame(self) -> pd.DataFrame:
        rows = []
        for _, record in self._records(self.experiment):
            if record.get("status") == "done":
                rows.extend(record["rows"])
        return pd.DataFrame(rows, columns=COLUMNS)

    def failures(self) -> pd.DataFrame:
        """This experiment's failed units with their reasons."""
        rows = []
        for path, record in self._records(self.experiment):
            if record.get("status") == "failed":
                _, method, fraction, seed = path.stem.split("__")
                rows.append({"experiment": self.experiment, "method": method, "fraction": float(fraction), "seed": int(seed),
                             "reason": record.get("reason", "")})
        return pd.DataFrame(rows, columns=FAILURE_COLUMNS)

    def timings(self) -> pd.DataFrame:
        """Seconds per unit and phase (this experiment), plus the time spent outside the units (method ``(setup)``)."""
        rows = []
        for path, record in self._records(self.experiment):
            _, method, fraction, seed = path.stem.split("__")
            timings = record.get("timings") or {}
            for phase, seconds in (timings.items() if isinstance(timings, dict) else ()):
                rows.append({"experiment": self.experiment, "method": method, "fraction": float(fraction), "seed": int(seed),
                             "phase": phase, "seconds": float(seconds)})
        for path in sorted(self.units.glob(f"{self.experiment}.*.phase")):
            try:
                phases = json.loads(path.read_text())
                phases = {str(k): float(v) for k, v in phases.items()}
            except (OSError, ValueError, TypeError, AttributeError):
                self._foreign(path, "it is not a phase-time record", True)
                continue
            for phase, seconds in phases.items():
                rows.append({"experiment": self.experiment, "method": SETUP_METHOD, "fraction": np.nan, "seed": np.nan,
                             "phase": phase, "seconds": seconds})
        return pd.DataFrame(rows, columns=TIMING_COLUMNS).astype({"seed": "Int64"})

    def write(self) -> pd.DataFrame:
        """Write ``results.csv`` and ``results.nc`` (done units of all experiments in ``out``), ``selection.csv``
        (the same units, where a coupling chose among candidates), ``failures.csv`` and ``timings.csv`` (this
        experiment) atomically, and return the results table."""
        rows, selection = [], []
        for path, record in self._records():
            if record.get("status") == "done":
                rows.extend(record["rows"])
                if record.get("selection"):
                    experiment, method, fraction, seed = path.stem.split("__")
                    selection.extend({"experiment": experiment, "method": method, "fraction": float(fraction),
                                      "seed": int(seed), **row} for row in record["selection"])
        table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["experiment", "metric", "method", "fraction", "seed"]).reset_index(drop=True)
        table["value"] = table["value"].astype(float)
        atomic_write_text(self.out / "results.csv", table.to_csv(index=False, na_rep="nan"))
        _write_table_netcdf(table, self.out / "results.nc")
        if selection:
            chosen = pd.DataFrame(selection, columns=SELECTION_COLUMNS).sort_values(
                ["experiment", "method", "fraction", "seed", "direction", "candidate"])
            atomic_write_text(self.out / "selection.csv", chosen.to_csv(index=False, na_rep="nan"))
        elif (self.out / "selection.csv").is_file():
            (self.out / "selection.csv").unlink()
        failures = self.failures()
        if len(failures):
            atomic_write_text(self.out / "failures.csv", failures.to_csv(index=False))
        elif (self.out / "failures.csv").is_file():
            (self.out / "failures.csv").unlink()
        self.write_timings()
        return table

    def write_timings(self) -> None:
        """Write ``timings.csv``: seconds per unit and phase, and the time outside the units (method ``(setup)``)."""
        atomic_write_text(self.out / "timings.csv", self.timings().to_csv(index=False, na_rep=""))


def check_output_folder(out: Path) -> None:
    """Create ``out`` if missing and check that files can be written in it, before any work; an
    :class:`OutputFolderError` naming ``--out`` and the reason otherwise (a file in the way, no permission)."""
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out} is a file; give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputFolderError(f"--out {out}: cannot create the folder ({err.strerror or err}); choose a folder you can "
                                "write to") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputFolderError(f"--out {out}: the folder is not writable by this user; choose a folder you can write to")


LOCK_NAME = ".neurobridge.lock"


class RunLocked(OutputFolderError):
    """Another run is writing to the same output folder."""


def _holder(lock: Path) -> dict:
    try:
        holder = json.loads(lock.read_text())
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


def _alive(holder: dict) -> bool:
    """Whether the lock's holder may still run: its process exists on this host (another host cannot be checked)."""
    import socket

    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def run_lock(out: str | os.PathLike):
    """Hold ``OUT/.neurobridge.lock`` (the holder's pid, host and start time, created exclusively) for one run.

    A second run into the same folder fails at once with :class:`RunLocked` naming the holder, instead of both
    writing units and tables and the first to finish reporting an incomplete table. A lock whose holder no longer
    exists (a killed run, on this host) is taken over; one from another host is respected, and the message says how
    to remove it if that run is over.
    """
    import socket
    import time

    out = Path(out)
    check_output_folder(out)
    lock = out / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder and _alive(holder):
                raise RunLocked(
                    f"{out} is in use by another neurobridge run (pid {holder.get('pid')} on {holder.get('host')}, "
                    f"started {holder.get('started')}); wait for it to finish or choose another --out. If no such run "
                    f"is active, delete {lock}") from None
            if not holder and time.time() - lock.stat().st_mtime < 5:
                time.sleep(0.5)
                holder = _holder(lock)
                if holder and _alive(holder):
                    continue
            lock.unlink(missing_ok=True)
            continue
        except OSError as err:
            raise OutputFolderError(f"--out {out}: cannot create the lock file {lock} ({err.strerror or err}); choose a "
                                    "folder you can write to") from None
        with os.fdopen(fd, "w") as handle:
            json.dump(me, handle)
        break
    else:
        raise RunLocked(f"{out} is in use by another neurobridge run ({_holder(lock) or 'holder unknown'}); wait for it "
                        "to finish or choose another --out")
    try:
        yield lock
    finally:
        if _holder(lock).get("pid") == me["pid"]:
            lock.unlink(missing_ok=True)


def _write_table_netcdf(table: pd.DataFrame, path: Path) -> None:
    import xarray as xr

    from neurobridge.assemblies import checksum_encoding

    ds = xr.Dataset.from_dataframe(table.reset_index(drop=True).rename_axis("row"))
    for column in ("experiment", "method", "metric"):
        ds[column] = ds[column].astype(str)
    encoding = checksum_encoding(ds) if len(table) else {}
    atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding))


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and count over seeds, per experiment, metric, method and fraction (NaN stays NaN)."""
    grouped = table.groupby(["experiment", "metric", "method", "fraction"])["value"]
    return grouped.agg(mean=lambda v: v.mean(skipna=False), sd="std", n="count").reset_index()


def format_summary(table: pd.DataFrame, metrics: Iterable[str] | None = None) -> str:
    """A text table per metric: methods as rows, fractions as columns, cells ``mean ± sd``."""
    summary = summarize(table)
    blocks = []
    for (experiment, metric), part in summary.groupby(["experiment", "metric"], sort=False):
        if metrics is not None and metric not in metrics:
            continue
        cells = part.assign(cell=[f"{m:.3f} ± {0.0 if np.isnan(s) else s:.3f}" for m, s in zip(part["mean"], part["sd"])])
        wide = cells.pivot(index="method", columns="fraction", values="cell").fillna("")
        wide.columns = [f"f={c:g}" for c in wide.columns]
        blocks.append(f"{experiment} — {metric} (mean ± sd over seeds)\n{wide.to_string()}")
    return "\n\n".join(blocks)


def format_selection(selection: pd.DataFrame) -> str:
    """Which candidate a selecting coupling chose, per experiment, method, direction and fraction, counted over
    seeds (e.g. ``bridge-ot x2, label-spreading x1``)."""
    chosen = selection[selection["chosen"].astype(str).str.lower().isin(("true", "1"))]
    if not len(chosen):
        return ""
    blocks = []
    for (experiment, method), part in chosen.groupby(["experiment", "method"]):
        cells = {}
        for (direction, fraction), rows in part.groupby(["direction", "fraction"]):
            counts = rows["candidate"].value_counts()
            cells[(direction, fraction)] = ", ".join(f"{name} x{n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        wide = pd.Series(cells).unstack(0).fillna("")
        wide.index = [f"f={f:g}" for f in wide.index]
        blocks.append(f"{experiment} — couplings {method} chose (per direction, counted over seeds)\n{wide.to_string()}")
    return "\n\n".join(blocks)


def format_failures(failures: pd.DataFrame) -> str:
    if not len(failures):
        return ""
    lines = [f"  {r.method} f={r.fraction:g} seed={r.seed}: {r.reason}" for r in failures.itertuples()]
    return f"{len(failures)} unit{'s' if len(failures) > 1 else ''} FAILED (rerun the same command to retry them):\n" + "\n".join(lines)


def format_timings(timings: pd.DataFrame) -> str:
    """Seconds per phase (summed over units and worker processes), in :data:`PHASES` order."""
    if not len(timings):
        return ""
    totals = timings.groupby("phase")["seconds"].sum()
    order = [p for p in PHASES if p in totals.index] + sorted(set(totals.index) - set(PHASES))
    total = float(totals.sum())
    lines = [f"  {phase:<17} {totals[phase]:9.1f} s  {100 * totals[phase] / total if total else 0:5.1f} %" for phase in order]
    return "time per phase (summed over units and worker processes):\n" + "\n".join(lines) + f"\n  {'total':<17} {total:9.1f} s"


# ---------------------------------------------------------------------------------------------------------------------
# ``neurobridge report``: metrics apart from bookkeeping, chance levels, and what ran (from run.json)

BOOKKEEPING_PREFIXES = ("n_",)
BOOKKEEPING_SUFFIXES = ("_seconds",)
"""A quantity named ``n_*`` (a count: bridges, labelled or test stimuli) or ``*_seconds`` (a time) describes how a unit
ran, not how well a method did; the report prints it in its own section, never as a metric."""

CLASSES = {"digits": 10, "mnist": 10, "majajhong2015": 8}
"""Classes per data set: the ten digits (scikit-learn digits, MNIST); the eight HvM object categories of
MajajHong2015 (every variant: the 25-image slice and the public assembly hold the same eight)."""

_ACCURACY_OVER_CLASSES = ("recognition_accuracy", "generation_accuracy", "category_accuracy", "coupling_match_accuracy")
_CORRELATIONS = ("neural_predictivity", "neural_predictivity_raw", "median_site_r")


def is_bookkeeping(metric: str) -> bool:
    """True for counts (``n_*``) and times (``*_seconds``): how a unit ran, not a measure of a method."""
    return metric.startswith(BOOKKEEPING_PREFIXES) or metric.endswith(BOOKKEEPING_SUFFIXES)


def _data_name(experiment: str, settings: Mapping) -> str | None:
    if experiment == "majaj":
        return "majajhong2015"
    if experiment in ("digits", "mnist"):
        return experiment
    if experiment == "text-image":
        data = (settings.get("source") or {}).get("data") or {}
        return data.get("name")
    return None


def n_classes(experiment: str, settings: Mapping) -> int | None:
    """The number of classes a chance level divides by, from the data set ``run.json`` names; for
    ``imagenet-features``, the non-empty lines of the class-names file it records (None when that file is gone)."""
    if experiment == "imagenet-features":
        classes = ((settings.get("source") or {}).get("classes") or {}).get("path")
        try:
            return sum(1 for line in Path(classes).read_text().splitlines() if line.strip()) or None
        except (OSError, TypeError, UnicodeDecodeError):
            return None
    return CLASSES.get(_data_name(experiment, settings) or "")


def chance_levels(experiment: str, settings: Mapping | None, table: pd.DataFrame, metric: str):
    """``(per_fraction, how)``: the chance level of ``metric`` per labelled fraction (None where unknown) and one line
    saying where it comes from (``"chance unknown"`` when neither ``run.json`` nor the results tell).

    Accuracy over C classes: 1/C (a uniform guess). ``image_top1``/``image_top5`` among N test stimuli: 1/N and
    min(5, N)/N, N from the unit's ``n_test_stimuli``. A correlation of unrelated predictions: 0."""
    rows = table[table["experiment"] == experiment]
    fractions = sorted(rows.loc[rows["metric"] == metric, "fraction"].unique())
    if metric in _ACCURACY_OVER_CLASSES:
        c = n_classes(experiment, settings or {})
        if c is None:
            return {f: None for f in fractions}, "chance unknown (run.json does not say how many classes there are)"
        return {f: 1.0 / c for f in fractions}, f"chance 1/C = 1/{c} = {1 / c:.3f} (uniform guess over {c} classes)"
    if metric in ("image_top1", "image_top5"):
        k = 1 if metric == "image_top1" else 5
        counts = rows[rows["metric"] == "n_test_stimuli"].groupby("fraction")["value"].agg(["min", "max"])
        out, ns = {}, []
        for f in fractions:
            if f in counts.index and counts.loc[f, "min"] == counts.loc[f, "max"] and counts.loc[f, "min"] > 0:
                n = int(counts.loc[f, "min"])
                out[f] = min(k, n) / n
                ns.append(n)
            else:
                out[f] = None
        if not ns:
            return out, "chance unknown (the results hold no n_test_stimuli)"
        what = "1/N" if k == 1 else "min(5, N)/N"
        sizes = ", ".join(str(n) for n in sorted(set(ns)))
        return out, f"chance {what}, N = test stimuli ({sizes}): the true image is one of N candidates"
    if metric in _CORRELATIONS:
        return {f: 0.0 for f in fractions}, "chance 0 (the expected r of predictions unrelated to the responses)"
    return {f: None for f in fractions}, "chance unknown"


def describe_run(experiment: str, settings: Mapping | None) -> str:
    """One line: the data, region, direction and protocol of ``experiment`` as ``run.json`` records them."""
    if settings is None:
        return "run.json does not record this experiment: data, region, direction and protocol unknown"
    settings = dict(settings)
    if experiment == "majaj":
        data = settings.get("data") or {}
        region = data.get("region", "unknown")
        model = data.get("model", "unknown")
        layer = data.get("layer") or "its default layer"
        protocol = settings.get("protocol")
        if protocol is None:
            protocol_text = "not recorded (a run from before the protocol option: transductive)"
        elif protocol == "inductive":
            protocol_text = f"inductive (test fraction {settings.get('test_fraction', 'unrecorded')} of the stimuli held out of both pools)"
        else:
            protocol_text = "transductive (the test stimuli are the unlabelled pool stimuli)"
        parts = [f"data: MajajHong2015 {data.get('variant', 'unknown')}", f"region: {region}",
                 f"direction: {region} {data.get('source', 'points')} -> {model} ({layer}, model seed {data.get('model_seed', 0)})",
                 f"protocol: {protocol_text}"]
    elif experiment in ("digits", "mnist"):
        data = settings.get("data") or {}
        split = f", test fraction {data['test_fraction']}" if "test_fraction" in data else ""
        parts = [f"data: {data.get('name', experiment)}", "region: none (no neural data)",
                 "direction: recognition image -> label, generation label -> image",
                 f"protocol: inductive (a held-out test set{split}, split seed {data.get('split_seed', 0)})"
                 if "split_seed" in data else "protocol: inductive (a held-out test set)"]
    elif experiment in ("text-image", "imagenet-features"):
        source = settings.get("source") or {}
        if experiment == "text-image":
            name = (source.get("data") or {}).get("name", "unknown")
        else:
            name = (source.get("features") or {}).get("path", "unknown features")
        parts = [f"data: {name}", "region: none (no neural data)", "direction: image -> text embeddings of class prompts",
                 "protocol: inductive (a held-out test set)"]
    else:
        keys = ", ".join(sorted(settings)) or "nothing"
        parts = [f"run.json records {keys}; data, region, direction and protocol are not described for {experiment}"]
    return " · ".join(parts)


def _cells(rows: pd.DataFrame, fractions, flagged=None, digits: str = ".3f") -> dict:
    """``{method: [cell per fraction]}``, cells ``mean ± sd`` over seeds; ``flagged`` maps (method, fraction) to
    (seeds with a negative raw r, seeds)."""
    stats = rows.groupby(["method", "fraction"])["value"].agg(["mean", "std", "count"])
    flagged = flagged or {}
    out = {}
    for method in sorted(rows["method"].unique()):
        cells = []
        for f in fractions:
            if (method, f) in stats.index:
                m, s, n = stats.loc[(method, f)]
                cell = f"{m:{digits}}" if n < 2 else f"{m:{digits}} ± {s:{digits}}"
                if (method, f) in flagged:
                    bad, seeds = flagged[(method, f)]
                    cell += f" (raw r < 0 in {bad} of {seeds} seeds!)"
                cells.append(cell)
            else:
                cells.append("")
        out[method] = cells
    return out


def format_report(table: pd.DataFrame, run_settings: Mapping | None, metrics: Iterable[str] | None = None) -> str:
    """The Markdown report of a results table: per experiment a header line from ``run.json`` (``run_settings``, the
    parsed file, None when absent), one table per metric with its chance level, a warning for a negative raw r, and
    the bookkeeping (counts, seconds) in a separate, labelled table."""
    blocks = []
    recorded = run_settings if isinstance(run_settings, Mapping) else {}
    for experiment, part in table.groupby("experiment"):
        settings = recorded.get(experiment) if run_settings is not None else None
        head = describe_run(experiment, settings)
        names = list(metrics) if metrics else sorted(part["metric"].unique())
        measured = [m for m in names if not is_bookkeeping(m)]
        kept = [m for m in names if is_bookkeeping(m)]
        raw = part[part["metric"] == "neural_predictivity_raw"]
        negative = raw[raw["value"] < 0]
        flagged = {key: (int((group["value"] < 0).sum()), len(group))
                   for key, group in raw.groupby(["method", "fraction"]) if (group["value"] < 0).any()}
        blocks.append(f"## {experiment}\n\n{head}")
        for metric in measured:
            rows = part[part["metric"] == metric]
            fractions = sorted(rows["fraction"].unique())
            chance, how = chance_levels(experiment, settings, part, metric)
            flags = flagged if metric in ("neural_predictivity", "neural_predictivity_raw") else None
            lines = ["| method | " + " | ".join(f"{f:g}" for f in fractions) + " |", "|---|" + "---|" * len(fractions)]
            lines += [f"| {method} | " + " | ".join(cells) + " |" for method, cells in _cells(rows, fractions, flags).items()]
            if any(v is not None for v in chance.values()):
                lines.append("| *chance* | " + " | ".join("" if chance.get(f) is None else f"{chance[f]:.3f}" for f in fractions) + " |")
            blocks.append(f"### {experiment}: {metric} (mean ± sd over seeds; rows: methods, columns: labelled fraction)\n\n"
                          f"*{head}*\n\n" + "\n".join(lines) + f"\n\n{how}")
        if len(negative):
            which = ", ".join(f"{r.method} f={r.fraction:g} seed={int(r.seed)}: r={r.value:+.4f}" for r in negative.itertuples())
            blocks.append(f"**WARNING: negative raw r** ({which}): the predictions anticorrelate with the responses; "
                          "neural_predictivity = r^2/ceiling drops the sign, so do not read or rank it without its raw r.")
        if kept:
            rows = part[part["metric"].isin(kept)]
            fractions = sorted(rows["fraction"].unique())
            lines = ["| quantity | method | " + " | ".join(f"{f:g}" for f in fractions) + " |",
                     "|---|---|" + "---|" * len(fractions)]
            for quantity in kept:
                for method, cells in _cells(rows[rows["metric"] == quantity], fractions, digits=".4g").items():
                    lines.append(f"| {quantity} | {method} | " + " | ".join(cells) + " |")
            blocks.append(f"### {experiment}: bookkeeping (not metrics: counts and seconds per unit, mean ± sd over seeds)\n\n"
                          f"*{head}*\n\n" + "\n".join(lines))
    return "\n\n".join(blocks)
