r"""A noisy neural population with a known ceiling, recorded on real images: the test bed for brain-model alignment.

``noisy_population(images, n_sites=120, ceiling=0.6, seed=0)`` simulates ``n_sites`` recording sites that respond to
the images through a fixed nonlinear encoding, with Poisson spike counts over ``repetitions`` presentations of each
image, and returns the trial-level assembly (``presentation x neuroid``, coords ``stimulus_id``, ``repetition``,
``label``). The model side of the benchmark is :func:`pca_model`, a PCA of the pixels.

Generative model. Pixels ``p_i`` (flattened, scaled to [0, 1]) are projected on ``d_latent`` seeded random directions
``G`` and passed through a rectifier, ``h_i = relu(G p_i - c)``, the site's drive is
``u_ij = w_j . h_i / ||w|| `` with seeded Gaussian weights ``w_j``, standardised over images, and its rate per
presentation is ``lambda_ij = r0 * exp(gain * u_ij)``. A trial's count is ``Poisson(lambda_ij)``. The split-half
reliability of a site grows with ``r0`` and ``repetitions``; :func:`noisy_population` finds the base rate ``r0`` by
bisection so that the median Spearman-Brown corrected split-half reliability (Brain-Score's internal consistency)
is ``ceiling`` (within 0.02). Because the encoding is nonlinear in the pixels and the model is linear (PCA), even an
all-pairs regression stays below the ceiling, as a CNN layer does on IT.
"""
from __future__ import annotations

import numpy as np

__all__ = ["noisy_population", "pca_model", "split_half_ceiling"]


def _encoding(pixels: np.ndarray, n_sites: int, d_latent: int, rng: np.random.Generator) -> np.ndarray:
    G = rng.standard_normal((pixels.shape[1], d_latent)) / np.sqrt(pixels.shape[1])
    proj = (pixels - pixels.mean(0)) @ G
    proj /= proj.std(0) + 1e-12
    h = np.maximum(proj - 0.5, 0.0)
    W = rng.standard_normal((d_latent, n_sites)) / np.sqrt(d_latent)
    drive = h @ W
    return (drive - drive.mean(0)) / (drive.std(0) + 1e-12)


def split_half_ceiling(counts: np.ndarray, seed: int = 0, splits: int = 10) -> float:
    """Median over sites of the Spearman-Brown corrected split-half reliability, mean over ``splits`` random halves
    of the repetitions (``counts``: repetitions x images x sites), as Brain-Score's internal consistency."""
    rng = np.random.default_rng(seed)
    R = counts.shape[0]
    values = []
    for _ in range(splits):
        order = rng.permutation(R)
        a, b = counts[order[: R // 2]].mean(0), counts[order[R // 2:]].mean(0)
        a, b = a - a.mean(0), b - b.mean(0)
        r = (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0)).clip(1e-12)
        values.append(np.median(2 * r / (1 + r)))
    return float(np.mean(values))


def noisy_population(images, *, n_sites: int = 120, ceiling: float = 0.6, repetitions: int = 10, gain: float = 0.6,
                     d_latent: int = 200, seed: int = 0):
    """Trial-level responses of ``n_sites`` simulated sites to ``images`` (an assembly with ``stimulus_id`` and a
    pixel axis, or an array ``n_images x n_pixels``), with median split-half ceiling ``ceiling``.

    Returns an assembly ``presentation x neuroid`` of spike counts, ``n_images * repetitions`` presentations with
    ``stimulus_id``, ``repetition`` (and the images' ``label`` where present), its ``attrs["ceiling"]`` the measured
    split-half ceiling and ``attrs["rate"]`` the base rate found.
    """
    from neurobridge._validation import check_integer, check_number, check_seed
    from neurobridge.assemblies import make_assembly

    check_integer(n_sites, "n_sites")
    check_integer(repetitions, "repetitions", low=2)
    check_number(ceiling, "ceiling", low=0.0)
    if not 0.05 <= ceiling <= 0.98:
        raise ValueError(f"ceiling must lie in [0.05, 0.98] (a split-half reliability); got {ceiling}")
    check_seed(seed)
    pixels, ids, labels = _pixels(images)
    rng = np.random.default_rng(seed)
    drive = _encoding(pixels, n_sites, d_latent, rng)
    shape = np.exp(gain * drive)
    noise_seed = int(rng.integers(2**31 - 1))

    def simulate(rate: float) -> np.ndarray:
        return np.random.default_rng(noise_seed).poisson(rate * shape[None], size=(repetitions, *shape.shape)).astype(np.float32)

    low, high = 1e-3, 1e3
    counts = simulate(1.0)
    for _ in range(40):
        mid = float(np.sqrt(low * high))
        counts = simulate(mid)
        measured = split_half_ceiling(counts, seed=seed)
        if abs(measured - ceiling) < 0.01:
            break
        low, high = (mid, high) if measured < ceiling else (low, mid)
    values = counts.reshape(-1, n_sites)
    presentation = {"repetition": np.repeat(np.arange(repetitions), len(ids))}
    if labels is not None:
        presentation["label"] = np.tile(labels, repetitions)
    assembly = make_assembly(values, stimulus_id=np.tile(ids, repetitions),
                             neuroid_id=np.array([f"site{j:03d}" for j in range(n_sites)]), presentation=presentation,
                             name="noisy_population")
    assembly.attrs.update({"ceiling": measured, "rate": mid, "repetitions": repetitions, "seed": seed})
    return assembly


def _pixels(images):
    import xarray as xr

    if isinstance(images, xr.DataArray):
        values = np.asarray(images.values, dtype=np.float64).reshape(images.sizes["presentation"], -1)
        ids = images.coords["stimulus_id"].values
        labels = images.coords["label"].values if "label" in images.coords else None
    else:
        values = np.asarray(images, dtype=np.float64)
        values = values.reshape(len(values), -1)
        ids, labels = np.array([f"img{i:05d}" for i in range(len(values))]), None
    if values.ndim != 2 or len(values) < 4:
        raise ValueError(f"images must hold at least 4 images; got shape {values.shape}")
    span = values.max() - values.min()
    return (values - values.min()) / (span if span > 0 else 1.0), ids, labels


def pca_model(images, n_components: int = 50, *, fit_on=None):
    """The model side: the first ``n_components`` principal components of the pixels (an assembly with the images'
    ``stimulus_id`` and ``label``). ``fit_on``: positions of the images the PCA is fitted on (default all)."""
    from sklearn.decomposition import PCA

    from neurobridge.assemblies import make_assembly

    pixels, ids, labels = _pixels(images)
    rows = np.arange(len(pixels)) if fit_on is None else np.asarray(fit_on)
    pca = PCA(n_components=n_components, random_state=0).fit(pixels[rows])
    return make_assembly(pca.transform(pixels).astype(np.float32), stimulus_id=ids,
                         neuroid_id=np.array([f"pc{j:02d}" for j in range(n_components)]),
                         presentation={} if labels is None else {"label": labels}, name="pca_model")
