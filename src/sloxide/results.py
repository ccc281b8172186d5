"""Reduced results stored beside the raw runs, with their provenance.

Results live in one Tiled container at the root of the catalog,
:data:`RESULTS_CONTAINER` (``"sloxide_results"``), next to the runs: one node per
reduction, written in one request (format 3, :data:`RESULTS_FORMAT`): a result of up to
:data:`INLINE_LIMIT` bytes of numbers, which is every result of the reduction table
on the instrument's runs, is whole in its node's metadata; a larger one keeps Tiled's
xarray layout (spec ``xarray_dataset``, one array per numeric variable with its
attrs), so its metadata stays small. Each node's attrs carry the provenance DESIGN.md
fixes:

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

The node key is a digest of (method, raw uids, parameters, version, storage
format), so storing the same reduction twice is a no-op, and a pipeline knows a
run is done when :func:`has_result` says so.

**What a stored result keeps.** Each node records its layout in its metadata
(``sloxide_layout``): every variable and coordinate with its role, dims, dtype, shape
and attrs, the values of the non-numeric ones (string coordinates such as ``branch`` =
``["up", "down"]``, ``carrier_type``) as JSON, and, in a format-3 node of inline
size, the numeric ones as their bytes in base64 (``data``, in the entry's dtype and
byte order). :func:`read_results` rebuilds the accessor's Dataset from it exactly:
values (NaN kept), dims, coordinate labels, dtypes, ``units`` and ``long_name``, 0-d
scalars as 0-d, and the accessor's own Dataset attrs beside the provenance.
Pint-backed output is stored as magnitudes with ``units`` attrs; read it back
pint-backed with ``quantify=True``. Why one node: a create is some 20 ms of the
catalog server's time whatever its size, and format 2 made two per variable
(docs/performance.md).

**What a stored result is found by.** The node's ``sloxide`` metadata holds the
run context at store time, searchable with Tiled's queries: ``method``,
``sample``, ``measurement``, ``edge`` (XAS), ``plane`` (AMR), ``raw_uids``,
``sloxide_version``, and the setpoints the raw runs share, under
``setpoints.<name>`` in :data:`SETPOINT_UNITS` (``temperature`` in K, ``field``
in T). :func:`collect` gathers results across a campaign with them.

Results of format 2 (the layout in metadata, an array node per numeric variable) are
read and collected as format 3. Results stored before format 2 (no layout, no context)
are still read by :func:`read_results`, as Tiled reads them (string variables were not
stored); they are not found by :func:`collect`: ``sloxide reduce`` stores them again
in the current format.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import math
import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from . import __version__
from .errors import SloxideError

__all__ = [
    "RESULTS_CONTAINER",
    "RESULTS_FORMAT",
    "SETPOINT_UNITS",
    "ResultsNotFoundError",
    "DuplicateResultsError",
    "plain_dataset",
    "result_key",
    "has_result",
    "store_result",
    "ResultWriter",
    "INLINE_LIMIT",
    "scalar_summary",
    "stored_index",
    "read_results",
    "collect",
]

#: The container, at the catalog root, that holds every stored result.
RESULTS_CONTAINER = "sloxide_results"

#: The layout version of stored results: 1 was Tiled's xarray layout alone, 2 added the
#: layout and the run context, 3 keeps a result of up to :data:`INLINE_LIMIT` bytes in
#: its node's metadata (one write). All three are read.
RESULTS_FORMAT = 3

#: The formats :func:`collect` finds (format 1 has no run context to search by).
_SEARCHABLE_FORMATS = (2, 3)

#: A result with at most this many bytes of numbers is stored whole in its node's
#: metadata; a larger one as an array per variable.
INLINE_LIMIT = 256 * 1024

#: Units a setpoint is stored and searched in, by the unit suffix of its start-document
#: key (``temperature_K`` is searched as ``temperature`` in K, ``field_mT`` as ``field``
#: in T).
SETPOINT_UNITS: dict[str, str] = {
    "K": "K", "T": "T", "mT": "T", "Oe": "T", "deg": "deg", "eV": "eV",
    "uA": "uA", "mA": "uA", "nm": "nm", "um": "nm", "s": "s",
}  # fmt: skip

# Tiled stores arrays of one or more dims; 0-d results (R0, Tc, P, ...) are written
# with this length-1 dim and read back as 0-d.
_SCALAR_DIM = "sloxide_scalar"
# Stored as Tiled arrays; other dtypes (strings, bools, datetimes, objects, complex)
# go in the node's layout metadata, where they are small and exact.
_ARRAY_KINDS = "iuf"
# Context fields a query or a collect dim may name, besides setpoints and "uid".
_CONTEXT_FIELDS = ("sample", "measurement", "edge", "plane", "method")


class ResultsNotFoundError(SloxideError):
    """No stored result matches: the catalog holds none, or none of that method or query.

    Examples
    --------
    >>> from sloxide.results import ResultsNotFoundError
    >>> issubclass(ResultsNotFoundError, ValueError)
    True
    """


class DuplicateResultsError(SloxideError):
    """Several raw runs give results at the same coordinates of :func:`collect`.

    Examples
    --------
    >>> from sloxide.errors import SloxideError
    >>> from sloxide.results import DuplicateResultsError
    >>> issubclass(DuplicateResultsError, SloxideError)
    True
    """


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
    version: str | None = None,
) -> str:
    """The node key of one reduction: ``<method>-<digest>``.

    ``version`` defaults to this sloxide's. The digest covers the storage format
    too, so results stored in an older format are reduced and stored again once.

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
        [
            method,
            sorted(raw_uids),
            _jsonable(dict(parameters or {})),
            __version__ if version is None else version,
            RESULTS_FORMAT,
        ],
        sort_keys=True,
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


def _root(catalog: Any) -> Any:
    """A catalog root from a client, a directory or URL, or None (the default catalog)."""
    if catalog is None or isinstance(catalog, str | os.PathLike):
        from .catalog import open_catalog

        return open_catalog(catalog)
    return catalog


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


# --------------------------------------------------------------------------- context


def split_setpoint(key: str) -> tuple[str, str | None]:
    """A setpoint key's name and unit suffix: ``"temperature_K"`` -> ``("temperature", "K")``.

    Examples
    --------
    >>> from sloxide.results import split_setpoint
    >>> split_setpoint("temperature_K"), split_setpoint("field_max_T"), split_setpoint("plane")
    (('temperature', 'K'), ('field_max', 'T'), ('plane', None))
    """
    name, _, suffix = key.rpartition("_")
    if name and suffix in SETPOINT_UNITS:
        return name, suffix
    return key, None


def _sample_name(sample: Any) -> Any:
    return sample.get("name") if isinstance(sample, Mapping) else sample


def _common(values: list[Any]) -> Any:
    """The value all runs share, or None when they differ."""
    texts = {json.dumps(v, sort_keys=True, default=str) for v in values}
    return values[0] if len(texts) == 1 else None


def _context(
    catalog: Any, uids: Sequence[str], starts: Sequence[Mapping[str, Any]] | None
) -> dict:
    """The searchable run context of a result: what its raw runs share."""
    from .units import convert

    if starts is None:
        starts = []
        for uid in uids:
            try:
                start = catalog[uid].metadata.get("start")
            except KeyError:  # a result of runs this catalog does not hold
                continue
            if start:
                starts.append(start)
    contexts = [dict(s.get("sloxide") or {}) for s in starts]
    if not contexts:
        return {}
    out: dict[str, Any] = {
        "sample": _common([_sample_name(c.get("sample")) for c in contexts]),
        "measurement": _common([c.get("measurement") for c in contexts]),
        "edge": _common([(c.get("xas") or {}).get("edge") for c in contexts]),
        "plane": _common([(c.get("rotation") or {}).get("plane") for c in contexts]),
    }
    times = [s["time"] for s in starts if isinstance(s.get("time"), int | float)]
    if times:
        out["run_time"] = min(times)
    setpoints: dict[str, Any] = {}
    units: dict[str, str] = {}
    for key, value in (contexts[0].get("setpoints") or {}).items():
        if _common([(c.get("setpoints") or {}).get(key) for c in contexts]) is None:
            continue  # differs between the runs (the temperatures of a series)
        name, suffix = split_setpoint(str(key))
        if suffix is not None and isinstance(value, int | float) and not isinstance(value, bool):
            setpoints[name] = float(convert(float(value), suffix, SETPOINT_UNITS[suffix]))
            units[name] = SETPOINT_UNITS[suffix]
        elif isinstance(value, str | int | float):
            setpoints[name] = value
    out["setpoints"] = setpoints
    out["setpoint_units"] = units
    return {k: v for k, v in out.items() if v is not None}


# --------------------------------------------------------------------------- layout


def _encode_number(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return {"float": repr(x)}
    return x


def _decode_number(x: Any) -> Any:
    return float(x["float"]) if isinstance(x, dict) and "float" in x else x


def _encode_values(values: np.ndarray) -> Any:
    """Non-numeric (or complex) values as JSON, exactly: see :func:`_decode_values`."""
    kind = values.dtype.kind
    if kind in "Mm":
        return values.view("i8").ravel().tolist()
    if kind == "c":
        return [
            [_encode_number(float(x)) for x in values.real.ravel()],
            [_encode_number(float(x)) for x in values.imag.ravel()],
        ]
    if kind == "S":
        return [x.decode("latin-1") for x in values.ravel().tolist()]
    flat = values.ravel().tolist()
    if kind == "O":
        return [
            _encode_number(x) if isinstance(x, int | float | str | None) else str(x) for x in flat
        ]
    return flat


def _decode_values(entry: Mapping[str, Any]) -> np.ndarray:
    dtype = np.dtype(entry["dtype"])
    shape = tuple(entry["shape"])
    values = entry["values"]
    if dtype.kind in "Mm":
        return np.asarray(values, dtype="i8").view(dtype).reshape(shape)
    if dtype.kind == "c":
        real, imag = ([_decode_number(x) for x in part] for part in values)
        return (np.asarray(real) + 1j * np.asarray(imag)).astype(dtype).reshape(shape)
    if dtype.kind == "S":
        return np.asarray([x.encode("latin-1") for x in values], dtype=dtype).reshape(shape)
    if dtype.kind == "O":
        out = np.empty(len(values), dtype=object)
        out[:] = [_decode_number(x) for x in values]
        return out.reshape(shape)
    return np.asarray(values, dtype=dtype).reshape(shape)


def _layout(plain: xr.Dataset, inline: bool) -> list[dict[str, Any]]:
    """One entry per coordinate and variable, in order: what rebuilds the Dataset.

    With ``inline``, numeric values are in the entry too (``data``: their bytes in
    base64, in the entry's dtype and byte order), so the node is the whole result.
    """
    entries = []
    for name, variable in plain.variables.items():
        entry: dict[str, Any] = {
            "name": str(name),
            "coord": name in plain.coords,
            "dims": [str(d) for d in variable.dims],
            "dtype": variable.dtype.str,
            "shape": list(variable.shape),
            "attrs": dict(variable.attrs),
        }
        if variable.dtype.kind not in _ARRAY_KINDS:
            entry["values"] = _encode_values(np.asarray(variable.values))
        elif inline:
            data = np.ascontiguousarray(variable.values).tobytes()
            entry["data"] = base64.b64encode(data).decode("ascii")
        entries.append(entry)
    return entries


def _decode_data(entry: Mapping[str, Any]) -> np.ndarray:
    """The numeric values of an inline entry (see :func:`_layout`), exactly as stored."""
    raw = base64.b64decode(entry["data"])
    values = np.frombuffer(raw, dtype=np.dtype(entry["dtype"])).reshape(entry["shape"])
    return values.copy()  # frombuffer's array is read-only


def _numeric_bytes(plain: xr.Dataset) -> int:
    return sum(v.nbytes for v in plain.variables.values() if v.dtype.kind in _ARRAY_KINDS)


# --------------------------------------------------------------------------- store


def store_result(
    catalog: Any,
    result: xr.Dataset,
    *,
    method: str,
    raw_uids: Sequence[str],
    parameters: Mapping[str, Any] | None = None,
    starts: Sequence[Mapping[str, Any]] | None = None,
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
    starts : sequence of mapping, optional
        The start documents of the raw runs, whose ``sloxide`` context (sample,
        measurement, shared setpoints) is stored to search by; default, read
        from the catalog.

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
    >>> result = xr.Dataset({"Tc": ((), 75.6, {"units": "K"}),
    ...                      "carrier_type": ((), "holes")})
    >>> key = store_result(catalog, result, method="curie_temperature", raw_uids=["a-uid"])
    >>> back = read_results("a-uid", catalog=catalog)
    >>> float(back.Tc), back.Tc.attrs["units"], back.carrier_type.item(), back.attrs["raw_uids"]
    (75.6, 'K', 'holes', ['a-uid'])
    """
    return ResultWriter(catalog).store(
        result, method=method, raw_uids=raw_uids, parameters=parameters, starts=starts
    )


class ResultWriter:
    """Stores many results in one catalog, each in one request (what ``sloxide reduce`` uses).

    The results container is looked up once. ``stored`` is what is known to be
    stored already (the keys of :func:`stored_index`): a key in it is not written
    again, and a key not in it is created without asking the catalog first; if
    another writer stored the same reduction meanwhile, the catalog refuses the
    second copy and the key is returned as stored. Without ``stored``, each key is
    looked up before it is written, as :func:`store_result` does.

    Parameters
    ----------
    catalog : tiled client
        The catalog root.
    stored : collection of str, optional
        Result keys already stored.

    Examples
    --------
    >>> import tempfile
    >>> import xarray as xr
    >>> from sloxide.catalog import open_catalog
    >>> from sloxide.results import ResultWriter, stored_index
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> writer = ResultWriter(catalog, stored=stored_index(catalog))
    >>> result = xr.Dataset({"Tc": ((), 75.6, {"units": "K"})})
    >>> key = writer.store(result, method="curie_temperature", raw_uids=["a-uid"])
    >>> key == writer.store(result, method="curie_temperature", raw_uids=["a-uid"])
    True
    >>> list(stored_index(catalog)) == [key]
    True
    """

    def __init__(self, catalog: Any, stored: Collection[str] | None = None) -> None:
        self.catalog = catalog
        self._stored = None if stored is None else set(stored)
        self._results: Any = None

    def store(
        self,
        result: xr.Dataset,
        *,
        method: str,
        raw_uids: Sequence[str],
        parameters: Mapping[str, Any] | None = None,
        starts: Sequence[Mapping[str, Any]] | None = None,
    ) -> str:
        """Store one result (see :func:`store_result`); returns its key."""
        if not isinstance(result, xr.Dataset):
            raise SloxideError(f"a result must be an xarray.Dataset, got {type(result).__name__}")
        uids = [str(uid) for uid in raw_uids]
        if not uids:
            raise SloxideError("a result needs the uids of the raw runs it was reduced from")
        key = result_key(method, uids, parameters)
        if self._results is None:
            self._results = _container(self.catalog, create=True)
        container = self._results
        if self._stored is not None:
            if key in self._stored:
                return key
        elif key in container:
            return key
        self._write(container, key, result, method, uids, parameters, starts)
        if self._stored is not None:
            self._stored.add(key)
        return key

    def _write(
        self,
        container: Any,
        key: str,
        result: xr.Dataset,
        method: str,
        uids: list[str],
        parameters: Mapping[str, Any] | None,
        starts: Sequence[Mapping[str, Any]] | None,
    ) -> None:
        from tiled.structures.core import Spec

        plain = plain_dataset(result)
        provenance = {
            "sloxide_version": __version__,
            "method": method,
            "parameters": _jsonable(dict(parameters or {})),
            "raw_uids": uids,
            "reduced_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds"),
        }
        own_attrs = dict(plain.attrs)
        search = {"format": RESULTS_FORMAT, **provenance, **_context(self.catalog, uids, starts)}
        # Every create is a request of some 20 ms of the catalog server's time whatever
        # its size (docs/performance.md): a result of the usual few kB is one node, its
        # numbers in its metadata. A large one keeps Tiled's xarray layout, an array per
        # variable, so its metadata stays small for listings and searches.
        inline = _numeric_bytes(plain) <= INLINE_LIMIT
        metadata = {
            "attrs": {**own_attrs, **provenance},
            "sloxide": _jsonable(search),
            "sloxide_layout": {"variables": _layout(plain, inline), "attrs": sorted(own_attrs)},
            "sloxide_scalars": scalar_summary(plain),
        }
        specs = [Spec("sloxide_result", version=str(RESULTS_FORMAT))]
        if not inline:
            specs.append(Spec("xarray_dataset"))
        try:
            node = container.create_container(key=key, specs=specs, metadata=metadata)
        except Exception as exc:
            if getattr(getattr(exc, "response", None), "status_code", None) == 409:
                return  # another writer stored this very reduction first
            raise
        if inline:
            return
        for name, variable in plain.variables.items():
            if variable.dtype.kind not in _ARRAY_KINDS:
                continue
            array, dims = variable.values, variable.dims
            if variable.ndim == 0:
                array, dims = array.reshape(1), (_SCALAR_DIM,)
            role = "xarray_coord" if name in plain.coords else "xarray_data_var"
            node.write_array(
                array, key=str(name), metadata={"attrs": dict(variable.attrs)}, dims=dims,
                specs=[Spec(role)],
            )  # fmt: skip


def scalar_summary(result: xr.Dataset) -> list[dict[str, Any]]:
    """The 0-d numeric variables of a result, as ``{variable, value, units}`` rows.

    Stored in each result's metadata, so a table of many results (``sloxide reduce``'s
    summary of runs already reduced) comes from one listing of the results container,
    not a read per result.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.results import scalar_summary
    >>> scalar_summary(xr.Dataset({"Tc": ((), 75.6, {"units": "K"}), "T": ("x", [1.0])}))
    [{'variable': 'Tc', 'value': 75.6, 'units': 'K'}]
    """
    return [
        {"variable": str(name), "value": float(v.values), "units": str(v.attrs.get("units", ""))}
        for name, v in result.data_vars.items()
        if v.ndim == 0 and v.dtype.kind in "iuf"
    ]


def stored_index(catalog: Any) -> dict[str, list[dict[str, Any]] | None]:
    """Every stored result's key, with its scalar summary (None for an older format).

    One paged listing of the results container: how a pipeline learns what is already
    reduced without a request per run.

    Examples
    --------
    >>> import tempfile
    >>> import xarray as xr
    >>> from sloxide.catalog import open_catalog
    >>> from sloxide.results import store_result, stored_index
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> key = store_result(catalog, xr.Dataset({"Tc": ((), 75.6, {"units": "K"})}),
    ...                    method="curie_temperature", raw_uids=["a-uid"])
    >>> stored_index(catalog)[key]
    [{'variable': 'Tc', 'value': 75.6, 'units': 'K'}]
    """
    container = _container(catalog, create=False)
    if container is None:
        return {}
    try:
        return _selected(container, "sloxide_scalars")
    except Exception:  # a server that cannot select: list the whole metadata
        return {str(key): node.metadata.get("sloxide_scalars") for key, node in container.items()}


def _selected(container: Any, field: str) -> dict[str, Any]:
    """``field`` of every node's metadata, by key: a listing that carries that field only.

    A result's metadata holds its numbers (format 3); a listing of the scalars alone is a
    few percent of the bytes, which is what keeps a second ``sloxide reduce`` pass short.
    """
    from urllib.parse import parse_qs, urlparse

    from tiled.client.utils import MSGPACK_MIME_TYPE, handle_error

    out: dict[str, Any] = {}
    link = container.item["links"]["search"]
    while link is not None:
        params = {**parse_qs(urlparse(link).query), "fields": "metadata", "select_metadata": field}
        content = handle_error(
            container.context.http_client.get(
                link, headers={"Accept": MSGPACK_MIME_TYPE}, params=params
            )
        ).json()
        for item in content["data"]:
            out[str(item["id"])] = item["attributes"]["metadata"]["selected"]
        link = content["links"]["next"]
    return out


# --------------------------------------------------------------------------- read


def _read_node(node: Any, names: set[str] | None = None) -> xr.Dataset:
    """One stored result as the accessor returned it (or ``names`` of it)."""
    layout = node.metadata.get("sloxide_layout")
    if layout is None:  # format 1: Tiled's layout alone
        ds = node.read()
        if _SCALAR_DIM in ds.dims:
            ds = ds.isel({_SCALAR_DIM: 0})
        return ds
    entries = [e for e in layout["variables"] if names is None or e["name"] in names]
    stored = [e for e in entries if "values" not in e and "data" not in e]
    # Tiled fetches 1-d arrays in one request as one table, which is right only when
    # they share their dims (its table of arrays on different dims of one length is
    # their outer product): read them grouped by dims.
    groups: dict[tuple[str, ...], list[str]] = {}
    for e in stored:
        groups.setdefault(tuple(e["dims"]) or (_SCALAR_DIM,), []).append(e["name"])
    arrays: dict[str, np.ndarray] = {}
    for group in groups.values():
        read = node.read(variables=group)
        arrays.update({name: np.asarray(read[name].values) for name in group})
    data_vars: dict[str, xr.Variable] = {}
    coords: dict[str, xr.Variable] = {}
    for e in entries:
        if "values" in e:
            values = _decode_values(e)
        elif "data" in e:
            values = _decode_data(e)
        else:
            values = arrays[e["name"]].reshape(e["shape"]).astype(np.dtype(e["dtype"]), copy=False)
        variable = xr.Variable(e["dims"], values, dict(e["attrs"]))
        (coords if e["coord"] else data_vars)[e["name"]] = variable
    attrs = dict(node.metadata["attrs"])
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def read_results(
    run_or_uid: Any,
    *,
    catalog: Any = None,
    method: str | None = None,
    quantify: bool = False,
) -> xr.Dataset | None:
    """The stored results of a run, newest per method, or ``None`` when it has none.

    Each result is what the accessor returned on the run (:func:`sloxide.io.read_run`
    then ``ds.sloxide.<method>()``): the same variables, coordinates (string labels
    such as ``branch`` included), dims, dtypes, values (NaN kept), 0-d scalars as
    0-d, ``units`` and ``long_name`` attrs, and the accessor's Dataset attrs.

    Parameters
    ----------
    run_or_uid : tiled run client or str
        A raw run, or its uid.
    catalog : tiled client, str or os.PathLike, optional
        The catalog root; default the one of :func:`sloxide.catalog.open_catalog`
        (for a uid) or the run's own catalog.
    method : str, optional
        Only the results of this accessor method.
    quantify : bool, default False
        Return the data variables pint-backed (their ``units`` attrs parsed), as
        the accessor does on pint-backed input. Default: ``units`` attrs, as
        :func:`sloxide.io.read_run` gives and the accessor returns on it.
        Index coordinates keep ``units`` attrs either way (a pint index breaks
        ``.sel``).

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

    root = _root(catalog)
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
    newest: dict[str, tuple[str, Any]] = {}
    for node in found.values():
        attrs = node.metadata["attrs"]
        name = attrs["method"]
        if name not in newest or attrs["reduced_at"] >= newest[name][0]:
            newest[name] = (attrs["reduced_at"], node)
    if not newest:
        return None
    results = {name: _read_node(node) for name, (_, node) in newest.items()}
    if len(results) == 1:
        (only,) = results.values()
        merged = only.assign_attrs(methods=[only.attrs["method"]])
    else:
        try:
            merged = xr.merge(
                list(results.values()), compat="no_conflicts", combine_attrs="drop_conflicts"
            )
        except (xr.MergeError, ValueError) as exc:
            raise SloxideError(
                f"the stored results of {uid} ({sorted(results)}) cannot be merged ({exc}); "
                "pass method= to read one"
            ) from None
        merged.attrs.pop("method", None)
        merged.attrs.update({
            "methods": sorted(results),
            "raw_uids": sorted({u for ds in results.values() for u in ds.attrs["raw_uids"]}),
            **{
                field: {m: ds.attrs[field] for m, ds in results.items()}
                for field in ("sloxide_version", "parameters", "reduced_at")
            },
        })  # fmt: skip
    if quantify:
        from .units import quantify_data_vars

        merged = quantify_data_vars(merged)
    return merged


# --------------------------------------------------------------------------- collect


def _setpoint_value(value: Any, name: str, suffix: str | None) -> float:
    """A query value for setpoint ``name`` as a number in its stored units."""
    import pint

    from .units import conversion_factors, parse_quantity

    if isinstance(value, str):
        value = parse_quantity(value)
    if isinstance(value, pint.Quantity):
        targets = [SETPOINT_UNITS[suffix]] if suffix else sorted(set(SETPOINT_UNITS.values()))
        for target in targets:
            try:
                scale, offset = conversion_factors(str(value.units), target)
            except (pint.errors.DimensionalityError, ValueError):
                continue
            return float(value.magnitude) * scale + offset
        raise SloxideError(
            f"{name}={value!s}: setpoints are stored in {sorted(set(SETPOINT_UNITS.values()))}; "
            f"give {name} in one of those (e.g. '20 K', '0.5 T')"
        )
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SloxideError(
            f"{name}={value!r}: give a setpoint as a number, a quantity such as '20 K', or a "
            "(low, high) range of those"
        )
    if suffix is not None and SETPOINT_UNITS[suffix] != suffix:
        return float(conversion_factors(suffix, SETPOINT_UNITS[suffix])[0] * value)
    return float(value)


def _queries(key: str, value: Any) -> list[Any]:
    """Tiled queries on the results' ``sloxide`` metadata for one ``key=value`` filter."""
    from tiled.queries import Comparison, Contains, Eq, In

    if key in _CONTEXT_FIELDS or key in ("version", "sloxide_version"):
        field = "sloxide.sloxide_version" if "version" in key else f"sloxide.{key}"
        if isinstance(value, list | tuple | set | frozenset):
            return [In(field, [str(v) for v in value])]
        return [Eq(field, str(value))]
    if key == "uid":
        return [Contains("sloxide.raw_uids", str(value))]
    name, suffix = split_setpoint(key)
    field = f"sloxide.setpoints.{name}"
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise SloxideError(
                f"{key}={value!r}: a range is (low, high), e.g. {key}=(2, 20) or "
                f"{key}=('2 K', '20 K')"
            )
        low, high = (_setpoint_value(v, key, suffix) for v in value)
        return [Comparison("ge", field, min(low, high)), Comparison("le", field, max(low, high))]
    number = _setpoint_value(value, key, suffix)
    tolerance = 1e-9 * max(1.0, abs(number))
    return [
        Comparison("ge", field, number - tolerance),
        Comparison("le", field, number + tolerance),
    ]


def _coordinate(search: Mapping[str, Any], dim: str, key: str, method: str) -> Any:
    """The value of collect dim ``dim`` for one stored result."""
    if dim == "uid":
        return " ".join(search["raw_uids"])
    if dim in _CONTEXT_FIELDS and search.get(dim) is not None:
        return search[dim]
    name, _ = split_setpoint(dim)
    setpoints = search.get("setpoints") or {}
    if name in setpoints:
        return setpoints[name]
    have = [f for f in _CONTEXT_FIELDS if search.get(f) is not None] + sorted(setpoints) + ["uid"]
    raise SloxideError(
        f"the stored {method} result of runs {search['raw_uids']} has no {dim!r} (the raw runs "
        f"do not share one); collect it by= some of {have}"
    )


def _by_attrs(dim: str, units: Mapping[str, str]) -> dict[str, str]:
    name, _ = split_setpoint(dim)
    if dim == "uid":
        return {"long_name": "raw run uids"}
    if dim in _CONTEXT_FIELDS:
        return {"long_name": dim}
    attrs = {"long_name": name, "description": "setpoint shared by the raw runs"}
    if name in units:
        attrs["units"] = units[name]
    return attrs


def _pick(
    hits: list[tuple[str, Any, dict[str, Any]]], by: tuple[str, ...], method: str, duplicates: str
) -> list[tuple[str, Any, dict[str, Any]]]:
    """One stored result per coordinate (see :func:`collect`, "Duplicates")."""
    cells: dict[tuple[Any, ...], dict[tuple[str, ...], tuple[str, Any, dict[str, Any]]]] = {}
    for key, node, search in hits:
        cell = tuple(_coordinate(search, dim, key, method) for dim in by)
        runs = cells.setdefault(cell, {})
        raw = tuple(sorted(search["raw_uids"]))
        if raw not in runs or search["reduced_at"] > runs[raw][2]["reduced_at"]:
            runs[raw] = (key, node, search)  # a re-reduction of the same runs: newest wins
    picked = []
    for cell, runs in cells.items():
        if len(runs) > 1 and duplicates != "newest":
            where = ", ".join(f"{d}={v!r}" for d, v in zip(by, cell, strict=True))
            raise DuplicateResultsError(
                f"{len(runs)} different runs have {method} results at {where} "
                f"({sorted(' '.join(r) for r in runs)}); add 'uid' to by=, narrow the query "
                "(e.g. uid=...), or pass duplicates='newest' to keep the latest run's"
            )
        picked.append(
            max(runs.values(), key=lambda h: (h[2].get("run_time", 0.0), h[2]["reduced_at"]))
        )
    return picked


def _same_units(parts: list[xr.Dataset]) -> list[xr.Dataset]:
    """Every part's variables in the units of the first part that has them."""
    from .units import convert, parse_units

    target: dict[str, str] = {}
    out = []
    for ds in parts:
        for name, variable in ds.variables.items():
            units = variable.attrs.get("units")
            if units is None or variable.dtype.kind not in "iuf":
                continue
            first = target.setdefault(str(name), str(units))
            if units != first and parse_units(units) != parse_units(first):
                converted = convert(variable.values.astype(float), units, first)
                ds = ds.assign({name: variable.copy(data=converted)})
                ds[name].attrs["units"] = first
            elif units != first:
                ds[name].attrs["units"] = first
        out.append(ds)
    return out


def collect(
    catalog: Any,
    method: str,
    variables: Sequence[str] | str | None = None,
    *,
    by: Sequence[str] | str = ("sample", "temperature"),
    duplicates: str = "error",
    **query: Any,
) -> xr.Dataset:
    """Stored results of one method across a catalog, as one Dataset on the run context.

    Found with the catalog's search on the results' stored context (never a walk
    over every run), read, and stacked along ``by``: a field loop's ``sigma_ahe``
    becomes ``sigma_ahe(sample, temperature)``, ready to plot as the paper's Fig. 2f.

    Parameters
    ----------
    catalog : tiled client, str or os.PathLike
        The catalog root, or its directory or URL (:func:`sloxide.catalog.open_catalog`).
    method : str
        The accessor method whose results to gather (``"ahe"``, ``"curie_temperature"``, ...).
    variables : str or sequence of str, optional
        The result variables to gather (with the coordinates on their dims);
        default every one.
    by : str or sequence of str, default ("sample", "temperature")
        The dims of the output, from each result's run context: ``"sample"``,
        ``"measurement"``, ``"edge"``, ``"plane"``, ``"uid"`` (the raw runs), or a
        setpoint the raw runs share, by name without its unit suffix
        (``"temperature"`` in K, ``"field"`` in T; :data:`SETPOINT_UNITS`).
    duplicates : {"error", "newest"}, default "error"
        What to do when different raw runs give results at the same ``by``
        coordinates: raise :class:`DuplicateResultsError`, or keep the results
        of the run started last. Re-reductions of the same runs (another
        sloxide version, other parameters) are never an error: the one reduced
        last is used.
    **query
        Filters, all of which a result must match: ``sample="C10/L6"`` (or a
        list of samples), ``measurement="field_loop"``, ``edge=``, ``plane=``,
        ``version=`` (the sloxide version that reduced it), ``uid=`` (a raw run),
        or a setpoint as a value or a ``(low, high)`` range, a number in the
        stored units or a quantity with units: ``temperature=2``,
        ``temperature=(2, 20)``, ``temperature=("2 K", "20 K")``, ``field="5 kOe"``.

    Returns
    -------
    xarray.Dataset
        The variables with the ``by`` dims first, then their own dims (coordinates
        such as ``branch`` and ``field`` kept), ``units`` and ``long_name`` on
        every variable and on the ``by`` coordinates; cells with no result are
        NaN. Provenance per entry as coordinates on the ``by`` dims:
        ``raw_uids`` (space-separated), ``sloxide_version``, ``reduced_at`` and
        ``result_key``. Attrs: ``method``, ``by``, ``query``.

    Raises
    ------
    ResultsNotFoundError
        If nothing matches (the message says what is stored, or to run
        ``sloxide reduce`` for results stored before format 2).
    DuplicateResultsError
        See ``duplicates``.
    SloxideError
        If a variable is not among the method's outputs, a result has no value
        for a ``by`` dim, or a query value cannot be read.

    Examples
    --------
    Three field-cooled M(T) runs, reduced into the catalog, gathered by sample:

    >>> import tempfile
    >>> from bluesky import RunEngine
    >>> from sloxide.batch import reduce_catalog
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import fc_magnetization
    >>> from sloxide.results import collect
    >>> cat = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, cat)
    >>> world = SimWorld(seed=0)
    >>> for sample in ("C10/L2", "C10/L6", "C2/L6"):
    ...     world.set_sample(sample)
    ...     _ = RE(fc_magnetization(sim_lab(world)["cryostat"], start=150, stop=2, step=2,
    ...                             sample=sample))
    >>> _ = reduce_catalog(cat)
    >>> tc = collect(cat, "curie_temperature", ["Tc"], by=("sample",))
    >>> tc.Tc.dims, tc.Tc.attrs["units"], tc.sample.values.tolist()
    (('sample',), 'K', ['C10/L2', 'C10/L6', 'C2/L6'])
    >>> bool(((tc.Tc > 70) & (tc.Tc < 82)).all())  # PHYSICS.md §7: T_c ≈ 75 K for all
    True
    """
    from tiled.queries import Eq, In

    if duplicates not in ("error", "newest"):
        raise SloxideError(f"duplicates is 'error' or 'newest', got {duplicates!r}")
    by = (by,) if isinstance(by, str) else tuple(by)
    if not by:
        raise SloxideError("collect needs at least one dim in by=, e.g. by=('sample',)")
    if len(set(by)) != len(by):
        raise SloxideError(f"by={by!r} repeats a dim; name each once")
    wanted = [variables] if isinstance(variables, str) else variables
    container = _container(_root(catalog), create=False)
    if container is None:
        raise ResultsNotFoundError(
            "the catalog holds no stored results; reduce its runs first (sloxide reduce)"
        )
    everything = container.search(In("sloxide.format", list(_SEARCHABLE_FORMATS)))
    found = everything.search(Eq("sloxide.method", method))
    for key, value in query.items():
        for q in _queries(key, value):
            found = found.search(q)
    hits = [(key, node, dict(node.metadata["sloxide"])) for key, node in found.items()]
    if not hits:
        raise ResultsNotFoundError(_nothing_found(container, everything, method, query))
    picked = _pick(hits, by, method, duplicates)
    picked.sort(key=lambda h: tuple(str(_coordinate(h[2], d, h[0], method)) for d in by))

    layout = picked[0][1].metadata["sloxide_layout"]["variables"]
    outputs = [e["name"] for e in layout if not e["coord"]]
    names = list(outputs) if wanted is None else [str(v) for v in wanted]
    missing = [n for n in names if n not in outputs]
    if missing:
        raise SloxideError(
            f"{method} results have no variable {missing}; choose variables= from {outputs}"
        )
    dims = {d for e in layout if e["name"] in names for d in e["dims"]}
    keep = set(names) | {e["name"] for e in layout if e["coord"] and set(e["dims"]) <= dims}

    parts = []
    units: dict[str, str] = {}
    for _, node, search in picked:
        ds = _read_node(node, keep)
        ds.attrs = {}
        parts.append(ds)
        units.update(search.get("setpoint_units") or {})
    entry = "sloxide_entry"
    stacked = xr.concat(
        _same_units(parts), dim=entry, data_vars="all", coords="different",
        compat="equals", join="outer", combine_attrs="override", fill_value=np.nan,
    )  # fmt: skip
    for dim in by:
        values = [_coordinate(search, dim, key, method) for key, _, search in picked]
        stacked = stacked.assign_coords({dim: (entry, values)})
    provenance = {
        "raw_uids": [" ".join(s["raw_uids"]) for _, _, s in picked],
        "sloxide_version": [s["sloxide_version"] for _, _, s in picked],
        "reduced_at": [s["reduced_at"] for _, _, s in picked],
        "result_key": [key for key, _, _ in picked],
    }
    for name, values in provenance.items():
        stacked = stacked.assign_coords({name: (entry, values)})
    if len(by) == 1:
        stacked = stacked.swap_dims({entry: by[0]})
    else:
        stacked = stacked.set_index({entry: list(by)}).unstack(entry)  # type: ignore[dict-item]
    stacked = stacked.sortby(list(by))
    for dim in by:
        stacked[dim].attrs = _by_attrs(dim, units)
    for name in provenance:
        stacked[name].attrs = {"long_name": name.replace("_", " ")}
    order = [*by, *(d for d in stacked.dims if d not in by)]
    stacked = stacked.transpose(*order)
    stacked.attrs = {
        "method": method,
        "by": list(by),
        "query": {k: _jsonable(v) for k, v in query.items()},
    }
    return stacked


def _nothing_found(container: Any, everything: Any, method: str, query: Mapping[str, Any]) -> str:
    """Why :func:`collect` found nothing, and what there is instead."""
    from tiled.queries import Eq

    of_method = everything.search(Eq("sloxide.method", method))
    if len(of_method) == 0:
        if len(container.search(Eq("attrs.method", method))):
            return (
                f"the stored {method} results were stored by an older sloxide (format 1, "
                "without their run context); run sloxide reduce to store them again"
            )
        methods = sorted(
            str(m["value"])
            for m in everything.distinct("sloxide.method")["metadata"]["sloxide.method"]
        )
        return f"no stored {method} results; the catalog has results of {methods}"
    samples = sorted(
        str(m["value"]) for m in of_method.distinct("sloxide.sample")["metadata"]["sloxide.sample"]
    )
    shown = ", ".join(f"{k}={v!r}" for k, v in query.items())
    return (
        f"none of the {len(of_method)} stored {method} results match {shown}; "
        f"their samples are {samples}"
    )


def _root_of(run: Any) -> Any:
    """The catalog root a run client belongs to."""
    from tiled.client import from_context

    return from_context(run.context)
