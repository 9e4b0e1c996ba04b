"""
Score a model layer on MajajHong2015
====================================

Brain-Score's neural predictivity of a model layer for IT, on the real 25-image slice of MajajHong2015: PLS
regression from the layer's activations to every IT site, cross-validated over images, Pearson r per site, the
median over sites, and the split-half internal consistency of the recordings as the ceiling. The score is
``r**2 / ceiling``, Brain-Score's current normalisation.

The model here is a small convolutional network with seeded random weights, so the score is low; record any torch
model's layer the same way. On Brain-Score's public data (3,200 images) the benchmark is
``"majajhong2015.IT-pls"``.
"""

# %%
# Load the benchmark and record a layer
# -------------------------------------
# A benchmark knows its images: ``load_stimuli`` returns them as a pixel assembly with their ``stimulus_id``.
import matplotlib.pyplot as plt
import numpy as np
import torch

import neurobridge as nb
from neurobridge.activations import record_activations

benchmark = nb.benchmarks.load("majajhong2015.slice25.IT-pls")
stimuli = benchmark.load_stimuli(size=64, mode="L")

torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 16, 5, stride=2, padding=2), torch.nn.ReLU(),
    torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(),
)
layer = record_activations(model, stimuli, ["5"], progress=False)  # the Flatten module: 512 features per image
print(layer.sizes)

# %%
# Score it
# --------
# The result holds the raw r, the ceiling, the score and its error, and every split's and site's r.
result = benchmark(layer)
print(result)
print({key: result.to_dict()[key] for key in ("score", "raw", "ceiling", "error", "n_splits", "n_sites")})

# %%
# Per site
# --------
# Each site's r (mean over splits) against its own split-half ceiling. A site on the dotted curve ``r = sqrt(c)``
# is explained as well as its noise allows.
site_r = result.per_site.values
site_ceiling = benchmark.ceiling.values.mean("split").values
fig, ax = plt.subplots(figsize=(4.5, 3.5))
ax.scatter(site_ceiling, site_r, s=10, alpha=0.7)
grid = np.linspace(0, 1, 50)
ax.plot(grid, np.sqrt(grid), "k:", lw=0.8)
ax.axhline(0, color="gray", lw=0.5)
ax.set(xlabel="site ceiling (split-half, Spearman-Brown)", ylabel="site r (layer -> IT)", title=result.benchmark)
fig.tight_layout()
