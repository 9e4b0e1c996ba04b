#!/usr/bin/env bash
# Build the separate Brain-Score environment used by tests/test_brainscore_equivalence.py and
# benchmarks/bench_predictivity.py (brainscore-vision pins numpy<2, xarray<2022.6, scikit-learn<1.6, which cannot
# live beside neurobridge's own environment).
#
# Idempotent: exits at once when the environment already imports Brain-Score's 'pls' metric and
# 'internal_consistency' ceiling. Needs only PyPI. Installs the metric's runtime dependencies pinned, then
# brainscore-vision, brainscore-core and result-caching with --no-deps, so torch, torchvision, opencv, jupyter and
# decord (needed only to run models inside Brain-Score) are never installed.
#
# Environment: NEUROBRIDGE_BS_VENV (default <repo>/.venv-bs), PYTHON (default python3; 3.10 to 3.12).
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

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    echo "brainscore environment already present at $VENV"
    exit 0
fi

"$PYTHON" - <<'EOF'
import sys
if not ((3, 10) <= sys.version_info[:2] <= (3, 12)):
    sys.exit(f"make_brainscore_env.sh needs Python 3.10-3.12 for numpy<2 wheels; {sys.executable} is {sys.version.split()[0]}. Set PYTHON=...")
EOF

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --prefer-binary)

"${PIP[@]}" \
    "numpy==1.26.4" "pandas==2.3.3" "scipy>=1.11,<1.18" "scikit-learn==1.5.2" "xarray==2022.3.0" \
    "netCDF4>=1.6,<1.8" "h5py>=3.8" "h5netcdf>=1.0" "dask[array]>=2023" "tqdm" "gitpython" "fire" "pybtex" "peewee" \
    "psycopg2-binary" "networkx" "psutil" "PyYAML>=6.0.3,<7" "boto3" "requests" "Pillow" \
    "importlib-metadata<5" "joblib" "pytest"
"${PIP[@]}" --no-deps "brainscore-vision==2.4.2" "brainscore-core==2.5.0" "result-caching==0.5"

if "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "error: torch ended up in $VENV; this environment must not contain it" >&2
    exit 1
fi
"$VENV/bin/python" -c "$CHECK"
