"""Sphinx configuration of the neurobridge documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (tests/test_docs_build.py runs the same with warnings as
errors). The gallery scripts in ``docs/examples`` run at every build and read real data through
``NEUROBRIDGE_DATA_PATH`` (default here: ``../shared/data`` next to the repository).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

_shared = ROOT.parent / "shared" / "data"
if "NEUROBRIDGE_DATA_PATH" not in os.environ and _shared.is_dir():
    os.environ["NEUROBRIDGE_DATA_PATH"] = str(_shared)
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

# The gallery runs in this process; one thread avoids OpenMP spin-waiting on a busy machine (much faster there).
torch.set_num_threads(1)

import neurobridge  # noqa: E402

project = "neurobridge"
author = "the neurobridge developers"
copyright = f"{time.strftime('%Y')}, {author}"
release = neurobridge.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "examples/README.rst", "examples/GALLERY_HEADER.rst",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]
default_role = "py:obj"

# Markdown pages (results, limitations, architecture) use MyST; headings get anchors for cross-links.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# API reference: autosummary writes one page per public object; numpydoc renders the docstrings.
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "show_memory": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "show_signature": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"neurobridge {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False

# Warnings that do not mean a broken page. Everything else fails the build under -W.
suppress_warnings = ["config.cache"]
