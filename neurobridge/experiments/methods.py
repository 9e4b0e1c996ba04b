"""Every method under test in the experiments, built from one table, with one shape.

    method = build_method("bridge-ot", seed=0, device="cpu", flow=FLOW)
    method.fit(source, target, bridges)          # bridges: neurobridge.Bridges indexing source and target
    method.transform(new_source)                 # maps and flows; flows also .sample(new_source, n_samples)
    method.predict(new_inputs)                   # end-to-end classifiers (``target`` holds the source points' labels)

Kinds:

- ``flow``: a coupling of the pools followed by a conditional flow, :class:`neurobridge.Aligner` with
  ``coupling=<name>``. Every coupling the package knows (``neurobridge.couplings.METHODS``) is a flow method under its own name, except ``"supervised"``, which the tables
  call ``"supervised-flow"`` (the flow trained on the bridges alone).
- ``map``: a regression map fitted on the bridges' pairs only (:class:`neurobridge.baselines.RegressionMap`).
- ``end-to-end``: a classifier (or the fused VAE) trained on the raw inputs of the labelled source points, with no
  frozen unimodal model in between; ``fit(inputs, labels, bridges)`` uses ``labels[bridges.source_index]``.
- ``reference``: a measurement that uses no bridges (e.g. Brain-Score predictivity of the model layer); its
  experiment computes it, the object only carries the name.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "FLOW_ALIASES", "REGRESSION_MAPS", "END_TO_END", "REFERENCES", "flow_method_names", "method_kind",
    "build_method", "method_settings", "check_methods", "cost_rank", "FlowMethod", "MapMethod", "EndToEndMethod", "ReferenceMethod",
]

FLOW_ALIASES = {"supervised-flow": "supervised"}
REGRESSION_MAPS = ("ridge", "ridge-cv", "pls", "procrustes")
END_TO_END = {"e2e-logreg": "logistic", "e2e-cnn": "cnn", "e2e-fused-vae": "fused-vae"}
REFERENCES = ("model-layer",)


def _coupling_names() -> tuple[str, ...]:
    """Every coupling name :class:`neurobridge.Aligner` accepts, in the package's order."""
    from neurobridge.couplings import METHODS

    return tuple(METHODS)


def flow_method_names() -> tuple[str, ...]:
    """The flow methods' table names: each coupling name, with ``"supervised"`` as ``"supervised-flow"``."""
    inverse = {coupling: name for name, coupling in FLOW_ALIASES.items()}
    return tuple(inverse.get(c, c) for c in _coupling_names())


def method_kind(name: str) -> str:
    """``"flow"``, ``"map"``, ``"end-to-end"`` or ``"reference"``; an unknown name is a ValueError listing all."""
    if name in REGRESSION_MAPS:
        return "map"
    if name in END_TO_END:
        return "end-to-end"
    if name in REFERENCES:
        return "reference"
    if name in flow_method_names():
        return "flow"
    valid = sorted(set(flow_method_names()) | set(REGRESSION_MAPS) | set(END_TO_END) | set(REFERENCES))
    raise ValueError(f"unknown method {name!r}; valid methods: {', '.join(valid)}")


SELECTING_COUPLINGS = ("auto",)
"""Couplings that fit and score several candidate couplings before fitting the chosen one (the slowest units)."""


def cost_rank(name: str) -> int:
    """A coarse order of a unit's expected cost, largest first: selecting couplings (0), other flows (1),
    end-to-end models (2), maps and references (3). Drivers start the expensive units first, so the last units to
    finish are short ones (longest-processing-time-first scheduling) and the wall time is not set by a late, long
    unit on one worker while the others idle."""
    kind = method_kind(name)
    if kind == "flow":
        return 0 if FLOW_ALIASES.get(name, name) in SELECTING_COUPLINGS else 1
    return 2 if kind == "end-to-end" else 3


def check_methods(methods, valid, experiment: str) -> tuple[str, ...]:
    """``methods`` as a tuple of names, each in ``valid``; otherwise one ValueError naming the culprits and the
    valid names for ``experiment``."""
    if isinstance(methods, str) or not all(isinstance(m, str) for m in methods):
        raise ValueError(f"methods must be a list of method names; got {methods!r}")
    methods = tuple(methods)
    unknown = [m for m in methods if m not in valid]
    if unknown:
        raise ValueError(f"unknown method{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} for {experiment}; "
                         f"valid methods: {', '.join(sorted(valid))}")
    return methods


class FlowMethod:
    """Bridge coupling + conditional flow: ``Aligner(coupling=self.coupling, seed, device, **flow)``."""

    kind = "flow"

    def __init__(self, name: str, *, seed: int = 0, device: str = "auto", flow: dict | None = None):
        self.name = name
        self.coupling = FLOW_ALIASES.get(name, name)
        self.seed = seed
        self.device = device
        self.flow = dict(flow or {})

    def fit(self, source, target, bridges) -> FlowMethod:
        from neurobridge.align import Aligner

        self.aligner_ = Aligner(self.coupling, seed=self.seed, device=self.device, progress=False, **self.flow)
        self.aligner_.fit(source, target, bridges)
        return self

    def transform(self, source, n_samples: int = 1):
        return self.aligner_.transform(source, n_samples=n_samples)

    def sample(self, source, n_samples: int = 8):
        return self.aligner_.sample(source, n_samples=n_samples)

    def selection(self) -> list[dict]:
        """The candidates the coupling chose among by validation (``auto``: its ``log["selection"]``), one row each
        ``{candidate, mean, sd, chosen}``; empty for a coupling that chose nothing."""
        log = getattr(getattr(self.aligner_, "coupling_", None), "log", None) or {}
        table = log.get("selection")
        if not isinstance(table, dict):
            return []
        selected = log.get("selected")
        return [{"candidate": str(name), "mean": float(entry.get("mean", float("nan"))), "sd": float(entry.get("sd", float("nan"))),
                 "chosen": bool(entry.get("chosen", name == selected))} for name, entry in table.items()]

    def timings(self) -> dict:
        """Seconds spent on the coupling and on the flow, where the Aligner records the split (``timings_``);
        otherwise the whole fit counts as flow time."""
        split = getattr(self.aligner_, "timings_", None)
        if isinstance(split, dict) and {"coupling", "flow"} <= set(split):
            return {"couplings": float(split["coupling"]), "flows": float(split["flow"])}
        return {"flows": float(self.aligner_.fit_seconds_)}


class MapMethod:
    """A regression map fitted on the bridges' pairs ``(source[i_k], target[j_k])`` only.

    ``ridge`` standardises the bridges' features and uses a fixed penalty of 1; ``ridge-cv`` is the regression ``auto``
    validates as its ``ridge`` candidate for paired bridges (features z-scored with the pool's statistics, the penalty
    by leave-one-out CV over ``logspace(-3, 4, 15)``). Neither dominates: with 10-60 label-matched bridges the
    cross-validated penalty read out worse (text-image at 5 %: 0.554 against 0.717), on the MajajHong2015 stand-in
    far better (category readout 0.76-0.80 against 0.36-0.53). PLS keeps ``min(10, K - 1, d_x, d_y)`` components for ``K`` bridges.
    """

    kind = "map"

    def __init__(self, name: str):
        self.name = name

    def fit(self, source, target, bridges) -> MapMethod:
        from neurobridge.baselines import RegressionMap

        source, target = np.asarray(source), np.asarray(target)
        bs, bt = bridges.source_index, bridges.target_index
        if self.name == "ridge-cv":
            from neurobridge.couplings.methods.map_refined import BridgeRegression

            pool = source.astype(np.float64)
            self.map_ = BridgeRegression("ridge").fit(pool, pool[bs], target[bt].astype(np.float64))
            return self
        kwargs = {"n_components": min(10, len(bs) - 1, source.shape[1], target.shape[1])} if self.name == "pls" else {}
        self.map_ = RegressionMap(self.name, **kwargs).fit(source[bs], target[bt])
        return self

    def transform(self, source):
        if self.name == "ridge-cv":
            return self.map_.predict(np.asarray(source, dtype=np.float64))
        return self.map_.transform(source)


class EndToEndMethod:
    """A model trained from the raw inputs of the labelled source points: ``fit(inputs, labels, bridges)`` with
    ``labels`` aligned to ``inputs`` (only ``labels[bridges.source_index]`` is used, plus, for the fused VAE, the
    unlabelled inputs). Logistic regression flattens images."""

    kind = "end-to-end"

    def __init__(self, name: str, *, seed: int = 0, device: str = "auto", models: dict | None = None):
        self.name = name
        self.model = END_TO_END[name]
        self.seed = seed
        self.device = device
        self.models = dict(models or {})

    def _inputs(self, x):
        x = np.asarray(x)
        return x.reshape(len(x), -1) if self.model == "logistic" else x

    def fit(self, inputs, labels, bridges) -> EndToEndMethod:
        from neurobridge.baselines import FusedVAE, SupervisedClassifier

        labelled = np.asarray(bridges.source_index)
        if self.model == "fused-vae":
            self.model_ = FusedVAE(seed=self.seed, device=self.device, **self.models.get("fused_vae", {}))
        elif self.model == "cnn":
            self.model_ = SupervisedClassifier("cnn", seed=self.seed, device=self.device, config=self.models.get("cnn"))
        else:
            self.model_ = SupervisedClassifier("logistic", seed=self.seed)
        self.model_.fit(self._inputs(inputs), labels, labelled=labelled)
        return self

    def predict(self, inputs) -> np.ndarray:
        return np.asarray(self.model_.predict(self._inputs(inputs)))

    @property
    def generates(self) -> bool:
        return hasattr(self.model_, "generate")

    def generate(self, labels) -> np.ndarray:
        return np.asarray(self.model_.generate(labels))


class ReferenceMethod:
    """A measurement without bridges (e.g. ``model-layer``); the experiment computes it from its own data."""

    kind = "reference"

    def __init__(self, name: str):
        self.name = name

    def fit(self, source=None, target=None, bridges=None) -> ReferenceMethod:
        return self


def _jsonable(value):
    import re

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def method_settings(name: str, *, flow: dict | None = None, models: dict | None = None) -> dict:
    """The settings of method ``name`` as the run builds it (for the unit key): a flow method's full
    ``Aligner.get_params()`` (package defaults included), a map's kind, an end-to-end model's configuration."""
    kind = method_kind(name)
    if kind == "flow":
        from neurobridge.align import Aligner

        aligner = Aligner(FLOW_ALIASES.get(name, name), progress=False, **dict(flow or {}))
        params = {k: v for k, v in aligner.get_params().items() if k not in ("seed", "device", "progress")}
        return {"kind": kind, "params": _jsonable(params)}
    if kind == "end-to-end":
        model = END_TO_END[name]
        key = {"cnn": "cnn", "fused-vae": "fused_vae"}.get(model)
        return {"kind": kind, "model": model, "config": _jsonable((models or {}).get(key)) if key else None}
    return {"kind": kind}


def build_method(name: str, *, seed: int = 0, device: str = "auto", flow: dict | None = None, models: dict | None = None):
    """The method object for the table name ``name`` (see the module docstring for the kinds)."""
    kind = method_kind(name)
    if kind == "flow":
        return FlowMethod(name, seed=seed, device=device, flow=flow)
    if kind == "map":
        return MapMethod(name)
    if kind == "end-to-end":
        return EndToEndMethod(name, seed=seed, device=device, models=models)
    return ReferenceMethod(name)
