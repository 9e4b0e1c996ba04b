"""Variational autoencoders for the reference spaces: an image VAE (MLP for 8x8 digits, conv for 28x28 MNIST) and a
label VAE (one-hot labels to a small latent).

Both maximise the evidence lower bound (Kingma & Welling 2014, "Auto-encoding variational Bayes"):

    ELBO(x) = E_{q(z|x)} [log p(x|z)] - beta * KL(q(z|x) || N(0, I)),   q(z|x) = N(mu(x), diag sigma^2(x)),

with the reparameterisation ``z = mu + sigma * eps``. Images use a Bernoulli likelihood on intensities scaled to
[0, 1] (binary cross-entropy summed over pixels); labels a categorical one (cross-entropy). ``KL = 1/2 sum(mu^2 +
sigma^2 - log sigma^2 - 1)``. ``encode`` returns the posterior mean ``mu(x)``, the point the alignment works with.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from torch import nn

from neurobridge._device import resolve_device
from neurobridge._training import fit_minibatch, seeded
from neurobridge._validation import check_points, pixel_max
from neurobridge.models._base import ReferenceModel
from neurobridge.models._data import as_images, as_labels, class_set, first_rows, latent_assembly, merge_config

__all__ = [
    "ImageVAE",
    "LabelVAE",
    "image_encoder",
    "image_decoder",
    "kl_divergence",
    "train_image_vae",
    "train_label_vae",
    "IMAGE_VAE_DEFAULTS",
    "LABEL_VAE_DEFAULTS",
]


def image_encoder(image_shape, out_dim: int, *, arch: str, hidden: int, channels: int) -> nn.Module:
    """Images ``(n, H, W)`` in [0, 1] to ``(n, out_dim)``: an MLP, or two stride-2 4x4 convolutions then an MLP."""
    h, w = image_shape
    if arch == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(h * w, hidden), nn.ReLU(), nn.Linear(hidden, hidden // 2), nn.ReLU(), nn.Linear(hidden // 2, out_dim))
    if arch == "conv":
        if h % 4 or w % 4:
            raise ValueError(f"arch='conv' needs image sides divisible by 4; got {image_shape}. Use arch='mlp'.")
        return nn.Sequential(
            nn.Unflatten(1, (1, h)),
            nn.Conv2d(1, channels, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * channels * (h // 4) * (w // 4), hidden), nn.ReLU(), nn.Linear(hidden, out_dim),
        )
    raise ValueError(f"arch must be 'mlp' or 'conv'; got {arch!r}")


def image_decoder(image_shape, in_dim: int, *, arch: str, hidden: int, channels: int) -> nn.Module:
    """``(n, in_dim)`` to pixel logits ``(n, H, W)``; mirrors :func:`image_encoder`."""
    h, w = image_shape
    if arch == "mlp":
        return nn.Sequential(nn.Linear(in_dim, hidden // 2), nn.ReLU(), nn.Linear(hidden // 2, hidden), nn.ReLU(), nn.Linear(hidden, h * w), nn.Unflatten(1, (h, w)))
    if arch == "conv":
        if h % 4 or w % 4:
            raise ValueError(f"arch='conv' needs image sides divisible by 4; got {image_shape}. Use arch='mlp'.")
        return nn.Sequential(
            nn.Linear(in_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, 2 * channels * (h // 4) * (w // 4)), nn.ReLU(),
            nn.Unflatten(1, (2 * channels, h // 4, w // 4)),
            nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(channels, 1, 4, 2, 1), nn.Flatten(1, 2),
        )
    raise ValueError(f"arch must be 'mlp' or 'conv'; got {arch!r}")


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag exp(logvar)) || N(0, I))`` per row."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)


def _reparameterise(mu, logvar):
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()


class ImageVAE(ReferenceModel):
    """Image VAE; ``encode(images) -> mu``, ``decode(z) -> images`` in the units of the training images."""

    kind = "image_vae"

    def __init__(self, *, image_shape=(8, 8), latent_dim: int = 8, arch: str = "mlp", hidden: int = 256, channels: int = 32,
                 pixel_max: float = 1.0, beta: float = 1.0):
        image_shape = tuple(int(s) for s in image_shape)
        super().__init__(image_shape=list(image_shape), latent_dim=int(latent_dim), arch=arch, hidden=int(hidden),
                         channels=int(channels), pixel_max=float(pixel_max), beta=float(beta))
        self.image_shape = image_shape
        self.latent_dim = int(latent_dim)
        self.pixel_max = float(pixel_max)
        self.beta = float(beta)
        self.encoder = image_encoder(image_shape, 2 * latent_dim, arch=arch, hidden=hidden, channels=channels)
        self.decoder = image_decoder(image_shape, latent_dim, arch=arch, hidden=hidden, channels=channels)

    def posterior(self, x01: torch.Tensor):
        """``(mu, logvar)`` of ``q(z | x)`` for images scaled to [0, 1]."""
        return self.encoder(x01).chunk(2, dim=1)

    def loss(self, x01: torch.Tensor) -> torch.Tensor:
        """Negative ELBO per image, averaged over the batch."""
        mu, logvar = self.posterior(x01)
        logits = self.decoder(_reparameterise(mu, logvar))
        nll = F.binary_cross_entropy_with_logits(logits, x01, reduction="none").flatten(1).sum(dim=1)
        return (nll + self.beta * kl_divergence(mu, logvar)).mean()

    def encode(self, images):
        """Posterior means ``(n, latent_dim)``; an assembly in gives a latent assembly with the same presentation coords."""
        if isinstance(images, torch.Tensor):
            return self.posterior(images / self.pixel_max)[0]
        array = as_images(images, image_shape=self.image_shape) / self.pixel_max
        mu = self._batched(lambda x: self.posterior(x)[0], array)
        return latent_assembly(mu, images, "latent") if isinstance(images, xr.DataArray) else mu

    def decode(self, z):
        """Mean images ``pixel_max * sigmoid(decoder(z))``, shape ``(n, H, W)`` (a pixel assembly for an assembly in)."""
        if isinstance(z, torch.Tensor):
            return torch.sigmoid(self.decoder(z)) * self.pixel_max
        values = _latents(z, self.latent_dim)
        images = self._batched(lambda t: torch.sigmoid(self.decoder(t)) * self.pixel_max, values)
        return _pixel_assembly(images, z) if isinstance(z, xr.DataArray) else images

    def reconstruct(self, images) -> np.ndarray:
        """``decode(encode(images))``."""
        return self.decode(self.encode(as_images(images, image_shape=self.image_shape)))


class LabelVAE(ReferenceModel):
    """VAE on one-hot labels; ``encode(labels) -> mu``, ``decode(z) -> class logits``, ``predict(z) -> labels``."""

    kind = "label_vae"

    def __init__(self, *, classes, latent_dim: int = 4, hidden: int = 64, beta: float = 1.0):
        classes = list(np.asarray(classes).tolist())
        super().__init__(classes=classes, latent_dim=int(latent_dim), hidden=int(hidden), beta=float(beta))
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"classes must list at least two distinct labels; got {classes}")
        self.classes_ = np.asarray(classes)
        self.latent_dim = int(latent_dim)
        self.beta = float(beta)
        c = len(classes)
        self.encoder = nn.Sequential(nn.Linear(c, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, c))

    def posterior(self, onehot: torch.Tensor):
        return self.encoder(onehot).chunk(2, dim=1)

    def loss(self, codes: torch.Tensor) -> torch.Tensor:
        """Negative ELBO per label, averaged over the batch."""
        mu, logvar = self.posterior(F.one_hot(codes, len(self.classes_)).float())
        logits = self.decoder(_reparameterise(mu, logvar))
        return (F.cross_entropy(logits, codes, reduction="none") + self.beta * kl_divergence(mu, logvar)).mean()

    def encode(self, labels, *, label: str = "label"):
        """Posterior means ``(n, latent_dim)`` of the labels (or of an assembly's ``label`` coord, giving an assembly)."""
        if isinstance(labels, xr.DataArray):
            if label not in labels.coords:
                raise ValueError(f"labels: an assembly passed to LabelVAE.encode needs a presentation coord {label!r}")
            return latent_assembly(self.encode(labels.coords[label].values), labels, "latent")
        onehot = np.eye(len(self.classes_), dtype=np.float32)[self.codes(labels)]
        return self._batched(lambda t: self.posterior(t)[0], onehot)

    def decode(self, z):
        """Class logits ``(n, n_classes)`` in the order of ``classes_``."""
        if isinstance(z, torch.Tensor):
            return self.decoder(z)
        return self._batched(self.decoder, _latents(z, self.latent_dim))

    def predict(self, z) -> np.ndarray:
        """Most probable label of each latent point."""
        return self.classes_[np.argmax(self.decode(z), axis=1)]


def _latents(z, latent_dim: int) -> np.ndarray:
    values = check_points(z, "z", dtype=np.float32)
    if values.shape[1] != latent_dim:
        raise ValueError(f"z must have shape (n, {latent_dim}); got {values.shape}")
    return values


def _pixel_assembly(images: np.ndarray, like: xr.DataArray) -> xr.DataArray:
    from neurobridge.assemblies import flatten_pixels, presentation_coords

    coords = {k: like.coords[k].values for k in presentation_coords(like) if k != "stimulus_id"}
    return flatten_pixels(images, stimulus_id=like.coords["stimulus_id"].values, presentation=coords)


IMAGE_VAE_DEFAULTS = {
    "small": {"arch": "mlp", "latent_dim": 8, "hidden": 256, "channels": 32, "beta": 1.0, "epochs": 60, "batch_size": 128, "lr": 2e-3, "n_train": None},
    "large": {"arch": "conv", "latent_dim": 16, "hidden": 256, "channels": 16, "beta": 1.0, "epochs": 10, "batch_size": 128, "lr": 2e-3, "n_train": None},
}
LABEL_VAE_DEFAULTS = {"latent_dim": 4, "hidden": 64, "beta": 0.1, "steps": 600, "batch_size": 128, "lr": 3e-3}


def resolve_image_vae_config(images: np.ndarray, config: dict | None) -> dict:
    """Defaults for the image size ("small" up to 16x16 pixels, else "large") updated by ``config``."""
    size = "small" if images.shape[1] * images.shape[2] <= 256 else "large"
    return merge_config(IMAGE_VAE_DEFAULTS[size], config, "image_vae")


def train_image_vae(images, config: dict | None = None, *, seed: int = 0, device="auto", progress: bool = False) -> ImageVAE:
    """Train an :class:`ImageVAE` on ``images`` (its first ``n_train`` when set); see ``IMAGE_VAE_DEFAULTS``."""
    array = as_images(images)
    cfg = resolve_image_vae_config(array, config)
    array = first_rows(array, cfg["n_train"])
    dev = resolve_device(device)
    scale = pixel_max(array)
    start = time.perf_counter()
    with seeded(seed, dev):
        model = ImageVAE(image_shape=array.shape[1:], latent_dim=cfg["latent_dim"], arch=cfg["arch"], hidden=cfg["hidden"],
                         channels=cfg["channels"], pixel_max=scale, beta=cfg["beta"]).to(dev)
        x = torch.as_tensor(array / scale, dtype=torch.float32, device=dev)
        history = fit_minibatch(model, lambda m, xb: m.loss(xb), [x], epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                                lr=cfg["lr"], seed=seed, progress=progress, desc="image VAE")
    model.training_info = {"seed": int(seed), "seconds": time.perf_counter() - start, "loss": history[-1], "n_train": len(array), "train_config": cfg}
    return model


def train_label_vae(labels, config: dict | None = None, *, seed: int = 0, device="auto", progress: bool = False) -> LabelVAE:
    """Train a :class:`LabelVAE` on ``labels`` for about ``steps`` minibatch steps; see ``LABEL_VAE_DEFAULTS``."""
    labels = as_labels(labels)
    cfg = merge_config(LABEL_VAE_DEFAULTS, config, "label_vae")
    classes = class_set(labels)
    dev = resolve_device(device)
    epochs = max(1, int(np.ceil(cfg["steps"] * cfg["batch_size"] / len(labels))))
    start = time.perf_counter()
    with seeded(seed, dev):
        model = LabelVAE(classes=classes, latent_dim=cfg["latent_dim"], hidden=cfg["hidden"], beta=cfg["beta"]).to(dev)
        codes = torch.as_tensor(model.codes(labels), device=dev)
        history = fit_minibatch(model, lambda m, cb: m.loss(cb), [codes], epochs=epochs, batch_size=cfg["batch_size"],
                                lr=cfg["lr"], seed=seed, progress=progress, desc="label VAE")
    model.training_info = {"seed": int(seed), "seconds": time.perf_counter() - start, "loss": history[-1], "n_train": len(labels), "train_config": cfg}
    return model
