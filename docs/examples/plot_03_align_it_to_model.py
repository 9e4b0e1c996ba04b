"""
Align IT to a model layer
=========================

Carry IT population responses into the space of a model layer from a few *paired* bridges: images whose IT
response and layer activation are both known. :class:`neurobridge.Aligner` couples every IT trial in the pool with
layer points through the bridges, then trains a conditional flow that moves new IT trials into the layer's space.

The evaluation is inductive: five images are held out before anything is fitted, their trials sit in neither pool,
and only they are scored. The model is a small random network and the slice has 25 images, so expect near-chance
numbers; the point is the workflow, which is the same on the public data.
"""

# %%
# Data: IT trials and a model layer on the same images
# ----------------------------------------------------
import numpy as np
import torch

import neurobridge as nb
from neurobridge.activations import record_activations

it = nb.load("majajhong2015.slice25", region="IT", average=False)       # 700 trials x 168 sites
stimuli = nb.benchmarks.load("majajhong2015.slice25.IT-pls").load_stimuli(size=64, mode="L")
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 16, 5, stride=2, padding=2), torch.nn.ReLU(),
    torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(),
)
layer = record_activations(model, stimuli, ["5"], progress=False)       # 25 images x 128 features

# %%
# Hold out images, then choose bridges among the rest
# ---------------------------------------------------
# Every trial of a bridge image is paired with that image's activation.
rng = np.random.default_rng(0)
images = layer.stimulus_id.values
held_out = rng.choice(images, size=5, replace=False)
source = it.isel(presentation=~np.isin(it.stimulus_id.values, held_out))        # IT pool: 20 images' trials
target = layer.isel(presentation=~np.isin(images, held_out))                    # layer pool: 20 images
bridge_images = rng.choice(target.stimulus_id.values, size=10, replace=False)
source_index = np.flatnonzero(np.isin(source.stimulus_id.values, bridge_images))
target_position = {stimulus: i for i, stimulus in enumerate(target.stimulus_id.values)}
target_index = [target_position[s] for s in source.stimulus_id.values[source_index]]
bridges = nb.Bridges.from_indices(source_index, target_index, n_source=source.sizes["presentation"],
                                  n_target=target.sizes["presentation"], match="stimulus_id")
print(bridges)

# %%
# Fit and transport the held-out trials
# -------------------------------------
# ``map-refined`` is the coupling for paired bridges (a regression fitted on the bridges gives the OT cost); the
# default ``coupling="auto"`` would choose among several candidates by validation, at some cost in time.
aligner = nb.Aligner("map-refined", flow="mlp", steps=300, progress=False, seed=0).fit(source, target, bridges)
test = it.isel(presentation=np.isin(it.stimulus_id.values, held_out))
moved = aligner.transform(test)       # the test trials' coords, the layer's features
print(moved.sizes, aligner.timings_)

# %%
# Which image is it?
# ------------------
# Each transported trial is matched to the nearest of the 25 images' activations (cosine). Chance is 1 / 25.
def nearest_image(points):
    a = points / np.linalg.norm(points, axis=1, keepdims=True)
    b = layer.values / np.linalg.norm(layer.values, axis=1, keepdims=True)
    return images[np.argmax(a @ b.T, axis=1)]


hits = nearest_image(np.asarray(moved.values)) == test.stimulus_id.values
print(f"held-out image identification: {hits.mean():.3f} (chance {1 / len(images):.3f})")
