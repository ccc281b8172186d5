"""Dask chunking rules of the reductions, and the checks that run chunk by chunk.

Each curve is reduced as a whole (a fit, a derivative, a branch split), so the
dims a reduction works along must be one dask chunk; every other dim may be
chunked freely and streams. Pointwise reductions check their input per chunk,
when it is computed (:func:`refuse_inf`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError

__all__ = ["require_single_chunk", "refuse_inf"]


def _inf_kernel(values: NDArray[np.generic], name: str) -> NDArray[np.generic]:
    if np.isinf(values).any():
        raise DataError(f"{name} contains ±inf; mark missing readings as NaN instead")
    return values


def refuse_inf(da: xr.DataArray, name: str) -> xr.DataArray:
    """``da`` unchanged, or a :class:`DataError` if it holds ±inf (raised when computed, on dask).

    Pointwise results (resistivity, XLD) would otherwise carry ±inf through
    without a word, where every fit refuses it (DESIGN.md, "Missing and
    corrupt values").

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.chunks import refuse_inf
    >>> refuse_inf(xr.DataArray([1.0, np.nan]), "R_xx").values
    array([ 1., nan])
    >>> try:
    ...     refuse_inf(xr.DataArray([1.0, np.inf]), "R_xx")
    ... except ValueError as err:
    ...     print(err)
    R_xx contains ±inf; mark missing readings as NaN instead
    """
    return xr.apply_ufunc(
        _inf_kernel,
        da,
        kwargs={"name": name},
        dask="parallelized",
        output_dtypes=[da.dtype],
        keep_attrs=True,
    )


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
