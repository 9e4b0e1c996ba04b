"""Record activations of named layers of any torch ``nn.Module`` as an assembly.

Forward hooks capture each requested layer's output; stimuli run in batches on the chosen device with a progress
bar. The result is one ``presentation x neuroid`` assembly whose neuroid coords ``layer`` and ``unit`` say where each
column came from (``neuroid_id`` = ``"<layer>.<unit>"``), and whose presentation coords are the stimuli's.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from neurobridge._device import resolve_device
from neurobridge.assemblies import NEUROID, PRESENTATION, presentation_coords, unflatten_pixels, validate
from neurobridge.datasets.images import read_images

__all__ = ["record_activations", "stimuli_to_tensor", "load_pretrained"]


def stimuli_to_tensor(stimuli, *, size: int | None = None, mode: str = "RGB") -> tuple[torch.Tensor, dict]:
    """Images as an ``(n, C, H, W)`` float tensor, plus presentation coords.

    ``stimuli`` is a pixel assembly (from :func:`neurobridge.assemblies.flatten_pixels`), a list of image paths, or an
    array ``(n, H, W)`` / ``(n, H, W, C)``.
    """
    coords: dict = {}
    if isinstance(stimuli, xr.DataArray):
        stimuli = validate(stimuli, name="stimuli")
        coords = {k: stimuli.coords[k].values for k in presentation_coords(stimuli)}
        images = unflatten_pixels(stimuli)
    elif isinstance(stimuli, (list, tuple)) and stimuli and isinstance(stimuli[0], (str, os.PathLike)):
        images = read_images(stimuli, size=size, mode=mode)
        coords = {"stimulus_id": np.array([os.path.splitext(os.path.basename(str(p)))[0] for p in stimuli])}
    else:
        images = np.asarray(stimuli, dtype=np.float32)
        coords = {"stimulus_id": np.array([f"stim_{i}" for i in range(len(images))])}
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"stimuli: expected images of shape (n, H, W) or (n, H, W, C); got {images.shape}")
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32)), coords


def record_activations(
    model: torch.nn.Module,
    stimuli,
    layers: Sequence[str],
    *,
    batch_size: int = 64,
    device: str | torch.device = "auto",
    preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
    size: int | None = None,
    progress: bool = True,
) -> xr.DataArray:
    """Run ``model`` on ``stimuli`` and return the flattened outputs of ``layers`` as one assembly.

    ``layers`` are names from ``model.named_modules()``. ``preprocess`` maps a batch ``(B, C, H, W)`` in [0, 1] to
    the model's input (e.g. resize and ImageNet normalisation). The model runs in eval mode under ``no_grad``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if isinstance(layers, str):
        layers = [layers]
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(f"layers {unknown} are not in the model; some available: {[n for n in modules if n][:20]}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    dev = resolve_device(device)
    images, coords = stimuli_to_tensor(stimuli, size=size)
    captured: dict[str, torch.Tensor] = {}
    handles = [modules[name].register_forward_hook(_capture(captured, name)) for name in layers]
    outputs: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    was_training = model.training
    model.eval().to(dev)
    try:
        with torch.no_grad():
            for start in tqdm(range(0, len(images), batch_size), desc="activations", disable=not progress, leave=False):
                batch = images[start : start + batch_size].to(dev)
                if preprocess is not None:
                    batch = preprocess(batch)
                model(batch)
                for name in layers:
                    outputs[name].append(captured.pop(name).flatten(1).float().cpu().numpy())
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    blocks = [np.concatenate(outputs[name]) for name in layers]
    layer_coord = np.concatenate([np.full(b.shape[1], name, dtype=object) for name, b in zip(layers, blocks)]).astype(str)
    unit_coord = np.concatenate([np.arange(b.shape[1]) for b in blocks])
    out = xr.DataArray(
        np.concatenate(blocks, axis=1),
        dims=(PRESENTATION, NEUROID),
        coords={
            **{k: (PRESENTATION, v) for k, v in coords.items()},
            "neuroid_id": (NEUROID, np.array([f"{name}.{u}" for name, u in zip(layer_coord, unit_coord)])),
            "layer": (NEUROID, layer_coord),
            "unit": (NEUROID, unit_coord),
        },
        name="activations",
        attrs={"model": type(model).__name__, "layers": json.dumps(list(layers))},
    )
    return validate(out, name="activations")


def _capture(store: dict, name: str):
    def hook(_module, _inputs, output):
        if isinstance(output, (tuple, list)):
            output = output[0]
        store[name] = output.detach()

    return hook


def load_pretrained(name: str, *, source: str = "torchvision", pretrained: bool = True) -> tuple[torch.nn.Module, Callable]:
    """A pretrained vision network and its preprocessing, for users with network access.

    ``source="torchvision"``: ``name`` is a torchvision model (e.g. "alexnet", "resnet50") with its default weights.
    ``source="timm"``: any ``timm.create_model`` name. Weights download on first use into those libraries' caches.
    Returns ``(model, preprocess)``, where ``preprocess`` maps a ``(B, C, H, W)`` batch in [0, 1] to the model input.
    """
    if source == "torchvision":
        try:
            import torchvision
        except Exception as err:
            raise ImportError("load_pretrained(source='torchvision') needs torchvision that imports beside your torch build") from err
        weights = torchvision.models.get_model_weights(name).DEFAULT if pretrained else None
        model = torchvision.models.get_model(name, weights=weights)
        mean, std, crop = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 224
    elif source == "timm":
        try:
            import timm
        except ImportError as err:
            raise ImportError("load_pretrained(source='timm') needs timm: pip install 'neurobridge[pretrained]'") from err
        model = timm.create_model(name, pretrained=pretrained)
        config = model.pretrained_cfg
        mean, std, crop = config.get("mean", (0.485, 0.456, 0.406)), config.get("std", (0.229, 0.224, 0.225)), config.get("input_size", (3, 224, 224))[-1]
    else:
        raise ValueError(f"source must be 'torchvision' or 'timm'; got {source!r}")
    mean_t = torch.tensor(mean).view(1, 3, 1, 1)
    std_t = torch.tensor(std).view(1, 3, 1, 1)

    def preprocess(batch: torch.Tensor) -> torch.Tensor:
        if batch.shape[1] == 1:
            batch = batch.expand(-1, 3, -1, -1)
        batch = torch.nn.functional.interpolate(batch, size=(crop, crop), mode="bilinear", align_corners=False, antialias=True)
        return (batch - mean_t.to(batch.device)) / std_t.to(batch.device)

    return model.eval(), preprocess
