"""The experiments ``neurobridge run`` knows: one data table of specs (methods, defaults, options).

Where the units run is the driver's business (:mod:`neurobridge.experiments.driver`); what a unit computes is the
experiment's (its module's ``EXPERIMENT`` object, see :mod:`neurobridge.experiments.units`). A method name of a
spec is a row of the one method table (:mod:`neurobridge.experiments.methods`); besides the listed methods every
experiment that fits flows accepts every flow method (each coupling name the package knows).
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ExperimentSpec", "EXPERIMENTS", "COMMON_OPTIONS", "check_options", "options_help"]

COMMON_OPTIONS = {
    "jobs": ("count", "worker processes (0 = one per CPU core, up to 4)"),
    "threads": ("count", "torch intra-op threads per process (default 1)"),
}
_SEEDS = {"model_seed": ("count", "seed of the frozen reference models"),
          "split_seed": ("count", "seed of the data split")}


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    module: str
    description: str
    methods: tuple[str, ...]
    defaults: dict
    quick_defaults: dict
    headline: tuple[str, ...] = field(default_factory=tuple)
    options: dict = field(default_factory=dict)
    attribute: str = "EXPERIMENT"
    flows: bool = True

    def valid_methods(self) -> tuple[str, ...]:
        """The listed methods, plus every flow method when the experiment fits flows."""
        from neurobridge.experiments.methods import flow_method_names

        extra = flow_method_names() if self.flows else ()
        return tuple(dict.fromkeys(self.methods + tuple(extra)))


_IMAGE_LABEL_METHODS = (
    "auto", "label-spreading", "geodesic", "bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow",
    "ridge", "pls", "procrustes", "e2e-logreg", "e2e-cnn", "e2e-fused-vae",
)
_FRACTIONS = (0.01, 0.05, 0.1, 0.2, 1.0)
_IMAGE_LABEL_HEADLINE = ("auto", "bridge-ot", "supervised-flow", "ridge", "e2e-logreg", "e2e-cnn", "e2e-fused-vae")
"""The default digits and MNIST tables: the default coupling (``auto``) and the paper's (``bridge-ot``), what they
must beat (the flow on the bridges alone, the best linear map, the end-to-end classifiers and the fused VAE, whose
Frechet distance the generation target compares with), i.e. every row :mod:`neurobridge.experiments.targets` reads.
The other couplings run by name or with ``--methods all`` (on MNIST at 100 % labels, ``geodesic`` alone is a
10,000 x 10,000 x 10,000 min-plus)."""

EXPERIMENTS = {
    spec.name: spec
    for spec in (
        ExperimentSpec(
            "digits", "neurobridge.experiments.digits",
            "scikit-learn digits: image latents <-> label latents; recognition and generation (the embedded default)",
            _IMAGE_LABEL_METHODS,
            defaults={"fractions": _FRACTIONS, "seeds": (0, 1, 2), "methods": _IMAGE_LABEL_HEADLINE},
            quick_defaults={"fractions": (0.05, 1.0), "seeds": (0,), "methods": ("auto", "bridge-ot", "exemplar", "supervised-flow", "ridge", "e2e-logreg", "e2e-fused-vae")},
            headline=("recognition_accuracy", "generation_accuracy", "generation_frechet"),
            options=dict(_SEEDS),
        ),
        ExperimentSpec(
            "mnist", "neurobridge.experiments.mnist",
            "MNIST: conv-VAE latents <-> label-VAE latents (50k unimodal / 10k pool / 10k test)",
            _IMAGE_LABEL_METHODS,
            defaults={"fractions": _FRACTIONS, "seeds": (0, 1, 2), "methods": _IMAGE_LABEL_HEADLINE},
            quick_defaults={"fractions": (0.05,), "seeds": (0,), "methods": ("auto", "bridge-ot", "supervised-flow", "ridge", "e2e-logreg")},
            headline=("recognition_accuracy", "generation_accuracy", "generation_frechet"),
            options={"model_seed": _SEEDS["model_seed"]},
        ),
        ExperimentSpec(
            "text-image", "neurobridge.experiments.text_image",
            "image latents (digits or MNIST) -> all-MiniLM-L6-v2 embeddings of class prompts; recognition = nearest prompt",
            ("auto", "label-spreading", "geodesic", "bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow", "ridge", "procrustes", "e2e-logreg"),
            defaults={"fractions": (0.01, 0.05, 0.1, 0.2), "seeds": (0, 1, 2), "methods": ("auto", "label-spreading", "bridge-ot", "exemplar", "supervised-flow", "ridge", "procrustes", "e2e-logreg")},
            quick_defaults={"fractions": (0.05,), "seeds": (0,), "methods": ("auto", "bridge-ot", "supervised-flow", "ridge")},
            headline=("recognition_accuracy",),
            options={**_SEEDS, "source": (("digits", "mnist"), "whose image latents")},
            attribute="TEXT_IMAGE",
        ),
        ExperimentSpec(
            "imagenet-features", "neurobridge.experiments.text_image",
            "your own image features (--option features=PATH.npz --option classes=names.txt) -> class-prompt text embeddings",
            ("auto", "label-spreading", "geodesic", "bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow", "ridge", "procrustes", "e2e-logreg"),
            defaults={"fractions": (0.01, 0.05, 0.1, 0.2), "seeds": (0, 1, 2), "methods": ("auto", "label-spreading", "bridge-ot", "exemplar", "supervised-flow", "ridge", "e2e-logreg")},
            quick_defaults={"fractions": (0.1,), "seeds": (0,), "methods": ("auto", "bridge-ot", "ridge")},
            headline=("recognition_accuracy",),
            options={"split_seed": _SEEDS["split_seed"], "features": ("path", "image features (.npz/.npy/.nc with labels)"),
                     "classes": ("path", "class names, one per line")},
            attribute="IMAGENET_FEATURES",
        ),
        ExperimentSpec(
            "majaj", "neurobridge.experiments.majaj",
            "MajajHong2015 IT/V4 responses -> a CNN layer on the same HvM images; identification and neural predictivity",
            ("auto", "self-training", "map-refined", "bridge-ot", "minibatch-bridge-ot", "exemplar", "supervised-flow", "ridge",
             "ridge-cv", "e2e-logreg", "model-layer"),
            defaults={"fractions": (0.2, 0.4, 0.6), "seeds": (0, 1, 2), "methods": ("auto", "map-refined", "bridge-ot", "exemplar",
                                                                               "supervised-flow", "ridge", "ridge-cv", "e2e-logreg",
                                                                               "model-layer")},
            quick_defaults={"fractions": (0.4,), "seeds": (0,), "methods": ("bridge-ot", "supervised-flow", "ridge", "e2e-logreg", "model-layer")},
            headline=("category_accuracy", "image_top1", "neural_predictivity"),
            options={"model_seed": _SEEDS["model_seed"], "data": (("slice25", "public"), "MajajHong2015 variant"),
                     "region": (("IT", "V4"), "recorded region"),
                     "source": (("trials", "averaged"), "source points: trials, or repetition-averaged images (default: trials on slice25, averaged on public data)"),
                     "model": ("text", "random-cnn or SOURCE:NAME, e.g. torchvision:alexnet"),
                     "layer": ("text", "the model layer"),
                     "protocol": (("inductive", "transductive"), "inductive (default): test stimuli held out of both "
                                  "pools; transductive: the unlabelled pool stimuli are the test stimuli"),
                     "test_fraction": ("fraction", "share of the stimuli held out of both pools (inductive; default 0.2)")},
        ),
    )
}





def options_help() -> str:
    """Every experiment's ``--option KEY=VALUE`` names, kinds and meanings, for ``neurobridge run --help``."""
    kinds = {"count": "non-negative integer", "fraction": "number in (0, 1)", "path": "file path", "text": "text"}
    lines = ["experiment options (--option KEY=VALUE, repeatable):"]
    for name in sorted(EXPERIMENTS):
        lines.append(f"  {name}:")
        for key, (kind, text) in EXPERIMENTS[name].options.items():
            allowed = "|".join(kind) if isinstance(kind, tuple) else kinds.get(kind, str(kind))
            lines.append(f"    {key}={allowed}: {text}")
    lines.append("  every experiment: " + "; ".join(f"{key}: {text}" for key, (_, text) in COMMON_OPTIONS.items())
                 + " (give jobs as --jobs N)")
    return "\n".join(lines)


def check_options(name: str, options: dict) -> dict:
    """``options`` checked against the experiment's option table: a known name, and a value of the right kind
    (a ``count`` is a non-negative integer, never a boolean; a tuple lists the allowed strings)."""
    spec = EXPERIMENTS[name]
    table = {**COMMON_OPTIONS, **spec.options}
    if not isinstance(options, dict):
        raise ValueError(f"options must be a mapping of option names to values; got {options!r}")
    for key, value in options.items():
        if key not in table:
            raise ValueError(f"unknown option {key!r} for {name}; valid options: {', '.join(sorted(table))}")
        kind = table[key][0]
        if kind == "count":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"option {key} must be a non-negative integer; got {value!r}")
        elif kind == "fraction":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise ValueError(f"option {key} must be a number in (0, 1); got {value!r}")
        elif isinstance(kind, tuple):
            if value not in kind:
                raise ValueError(f"option {key} must be one of {', '.join(kind)}; got {value!r}")
        elif not isinstance(value, str) or not value:
            raise ValueError(f"option {key} must be a non-empty string; got {value!r}")
    return options
