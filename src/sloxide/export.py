"""Export a run (or its stored results) to netCDF, Zarr or CSV, units and context kept.

Every variable keeps its ``units`` (and ``quantity``) attr, and the Dataset keeps the
``sloxide`` context and provenance. netCDF attributes cannot hold nested dicts, so
dict, list, bool and None attrs are written as JSON text, and their names listed in
the ``sloxide_json_attrs`` attr; :func:`open_exported` decodes them again. Zarr
keeps JSON attrs as they are. CSV is a table with one column per variable,
``name [units]``, and the attrs in a JSON file beside it.

NeXus is left out: no maintained library writes xarray to NeXus cleanly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import xarray as xr

from .errors import SloxideError
from .units import dequantify

__all__ = ["FORMATS", "export_dataset", "open_exported"]

FORMATS = ("netcdf", "zarr", "csv")
_JSON_ATTRS = "sloxide_json_attrs"
_SUFFIX = {"netcdf": ".nc", "zarr": ".zarr", "csv": ".csv"}


def _encode(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    encoded = []
    for key, value in attrs.items():
        if isinstance(value, dict | list | tuple | bool) or value is None:
            out[key] = json.dumps(value, default=str)
            encoded.append(key)
        else:
            out[key] = value
    if encoded:
        out[_JSON_ATTRS] = json.dumps(encoded)
    return out


def _decode(attrs: dict[str, Any]) -> dict[str, Any]:
    names = json.loads(attrs.pop(_JSON_ATTRS, "[]"))
    return {k: json.loads(v) if k in names else v for k, v in attrs.items()}


def export_dataset(ds: xr.Dataset, path: str | os.PathLike[str], fmt: str) -> Path:
    """Write ``ds`` to ``path`` as ``fmt`` ("netcdf", "zarr" or "csv"); returns the path.

    Parameters
    ----------
    ds : xarray.Dataset
        A run from :func:`sloxide.io.read_run` or results from
        :func:`sloxide.io.read_results`; pint-backed data is written with
        ``units`` attrs.
    path : str or os.PathLike
        The file (or Zarr directory) to write; an existing one is replaced.
    fmt : {"netcdf", "zarr", "csv"}

    Returns
    -------
    pathlib.Path

    Raises
    ------
    SloxideError
        For an unknown format, or data the format cannot hold (e.g. CSV of a
        Dataset with variables on different dims).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import xarray as xr
    >>> from sloxide.export import export_dataset, open_exported
    >>> ds = xr.Dataset({"R_xy": ("time", [1.0, 2.0], {"units": "ohm"})},
    ...                 attrs={"sloxide": {"measurement": "field_loop"}})
    >>> path = export_dataset(ds, pathlib.Path(tempfile.mkdtemp()) / "run.nc", "netcdf")
    >>> back = open_exported(path)
    >>> back.R_xy.attrs["units"], back.attrs["sloxide"]["measurement"]
    ('ohm', 'field_loop')
    """
    if fmt not in FORMATS:
        raise SloxideError(f"the export format is one of {FORMATS}, got {fmt!r}")
    path = Path(path)
    plain = dequantify(ds).compute()
    if fmt == "csv":
        return _to_csv(plain, path)
    encoded = plain.copy()
    encoded.attrs = _encode(dict(plain.attrs))
    for name, variable in plain.variables.items():
        encoded[name].attrs = _encode(dict(variable.attrs))
    if fmt == "netcdf":
        encoded.to_netcdf(path, engine="h5netcdf", invalid_netcdf=False)
    else:
        encoded.to_zarr(path, mode="w", consolidated=False)
    return path


def _to_csv(ds: xr.Dataset, path: Path) -> Path:
    dims = {v.dims for v in ds.data_vars.values()}
    if len(dims) > 1:
        raise SloxideError(
            f"CSV holds one table: the variables are on different dims {sorted(dims)}; "
            "export netcdf or zarr instead"
        )
    table = ds.to_dataframe()
    table.columns = [
        f"{name} [{ds[name].attrs['units']}]" if ds[name].attrs.get("units") else str(name)
        for name in table.columns
    ]
    table.index.names = [
        f"{n} [{ds[n].attrs['units']}]" if n in ds.coords and ds[n].attrs.get("units") else n
        for n in table.index.names
    ]
    table.to_csv(path)
    sidecar = {
        "attrs": ds.attrs,
        "variables": {str(name): dict(v.attrs) for name, v in ds.variables.items()},
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=1, default=str))
    return path


def open_exported(path: str | os.PathLike[str]) -> xr.Dataset:
    """Open a netCDF or Zarr export with its attrs decoded (the inverse of export).

    Examples
    --------
    See :func:`export_dataset`.

    >>> from sloxide.export import open_exported
    >>> try:
    ...     open_exported("run.csv")
    ... except ValueError as err:
    ...     print(str(err)[:40])
    open_exported reads netCDF and Zarr; a C
    """
    path = Path(path)
    if path.suffix == ".csv":
        raise SloxideError(
            "open_exported reads netCDF and Zarr; a CSV export is a table: read it with "
            "pandas.read_csv and its attrs from the .json file beside it"
        )
    if path.suffix == ".zarr" or path.is_dir():
        ds = xr.open_zarr(path, consolidated=False).load()
    else:
        ds = xr.load_dataset(path, engine="h5netcdf")
    ds.attrs = _decode(dict(ds.attrs))
    for variable in ds.variables.values():
        variable.attrs = _decode(dict(variable.attrs))
    return ds
