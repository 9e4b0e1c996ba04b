"""
Decode category from a growing number of sites
==============================================

Majaj et al. (2015) asked how well object category can be read out of a population as the number of recorded sites
grows. :func:`neurobridge.evaluate.decoding_curve` draws ``n`` sites at random, fits a cross-validated classifier on
them and repeats the draw, for each ``n``; the result holds accuracy and one-vs-rest d' with their spread over
draws.

Here IT and V4 single trials of the real slice (25 images, 28 trials each). Folds are grouped by image
(``groups="stimulus_id"``), so every test trial shows an image the classifier never saw: the curve measures category
generalisation, not recognition of a seen image. Grouping needs at least as many images per category as folds, so
the one category shown in a single image (Tables) is left out and three folds are used: 24 images, 7 categories.
"""

# %%
# Load the trials of each region
# ------------------------------
import neurobridge as nb
from neurobridge.evaluate import decoding_curve, plot_decoding_curves

it = nb.load("majajhong2015.slice25", region="IT", average=False)   # 700 trials x 168 sites
v4 = nb.load("majajhong2015.slice25", region="V4", average=False)   # 700 trials x 128 sites
it = it.isel(presentation=it.category_name.values != "Tables")
v4 = v4.isel(presentation=v4.category_name.values != "Tables")
print(it.sizes, v4.sizes)

# %%
# One curve per region
# --------------------
# A nearest-centroid classifier keeps this example fast; ``classifier="logistic"`` is the default.
settings = dict(label="category_name", repeats=4, classifier="nearest-centroid", cv=3, groups="stimulus_id", seed=0)
curves = {
    "IT": decoding_curve(it, n_sites=[1, 4, 16, 64, 168], **settings),
    "V4": decoding_curve(v4, n_sites=[1, 4, 16, 64, 128], **settings),
}
print(curves["IT"].to_dataframe().round(3))

# %%
# Plot
# ----
fig = plot_decoding_curves(curves)
