"""Dask chunking rules of the reductions.

Each curve is reduced as a whole (a fit, a derivative, a branch split), so the
dims a reduction works along must be one dask chunk; every other dim may be
chunked freely and streams.
"""

from __future__ import annotations

import xarray as xr

from ..errors import DataError

__all__ = ["require_single_chunk"]


def require_single_chunk(da: xr.DataArray, dim: str, name: str | None = None) -> None:
    """Raise :class:`DataError` if ``da`` is split into several dask chunks along ``dim``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.chunks import require_single_chunk
    >>> da = xr.DataArray(np.zeros((2, 10)), dims=("sample", "time")).chunk({"time": 5})
    >>> require_single_chunk(da, "sample")
    >>> try:
    ...     require_single_chunk(da, "time", "rho_xy")
    ... except ValueError as err:
    ...     print(err)
    rho_xy is split into 2 dask chunks along 'time'; each curve must be one chunk: use .chunk({'time': -1})
    """
    if da.chunks is not None and len(da.chunksizes.get(dim, ())) > 1:
        label = name or (str(da.name) if da.name is not None else "the data")
        raise DataError(
            f"{label} is split into {len(da.chunksizes[dim])} dask chunks along {dim!r}; "
            f"each curve must be one chunk: use .chunk({{{dim!r}: -1}})"
        )
