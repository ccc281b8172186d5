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

__all__ = ["require_single_chunk", "refuse_inf", "refuse_empty_curves"]


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


def refuse_empty_curves(da: xr.DataArray, dim: str, name: str, fix: str) -> None:
    """Raise :class:`DataError` naming every curve of ``da`` along ``dim`` that is all NaN.

    One empty curve in a stack of thousands used to reject the stack without saying
    which; the error lists the other dims' coordinates of the first few. Lazy (dask)
    data are left to the kernels, which refuse without the names rather than compute.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.chunks import refuse_empty_curves
    >>> da = xr.DataArray([[1.0, 2.0], [np.nan, np.nan]], dims=("temperature", "angle"),
    ...                   coords={"temperature": [5.0, 20.0]})
    >>> try:
    ...     refuse_empty_curves(da, "angle", "R_xx", "drop it first")
    ... except ValueError as err:
    ...     print(err)
    R_xx is all NaN in 1 of 2 curve(s), at temperature=20.0; drop it first
    """
    if da.chunks is not None or dim not in da.dims or da.sizes[dim] == 0:
        return
    # A plain sum is NaN exactly where a curve holds a NaN: one pass, no mask of the
    # stack's size; only then is the (rarer) all-NaN question asked.
    if not bool(np.isnan(da.sum(dim, skipna=False)).any()):
        return
    empty = da.isnull().all(dim)
    if not bool(empty.any()):
        return
    where = np.argwhere(np.atleast_1d(empty.values))
    labels = []
    for index in where[:5]:
        position = dict(zip(empty.dims, (int(i) for i in index), strict=True))
        labels.append(
            ", ".join(
                f"{d}={empty[d].values[i].item()!r}" if d in empty.coords else f"{d}[{i}]"
                for d, i in position.items()
            )
        )
    more = f" and {len(where) - 5} more" if len(where) > 5 else ""
    raise DataError(
        f"{name} is all NaN in {len(where)} of {empty.size} curve(s), at "
        f"{'; '.join(labels)}{more}; {fix}"
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
