"""Device choice, in one place.

``resolve_device("auto")`` picks CUDA, then Apple MPS, then the CPU. Nothing here runs at import time, so importing
neurobridge never initialises CUDA.
"""
from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Return a :class:`torch.device` for ``device`` ("auto", "cpu", "cuda", "cuda:1", "mps" or a device)."""
    if isinstance(device, torch.device):
        return device
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if not isinstance(device, str):
        raise TypeError(f"device must be 'auto', a device string such as 'cpu' or 'cuda:0', or a torch.device; got {device!r}")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available on this machine; use device='auto' or 'cpu'")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device={device!r} was requested but Apple MPS is not available; use device='auto' or 'cpu'")
    return dev
