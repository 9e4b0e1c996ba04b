"""The long-format results table every experiment writes, and its summary.

One row per measurement, with the columns ``experiment, method, fraction, seed, metric, value``. Each finished unit
of work (one method at one labelled fraction and seed) is stored as its own small JSON file under ``OUT/units/`` the
moment it finishes, so an interrupted run resumes where it stopped; ``results.csv`` and ``results.nc`` are rebuilt
from those files, atomically.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from neurobridge._io import atomic_write

__all__ = ["COLUMNS", "ResultStore", "summarize", "format_summary", "atomic_write_text"]

COLUMNS = ["experiment", "method", "fraction", "seed", "metric", "value"]


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


class ResultStore:
    """Results of one experiment run in ``out``; units already done are skipped on a re-run (``resume=True``)."""

    def __init__(self, out: str | os.PathLike, experiment: str, *, resume: bool = True, worker: bool = False):
        self.out = Path(out)
        self.experiment = experiment
        self.units = self.out / "units"
        self.units.mkdir(parents=True, exist_ok=True)
        if not worker:
            for path in self.units.glob(f"{experiment}__*.claim"):
                path.unlink()
        if not resume:
            for path in self.units.glob(f"{experiment}__*.json"):
                path.unlink()

    def _path(self, method: str, fraction: float, seed: int) -> Path:
        return self.units / f"{self.experiment}__{method}__{fraction:g}__{seed}.json"

    def done(self, method: str, fraction: float, seed: int) -> bool:
        return self._path(method, fraction, seed).is_file()

    def claim(self, method: str, fraction: float, seed: int) -> bool:
        """True if this process should run the unit: it is not done and no other worker has claimed it.

        Workers of one run share the units dynamically this way (an exclusive create is atomic); claims left by an
        interrupted run are cleared when the next run starts.
        """
        if self.done(method, fraction, seed):
            return False
        try:
            os.close(os.open(self._path(method, fraction, seed).with_suffix(".claim"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def add(self, method: str, fraction: float, seed: int, metrics: Mapping[str, float]) -> None:
        rows = [
            {"experiment": self.experiment, "method": method, "fraction": float(fraction), "seed": int(seed), "metric": k, "value": float(v)}
            for k, v in metrics.items()
            if v is not None and np.isfinite(float(v))
        ]
        path = self._path(method, fraction, seed)
        atomic_write_text(path, json.dumps(rows))
        path.with_suffix(".claim").unlink(missing_ok=True)

    def frame(self) -> pd.DataFrame:
        rows = []
        for path in sorted(self.units.glob(f"{self.experiment}__*.json")):
            rows.extend(json.loads(path.read_text()))
        return pd.DataFrame(rows, columns=COLUMNS)

    def write(self) -> pd.DataFrame:
        """Write ``results.csv`` and ``results.nc`` (all experiments in ``out``) atomically and return the table."""
        rows = []
        for path in sorted(self.units.glob("*.json")):
            rows.extend(json.loads(path.read_text()))
        table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["experiment", "metric", "method", "fraction", "seed"]).reset_index(drop=True)
        atomic_write_text(self.out / "results.csv", table.to_csv(index=False))
        _write_table_netcdf(table, self.out / "results.nc")
        return table


def _write_table_netcdf(table: pd.DataFrame, path: Path) -> None:
    import xarray as xr

    ds = xr.Dataset.from_dataframe(table.reset_index(drop=True).rename_axis("row"))
    for column in ("experiment", "method", "metric"):
        ds[column] = ds[column].astype(str)
    atomic_write(path, ds.to_netcdf)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and count over seeds, per experiment, metric, method and fraction."""
    grouped = table.groupby(["experiment", "metric", "method", "fraction"])["value"]
    return grouped.agg(mean="mean", sd="std", n="count").reset_index()


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
