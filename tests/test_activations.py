import numpy as np
import pytest
import torch

import neurobridge as nb
from neurobridge.activations import record_activations


class TinyCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.fc = torch.nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


def test_records_named_layers_with_coords():
    digits = nb.load("digits").isel(presentation=slice(0, 20))
    model = TinyCNN()
    acts = record_activations(model, digits, ["pool", "fc"], batch_size=7, progress=False)
    assert acts.sizes == {"presentation": 20, "neuroid": 16 + 5}
    assert list(np.unique(acts.coords["layer"].values)) == ["fc", "pool"]
    assert acts.coords["neuroid_id"].values[0] == "pool.0"
    np.testing.assert_array_equal(acts.coords["label"].values, digits.coords["label"].values)
    images = torch.from_numpy(digits.values.reshape(20, 1, 8, 8).astype(np.float32))
    with torch.no_grad():
        expected = model(images).numpy()
    np.testing.assert_allclose(acts.sel(neuroid=acts.layer == "fc").values, expected, rtol=1e-5, atol=1e-6)


def test_batch_size_does_not_change_results():
    digits = nb.load("digits").isel(presentation=slice(0, 10))
    a = record_activations(TinyCNN(), digits, ["conv"], batch_size=1, progress=False)
    b = record_activations(TinyCNN(), digits, ["conv"], batch_size=10, progress=False)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-6)


def test_unknown_layer_is_named():
    with pytest.raises(ValueError, match="nolayer"):
        record_activations(TinyCNN(), np.zeros((2, 8, 8)), ["nolayer"], progress=False)


def test_image_files_of_the_slice(shared_data):
    images = sorted(shared_data("majajhong2015_slice25.nc").parent.glob("images/*.png"))
    acts = record_activations(TinyCNN(), [str(p) for p in images[:5]], ["fc"], size=32, progress=False, preprocess=lambda b: b.mean(1, keepdim=True))
    assert acts.sizes == {"presentation": 5, "neuroid": 5}
    assert acts.coords["stimulus_id"].values[0] == images[0].stem
