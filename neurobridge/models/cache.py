"""Train a reference model once and reuse it: a disk cache keyed by data, config and seed.

The key is ``sha1(JSON{kind, data fingerprint, resolved config, seed, format})``, so any change to the training
images, labels, hyper-parameters (including a changed default) or seed trains a new model. Files live in
``$NEUROBRIDGE_HOME/models/`` (default ``~/.cache/neurobridge/models/``) and are written atomically (temporary file
in the same folder, then ``os.replace``), so concurrent runs never read a half-written model.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import torch
import xarray as xr

from neurobridge._device import resolve_device
from neurobridge._io import CorruptFileError, atomic_write, check_trusted, read_torch
from neurobridge._validation import check_seed
from neurobridge.models._data import as_images, as_labels, fingerprint, label_coord, merge_config
from neurobridge.models.classifier import ImageClassifier, resolve_classifier_config, train_classifier
from neurobridge.models.vae import (
    LABEL_VAE_DEFAULTS,
    ImageVAE,
    LabelVAE,
    resolve_image_vae_config,
    train_image_vae,
    train_label_vae,
)

__all__ = ["get_or_train", "model_cache_dir", "cache_key", "KINDS"]

CACHE_FORMAT = 1
KINDS = {"image_vae": ImageVAE, "label_vae": LabelVAE, "classifier": ImageClassifier}


def model_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir`` if given, else ``$NEUROBRIDGE_HOME/models`` (``NEUROBRIDGE_HOME`` defaults to ``~/.cache/neurobridge``)."""
    if cache_dir is not None:
        return Path(cache_dir)
    home = os.environ.get("NEUROBRIDGE_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "neurobridge")
    return Path(home) / "models"


def _training_data(kind: str, data, label: str):
    """Normalise ``data`` for ``kind`` into the arrays the trainer takes, and their fingerprint."""
    if kind == "image_vae":
        images = as_images(data, name="data")
        return (images,), fingerprint(images)
    if kind == "label_vae":
        labels = label_coord(data, label, "data") if isinstance(data, xr.DataArray) else as_labels(data, name="data")
        return (labels,), fingerprint(labels)
    if isinstance(data, xr.DataArray):
        images, labels = as_images(data, name="data"), label_coord(data, label, "data")
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images = as_images(data[0], name="data[0] (images)")
        labels = as_labels(data[1], n=len(images), name="data[1] (labels)")
    else:
        raise ValueError("data for kind='classifier' must be (images, labels) or a pixel assembly with a label coord")
    return (images, labels), fingerprint(images, labels)


def _resolved_config(kind: str, arrays, config: dict | None) -> dict:
    if kind == "image_vae":
        return resolve_image_vae_config(arrays[0], config)
    if kind == "label_vae":
        return merge_config(LABEL_VAE_DEFAULTS, config, "label_vae")
    return resolve_classifier_config(arrays[0], config)


def cache_key(kind: str, data_fingerprint: str, config: dict, seed: int) -> str:
    """sha1 hex digest of the canonical JSON of ``{kind, data, config, seed, format}``."""
    payload = {"kind": kind, "data": data_fingerprint, "config": config, "seed": int(seed), "format": CACHE_FORMAT}
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _train(kind, arrays, config, seed, device, progress):
    if kind == "image_vae":
        return train_image_vae(arrays[0], config, seed=seed, device=device, progress=progress)
    if kind == "label_vae":
        return train_label_vae(arrays[0], config, seed=seed, device=device, progress=progress)
    return train_classifier(arrays[0], arrays[1], config, seed=seed, device=device, progress=progress)


def _save(model, path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    info = {k: v for k, v in model.training_info.items() if k not in ("cache_path", "from_cache")}
    record = {"format": CACHE_FORMAT, "kind": model.kind, "key": key, "config": model.config, "state_dict": state,
              "training_info": json.loads(json.dumps(info, default=float))}
    atomic_write(path, lambda tmp: torch.save(record, tmp))


def _load(path: Path, kind: str, key: str, device: torch.device):
    record = read_torch(path, what=f"cached {kind} model", map_location="cpu")
    if not isinstance(record, dict) or record.get("format") != CACHE_FORMAT or record.get("kind") != kind or record.get("key") != key:
        raise CorruptFileError(f"{path} does not hold the expected {kind} model (format {CACHE_FORMAT}, key {key[:12]}...)")
    try:
        model = KINDS[kind](**record["config"])
        model.load_state_dict(record["state_dict"])
        model.training_info = dict(record["training_info"])
    except (KeyError, TypeError, RuntimeError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else ""
        raise CorruptFileError(f"{path} holds an incomplete or mismatched {kind} model ({type(error).__name__}: {first[:200]})") from None
    return model.to(device).eval()


def get_or_train(
    kind: str,
    data,
    config: dict | None = None,
    seed: int = 0,
    *,
    cache_dir: str | os.PathLike | None = None,
    device="auto",
    progress: bool = False,
    label: str = "label",
    refresh: bool = False,
):
    """Return the reference model of ``kind`` trained on ``data`` with ``config`` and ``seed``, from the cache if present.

    kind: ``"image_vae"`` (data: images ``(n, H, W)`` / ``(n, H*W)`` or a pixel assembly), ``"label_vae"`` (data:
    labels, or an assembly with a ``label`` coord) or ``"classifier"`` (data: ``(images, labels)`` or a labelled
    pixel assembly). ``config`` overrides the defaults (``IMAGE_VAE_DEFAULTS``, ``LABEL_VAE_DEFAULTS``,
    ``CLASSIFIER_DEFAULTS``; e.g. ``{"n_train": 10000, "epochs": 3}`` for a quick MNIST run). ``refresh`` retrains
    and overwrites. The model's ``training_info`` has ``cache_path`` and ``from_cache``.

    A cached file that another user could have written (owned by someone else, or writable by others, or in such a
    folder) is refused with :class:`~neurobridge._io.UntrustedFileError`: its weights decide every later result.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}; got {kind!r}")
    seed = check_seed(seed)
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"config must be a dict of hyper-parameters or None; got {type(config).__name__}")
    arrays, data_fp = _training_data(kind, data, label)
    resolved = _resolved_config(kind, arrays, config)
    key = cache_key(kind, data_fp, resolved, seed)
    path = model_cache_dir(cache_dir) / f"{kind}-{key}.pt"
    dev = resolve_device(device)
    if path.is_file() and not refresh:
        check_trusted(path, model_cache_dir(cache_dir), what=f"cached {kind} model")
        try:
            model = _load(path, kind, key, dev)
            model.training_info.update(cache_path=str(path), from_cache=True)
            return model
        except CorruptFileError as error:
            warnings.warn(f"{error}; retraining and overwriting it", RuntimeWarning, stacklevel=2)
    model = _train(kind, arrays, config, seed, dev, progress)
    _save(model, path, key)
    model.training_info.update(cache_path=str(path), from_cache=False)
    return model
