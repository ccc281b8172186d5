"""sloxide: measure oxide superlattices with Bluesky and reduce the data with xarray.

Importing sloxide registers the ``.sloxide`` accessor on ``xarray.Dataset``
and ``xarray.DataArray`` and sets up the shared pint registry. It imports no
acquisition library (bluesky, ophyd, tiled): those live behind the
``acquire`` extra.
"""

from importlib.metadata import PackageNotFoundError, version

from . import accessor as _accessor  # noqa: F401  (registers the accessors)
from .errors import SloxideError
from .units import ureg

try:
    __version__ = version("sloxide")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["SloxideError", "ureg", "__version__"]
