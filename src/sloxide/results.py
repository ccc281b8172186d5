"""Reduced results stored beside the raw runs, with their provenance.

Results live in one Tiled container at the root of the catalog,
:data:`RESULTS_CONTAINER` (``"sloxide_results"``), next to the runs: one node per
reduction, written with tiled's own xarray writer so any Tiled client reads it back
as an ``xarray.Dataset``. Each node's attrs carry the provenance DESIGN.md fixes:

``sloxide_version``
    The version that reduced it.
``method``
    The accessor method (``"ahe"``, ``"amr_harmonics"``, ...).
``parameters``
    The keyword arguments it was called with.
``raw_uids``
    The uids of the raw runs it was reduced from (two for an XLD pair, a
    temperature series for a scaling).
``reduced_at``
    When, as an ISO 8601 UTC time.

The node key is a digest of (method, raw uids, parameters, version), so storing
the same reduction twice is a no-op, and a pipeline knows a run is done when
:func:`has_result` says so.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from . import __version__
from .errors import SloxideError

__all__ = [
    "RESULTS_CONTAINER",
    "plain_dataset",
    "result_key",
    "has_result",
    "store_result",
    "read_results",
]

#: The container, at the catalog root, that holds every stored result.
RESULTS_CONTAINER = "sloxide_results"

# Tiled stores arrays of one or more dims; 0-d results (R0, Tc, P, ...) are written
# with this length-1 dim and read back as 0-d.
_SCALAR_DIM = "sloxide_scalar"


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as plain Python (JSON and msgpack-safe)."""
    return json.loads(json.dumps(value, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def plain_dataset(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with numpy data (units as ``units`` attrs) and JSON-able attrs.

    What results are stored as, and what pickles to and from a dask worker: attrs
    read from Tiled are Tiled's own mapping views, which do not pickle.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.results import plain_dataset
    >>> ds = xr.Dataset({"Tc": ((), 75.6, {"units": "K", "n": np.int64(3)})})
    >>> type(plain_dataset(ds).Tc.attrs["n"]).__name__
    'int'
    """
    from .units import dequantify

    plain = dequantify(ds).compute()
    plain.attrs = _jsonable(dict(plain.attrs))
    for variable in plain.variables.values():
        variable.attrs = _jsonable(dict(variable.attrs))
    return plain


def result_key(
    method: str,
    raw_uids: Sequence[str],
    parameters: Mapping[str, Any] | None = None,
    version: str = __version__,
) -> str:
    """The node key of one reduction: ``<method>-<digest>``.

    Examples
    --------
    >>> from sloxide.results import result_key
    >>> key = result_key("ahe", ["a-uid"], {}, version="1.0")
    >>> key.startswith("ahe-"), key == result_key("ahe", ["a-uid"], {}, version="1.0")
    (True, True)
    >>> key == result_key("ahe", ["a-uid"], {}, version="1.1")
    False
    """
    identity = json.dumps(
        [method, sorted(raw_uids), _jsonable(dict(parameters or {})), version], sort_keys=True
    )
    return f"{method}-{hashlib.sha256(identity.encode()).hexdigest()[:24]}"


def _container(catalog: Any, create: bool) -> Any:
    if RESULTS_CONTAINER in catalog:
        return catalog[RESULTS_CONTAINER]
    if not create:
        return None
    try:
        return catalog.create_container(
            RESULTS_CONTAINER, metadata={"description": "sloxide reduction results"}
        )
    except Exception:  # another writer made it first
        if RESULTS_CONTAINER in catalog:
            return catalog[RESULTS_CONTAINER]
        raise


def has_result(
    catalog: Any, method: str, raw_uids: Sequence[str], parameters: Mapping[str, Any] | None
) -> bool:
    """True when this reduction, by this sloxide version, is already stored.

    Examples
    --------
    >>> import tempfile
    >>> from sloxide.catalog import open_catalog
    >>> from sloxide.results import has_result
    >>> has_result(open_catalog(tempfile.mkdtemp(), create=True), "ahe", ["a-uid"], {})
    False
    """
    container = _container(catalog, create=False)
    return container is not None and result_key(method, raw_uids, parameters) in container


def store_result(
    catalog: Any,
    result: xr.Dataset,
    *,
    method: str,
    raw_uids: Sequence[str],
    parameters: Mapping[str, Any] | None = None,
) -> str:
    """Write one reduction result to the catalog with its provenance; returns its key.

    Parameters
    ----------
    catalog : tiled client
        The catalog root (what :func:`sloxide.catalog.open_catalog` returns).
    result : xarray.Dataset
        What the accessor returned: numpy- or pint-backed (units are kept as
        ``units`` attrs) or dask-backed (computed here).
    method : str
        The accessor method that made it.
    raw_uids : sequence of str
        The raw runs it comes from.
    parameters : mapping, optional
        The keyword arguments of the method.

    Returns
    -------
    str
        The node key in :data:`RESULTS_CONTAINER`. Storing the same reduction
        again returns the same key and writes nothing.

    Raises
    ------
    SloxideError
        If ``raw_uids`` is empty or ``result`` is not a Dataset.

    Examples
    --------
    >>> import tempfile
    >>> import xarray as xr
    >>> from sloxide.catalog import open_catalog
    >>> from sloxide.results import read_results, store_result
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> result = xr.Dataset({"Tc": ((), 75.6, {"units": "K"})})
    >>> key = store_result(catalog, result, method="curie_temperature", raw_uids=["a-uid"])
    >>> back = read_results("a-uid", catalog=catalog)
    >>> float(back.Tc), back.Tc.attrs["units"], back.attrs["raw_uids"]
    (75.6, 'K', ['a-uid'])
    """
    if not isinstance(result, xr.Dataset):
        raise SloxideError(f"a result must be an xarray.Dataset, got {type(result).__name__}")
    uids = [str(uid) for uid in raw_uids]
    if not uids:
        raise SloxideError("a result needs the uids of the raw runs it was reduced from")
    from tiled.client.xarray import write_xarray_dataset

    key = result_key(method, uids, parameters)
    container = _container(catalog, create=True)
    if key in container:
        return key
    plain = plain_dataset(result)
    plain = plain.drop_vars(
        [n for n, v in plain.variables.items() if v.dtype.kind not in "biufcM"]
    )
    plain = plain.assign(
        {name: v.expand_dims(_SCALAR_DIM) for name, v in plain.data_vars.items() if v.ndim == 0}
    )
    plain = plain.assign_coords(
        {name: c.expand_dims(_SCALAR_DIM) for name, c in plain.coords.items() if c.ndim == 0}
    )
    plain.attrs = {
        "sloxide_version": __version__,
        "method": method,
        "parameters": _jsonable(dict(parameters or {})),
        "raw_uids": uids,
        "reduced_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    write_xarray_dataset(container, plain, key=key)
    return key


def read_results(
    run_or_uid: Any, *, catalog: Any = None, method: str | None = None
) -> xr.Dataset | None:
    """The stored results of a run, newest version per method, or ``None`` when it has none.

    Parameters
    ----------
    run_or_uid : tiled run client or str
        A raw run, or its uid.
    catalog : tiled client, str or os.PathLike, optional
        The catalog root; default the one of :func:`sloxide.catalog.open_catalog`
        (for a uid) or the run's own catalog.
    method : str, optional
        Only the results of this accessor method.

    Returns
    -------
    xarray.Dataset or None
        The variables of every stored method merged (they have distinct names),
        with the provenance attrs: ``sloxide_version``, ``parameters`` and
        ``reduced_at`` of a single method, or dicts keyed by method when there
        are several; ``raw_uids``; ``methods``.

    Raises
    ------
    SloxideError
        If two methods' variables clash; pass ``method=`` to pick one.

    Examples
    --------
    Results are found by the uid of any raw run they came from (see
    :func:`store_result` for a stored one):

    >>> import tempfile
    >>> from sloxide.catalog import open_catalog
    >>> from sloxide.results import read_results
    >>> read_results("no-such-run", catalog=open_catalog(tempfile.mkdtemp(), create=True)) is None
    True
    """
    from tiled.queries import Contains, Eq

    from .catalog import open_catalog

    root = open_catalog(catalog) if isinstance(catalog, str | None) else catalog
    if hasattr(run_or_uid, "metadata"):
        uid = run_or_uid.metadata["start"]["uid"]
        if catalog is None:
            root = _root_of(run_or_uid)
    else:
        uid = str(run_or_uid)
    container = _container(root, create=False)
    if container is None:
        return None
    found = container.search(Contains("attrs.raw_uids", uid))
    if method is not None:
        found = found.search(Eq("attrs.method", method))
    newest: dict[str, xr.Dataset] = {}
    for node in found.values():
        ds = node.read()
        if _SCALAR_DIM in ds.dims:
            ds = ds.isel({_SCALAR_DIM: 0})
        name = ds.attrs["method"]
        if name not in newest or ds.attrs["reduced_at"] >= newest[name].attrs["reduced_at"]:
            newest[name] = ds
    if not newest:
        return None
    if len(newest) == 1:
        (only,) = newest.values()
        return only.assign_attrs(methods=[only.attrs["method"]])
    try:
        merged = xr.merge(list(newest.values()), compat="no_conflicts", combine_attrs="drop")
    except (xr.MergeError, ValueError) as exc:
        raise SloxideError(
            f"the stored results of {uid} ({sorted(newest)}) cannot be merged ({exc}); "
            "pass method= to read one"
        ) from None
    merged.attrs = {
        "methods": sorted(newest),
        "raw_uids": sorted({u for ds in newest.values() for u in ds.attrs["raw_uids"]}),
        **{
            field: {m: ds.attrs[field] for m, ds in newest.items()}
            for field in ("sloxide_version", "parameters", "reduced_at")
        },
    }
    return merged


def _root_of(run: Any) -> Any:
    """The catalog root a run client belongs to."""
    from tiled.client import from_context

    return from_context(run.context)
