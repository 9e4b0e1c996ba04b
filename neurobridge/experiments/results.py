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
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from neurobridge._io import atomic_write

__all__ = ["COLUMNS", "FAILURE_COLUMNS", "TIMING_COLUMNS", "SELECTION_COLUMNS", "format_selection", "PHASES", "ResultStore", "unit_key", "summarize",
           "format_summary", "format_failures", "format_timings", "atomic_write_text", "SettingsMismatch"]

COLUMNS = ["experiment", "method", "fraction", "seed", "metric", "value"]
FAILURE_COLUMNS = ["experiment", "method", "fraction", "seed", "reason"]
TIMING_COLUMNS = ["experiment", "method", "fraction", "seed", "phase", "seconds"]
SELECTION_COLUMNS = ["experiment", "method", "fraction", "seed", "direction", "candidate", "mean", "sd", "chosen"]
PHASES = ("reference models", "bridges", "couplings", "flows", "baselines", "evaluation", "figures")
SETUP_METHOD = "(setup)"


class SettingsMismatch(ValueError):
    """A rerun into a folder whose results were made with other settings."""


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
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"--out {self.out} is a file; give a folder (it is created if missing)")
        self.experiment = experiment
        self.settings = settings
        self.method_settings = method_settings
        self._method_cache: dict = {}
        self.units = self.out / "units"
        self.units.mkdir(parents=True, exist_ok=True)
        if not worker:
            for path in self.units.glob(f"{experiment}__*.claim"):
                path.unlink()
        if not resume:
            self._forget()

    def _forget(self) -> None:
        for pattern in (f"units/{self.experiment}__*.json", f"figures/{self.experiment}_*", f"plots/{self.experiment}_*"):
            for path in self.out.glob(pattern):
                path.unlink()
        recorded = self.recorded_settings()
        if self.experiment in recorded:
            del recorded[self.experiment]
            atomic_write_text(self.out / "run.json", json.dumps(recorded, indent=1, sort_keys=True, default=str))

    def recorded_settings(self) -> dict:
        path = self.out / "run.json"
        if not path.is_file():
            return {}
        try:
            recorded = json.loads(path.read_text())
        except ValueError as err:
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
        record = _read_unit(path) if path.is_file() else None
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

    def _records(self, experiment: str | None = None):
        pattern = f"{experiment}__*.json" if experiment else "*.json"
        for path in sorted(self.units.glob(pattern)):
            record = _read_unit(path)
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
            for phase, seconds in (record.get("timings") or {}).items():
                rows.append({"experiment": self.experiment, "method": method, "fraction": float(fraction), "seed": int(seed),
                             "phase": phase, "seconds": float(seconds)})
        for path in sorted(self.units.glob(f"{self.experiment}.*.phase")):
            for phase, seconds in json.loads(path.read_text()).items():
                rows.append({"experiment": self.experiment, "method": SETUP_METHOD, "fraction": np.nan, "seed": np.nan,
                             "phase": phase, "seconds": float(seconds)})
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


def _write_table_netcdf(table: pd.DataFrame, path: Path) -> None:
    import xarray as xr

    ds = xr.Dataset.from_dataframe(table.reset_index(drop=True).rename_axis("row"))
    for column in ("experiment", "method", "metric"):
        ds[column] = ds[column].astype(str)
    atomic_write(path, ds.to_netcdf)


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
