"""Export a run (or its stored results) to netCDF, Zarr or CSV, units and context kept.

Every variable keeps its ``units`` (and ``quantity``) attr, and the Dataset keeps the
``sloxide`` context and provenance. netCDF attributes cannot hold nested dicts, so
dict, list, bool and None attrs are written as JSON text, and their names listed in
the ``sloxide_json_attrs`` attr; :func:`open_exported` decodes them again. Zarr
keeps JSON attrs as they are. CSV is a table with one column per variable,
``name [units]``, and the attrs in a JSON sidecar ``<table>.sloxide.json`` beside it
(``run.csv`` and ``run.csv.sloxide.json``): a name that can never be the table's own
and is unlikely to be anybody else's.

Nothing that sloxide did not write is deleted or overwritten
(:func:`check_export_path`):

* an existing file (the table, a netCDF file or a CSV sidecar) is replaced only with
  ``overwrite=True`` (``--force``), and a directory never is;
* a Zarr export goes to a new path, into an empty directory, or, with
  ``overwrite=True``, replaces an existing Zarr store that holds nothing but Zarr
  metadata and chunks; a directory with anything else in it is refused, forced or not;
* everything is written under a temporary name beside the target and moved into
  place when complete, so a failed export leaves what was there before untouched.

NeXus is left out: no maintained library writes xarray to NeXus cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xarray as xr

from .errors import SloxideError
from .units import dequantify

__all__ = [
    "FORMATS",
    "SIDECAR_SUFFIX",
    "ExportError",
    "check_export_path",
    "export_dataset",
    "open_exported",
    "sidecar_path",
]

FORMATS = ("netcdf", "zarr", "csv")
#: Appended to a CSV table's file name for its attrs: ``run.csv.sloxide.json``.
SIDECAR_SUFFIX = ".sloxide.json"
_JSON_ATTRS = "sloxide_json_attrs"
_SIDECAR_KIND = "sloxide CSV export"
# The one row of a CSV export of 0-d variables only (a Curie temperature).
_ROW_DIM = "sloxide_row"
_FORCE = "pass --force (overwrite=True) to replace it, or choose another path"
# What a Zarr store (format 2 or 3) holds: metadata files, and inside an array its chunks.
_ZARR_METADATA = frozenset({"zarr.json", ".zgroup", ".zarray", ".zattrs", ".zmetadata"})
_CHUNK_KEY = re.compile(r"^(c|\d+(\.\d+)*)$")


class ExportError(SloxideError):
    """The export cannot go where asked, or would replace what sloxide did not write.

    Examples
    --------
    >>> from sloxide.errors import SloxideError
    >>> from sloxide.export import ExportError
    >>> issubclass(ExportError, SloxideError)
    True
    """


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON sidecar of a CSV export: the table's name with ``.sloxide.json`` appended.

    Examples
    --------
    >>> from sloxide.export import sidecar_path
    >>> sidecar_path("out/run.csv").as_posix(), sidecar_path("data.json").name
    ('out/run.csv.sloxide.json', 'data.json.sloxide.json')
    """
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


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


# --------------------------------------------------------------------------- where to write


def _is_zarr_store(directory: Path) -> bool:
    return any((directory / name).is_file() for name in ("zarr.json", ".zgroup", ".zarray"))


def _is_array(directory: Path) -> bool:
    if (directory / ".zarray").is_file():
        return True
    try:
        meta = json.loads((directory / "zarr.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("node_type") == "array"


def _chunks_only(path: Path) -> bool:
    """Whether ``path`` (a chunk file, or a directory of chunk keys) holds only chunks."""
    if path.is_symlink() or not _CHUNK_KEY.match(path.name):
        return False
    if path.is_file():
        return True
    return path.is_dir() and all(_chunks_only(p) for p in path.iterdir())


def _foreign(store: Path) -> list[Path]:
    """What a Zarr store holds besides Zarr metadata, groups, arrays and chunks."""
    found: list[Path] = []
    array = _is_array(store)
    for entry in sorted(store.iterdir()):
        if entry.is_symlink():
            found.append(entry)
        elif entry.name in _ZARR_METADATA and entry.is_file():
            continue
        elif array and _chunks_only(entry):
            continue
        elif not array and entry.is_dir() and _is_zarr_store(entry):
            found += _foreign(entry)
        else:
            found.append(entry)
    return found


def _check_file_target(target: Path, overwrite: bool, what: str) -> None:
    if target.is_dir():
        raise ExportError(
            f"{str(target)!r} is a directory; the {what} is a file: name one, "
            f"e.g. {str(target / ('run' + _suffix(what)))!r}"
        )
    if not (target.exists() or target.is_symlink()):
        return
    if not overwrite:
        raise ExportError(f"{str(target)!r} exists; {_FORCE}")
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        raise ExportError(
            f"{str(target)!r} is not a regular file; sloxide replaces only files it could "
            "have written: choose another path"
        )


def _suffix(what: str) -> str:
    return {"netCDF file": ".nc", "CSV table": ".csv"}.get(what, ".json")


def check_export_path(
    path: str | os.PathLike[str], fmt: str, *, overwrite: bool = False
) -> tuple[Path, ...]:
    """Check that an export of format ``fmt`` may be written to ``path``; nothing is written.

    :func:`export_dataset` makes the same checks; call this first to refuse a
    bad path before reading the data.

    Parameters
    ----------
    path : str or os.PathLike
        The file (netCDF, CSV) or directory (Zarr) to write.
    fmt : {"netcdf", "zarr", "csv"}
        The export format.
    overwrite : bool, default False
        Replace an existing file, or an existing Zarr store that holds nothing but
        Zarr data (``--force``). A directory that is not a Zarr store is never
        replaced, and neither is anything but a regular file.

    Returns
    -------
    tuple of pathlib.Path
        The paths the export writes: the file or store, and for CSV its sidecar.

    Raises
    ------
    ExportError
        If the folder to write in does not exist or is not writable, if a file or
        store is in the way without ``overwrite``, if a directory is named where a
        file goes, or if a directory holds anything but a Zarr store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sloxide.export import check_export_path
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in check_export_path(folder / "run.csv", "csv")]
    ['run.csv', 'run.csv.sloxide.json']
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> check_export_path(folder, "zarr", overwrite=True)
    Traceback (most recent call last):
    ...
    sloxide.export.ExportError: '...' is a directory that holds other files (notes.txt) ...
    """
    if fmt not in FORMATS:
        raise ExportError(f"the export format is one of {FORMATS}, got {fmt!r}")
    target = Path(os.path.abspath(path))
    parent = target.parent
    if not parent.is_dir():
        what = "does not exist" if not parent.exists() else "is not a directory"
        raise ExportError(
            f"the folder to write {str(path)!r} in, {str(parent)!r}, {what}; create it first "
            "or choose another path"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(
            f"cannot write in {str(parent)!r}: permission denied; choose another folder"
        )
    if fmt == "netcdf":
        _check_file_target(target, overwrite, "netCDF file")
        return (target,)
    if fmt == "csv":
        sidecar = sidecar_path(target)
        _check_file_target(target, overwrite, "CSV table")
        _check_file_target(sidecar, overwrite, "CSV sidecar")
        return (target, sidecar)
    if target.is_symlink():
        raise ExportError(
            f"{str(target)!r} is a symbolic link; sloxide writes a Zarr store neither "
            "through nor over one: choose another path"
        )
    if target.exists() and not target.is_dir():
        _check_file_target(target, overwrite, "Zarr store")
    elif target.is_dir() and any(target.iterdir()):
        if not _is_zarr_store(target):
            entries = sorted(p.name for p in target.iterdir())
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise ExportError(
                f"{str(target)!r} is a directory that holds other files ({shown}) and is "
                "not a Zarr store; sloxide writes a store only to a new or empty directory: "
                f"name one, e.g. {str(target / 'run.zarr')!r}"
            )
        if not overwrite:
            raise ExportError(f"{str(target)!r} holds a Zarr store; {_FORCE}")
        foreign = _foreign(target)
        if foreign:
            raise ExportError(
                f"{str(target)!r} is a Zarr store but also holds "
                f"{', '.join(str(p.relative_to(target)) for p in foreign[:3])}, which sloxide "
                "did not write; it will not replace it even with --force: move those away "
                "or choose another path"
            )
    return (target,)


# --------------------------------------------------------------------------- writing


def _temporary(target: Path) -> Path:
    """A new name beside ``target`` for writing before the move into place."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.sloxide-tmp")


@contextlib.contextmanager
def _cleanup(*paths: Path) -> Iterator[None]:
    """Remove ``paths`` (temporary files or stores) if the block fails."""
    try:
        yield
    except BaseException:
        for path in paths:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
        raise


def _place(written: Path, target: Path, overwrite: bool) -> None:
    """Move a written file into place; without ``overwrite`` never over an existing one."""
    if overwrite:
        os.replace(written, target)
        return
    try:
        os.link(written, target)  # fails if the target appeared meanwhile: no clobbering
    except FileExistsError:
        raise ExportError(f"{str(target)!r} exists; {_FORCE}") from None
    except OSError:  # a file system without hard links
        if target.exists() or target.is_symlink():
            raise ExportError(f"{str(target)!r} exists; {_FORCE}") from None
        os.replace(written, target)
        return
    written.unlink()


def _write_zarr(ds: xr.Dataset, target: Path, overwrite: bool) -> None:
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        # An empty directory (perhaps the working directory): write into it; anything
        # in it after a failure is ours.
        try:
            ds.to_zarr(target, mode="w-", consolidated=False)
        except BaseException:
            for entry in target.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
            raise
        return
    staged = _temporary(target)
    with _cleanup(staged):
        ds.to_zarr(staged, mode="w-", consolidated=False)
        if not (target.exists() or target.is_symlink()):
            os.rename(staged, target)
            return
        check_export_path(target, "zarr", overwrite=overwrite)  # again, just before
        if target.is_dir() and not target.is_symlink():
            old = _temporary(target)
            os.rename(target, old)
            os.rename(staged, target)
            shutil.rmtree(old)
        else:
            target.unlink()
            os.rename(staged, target)


def export_dataset(
    ds: xr.Dataset, path: str | os.PathLike[str], fmt: str, *, overwrite: bool = False
) -> Path:
    """Write ``ds`` to ``path`` as ``fmt`` ("netcdf", "zarr" or "csv"); returns the path.

    Parameters
    ----------
    ds : xarray.Dataset
        A run from :func:`sloxide.io.read_run` or results from
        :func:`sloxide.io.read_results`; pint-backed data is written with
        ``units`` attrs.
    path : str or os.PathLike
        The file (netCDF, CSV) or directory (Zarr) to write. A CSV table's attrs
        go to :func:`sidecar_path` beside it, ``<path>.sloxide.json``.
    fmt : {"netcdf", "zarr", "csv"}
        The format.
    overwrite : bool, default False
        Replace an existing file or Zarr store (never anything else; see
        :func:`check_export_path`).

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Raises
    ------
    ExportError
        For an unknown format, a path :func:`check_export_path` refuses, or a
        write that fails (the disk is full, say); what was at the path is then
        left as it was.
    SloxideError
        For data the format cannot hold (e.g. CSV of a Dataset with variables on
        different dims).

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
    >>> export_dataset(ds, path, "netcdf")
    Traceback (most recent call last):
    ...
    sloxide.export.ExportError: '.../run.nc' exists; pass --force (overwrite=True) ...
    """
    targets = check_export_path(path, fmt, overwrite=overwrite)
    target = targets[0]
    plain = dequantify(ds).compute()
    try:
        if fmt == "csv":
            _to_csv(plain, target, overwrite)
            return target
        encoded = plain.copy()
        encoded.attrs = _encode(dict(plain.attrs))
        for name, variable in plain.variables.items():
            encoded[name].attrs = _encode(dict(variable.attrs))
        if fmt == "netcdf":
            staged = _temporary(target)
            with _cleanup(staged):
                encoded.to_netcdf(staged, engine="h5netcdf", invalid_netcdf=False)
                _place(staged, target, overwrite)
        else:
            _write_zarr(encoded, target, overwrite)
    except OSError as exc:
        raise ExportError(
            f"writing {str(target)!r} failed: {exc.strerror or exc}; nothing there was "
            "changed: free some space or choose another path"
        ) from None
    return target


def _label(ds: xr.Dataset, name: Any) -> str:
    units = ds[name].attrs.get("units") if name in ds.variables else None
    return f"{name} [{units}]" if units else str(name)


def _to_csv(ds: xr.Dataset, path: Path, overwrite: bool) -> None:
    # Stored results mix dims (0-d R0 beside rho_ahe(branch, field)): the table is on
    # all of them, each variable repeated along the dims it lacks, and the sidecar
    # records every variable's own dims and dtype to take it back.
    table_ds = ds if ds.dims else ds.expand_dims(_ROW_DIM)
    table = table_ds.to_dataframe()
    names = {_label(ds, name): str(name) for name in [*table.index.names, *table.columns]}
    table.columns = [_label(ds, name) for name in table.columns]
    table.index.names = [_label(ds, name) for name in table.index.names]
    sidecar = {
        "kind": _SIDECAR_KIND,
        "table": path.name,
        "index": list(table.index.names),
        "names": names,
        "coords": [str(name) for name in ds.coords if name not in ds.dims],
        "attrs": ds.attrs,
        "variables": {str(name): dict(v.attrs) for name, v in ds.variables.items()},
        "dims": {str(name): [str(d) for d in v.dims] for name, v in ds.variables.items()},
        "dtypes": {str(name): v.dtype.str for name, v in ds.variables.items()},
    }
    staged_table, staged_sidecar = _temporary(path), _temporary(sidecar_path(path))
    with _cleanup(staged_table, staged_sidecar):
        table.to_csv(staged_table)
        staged_sidecar.write_text(json.dumps(sidecar, indent=1, default=str))
        _place(staged_table, path, overwrite)
        _place(staged_sidecar, sidecar_path(path), overwrite)


# --------------------------------------------------------------------------- reading


def _open_csv(path: Path, sidecar: Path) -> xr.Dataset:
    import numpy as np
    import pandas as pd

    meta = json.loads(sidecar.read_text())
    if not isinstance(meta, dict) or meta.get("kind") != _SIDECAR_KIND:
        raise ExportError(f"{str(sidecar)!r} is not the sidecar of a sloxide CSV export")
    table = pd.read_csv(path, index_col=list(range(len(meta["index"]))))
    table = table.rename(columns=meta["names"])
    table.index.names = [meta["names"].get(n, n) for n in meta["index"]]
    # The rows are in the Dataset's order; a MultiIndex sorts its labels ("down" < "up").
    order = {
        name: pd.unique(table.index.get_level_values(i))
        for i, name in enumerate(table.index.names)
    }
    ds = xr.Dataset.from_dataframe(table).reindex(order)
    ds = ds.set_coords([name for name in meta["coords"] if name in ds.data_vars])
    if "dims" in meta:  # each variable back on its own dims, in its own dtype
        variables = {}
        for name, dims in meta["dims"].items():
            variable = ds[name].variable
            extra = {d: 0 for d in variable.dims if d not in dims}
            variable = variable.isel(extra).transpose(*dims)
            dtype = np.dtype(meta["dtypes"][name])
            if dtype.kind == "U":  # pandas reads an empty string as NaN
                variable = variable.copy(
                    data=np.where(pd.isna(variable.values), "", variable.values)
                )
            if dtype.kind in "biufU":
                variable = variable.astype(dtype)
            variables[name] = variable
        ds = xr.Dataset(
            {n: v for n, v in variables.items() if n not in ds.coords},
            coords={n: v for n, v in variables.items() if n in ds.coords},
        )
    ds.attrs = meta["attrs"]
    for name, attrs in meta["variables"].items():
        if name in ds.variables:
            ds[name].attrs = attrs
    return ds


def open_exported(path: str | os.PathLike[str]) -> xr.Dataset:
    """Open an export with its attrs decoded (the inverse of :func:`export_dataset`).

    Parameters
    ----------
    path : str or os.PathLike
        A netCDF file, a Zarr store, or a CSV table with its
        ``<path>.sloxide.json`` sidecar beside it.

    Returns
    -------
    xarray.Dataset
        Units as ``units`` attrs, the run's context and provenance as Dataset
        attrs. From CSV, values come back as numbers and text (CSV keeps no
        dtypes such as datetimes).

    Raises
    ------
    ExportError
        If ``path`` is a CSV table without its sidecar.

    Examples
    --------
    See :func:`export_dataset`.

    >>> from sloxide.export import open_exported
    >>> try:
    ...     open_exported("run.csv")
    ... except ValueError as err:
    ...     print(str(err)[:38])
    a CSV export is opened with its attrs
    """
    path = Path(path)
    sidecar = sidecar_path(path)
    if sidecar.is_file():
        return _open_csv(path, sidecar)
    if path.suffix == ".csv":
        raise ExportError(
            f"a CSV export is opened with its attrs from {str(sidecar)!r}, which is not "
            "there; export again, or read the bare table with pandas.read_csv"
        )
    if path.suffix == ".zarr" or path.is_dir():
        ds = xr.open_zarr(path, consolidated=False).load()
    else:
        ds = xr.load_dataset(path, engine="h5netcdf")
    ds.attrs = _decode(dict(ds.attrs))
    for variable in ds.variables.values():
        variable.attrs = _decode(dict(variable.attrs))
    return ds
