"""What every reference model shares: a JSON-able config that rebuilds it, batched numpy in / numpy out."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from neurobridge.models._data import as_labels


class ReferenceModel(nn.Module):
    """Base class: ``config`` holds the constructor arguments, so ``type(m)(**m.config)`` rebuilds the architecture.

    ``training_info`` records how the weights were obtained (seed, seconds, final loss, cache path).
    """

    kind: str = ""

    def __init__(self, **config):
        super().__init__()
        self.config = config
        self.training_info: dict = {}

    def codes(self, labels, name: str = "labels") -> np.ndarray:
        """Class index (position in ``classes_``) of each label; unknown labels are an error that lists the known classes."""
        labels = as_labels(labels, name=name)
        codes = pd.Index(self.classes_).get_indexer(labels)
        if (codes < 0).any():
            raise ValueError(f"{name} contain {pd.unique(labels[codes < 0])[:5].tolist()} not among the classes {self.classes_.tolist()}")
        return codes

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _batched(self, fn: Callable[[torch.Tensor], torch.Tensor], array: np.ndarray, batch_size: int = 2048, dtype=torch.float32) -> np.ndarray:
        """Apply ``fn`` to ``array`` in batches on the model's device without gradients; return a numpy array."""
        was_training = self.training
        self.eval()
        outputs = []
        with torch.no_grad():
            for start in range(0, len(array), batch_size):
                batch = torch.as_tensor(array[start:start + batch_size], dtype=dtype, device=self.device)
                outputs.append(fn(batch).cpu().numpy())
        self.train(was_training)
        return np.concatenate(outputs, axis=0)
