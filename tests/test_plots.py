"""The metric figures cannot be misread: one colour and marker per method across a run's figures, labelled chance
lines, y axes from 0 (or a label that says otherwise), no bookkeeping figures, and end-to-end or reference methods
tagged with a caveat."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from neurobridge.experiments.plots import CHANCE_COLOR, method_colors, method_markers, metric_figures, plot_metrics
from neurobridge.experiments.results import COLUMNS

DIGITS = {"digits": {"data": {"name": "digits"}}}


def _table(rows) -> pd.DataFrame:
    """Long-format rows ``(experiment, method, metric, value)`` at fractions 0.05 and 0.2, seeds 0 and 1."""
    out = [(experiment, method, fraction, seed, metric, value + 0.01 * seed)
           for experiment, method, metric, value in rows for fraction in (0.05, 0.2) for seed in (0, 1)]
    return pd.DataFrame(out, columns=COLUMNS)


def _figures(table, **kwargs) -> dict:
    """``{(experiment, metric): axes}`` of every figure :func:`metric_figures` draws (closed, still inspectable)."""
    figures = {(experiment, metric): fig for experiment, metric, fig in metric_figures(table, **kwargs)}
    for fig in figures.values():
        plt.close(fig)
    return {key: fig.axes[0] for key, fig in figures.items()}


def _method_lines(ax) -> dict:
    """Legend label -> the data line of that method's error bars."""
    handles, labels = ax.get_legend_handles_labels()
    return {label: handle.lines[0] for handle, label in zip(handles, labels) if hasattr(handle, "lines")}


def _by_method(ax, method):
    (line,) = [line for label, line in _method_lines(ax).items() if label.split(" (")[0] == method]
    return line


def _chance_lines(ax):
    return [line for line in ax.get_lines() if line.get_linestyle() == "--" and line.get_color() == CHANCE_COLOR]


@pytest.fixture
def digits():
    """Recognition for three methods; the Frechet distance lacks bridge-ot's rows (a per-figure colour cycle would
    shift ridge and e2e-cnn there); bookkeeping rows for every method."""
    rows = [("digits", m, "recognition_accuracy", v) for m, v in (("bridge-ot", 0.8), ("ridge", 0.6), ("e2e-cnn", 0.9))]
    rows += [("digits", m, "generation_frechet", v) for m, v in (("ridge", 40.0), ("e2e-cnn", 30.0))]
    rows += [("digits", m, q, 1.0) for m in ("bridge-ot", "ridge", "e2e-cnn") for q in ("fit_seconds", "n_bridges")]
    return _table(rows)


def test_a_method_keeps_its_colour_and_marker_in_every_figure_of_a_run(digits):
    axes = _figures(digits, settings=DIGITS)
    accuracy, frechet = axes[("digits", "recognition_accuracy")], axes[("digits", "generation_frechet")]
    for method in ("ridge", "e2e-cnn"):
        assert _by_method(accuracy, method).get_color() == _by_method(frechet, method).get_color()
        assert _by_method(accuracy, method).get_marker() == _by_method(frechet, method).get_marker()
    lines = [_by_method(accuracy, m) for m in ("bridge-ot", "ridge", "e2e-cnn")]
    assert len({line.get_color() for line in lines}) == 3
    assert len({line.get_marker() for line in lines}) == 3


def test_colors_passed_in_are_shared_across_calls(digits):
    colors = method_colors(digits["method"].unique())
    alone = digits[digits["method"] == "ridge"]
    (ax,) = _figures(alone[alone["metric"] == "recognition_accuracy"], colors=colors).values()
    assert _by_method(ax, "ridge").get_color() == colors["ridge"]
    assert _by_method(ax, "ridge").get_marker() == method_markers(colors)["ridge"]
    with pytest.raises(ValueError, match="bridge-ot"):
        list(metric_figures(digits, colors={"ridge": colors["ridge"], "e2e-cnn": colors["e2e-cnn"]}))


def test_method_colors_follow_the_method_table_whatever_the_input_order():
    one = method_colors(["e2e-cnn", "ridge", "bridge-ot", "my-method"])
    other = method_colors(["my-method", "bridge-ot", "e2e-cnn", "ridge"])
    assert one == other
    assert list(one) == ["bridge-ot", "ridge", "e2e-cnn", "my-method"]
    assert len(set(one.values())) == 4
    many = method_colors([f"m{i:02d}" for i in range(18)])
    assert len(set(many.values())) == 18


def test_chance_line_is_drawn_and_labelled_from_the_run_settings(digits):
    ax = _figures(digits, settings=DIGITS)[("digits", "recognition_accuracy")]
    (chance,) = _chance_lines(ax)
    assert list(chance.get_ydata()) == pytest.approx([0.1, 0.1])
    assert "1/10" in chance.get_label()
    assert chance.get_label() in [text.get_text() for text in ax.get_legend().get_texts()]


def test_the_chance_line_needs_the_number_of_classes_from_run_json():
    table = _table([("text-image", "ridge", "recognition_accuracy", 0.7)])
    (unknown,) = _figures(table).values()
    assert not _chance_lines(unknown)
    (known,) = _figures(table, settings={"text-image": {"source": {"data": {"name": "mnist"}}}}).values()
    (chance,) = _chance_lines(known)
    assert list(chance.get_ydata()) == pytest.approx([0.1, 0.1])
    assert "1/10" in chance.get_label()
    (frechet,) = _figures(table.assign(metric="generation_frechet"), settings=DIGITS).values()
    assert not _chance_lines(frechet)


def test_chance_line_follows_the_number_of_test_stimuli_per_fraction():
    table = _table([("majaj", "ridge", "image_top1", 0.5)])
    table = pd.concat([table, pd.DataFrame([("majaj", "ridge", f, s, "n_test_stimuli", n)
                                            for f, n in ((0.05, 4), (0.2, 5)) for s in (0, 1)], columns=COLUMNS)])
    (ax,) = _figures(table, settings={"majaj": {}}).values()
    (chance,) = _chance_lines(ax)
    assert sorted(set(chance.get_ydata())) == pytest.approx([0.2, 0.25])
    assert "N" in chance.get_label()


def test_y_axis_starts_at_zero_for_bounded_metrics_and_includes_zero_for_correlations(digits):
    axes = _figures(digits, settings=DIGITS)
    assert axes[("digits", "recognition_accuracy")].get_ylim()[0] == 0
    assert axes[("digits", "generation_frechet")].get_ylim()[0] == 0
    signed = _figures(_table([("majaj", "ridge", "median_site_r", 0.3), ("majaj", "bridge-ot", "median_site_r", -0.2)]))
    lo, hi = signed[("majaj", "median_site_r")].get_ylim()
    assert lo < -0.2 and hi > 0.3
    positive = _figures(_table([("majaj", "ridge", "median_site_r", 0.3)]))
    assert positive[("majaj", "median_site_r")].get_ylim()[0] <= 0
    assert "does not start at 0" not in positive[("majaj", "median_site_r")].get_ylabel()


def test_an_axis_that_does_not_start_at_zero_says_so():
    (ax,) = _figures(_table([("digits", "ridge", "some_score", 5.0)])).values()
    assert ax.get_ylim()[0] > 0
    assert "does not start at 0" in ax.get_ylabel()
    accuracy = _figures(_table([("digits", "ridge", "recognition_accuracy", 0.9)]))
    assert "does not start at 0" not in accuracy[("digits", "recognition_accuracy")].get_ylabel()


def test_bookkeeping_is_not_drawn(digits, tmp_path):
    assert set(_figures(digits)) == {("digits", "recognition_accuracy"), ("digits", "generation_frechet")}
    assert list(metric_figures(digits, metrics=["fit_seconds", "n_bridges"])) == []
    paths = plot_metrics(digits, tmp_path, settings=DIGITS)
    assert sorted(p.name for p in paths) == ["digits_generation_frechet.png", "digits_recognition_accuracy.png"]
    assert all(p.is_file() for p in paths)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(p.name for p in paths)


def test_end_to_end_and_reference_methods_are_tagged_with_a_caveat(digits):
    ax = _figures(digits, settings=DIGITS)[("digits", "recognition_accuracy")]
    labels = list(_method_lines(ax))
    assert "e2e-cnn (end-to-end, reference)" in labels
    assert "bridge-ot" in labels and "ridge" in labels
    caveats = " ".join(text.get_text() for text in ax.texts)
    assert "end-to-end" in caveats and "same labelled points" in caveats
    (reference,) = _figures(_table([("majaj", "model-layer", "neural_predictivity", 0.4)])).values()
    assert list(_method_lines(reference)) == ["model-layer (reference, no bridges)"]
    assert "no bridges" in " ".join(text.get_text() for text in reference.texts)
    (plain,) = _figures(_table([("digits", "ridge", "recognition_accuracy", 0.6)])).values()
    assert not plain.texts
