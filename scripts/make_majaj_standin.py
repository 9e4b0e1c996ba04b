"""Write a synthetic stand-in of Brain-Score's ``majajhong2015.public`` in brainio's file layout, for offline runs.

The real files (``assy_dicarlo_MajajHong2015_public.nc``, ``stimulus_hvm-public.csv`` and ``.zip``) live on S3,
which build machines cannot reach. This script writes files with the same names, the same NetCDF structure (one
float32 DataArray ``dicarlo.MajajHong2015.public``, dims ``(neuroid, presentation, time_bin)``; presentation coords
``image_id`` <U40 and ``repetition`` int64; neuroid coords ``neuroid_id``, ``arr``, ``col``, ``hemisphere``,
``subregion``, ``animal``, ``x``, ``y``, ``region``, ``row`` with the real slice's dtypes; one 70-170 ms time bin),
trial level, over the real HvM stimulus ids of variations 0 and 3 (``hvm_stimulus_meta.csv``), and a stimulus CSV +
ZIP of synthetic PNG images. Full size: 3,200 images (640 of variation 0 x 28 repetitions + 2,560 of variation 3 x
51 = 148,480 presentations, the real count), 256 sites (IT 168, V4 88).

Responses (synthetic, NOT recordings): every image has a latent ``z_i`` = [its object's embedding (category part +
object part), its pose (ty, tz, rxy, rxz, ryz, s)]; site ``j`` responds ``f_j(z_i) = tanh(z_i . w_j)``, IT sites
weighting the object part more, V4 sites the pose part; each trial adds Gaussian noise whose variance is set per
site so that its split-half reliability, Spearman-Brown corrected, is drawn around ``--ceiling`` (0.8 by default);
finally each site is z-scored, as in the released data. Both animals' sites (Chabo and Tito, in IT and V4) are driven
by the same per-image latent, each site through its own random weights, with independent trial noise: the two animals
share their stimulus-driven signal and nothing else, so the inter-animal consistency is set by the generator (a
noise-free linear map from one animal's IT sites to the other's is limited only by ``tanh``), and
:func:`simulate` returns the noise-free responses with the trials for checking a noise-corrected estimate of it
(``benchmarks/bench_cross_animal.py``). The images draw each object as a shape of its category's
form and its own colour at the image's position, scale and rotation on a seeded background, so a vision model
sees the same latent the responses carry.

The real manifests are untouched. The script also writes ``manifests/majajhong2015.json``: a copy of the real
manifest whose public entries carry the stand-in's sha1 checksums and a description marking them as a stand-in.
Point the loaders at it with::

    NEUROBRIDGE_MANIFESTS=OUT/manifests NEUROBRIDGE_DATA_PATH=OUT:/path/to/shared/data

(``--brainio-layout`` instead writes each file to ``OUT/<sha1>/<filename>``, Brain-Score's cache layout: set
``BRAINIO_HOME=OUT`` and the same ``NEUROBRIDGE_MANIFESTS``). Small versions for tests: ``--images 128 --objects 8
--reps 6,10 --image-size 64``.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from neurobridge._io import atomic_write  # noqa: E402

ASSEMBLY_FILE = "assy_dicarlo_MajajHong2015_public.nc"
CSV_FILE = "stimulus_hvm-public.csv"
ZIP_FILE = "stimulus_hvm-public.zip"
VARIABLE = "dicarlo.MajajHong2015.public"
POSE = ("ty", "tz", "rxy", "rxz", "ryz", "s")
SHAPES = {"Animals": 7, "Boats": 3, "Cars": 4, "Chairs": 5, "Faces": 0, "Fruits": 9, "Planes": 6, "Tables": 8}


def _parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--metadata", type=Path, default=None,
                        help="hvm_stimulus_meta.csv (default: found through NEUROBRIDGE_DATA_PATH)")
    parser.add_argument("--images", type=int, default=3200, help="images (default 3200 = every variation 0 and 3 image)")
    parser.add_argument("--objects", type=int, default=64, help="objects the images are drawn from (default 64)")
    parser.add_argument("--sites", default="168,88", help="IT,V4 site counts (default 168,88)")
    parser.add_argument("--reps", default="28,51", help="repetitions of variation 0 and 3 images (default 28,51)")
    parser.add_argument("--image-size", type=int, default=256, help="image side in pixels (default 256, as HvM)")
    parser.add_argument("--ceiling", type=float, default=0.8, help="median split-half reliability per site (default 0.8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--brainio-layout", action="store_true", help="write OUT/<sha1>/<filename> (Brain-Score's cache)")
    args = parser.parse_args(argv)
    args.sites = _pair(args.sites, "--sites")
    args.reps = _pair(args.reps, "--reps")
    if args.images < 2 or args.objects < 2 or args.objects > 64 or args.images < 2 * args.objects:
        parser.error(f"--images ({args.images}) must be >= 2 x --objects ({args.objects}), with 2 <= --objects <= 64")
    if not 0.05 < args.ceiling < 0.99:
        parser.error(f"--ceiling must lie in (0.05, 0.99); got {args.ceiling}")
    if min(args.reps) < 2:
        parser.error(f"--reps must be >= 2 each (the ceiling needs split halves); got {args.reps}")
    return args


def _pair(text: str, name: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(f"{name} expects two integers 'A,B'; got {text!r}") from None
    return a, b


def _metadata(path: Path | None) -> pd.DataFrame:
    if path is None:
        from neurobridge.datasets.download import resolve

        path = resolve("hvm", "metadata", download=False)
    meta = pd.read_csv(path)
    return meta[meta["variation"].isin([0, 3])].reset_index(drop=True)


def select_images(meta: pd.DataFrame, n_images: int, n_objects: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_images`` images of ``n_objects`` objects spread over the categories (all 3,200 by default)."""
    if n_images >= len(meta) and n_objects >= meta["object_name"].nunique():
        return meta
    by_category = {c: sorted(g["object_name"].unique()) for c, g in meta.groupby("category_name")}
    objects, k = [], 0
    while len(objects) < n_objects:
        for category in sorted(by_category):
            if k < len(by_category[category]) and len(objects) < n_objects:
                objects.append(by_category[category][k])
        k += 1
    pool = meta[meta["object_name"].isin(objects)]
    per_object = n_images // n_objects
    rows = [rng.choice(group.index.values, size=min(per_object, len(group)), replace=False)
            for _, group in pool.groupby("object_name")]
    return meta.loc[np.sort(np.concatenate(rows))].reset_index(drop=True)


def _neuroids(n_it: int, n_v4: int, rng: np.random.Generator) -> pd.DataFrame:
    """Site coords in the slice's style: 10 x 10 arrays, IT arrays M and A, V4 array P; two animals."""
    plan = [("IT", "Chabo", "M", "cIT", int(round(n_it * 58 / 168))), ("IT", "Tito", "M", "pIT", 0), ("IT", "Tito", "A", "aIT", 0),
            ("V4", "Chabo", "P", "V4", n_v4 // 2), ("V4", "Tito", "P", "V4", n_v4 - n_v4 // 2)]
    rest = n_it - plan[0][4]
    plan[1] = plan[1][:4] + (rest - min(rest, int(round(n_it * 80 / 168))),)
    plan[2] = plan[2][:4] + (min(rest, int(round(n_it * 80 / 168))),)
    rows = []
    for region, animal, arr, subregion, count in plan:
        if count > 100:
            raise SystemExit(f"--sites: {count} sites on one 10 x 10 array of {animal}; use at most 100 per array")
        cells = rng.choice(100, size=count, replace=False)
        for cell in np.sort(cells):
            row, col = divmod(int(cell), 10)
            rows.append(dict(neuroid_id=f"{animal}_L_{arr}_{row}_{col}", arr=arr, col=col, hemisphere="L",
                             subregion=subregion, animal=animal, y=round(0.4 * row - 1.8, 1), x=round(0.4 * col - 1.8, 1),
                             region=region, row=row))
    return pd.DataFrame(rows)


def _latents(images: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    categories = sorted(images["category_name"].unique())
    objects = sorted(images["object_name"].unique())
    category_code = {c: rng.standard_normal(8) for c in categories}
    object_of = images.drop_duplicates("object_name").set_index("object_name")["category_name"]
    object_code = {o: category_code[object_of[o]] + 0.8 * rng.standard_normal(8) for o in objects}
    identity = np.stack([object_code[o] for o in images["object_name"]])
    pose = images[list(POSE)].to_numpy(dtype=np.float64)
    pose = (pose - pose.mean(0)) / np.where(pose.std(0) > 0, pose.std(0), 1.0)
    return identity, pose


def _responses(identity, pose, neuroids: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Noise-free mean response per image and site: tanh of a region-weighted projection of the latent."""
    is_it = (neuroids["region"] == "IT").to_numpy()
    w_identity = rng.standard_normal((identity.shape[1], len(neuroids))) / np.sqrt(identity.shape[1])
    w_pose = rng.standard_normal((pose.shape[1], len(neuroids))) / np.sqrt(pose.shape[1])
    mix = np.where(is_it, 0.85, 0.35)
    drive = identity @ w_identity * mix + pose @ w_pose * (1 - mix)
    return np.tanh(drive / drive.std(0))


def _trials(signal: np.ndarray, images: pd.DataFrame, reps: tuple[int, int], ceiling: float, rng: np.random.Generator):
    """Trial-level responses (float32) and their (image index, repetition), in repetition blocks of shuffled images."""
    n_reps = np.where(images["variation"].to_numpy() == 0, reps[0], reps[1])
    target = np.clip(rng.normal(ceiling, 0.08, size=signal.shape[1]), 0.3, 0.97)
    half_r = target / (2 - target)
    half = np.mean(n_reps) / 2
    signal = (signal - signal.mean(0)) / signal.std(0)
    noise_sd = np.sqrt(half * (1 / half_r - 1))
    order, repetition = [], []
    for r in range(int(n_reps.max())):
        shown = np.flatnonzero(n_reps > r)
        order.append(rng.permutation(shown))
        repetition.append(np.full(len(shown), r))
    order = np.concatenate(order)
    repetition = np.concatenate(repetition)
    values = np.empty((len(order), signal.shape[1]), dtype=np.float32)
    for start in range(0, len(order), 8192):
        block = order[start:start + 8192]
        values[start:start + len(block)] = signal[block] + noise_sd * rng.standard_normal((len(block), signal.shape[1]))
    values -= values.mean(0, dtype=np.float64).astype(np.float32)
    values /= values.std(0, dtype=np.float64).astype(np.float32)
    return values, order, repetition


def _image(row, size: int, shade: tuple[int, int, int], background_seed: int) -> bytes:
    """A PNG: the object's category shape, its colour, at the image's position, scale and in-plane rotation."""
    from PIL import Image, ImageDraw

    local = np.random.default_rng(background_seed)
    base = local.integers(40, 200, size=3)
    noise = local.integers(-30, 30, size=(size // 8, size // 8, 3))
    background = np.clip(base + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(background).resize((size, size), Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    cx = size / 2 + float(row.ty) * size * 0.8
    cy = size / 2 - float(row.tz) * size * 0.4
    radius = size * 0.22 * float(row.s)
    sides = SHAPES.get(row.category_name, 5)
    angle = np.deg2rad(float(row.rxy))
    squash = np.cos(np.deg2rad(float(row.ryz))) * 0.5 + 0.5
    if sides == 0:
        draw.ellipse([cx - radius * squash, cy - radius, cx + radius * squash, cy + radius], fill=shade)
    else:
        t = angle + np.arange(sides) * 2 * np.pi / sides
        points = [(cx + radius * squash * np.cos(a), cy + radius * np.sin(a)) for a in t]
        draw.polygon(points, fill=shade)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_assembly(path: Path, values, order, repetition, images: pd.DataFrame, neuroids: pd.DataFrame) -> None:
    import xarray as xr

    coords = {"image_id": ("presentation", images["stimulus_id"].to_numpy()[order].astype("<U40")),
              "repetition": ("presentation", repetition.astype(np.int64)),
              "time_bin_start": ("time_bin", np.array([70], dtype=np.int64)),
              "time_bin_end": ("time_bin", np.array([170], dtype=np.int64))}
    for column, dtype in (("neuroid_id", "<U13"), ("arr", "<U1"), ("col", np.int64), ("hemisphere", "<U1"),
                          ("subregion", "<U3"), ("animal", "<U5"), ("y", np.float64), ("x", np.float64),
                          ("region", "<U2"), ("row", np.int64)):
        coords[column] = ("neuroid", neuroids[column].to_numpy().astype(dtype))
    data = xr.DataArray(values.T[:, :, None], dims=("neuroid", "presentation", "time_bin"), coords=coords, name=VARIABLE,
                        attrs={"stimulus_set_name": "hvm-public", "stimulus_set_identifier": "hvm-public",
                               "identifier": VARIABLE, "standin": "synthetic responses, not recordings (scripts/make_majaj_standin.py)"})
    data.encoding = {"dtype": "float32"}
    atomic_write(path, lambda tmp: data.to_dataset().to_netcdf(tmp, format="NETCDF4"))


def _write_stimuli(csv_path: Path, zip_path: Path, images: pd.DataFrame, size: int, rng: np.random.Generator) -> None:
    frame = images.copy()
    frame["filename"] = frame["image_file_name"]
    frame.insert(1, "image_id", frame["stimulus_id"])
    atomic_write(csv_path, lambda tmp: frame.to_csv(tmp, index=False))
    objects = sorted(frame["object_name"].unique())
    shades = {o: tuple(int(v) for v in rng.integers(0, 256, size=3)) for o in objects}

    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for row in frame.itertuples(index=False):
                seed = int(hashlib.sha1(str(row.background_id).encode()).hexdigest()[:8], 16)
                archive.writestr(f"hvm-public/{row.filename}", _image(row, size, shades[row.object_name], seed))

    atomic_write(zip_path, write)


def _write_manifest(out: Path, files: dict[str, Path]) -> Path:
    real = REPO / "data_manifests" / "majajhong2015.json"
    manifest = json.loads(real.read_text())
    manifest["description"] = "STAND-IN (synthetic responses and images, scripts/make_majaj_standin.py) for " + manifest["description"]
    for entry in manifest["files"]:
        path = files.get(entry["filename"])
        if path is not None:
            entry["checksum"] = {"algorithm": "sha1", "value": _sha1(path)}
            entry["size"] = path.stat().st_size
            entry["urls"] = []
            entry["standin"] = True
    target = out / "manifests" / "majajhong2015.json"
    atomic_write(target, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1)))
    return target


def simulate(args) -> dict:
    """The stand-in's content without writing files: ``images`` (metadata rows), ``neuroids`` (site coords),
    ``signal`` (noise-free mean response, images x sites), ``values`` (trials x sites, z-scored per site), ``order``
    (image index of each trial), ``repetition`` and the latents the responses are driven by (``identity``: the
    object's embedding per image, ``pose``: the z-scored pose columns); the same numbers :func:`make_standin` writes for the same
    arguments (``args``: the parsed command line, e.g. ``_parse(["--out", "unused"])``)."""
    rng = np.random.default_rng(args.seed)
    images = select_images(_metadata(args.metadata), args.images, args.objects, rng)
    neuroids = _neuroids(*args.sites, rng)
    identity, pose = _latents(images, rng)
    signal = _responses(identity, pose, neuroids, rng)
    values, order, repetition = _trials(signal, images, args.reps, args.ceiling, rng)
    return {"images": images, "neuroids": neuroids, "signal": signal, "values": values, "order": order,
            "repetition": repetition, "identity": identity, "pose": pose, "rng": rng}


def make_standin(args) -> dict:
    """Write the stand-in; return its paths and sizes."""
    start = time.perf_counter()
    made = simulate(args)
    images, neuroids, rng = made["images"], made["neuroids"], made["rng"]
    values, order, repetition = made["values"], made["order"], made["repetition"]
    args.out.mkdir(parents=True, exist_ok=True)
    staging = {name: args.out / name for name in (ASSEMBLY_FILE, CSV_FILE, ZIP_FILE)}
    _write_assembly(staging[ASSEMBLY_FILE], values, order, repetition, images, neuroids)
    _write_stimuli(staging[CSV_FILE], staging[ZIP_FILE], images, args.image_size, rng)
    if args.brainio_layout:
        for name, path in list(staging.items()):
            target = args.out / _sha1(path) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            staging[name] = target
    manifest = _write_manifest(args.out, staging)
    for path in (*staging.values(), manifest):
        os.chmod(path, 0o644)
    return {"manifest": str(manifest), **{name: str(path) for name, path in staging.items()},
            "images": len(images), "sites": len(neuroids), "presentations": len(order),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None) -> int:
    summary = make_standin(_parse(argv))
    print(json.dumps(summary, indent=1))
    out = Path(summary["manifest"]).parents[1]
    print(f"use it with: NEUROBRIDGE_MANIFESTS={out / 'manifests'} NEUROBRIDGE_DATA_PATH={out}:<shared data>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
