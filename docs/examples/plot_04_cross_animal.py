"""
Align two animals
=================

The slice holds IT sites of two monkeys who saw the same images: 58 sites of one and 110 of the other. Align the
first animal's trials to the second animal's image responses from a few shared images, predict the second animal's
responses to images held out of every pool, and compare with ridge regression fitted on the same bridges, the floor
a user gets without alignment.

A per-site correlation over five held-out images is very noisy, and which method comes out ahead changes with the
choice of images; the example shows the workflow, and the public data set (3,200 images) is where the comparison
becomes informative.
"""

# %%
# One animal's trials, the other's image averages
# -----------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import RidgeCV

import neurobridge as nb

trials = nb.load("majajhong2015.slice25", region="IT", average=False)
averaged = nb.load("majajhong2015.slice25", region="IT")
first = trials.isel(neuroid=trials.animal.values == "Chabo")          # 700 trials x 58 sites
second = averaged.isel(neuroid=averaged.animal.values == "Tito")     # 25 images x 110 sites
images = second.stimulus_id.values

# %%
# Pools without the held-out images, bridges among the rest
# ---------------------------------------------------------
rng = np.random.default_rng(1)
held_out = rng.choice(images, size=5, replace=False)
source = first.isel(presentation=~np.isin(first.stimulus_id.values, held_out))
target = second.isel(presentation=~np.isin(images, held_out))
bridge_images = rng.choice(target.stimulus_id.values, size=10, replace=False)
source_index = np.flatnonzero(np.isin(source.stimulus_id.values, bridge_images))
target_position = {stimulus: i for i, stimulus in enumerate(target.stimulus_id.values)}
target_index = [target_position[s] for s in source.stimulus_id.values[source_index]]
bridges = nb.Bridges.from_indices(source_index, target_index, n_source=source.sizes["presentation"],
                                  n_target=target.sizes["presentation"], match="stimulus_id")

# %%
# Aligner and ridge on the same bridges
# -------------------------------------
aligner = nb.Aligner("map-refined", flow="mlp", steps=300, progress=False, seed=0).fit(source, target, bridges)
ridge = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(source.values[source_index], target.values[target_index])

test = first.isel(presentation=np.isin(first.stimulus_id.values, held_out))
predicted = {"Aligner": np.asarray(aligner.transform(test).values), "ridge": ridge.predict(test.values)}

# %%
# Per-site correlation on the held-out images
# -------------------------------------------
# The transported trials of each image are averaged, then each site's predicted responses to the five held-out
# images are correlated with the recorded ones.
truth = second.isel(presentation=np.isin(images, held_out)).values
order = [images[np.isin(images, held_out)].tolist().index(s) for s in test.stimulus_id.values]


def per_site_r(points):
    means = np.stack([points[np.asarray(order) == i].mean(axis=0) for i in range(len(held_out))])
    a = (means - means.mean(0)) / means.std(0)
    b = (truth - truth.mean(0)) / truth.std(0)
    return (a * b).mean(0)


fig, ax = plt.subplots(figsize=(4.5, 3.2))
for name, points in predicted.items():
    r = per_site_r(points)
    print(f"{name}: median per-site r on held-out images {np.nanmedian(r):.3f}")
    ax.hist(r, bins=15, alpha=0.6, label=name)
ax.set(xlabel="per-site r (held-out images)", ylabel="sites")
ax.legend(frameon=False)
fig.tight_layout()
