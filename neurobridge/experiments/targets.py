"""The method's claims as checks on a results table (issue targets), reported as met or missed, never asserted.

For an image-label experiment (digits, MNIST), with ``method`` a flow method (the default ``auto``, or the paper's
``bridge-ot``) and the end-to-end baselines ``e2e-*`` trained on the same labelled fraction:

1. recognition at fractions 0.01, 0.05, 0.1: the method beats the best end-to-end baseline;
2. recognition at 0.2: within 1 point of the best end-to-end baseline;
3. recognition at 1.0: within 1 point of the fully supervised upper bound (the best end-to-end baseline at 1.0);
4. generation at 0.1: the independent classifier recognises >= 90 % of the generated digits, and the Frechet
   distance is no worse than the fused VAE's at the same fraction;
5. the flow beats the supervised-only flow at every fraction below 1.0 (the unlabelled data are used).
"""
from __future__ import annotations

import pandas as pd

__all__ = ["check_targets", "format_targets", "markdown_table", "METHODS_CHECKED"]


def _means(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = table[table["metric"] == metric]
    return rows.groupby(["method", "fraction"])["value"].mean().unstack("fraction")


def check_targets(table: pd.DataFrame, method: str = "bridge-ot") -> list[dict]:
    """One dict per target and fraction: ``target``, ``fraction``, ``value``, ``reference``, ``met`` (None if the
    table lacks what the check needs)."""
    out = []
    rec = _means(table, "recognition_accuracy")
    e2e = [m for m in rec.index if m.startswith("e2e-")]

    def add(target, fraction, value, reference, met):
        out.append({"target": target, "fraction": fraction, "value": value, "reference": reference, "met": met})

    for fraction in rec.columns:
        if method not in rec.index or not e2e:
            continue
        mine = rec.loc[method, fraction]
        best = rec.loc[e2e, fraction].max()
        best_name = rec.loc[e2e, fraction].idxmax()
        if fraction < 0.2:
            add(f"recognition beats end-to-end ({best_name})", fraction, mine, best, bool(mine > best))
        elif fraction < 1.0:
            add(f"recognition within 1 point of end-to-end ({best_name})", fraction, mine, best, bool(mine >= best - 0.01))
        else:
            add(f"recognition within 1 point of the supervised upper bound ({best_name})", fraction, mine, best, bool(mine >= best - 0.01))
        if fraction < 1.0 and "supervised-flow" in rec.index:
            sup = rec.loc["supervised-flow", fraction]
            add("flow beats the supervised-only flow", fraction, mine, sup, bool(mine > sup))
    gen = _means(table, "generation_accuracy")
    fd = _means(table, "generation_frechet")
    if method in gen.index and 0.1 in gen.columns:
        value = gen.loc[method, 0.1]
        add("generation: classifier recognises >= 90 %", 0.1, value, 0.9, bool(value >= 0.9))
        if "e2e-fused-vae" in fd.index:
            mine, ref = fd.loc[method, 0.1], fd.loc["e2e-fused-vae", 0.1]
            add("generation: Frechet distance <= fused VAE's", 0.1, mine, ref, bool(mine <= ref))
    return out


METHODS_CHECKED = ("auto", "bridge-ot")
"""The methods whose targets ``neurobridge report`` prints: the default and the paper's method."""


def format_targets(table: pd.DataFrame, method: str = "bridge-ot") -> str:
    """The targets of ``method`` as a Markdown table (met / MISSED per row)."""
    lines = []
    for row in check_targets(table, method):
        verdict = "met" if row["met"] else "MISSED"
        lines.append(f"| {row['target']} | {row['fraction']:g} | {row['value']:.3f} | {row['reference']:.3f} | {verdict} |")
    if not lines:
        return "(no target can be checked from this table)"
    return f"| target | fraction | {method} | reference | verdict |\n|---|---|---|---|---|\n" + "\n".join(lines)


def markdown_table(table: pd.DataFrame, metric: str) -> str:
    """Methods x fractions, ``mean ± sd`` over seeds (the mean alone for a single seed), as a Markdown table."""
    rows = table[table["metric"] == metric]
    stats = rows.groupby(["method", "fraction"])["value"].agg(["mean", "std", "count"])
    fractions = sorted(rows["fraction"].unique())
    header = "| method | " + " | ".join(f"{f:g}" for f in fractions) + " |\n|---|" + "---|" * len(fractions)
    body = []
    for method in sorted(rows["method"].unique()):
        cells = []
        for f in fractions:
            if (method, f) in stats.index:
                m, s, n = stats.loc[(method, f)]
                cells.append(f"{m:.3f}" if n < 2 else f"{m:.3f} ± {s:.3f}")
            else:
                cells.append("")
        body.append(f"| {method} | " + " | ".join(cells) + " |")
    return header + "\n" + "\n".join(body)
