"""Sphinx configuration of the sloxide documentation (CI builds it with -W)."""

import os
import re

import sphinx_autosummary_accessors

import sloxide

os.environ.setdefault("MPLBACKEND", "Agg")

project = "sloxide"
author = "sloxide developers"
copyright = "2026, sloxide developers"
version = release = sloxide.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_autosummary_accessors",
    # The tutorials' code runs during the build, as in the xarray docs, so it cannot rot.
    "IPython.sphinxext.ipython_directive",
    "IPython.sphinxext.ipython_console_highlighting",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path = ["_templates", sphinx_autosummary_accessors.templates_path]

myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

ipython_warning_is_error = True
ipython_execlines = [
    "import warnings",
    # tiled's own import-time deprecation notice, not ours
    "warnings.filterwarnings('ignore', message='Using `httpx` with `starlette.testclient`')",
    "import numpy as np",
    "import xarray as xr",
    "import sloxide",
]
ipython_savefig_dir = os.path.join(os.path.dirname(__file__), "_build", "figures")

html_theme = "pydata_sphinx_theme"
html_title = "sloxide"

# The docstrings write absolute values as |µ0H|, which reST reads as a substitution
# reference; escape the bars for the docs (the source stays readable in help()).
_ABS = re.compile(r"(?<![|`\\])\|(?=\S)([^|`]*?\S)\|(?![|`_])")


def _escape_absolute_values(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if not line.lstrip().startswith((">>>", "...")):
            lines[i] = _ABS.sub(r"\\|\1\\|", line)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_absolute_values)
