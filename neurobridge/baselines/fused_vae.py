"""A fused two-branch VAE with one shared latent, trained end-to-end on paired (image, label) data: the end-to-end
baseline for both generation (label -> shared latent -> image) and recognition (image -> shared latent -> label).

It is the multimodal VAE of Wu & Goodman 2018 ("Multimodal generative models for scalable weakly-supervised
learning", MVAE). Each modality m has an encoder giving a Gaussian expert ``q_m(z | x_m) = N(mu_m, sigma_m^2)``;
the joint posterior is their product with the prior expert ``N(0, I)``:

    sigma^-2 = 1 + sum_m sigma_m^-2,     mu = sigma^2 * sum_m mu_m sigma_m^-2,

so any subset of modalities gives a posterior. The loss on a labelled pair is the MVAE sub-sampled objective
``ELBO(x, y) + ELBO(y)`` plus ``ELBO(x)`` on every image (labelled or not, unless ``use_unlabelled=False``), where
each ELBO reconstructs the modalities it conditions on: images with a Bernoulli likelihood, labels with a
categorical one weighted by ``label_weight`` (the paper's lambda; default ``H*W/16``, i.e. 49 for MNIST, close to
the paper's 50). Each expert's log-variance is softly bounded above, ``logvar = 2 - softplus(2 - raw)``, so the image
expert cannot switch itself off early in training (without the bound it did, and recognition stayed at chance for
many epochs); the KL weight also warms up linearly over the first ``warmup`` fraction of steps (as in the MVAE
code). Generation decodes the posterior mean given the label alone; recognition decodes the label from
the posterior mean given the image alone.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from neurobridge._device import resolve_device
from neurobridge._training import adam, batch_indices, seeded
from neurobridge._validation import check_images, check_labels, pixel_max
from neurobridge.baselines._inputs import full_labels, labelled_indices
from neurobridge.evaluate.readout import ReadoutResult
from neurobridge.models.vae import image_decoder, image_encoder, kl_divergence

__all__ = ["FusedVAE", "product_of_experts"]


def product_of_experts(mus, logvars):
    """Gaussian product of the experts ``(mu_m, logvar_m)`` and the standard-normal prior; returns ``(mu, logvar)``."""
    precision = torch.ones_like(mus[0])
    weighted = torch.zeros_like(mus[0])
    for mu, logvar in zip(mus, logvars):
        p = torch.exp(-logvar)
        precision = precision + p
        weighted = weighted + mu * p
    return weighted / precision, -torch.log(precision)


MAX_LOGVAR = 2.0


class _FusedNet(nn.Module):
    def __init__(self, image_shape, n_classes, latent_dim, arch, hidden, channels):
        super().__init__()
        self.image_encoder = image_encoder(image_shape, 2 * latent_dim, arch=arch, hidden=hidden, channels=channels)
        self.image_decoder = image_decoder(image_shape, latent_dim, arch=arch, hidden=hidden, channels=channels)
        self.label_encoder = nn.Sequential(nn.Linear(n_classes, 64), nn.ReLU(), nn.Linear(64, 2 * latent_dim))
        self.label_decoder = nn.Sequential(nn.Linear(latent_dim, 64), nn.ReLU(), nn.Linear(64, n_classes))
        self.n_classes = n_classes

    def posterior(self, images=None, codes=None):
        outputs = []
        if images is not None:
            outputs.append(self.image_encoder(images))
        if codes is not None:
            outputs.append(self.label_encoder(F.one_hot(codes, self.n_classes).float()))
        mus = [out.chunk(2, dim=1)[0] for out in outputs]
        logvars = [MAX_LOGVAR - F.softplus(MAX_LOGVAR - out.chunk(2, dim=1)[1]) for out in outputs]
        return product_of_experts(mus, logvars)

    def elbo_loss(self, images, codes, beta, label_weight):
        mu, logvar = self.posterior(images, codes)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        loss = beta * kl_divergence(mu, logvar)
        if images is not None:
            loss = loss + F.binary_cross_entropy_with_logits(self.image_decoder(z), images, reduction="none").flatten(1).sum(1)
        if codes is not None:
            loss = loss + label_weight * F.cross_entropy(self.label_decoder(z), codes, reduction="none")
        return loss.mean()


_DEFAULTS = {
    "small": {"arch": "mlp", "latent_dim": 8, "channels": 32, "epochs": 50, "batch_size": 128, "lr": 2e-3},
    "large": {"arch": "conv", "latent_dim": 16, "channels": 16, "epochs": 10, "batch_size": 128, "lr": 2e-3},
}


class FusedVAE:
    """Two-branch (image, label) VAE with a product-of-experts shared latent (MVAE), trained on the labelled pairs.

    Hyper-parameters left ``None`` take defaults for the image size (8x8: MLP, 8-d latent, 50 epochs; 28x28: conv,
    16-d latent, 10 epochs); an epoch is one pass over the images used for the image ELBO.
    """

    def __init__(self, *, latent_dim: int | None = None, arch: str | None = None, hidden: int = 256, channels: int | None = None,
                 epochs: int | None = None, batch_size: int | None = None, lr: float | None = None, beta: float = 1.0,
                 label_weight: float | None = None, warmup: float = 0.2, use_unlabelled: bool = True, seed: int = 0, device="auto",
                 progress: bool = False, label: str = "label"):
        self.latent_dim = latent_dim
        self.arch = arch
        self.hidden = hidden
        self.channels = channels
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.label_weight = label_weight
        self.warmup = warmup
        self.use_unlabelled = use_unlabelled
        self.seed = seed
        self.device = device
        self.progress = progress
        self.label = label

    def _settings(self, image_shape) -> dict:
        size = "small" if image_shape[0] * image_shape[1] <= 256 else "large"
        settings = dict(_DEFAULTS[size])
        for key in settings:
            if getattr(self, key) is not None:
                settings[key] = getattr(self, key)
        settings["label_weight"] = self.label_weight if self.label_weight is not None else max(1.0, image_shape[0] * image_shape[1] / 16)
        return settings

    def fit(self, images, labels=None, labelled=None) -> FusedVAE:
        """Train on ``images`` whose rows ``labelled`` (indices or mask) have known ``labels`` (one per image; others ignored)."""
        array = check_images(images, "images")
        labels = full_labels(images, labels, len(array), self.label)
        self.labelled_ = labelled_indices(labelled, len(array))
        known = labels[self.labelled_]
        classes = pd.unique(known)
        try:
            classes = np.sort(classes)
        except TypeError:
            pass
        if len(classes) < 2:
            raise ValueError(f"the labelled rows hold a single class {list(classes)}; the fused VAE needs at least two")
        self.classes_ = np.asarray(classes)
        self.image_shape_ = tuple(array.shape[1:])
        self.pixel_max_ = pixel_max(array)
        self.settings_ = s = self._settings(self.image_shape_)
        dev = resolve_device(self.device)
        start = time.perf_counter()
        with seeded(self.seed, dev):
            net = _FusedNet(self.image_shape_, len(classes), s["latent_dim"], s["arch"], self.hidden, s["channels"]).to(dev)
            x_all = torch.as_tensor(array / self.pixel_max_, dtype=torch.float32, device=dev)
            rows = torch.as_tensor(self.labelled_, device=dev)
            codes = torch.as_tensor(pd.Index(classes).get_indexer(known), device=dev)
            image_rows = torch.arange(len(array), device=dev) if self.use_unlabelled else rows
            history = self._train(net, x_all, rows, codes, image_rows, s)
        self.net_ = net.eval()
        self.training_info_ = {"seconds": time.perf_counter() - start, "loss": history[-1], "n_labelled": len(self.labelled_), "n_images": len(image_rows)}
        return self

    def _train(self, net, x_all, rows, codes, image_rows, s):
        generator = torch.Generator().manual_seed(int(self.seed))
        optimiser = adam(net.parameters(), lr=s["lr"])
        epochs = range(s["epochs"])
        if self.progress:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc="fused VAE", unit="epoch")
        history = []
        net.train()
        n_steps = s["epochs"] * math.ceil(len(image_rows) / s["batch_size"])
        step = 0
        for _ in epochs:
            total, steps = 0.0, 0
            for batch in batch_indices(len(image_rows), s["batch_size"], generator):
                beta = self.beta * min(1.0, step / max(1.0, self.warmup * n_steps))
                step += 1
                pair = torch.randint(len(rows), (min(s["batch_size"], len(rows)),), generator=generator).to(rows.device)
                xb, xp, cp = x_all[image_rows[batch.to(rows.device)]], x_all[rows[pair]], codes[pair]
                loss = (net.elbo_loss(xb, None, beta, s["label_weight"])
                        + net.elbo_loss(xp, cp, beta, s["label_weight"])
                        + net.elbo_loss(None, cp, beta, s["label_weight"]))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total, steps = total + float(loss.detach()), steps + 1
            history.append(total / steps)
            if not math.isfinite(history[-1]):
                raise FloatingPointError(f"fused VAE: the loss became {history[-1]}; lower lr")
            if self.progress:
                epochs.set_postfix(loss=f"{history[-1]:.4g}")
        return history

    def _check_fitted(self):
        if not hasattr(self, "net_"):
            raise RuntimeError("FusedVAE is not fitted; call fit(images, labels, labelled) first")

    def _run(self, fn, array, dtype=torch.float32):
        self._check_fitted()
        dev = next(self.net_.parameters()).device
        out = []
        with torch.no_grad():
            for start in range(0, len(array), 2048):
                out.append(fn(torch.as_tensor(array[start:start + 2048], dtype=dtype, device=dev)).cpu().numpy())
        return np.concatenate(out)

    def _codes(self, labels):
        labels = check_labels(labels)
        codes = pd.Index(self.classes_).get_indexer(labels)
        if (codes < 0).any():
            raise ValueError(f"labels contain {pd.unique(labels[codes < 0])[:5].tolist()} not seen among the labelled rows {self.classes_.tolist()}")
        return codes

    def encode_images(self, images) -> np.ndarray:
        """Shared-latent posterior means given the images alone, ``(n, latent_dim)``."""
        self._check_fitted()
        array = check_images(images, image_shape=self.image_shape_) / self.pixel_max_
        return self._run(lambda x: self.net_.posterior(images=x)[0], array)

    def encode_labels(self, labels) -> np.ndarray:
        """Shared-latent posterior means given the labels alone, ``(n, latent_dim)``."""
        self._check_fitted()
        return self._run(lambda c: self.net_.posterior(codes=c)[0], self._codes(labels), dtype=torch.long)

    def decode_images(self, z) -> np.ndarray:
        """Mean images ``(n, H, W)`` in the units of the training images."""
        return self._run(lambda t: torch.sigmoid(self.net_.image_decoder(t)) * self.pixel_max_, np.asarray(z, dtype=np.float32))

    def generate(self, labels) -> np.ndarray:
        """Images meant to show ``labels``: label -> shared latent (posterior mean) -> image decoder."""
        return self.decode_images(self.encode_labels(labels))

    def predict(self, images) -> np.ndarray:
        """Labels read from images: image -> shared latent (posterior mean) -> label decoder."""
        z = self.encode_images(images)
        return self.classes_[np.argmax(self._run(self.net_.label_decoder, z), axis=1)]

    def score(self, images, labels=None) -> ReadoutResult:
        """Recognition :class:`ReadoutResult` on ``images`` against ``labels`` (or the pixel assembly's label coord)."""
        n = len(check_images(images, image_shape=getattr(self, "image_shape_", None)))
        labels = full_labels(images, labels, n, self.label)
        classes = list(self.classes_) + [c for c in pd.unique(labels) if c not in set(self.classes_.tolist())]
        return ReadoutResult.from_predictions(labels, self.predict(images), classes=np.asarray(classes))
