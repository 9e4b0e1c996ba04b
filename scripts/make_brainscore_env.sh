#!/usr/bin/env bash
# Build the separate Brain-Score environment used by tests/test_brainscore_equivalence.py and
# benchmarks/bench_predictivity.py (brainscore-vision pins numpy<2, xarray<2022.6, scikit-learn<1.6, which cannot
# live beside neurobridge's own environment).
#
# Reused, not rebuilt: a complete environment carries a stamp file (.neurobridge-requirements) holding the sha256 of
# the pinned requirements below, written only after the final import check passed; when the stamp matches, the
# script exits at once. A missing or different stamp (an interrupted build, changed pins) rebuilds from scratch.
# Cached across checkouts: when NEUROBRIDGE_BS_VENV does not exist yet, the environment is built (or found) in
# NEUROBRIDGE_BS_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/neurobridge) as venv-bs-<hash> and NEUROBRIDGE_BS_VENV
# becomes a symlink to it, so a second CI run on the same machine, from a fresh checkout, skips the build.
# NEUROBRIDGE_BS_CACHE=none builds in place. Needs only PyPI. Installs the metric's runtime dependencies pinned, then
# brainscore-vision, brainscore-core and result-caching with --no-deps, so torch, torchvision, opencv, jupyter and
# decord (needed only to run models inside Brain-Score) are never installed.
#
# Environment: NEUROBRIDGE_BS_VENV (default <repo>/.venv-bs), NEUROBRIDGE_BS_CACHE (see above), PYTHON (default
# python3; 3.10 to 3.12).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NEUROBRIDGE_BS_VENV:-$REPO/.venv-bs}"
PYTHON="${PYTHON:-python3}"
export BS_INSTALL_DEPENDENCIES=no AWS_EC2_METADATA_DISABLED=true PIP_DISABLE_PIP_VERSION_CHECK=1

CHECK="from brainscore_vision import load_metric, load_ceiling
load_metric('pls', crossvalidation_kwargs=dict(stratification_coord='object_name'))
load_ceiling('internal_consistency')
import netCDF4, h5netcdf
print('brainscore environment ready')"

REQUIREMENTS=(
    "numpy==1.26.4" "pandas==2.3.3" "scipy>=1.11,<1.18" "scikit-learn==1.5.2" "xarray==2022.3.0"
    "netCDF4>=1.6,<1.8" "h5py>=3.8" "h5netcdf>=1.0" "dask[array]>=2023" "tqdm" "gitpython" "fire" "pybtex" "peewee"
    "psycopg2-binary" "networkx" "psutil" "PyYAML>=6.0.3,<7" "boto3" "requests" "Pillow"
    "importlib-metadata<5" "joblib" "pytest"
)
NO_DEPS=("brainscore-vision==2.4.2" "brainscore-core==2.5.0" "result-caching==0.5")
STAMP_NAME=.neurobridge-requirements
HASH="$({ printf '%s\n' "${REQUIREMENTS[@]}" --no-deps "${NO_DEPS[@]}"; printf '%s\n' "$CHECK"; } | sha256sum | cut -c1-64)"

complete() {  # $1: an environment folder; true when its stamp says it was built, and checked, from these pins
    [ -x "$1/bin/python" ] && [ -f "$1/$STAMP_NAME" ] && [ "$(cat "$1/$STAMP_NAME")" = "$HASH" ]
}

if complete "$VENV"; then
    echo "brainscore environment already present at $VENV (requirements ${HASH:0:12})"
    exit 0
fi

CACHE="${NEUROBRIDGE_BS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neurobridge}"
if [ "$CACHE" != "none" ] && { [ -L "$VENV" ] || [ ! -e "$VENV" ]; }; then
    TARGET="$CACHE/venv-bs-${HASH:0:16}"
    mkdir -p "$CACHE"
    if ! complete "$TARGET"; then
        NEUROBRIDGE_BS_CACHE=none NEUROBRIDGE_BS_VENV="$TARGET" bash "${BASH_SOURCE[0]}"
    fi
    rm -f "$VENV"
    mkdir -p "$(dirname "$VENV")"
    ln -s "$TARGET" "$VENV"
    echo "brainscore environment at $VENV -> $TARGET"
    exit 0
fi

exec 9>"$VENV.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9  # another build of this folder (a concurrent CI run) finishes first
    if complete "$VENV"; then
        echo "brainscore environment already present at $VENV (built by a concurrent run)"
        exit 0
    fi
fi

"$PYTHON" - <<'EOF'
import sys
if not ((3, 10) <= sys.version_info[:2] <= (3, 12)):
    sys.exit(f"make_brainscore_env.sh needs Python 3.10-3.12 for numpy<2 wheels; {sys.executable} is {sys.version.split()[0]}. Set PYTHON=...")
EOF

if [ -x "$VENV/bin/python" ] && [ ! -e "$VENV/$STAMP_NAME" ] && "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    echo "brainscore environment at $VENV predates the stamp: checking its pins"  # topped up below, then stamped
else
    rm -rf "$VENV"  # an interrupted build or other pins: start over, so nothing of the old one is kept
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --prefer-binary)

"${PIP[@]}" "${REQUIREMENTS[@]}"
"${PIP[@]}" --no-deps "${NO_DEPS[@]}"

if "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "error: torch ended up in $VENV; this environment must not contain it" >&2
    exit 1
fi
"$VENV/bin/python" -c "$CHECK"
echo "$HASH" > "$VENV/$STAMP_NAME"  # last: only a complete, checked environment is stamped
