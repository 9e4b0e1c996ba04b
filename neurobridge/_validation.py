"""Input checks shared by the whole package, in the style of scikit-learn's ``check_array``.

Every check takes the value and the ``name`` of the argument it came from, returns the value in canonical form,
and raises with a message that names that argument, says what was wrong and what is expected:

- :func:`check_points`: a ``(n_points, n_features)`` float matrix from an array, a torch tensor or a
  ``presentation x neuroid`` assembly; NaN and inf are both rejected (their count is given), and values that are
  finite in float64 but overflow float32 get their own message when ``dtype`` is float32;
- :func:`check_labels`: a 1-D label array, optionally of a given length;
- :func:`check_images`: float32 images ``(n, H, W)`` from ``(n, H, W)``, ``(n, 1, H, W)``, ``(n, H*W)`` or a pixel
  assembly;
- :func:`check_int`, :func:`check_float`, :func:`check_seed`, :func:`check_positions`: scalars and index arrays.
  A boolean is never a number, and a string where a number belongs is a ``TypeError`` (``epsilon="0.01"``).

Type errors (a string, an object array, a bool) raise :class:`TypeError`; wrong values (shape, range, NaN) raise
:class:`ValueError`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_points", "check_labels", "check_images", "pixel_max", "check_int", "check_float", "check_seed", "check_positions",
           "check_number", "check_integer", "check_choice"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SQUARE_SIZES = {64: (8, 8), 784: (28, 28)}


def _to_numpy(data, name: str, *, assembly_nan: bool = True):
    """A numpy array from an assembly (validated, canonical dims), a torch tensor or an array-like."""
    import xarray as xr

    if isinstance(data, xr.DataArray):
        from neurobridge.assemblies import validate

        return np.asarray(validate(data, name=name, allow_nan=assembly_nan).values)
    if hasattr(data, "detach") and hasattr(data, "cpu"):
        tensor = data.detach().cpu()
        if tensor.is_floating_point() and tensor.element_size() < 4:
            tensor = tensor.float()
        return tensor.numpy()
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, torch tensor or assembly; got the string {data!r}")
    try:
        return np.asarray(data)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a numeric array, torch tensor or assembly; got {type(data).__name__} ({error})") from None


def _numeric(array: np.ndarray, name: str) -> None:
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers; got dtype {array.dtype}"
            + (" (strings: convert them with float(...) first)" if array.dtype.kind in "USO" else "")
        )


def _finite(array: np.ndarray, name: str, dtype) -> None:
    """Raise when ``array`` holds NaN, inf, or (for a float32 target) finite values beyond float32's range."""
    if array.dtype.kind != "f":
        return
    finite = np.isfinite(array)
    if not finite.all():
        n_nan = int(np.isnan(array).sum())
        n_inf = int((~finite).sum()) - n_nan
        rows = np.flatnonzero(~finite.reshape(len(array), -1).all(axis=1))
        raise ValueError(
            f"{name} contains NaN or inf in {len(rows)} rows (first rows: {rows[:5].tolist()}): {n_nan} NaN and "
            f"{n_inf} infinite values; drop or impute them first"
        )
    if np.dtype(dtype) == np.float32 and array.dtype.itemsize > 4:
        big = np.abs(array) > _FLOAT32_MAX
        if big.any():
            raise ValueError(
                f"{name} holds {int(big.sum())} finite values beyond float32's range (|x| > {_FLOAT32_MAX:.3g}, largest "
                f"{float(np.abs(array).max()):.3g}); they would become infinite in float32. Rescale {name} first"
            )


def check_points(
    x,
    name: str = "x",
    *,
    dtype=np.float64,
    min_points: int = 1,
    min_features: int = 1,
    allow_nan: bool = False,
) -> np.ndarray:
    """Return ``x`` as a C-contiguous ``(n_points, n_features)`` array of ``dtype`` (float64 or float32).

    ``x`` is an array-like, a torch tensor or a ``presentation x neuroid`` assembly (checked with
    :func:`neurobridge.assemblies.validate`; a ``time_bin`` dim is an error). ``allow_nan`` lets NaN and inf through.
    """
    array = _to_numpy(x, name)
    _numeric(array, name)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (points x features) or an assembly; got shape {array.shape}. "
            f"Reshape with {name}.reshape(len({name}), -1), or add a feature axis with {name}[:, None]"
            + (" (an assembly with a time_bin dim: pick one with neurobridge.assemblies.select_time_bin)" if array.ndim == 3 else "")
        )
    if array.shape[0] < min_points or array.shape[1] < min_features:
        raise ValueError(
            f"{name} has shape {array.shape}; it needs at least {min_points} point(s) and {min_features} feature(s)"
        )
    if not allow_nan:
        _finite(array, name, dtype)
    return np.ascontiguousarray(array, dtype=dtype)


def check_labels(labels, n: int | None = None, name: str = "labels") -> np.ndarray:
    """Return a 1-D label array (from an array, list or torch tensor) with ``n`` entries when ``n`` is given.

    Float labels must be finite (a NaN label would form a class of its own).
    """
    if labels is None:
        raise TypeError(f"{name} is None; pass one label per point")
    array = _to_numpy(labels, name, assembly_nan=True) if not isinstance(labels, str) else np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per point); got shape {array.shape}")
    if n is not None and len(array) != n:
        raise ValueError(f"{name} has {len(array)} entries; expected {n}, one per point")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(array)).sum())} NaN or infinite labels; drop those points first")
    return array


def check_images(images, name: str = "images", *, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Return finite float32 images ``(n, H, W)``.

    Accepts ``(n, H, W)``, ``(n, 1, H, W)``, ``(n, H*W)`` (square images, or ``image_shape``) or a pixel assembly
    (:func:`neurobridge.assemblies.flatten_pixels`). ``image_shape`` is the ``(H, W)`` a model expects.
    """
    import xarray as xr

    if isinstance(images, xr.DataArray):
        from neurobridge.assemblies import unflatten_pixels, validate

        images = validate(images, name=name)
        array = unflatten_pixels(images) if "pixel_row" in images.coords else images.values
    else:
        array = _to_numpy(images, name)
    _numeric(array, name)
    _finite(array, name, np.float32)
    array = array.astype(np.float32, copy=False)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 2:
        side = _SQUARE_SIZES.get(array.shape[1]) if image_shape is None else tuple(image_shape)
        if side is None:
            root = int(math.isqrt(array.shape[1]))
            side = (root, root) if root * root == array.shape[1] else None
        if side is None or side[0] * side[1] != array.shape[1]:
            raise ValueError(f"{name} has shape {array.shape}: cannot tell the image size of {array.shape[1]} pixels; pass images as (n, H, W)")
        array = array.reshape(len(array), *side)
    if array.ndim != 3:
        raise ValueError(f"{name} must have shape (n, H, W), (n, 1, H, W), (n, H*W) or be a pixel assembly; got {array.shape}")
    if image_shape is not None and tuple(array.shape[1:]) != tuple(image_shape):
        raise ValueError(f"{name} are {array.shape[1:]} images; this model expects {tuple(image_shape)}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty")
    return array


def _range_text(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def check_int(value, name: str, *, low: int | None = None, high: int | None = None, allow_none: bool = False) -> int | None:
    """Return ``value`` as a Python ``int`` in ``[low, high]``; a bool, a float or a string is a ``TypeError``."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        hint = " (a string: convert it with int(...) first)" if isinstance(value, str) else ""
        raise TypeError(f"{name} must be an integer{_range_text(low, high)}{' or None' if allow_none else ''}; got {value!r} ({type(value).__name__}){hint}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer{_range_text(low, high)}; got {value}")
    return value


def check_float(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    positive: bool = False,
    allow_none: bool = False,
) -> float | None:
    """Return ``value`` as a finite Python ``float`` in the given range.

    ``positive=True`` is shorthand for ``low=0, low_open=True``; ``low_open`` / ``high_open`` exclude the bounds.
    A bool or a string is a ``TypeError`` (``epsilon="0.01"``); NaN and inf are a ``ValueError``.
    """
    if value is None and allow_none:
        return None
    if positive:
        low, low_open = 0.0, True
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        hint = " (a string: convert it with float(...) first)" if isinstance(value, str) else ""
        raise TypeError(f"{name} must be a real number{' or None' if allow_none else ''}; got {value!r} ({type(value).__name__}){hint}")
    value = float(value)
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in {interval}; got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must lie in {interval}; got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must lie in {interval}; got {value}")
    return value


def check_seed(seed, name: str = "seed", *, allow_none: bool = False) -> int | None:
    """Return ``seed`` as a non-negative ``int`` (NumPy's and torch's generators need one); a bool is refused."""
    if seed is None and allow_none:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer{' or None' if allow_none else ''}; got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {seed}. Use e.g. {name}={abs(int(seed))}")
    return int(seed)


def check_positions(index, n: int | None = None, name: str = "index") -> np.ndarray:
    """Return 1-D ``int64`` positions from ``index``; floats, bools and strings are refused (positions count from 0).

    With ``n``, every position must lie in ``[0, n)``.
    """
    array = _to_numpy(index, name)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D integer positions; got shape {array.shape}")
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer positions; got dtype {array.dtype}"
            + (" (a boolean mask: convert it with numpy.flatnonzero(mask))" if array.dtype.kind == "b" else "")
        )
    array = array.astype(np.int64, copy=False)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} has negative positions (min {int(array.min())}); positions count from 0")
    if n is not None and array.size and array.max() >= n:
        raise ValueError(f"{name} has position {int(array.max())} but there are only {n} points")
    return array


def pixel_max(images: np.ndarray) -> float:
    """Scale that maps the pixels into [0, 1]: 1 when they already are, else their maximum (16 for digits, 255 for MNIST)."""
    top = float(images.max())
    if images.min() < 0:
        raise ValueError(f"images have negative pixels (min {images.min():.3g}); the image models expect intensities >= 0")
    return 1.0 if top <= 1.0 else top


def check_number(value, name: str, *, low: float | None = None, strict: bool = True, allow_none: bool = False,
                 allow_inf: bool = False) -> float | None:
    """A real number (not a string, not a boolean), optionally bounded below: ``> low`` (``strict``) or ``>= low``;
    ``allow_inf`` lets ``+inf`` through (e.g. a hard marginal, ``tau = inf``). :func:`check_float` with those bounds."""
    if allow_inf and isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and value == math.inf:
        return math.inf
    return check_float(value, name, low=low, low_open=strict and low is not None, allow_none=allow_none)


def check_integer(value, name: str, *, low: int = 1) -> int:
    """An integer ``>= low`` (not a boolean, not a float, not a string): :func:`check_int` with a lower bound."""
    return check_int(value, name, low=low)


def check_choice(value, name: str, choices) -> str:
    """One of ``choices`` (strings); the message lists them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}; got {value!r}")
    return value
