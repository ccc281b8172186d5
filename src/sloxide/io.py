"""Read runs from the catalog into xarray, with their units and experiment context.

The xarray Dataset that Tiled returns for a stream has no ``units`` attrs:
units live in the event descriptor (STACK.md, "Gotcha: units"). This module
puts them back, with the ``quantity`` of each variable and the run's
``sloxide`` context, so that every ``ds.sloxide`` method works on the result
(DESIGN.md, "Data contract", step 3).

* :func:`read_run` reads one run;
* :func:`read_many` reads many runs as :func:`read_run` does, in a few requests;
* :func:`read_runs` stacks several runs of one kind along a context key, e.g.
  field loops along temperature, or joins the two runs of an XLD pair into one
  Dataset on dims (``incidence_angle``, ``energy``);
* :func:`read_results` returns the stored reduction results of a run, with their
  provenance (:mod:`sloxide.results`);
* :func:`read_multivu` reads a Quantum Design MultiVu ``.dat`` file
  (:mod:`sloxide.multivu`).

The module needs no acquisition library itself: it reads any Tiled run client
it is given. A uid is looked up in ``catalog=``, or in the default catalog
(:func:`sloxide.catalog.open_catalog`), which needs the ``acquire`` extra.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .errors import DataError, SloxideError
from .multivu import read_multivu
from .results import read_results

__all__ = [
    "RunNotFoundError",
    "StackError",
    "UNIT_SUFFIXES",
    "read_run",
    "read_runs",
    "read_many",
    "read_results",
    "read_multivu",
]

#: Unit suffixes of context keys (``temperature_K``, ``incidence_angle_deg``):
#: a key ending in ``_<suffix>`` names a quantity in these units. Other keys
#: give a coordinate without units unless ``read_runs(..., units=...)`` says.
UNIT_SUFFIXES: dict[str, str] = {
    "K": "K",
    "T": "T",
    "mT": "mT",
    "Oe": "Oe",
    "deg": "deg",
    "eV": "eV",
    "uA": "uA",
    "mA": "mA",
    "nm": "nm",
    "um": "um",
    "s": "s",
}

_TIME_ATTRS = {"units": "s", "long_name": "time", "description": "event time, Unix epoch"}


class RunNotFoundError(SloxideError, KeyError):
    """No run with this uid in the catalog.

    Examples
    --------
    >>> from sloxide.io import RunNotFoundError
    >>> print(RunNotFoundError("no run with uid 'abc' in the catalog"))
    no run with uid 'abc' in the catalog
    """

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------- helpers


def _plain(value: Any) -> Any:
    """A deep copy made of dicts, lists and scalars (Tiled hands out read-only views)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


def _resolve(run: Any, catalog: Any) -> Any:
    """The run client for a run client, or for a uid in ``catalog`` (default catalog if None)."""
    if not isinstance(run, str):
        if not hasattr(run, "metadata"):
            raise SloxideError(
                f"expected a Tiled run client or a run uid (str), got {type(run).__name__}"
            )
        return run
    if catalog is None or isinstance(catalog, str | os.PathLike):
        from .catalog import open_catalog

        catalog = open_catalog(catalog)
    try:
        return catalog[run]
    except KeyError:
        raise RunNotFoundError(
            f"no run with uid {run!r} in the catalog {catalog!r}; list the uids with "
            "list(catalog), or open the catalog the run was written to with "
            "sloxide.catalog.open_catalog(PATH_OR_URL)"
        ) from None


def _start(run: Any) -> dict[str, Any]:
    start = run.metadata.get("start")
    if not isinstance(start, Mapping):
        raise SloxideError(
            f"{run!r} has no start document in its metadata; read_run reads Bluesky runs "
            "written by sloxide.catalog.subscribe (TiledWriter)"
        )
    return dict(start)


def _data_keys(stream: Any) -> dict[str, Any]:
    """The descriptor data_keys: in the stream metadata (Tiled v3), else in its descriptors."""
    keys = stream.metadata.get("data_keys")
    if isinstance(keys, Mapping):
        return dict(keys)
    merged: dict[str, Any] = {}
    for descriptor in getattr(stream, "descriptors", None) or []:
        merged.update(descriptor.get("data_keys", {}))
    return merged


def _read(run: Any, stream: str) -> tuple[xr.Dataset, dict[str, Any]]:
    start = _start(run)
    uid = start.get("uid", "?")
    try:
        node = run[stream]
    except KeyError:
        stop = run.metadata.get("stop") or {}
        status = stop.get("exit_status", "no stop document: still running, or crashed")
        raise DataError(
            f"run {uid!r} has no {stream!r} stream (exit_status: {status}); it took no "
            f"events there. Its streams: {sorted(run)}"
        ) from None
    return _annotate(run, node, node.read(), start, stream), start


def _annotate(
    run: Any, node: Any, ds: xr.Dataset, start: dict[str, Any], stream: str
) -> xr.Dataset:
    """A stream as Tiled read it, with units, quantities and the run's context."""
    uid = start.get("uid", "?")
    stop = run.metadata.get("stop")
    if not ds.sizes.get("time") and not isinstance(stop, Mapping):
        # A stream is created with its first event, but its events are stored in batches:
        # none are stored yet, and the run was never closed.
        raise DataError(
            f"run {uid!r} has no events stored in its {stream!r} stream yet and no stop "
            "document: it is still being written (events are stored in batches, see "
            "sloxide.catalog.subscribe), or the process writing it died before storing any"
        )
    time = ds.indexes.get("time")
    if time is not None and not time.is_monotonic_increasing:
        # Events are emitted in time order, but a catalog table's row order is not
        # guaranteed by every backend (PostgreSQL returns a restored table in its own
        # order): put the readings back in the order they were taken.
        ds = ds.sortby("time")
    data_keys = _data_keys(node)
    context = start.get("sloxide")
    context = _plain(context) if isinstance(context, Mapping) else {}
    quantities = context.get("quantities")
    quantities = quantities if isinstance(quantities, Mapping) else {}
    for name, variable in ds.variables.items():
        if name == "time" and name not in data_keys:
            variable.attrs.update(_TIME_ATTRS)
            continue
        units = (data_keys.get(str(name)) or {}).get("units")
        if units not in (None, ""):
            variable.attrs["units"] = str(units)
        if name in quantities:
            variable.attrs["quantity"] = str(quantities[name])
    attrs: dict[str, Any] = {"sloxide": context, "uid": uid}
    for key in ("plan_name", "scan_id"):
        if start.get(key) is not None:
            attrs[key] = start[key]
    if isinstance(stop, Mapping) and stop.get("exit_status"):
        attrs["exit_status"] = stop["exit_status"]
    attrs["stream"] = stream
    ds.attrs = attrs
    return ds


# --------------------------------------------------------------------------- one run


def read_run(run: Any, *, catalog: Any = None, stream: str = "primary") -> xr.Dataset:
    """One run as an ``xarray.Dataset``, with units, quantities and the experiment context.

    The stream is read once, as Tiled returns it (dim ``time``, one variable
    per data key). Then:

    * every variable gets the ``units`` of its data key in the event
      descriptor; a data key without units gets no ``units`` attr (the
      accessor then says which variable lacks units);
    * every variable named in the start document's ``sloxide["quantities"]``
      gets that ``quantity`` attr, e.g. ``cryostat_field`` → ``"field"``, which
      is how the accessor finds it;
    * the ``time`` coordinate (event times, Unix epoch) gets ``units="s"``.

    A run that was never closed, because it is still being written or because
    its writing process died before the stop document, reads with the events
    stored so far (whole batches, see :func:`sloxide.catalog.subscribe`) and
    without the ``exit_status`` attr; with none stored yet, it raises
    :class:`~sloxide.errors.DataError`.

    Parameters
    ----------
    run : tiled run client or str
        A run, e.g. ``catalog[uid]``, or its uid.
    catalog : tiled client, str or os.PathLike, optional
        Where to look a uid up (a client, directory or URL); default the
        catalog of :func:`sloxide.catalog.open_catalog`. Ignored for a client.
    stream : str, default "primary"
        The event stream to read.

    Returns
    -------
    xarray.Dataset
        Dim ``time``. Attrs: ``sloxide`` (the start document's context, a
        plain dict, ``{}`` if the run has none), ``uid``, ``plan_name`` and
        ``scan_id`` (when the start document has them), ``exit_status``
        (``"success"``, ``"abort"`` or ``"fail"``; only once the run is
        closed) and ``stream``.

    Raises
    ------
    RunNotFoundError
        If a uid is not in the catalog.
    DataError
        If the run has no such stream, e.g. it was aborted before its first event,
        or, for a run never closed, no events of it are stored yet.

    Examples
    --------
    >>> import tempfile
    >>> import bluesky.plans as bp
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.io import read_run
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> context = {"measurement": "rt", "quantities": {"hallbar_R_xx": "R_xx"}}
    >>> uid, = RE(bp.count([sim_lab(SimWorld())["hallbar"]], num=3, md={"sloxide": context}))
    >>> ds = read_run(catalog[uid])
    >>> ds["hallbar_R_xx"].attrs
    {'units': 'ohm', 'quantity': 'R_xx'}
    >>> ds.attrs["sloxide"]["measurement"], ds.attrs["exit_status"]
    ('rt', 'success')
    """
    return _read(_resolve(run, catalog), stream)[0]


# --------------------------------------------------------------------------- many runs

# Uids per search request: each is ~40 characters of the request's URL.
_KEYS_PER_REQUEST = 100
# Columns of a Bluesky event table that are not data keys (Tiled's BlueskyEventStream).
_NOT_DATA = ("seq_num",)
# The deep search for the streams is used while it returns at most this many streams per
# run asked for (other runs' streams in the same time window); else one search per run.
_DEEP_SEARCH_SPREAD = 4


def read_many(
    runs: Iterable[Any], *, catalog: Any = None, stream: str = "primary"
) -> list[xr.Dataset]:
    """Each run as :func:`read_run` reads it, in a few requests for all of them.

    :func:`read_run` asks the catalog six times per run (the run, its stream, the
    stream's parts twice, its table's structure, the table). Here the runs' metadata
    come in one search per hundred uids, their streams' metadata in one deep search
    over the time the runs span, and then each run's event table in one request: a
    request of Tiled costs some 20 ms of the server's time whatever it carries, so N
    runs cost about N + 3 requests (the deep search's matches are counted first)
    instead of 6 N (docs/performance.md). A stream that is not a plain event table
    (array data keys, an older layout) is read as :func:`read_run` reads it.

    Parameters
    ----------
    runs : iterable of tiled run clients or uids, or a search result
        The runs; what :func:`sloxide.catalog.find_runs` returns works as it is.
    catalog : tiled client, str or os.PathLike, optional
        Where to look uids up; see :func:`read_run`.
    stream : str, default "primary"

    Returns
    -------
    list of xarray.Dataset
        One per run, in the order given, each equal to ``read_run(run)``.

    Raises
    ------
    RunNotFoundError
        If a uid is not in the catalog.
    DataError
        As :func:`read_run`, for a run without the stream or without events yet.

    Examples
    --------
    >>> import tempfile
    >>> import bluesky.plans as bp
    >>> import xarray as xr
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.io import read_many, read_run
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> hallbar = sim_lab(SimWorld())["hallbar"]
    >>> uids = [RE(bp.count([hallbar], num=n))[0] for n in (3, 2)]
    >>> many = read_many(uids, catalog=catalog)
    >>> [ds.sizes["time"] for ds in many], many[1].hallbar_R_xx.attrs["units"]
    ([3, 2], 'ohm')
    >>> xr.testing.assert_identical(many[0], read_run(uids[0], catalog=catalog))
    """
    return [ds for ds, _ in _read_many(runs, catalog, stream)]


def _read_many(runs: Iterable[Any], catalog: Any, stream: str) -> list[tuple[xr.Dataset, dict]]:
    if isinstance(runs, Mapping):  # a search result (find_runs): its run clients
        runs = runs.values()
    runs = list(runs)
    if not runs:
        return []
    root = None
    wanted = [run for run in runs if isinstance(run, str)]
    if wanted:
        root = _catalog_root(catalog)
        found = _runs_by_uid(root, wanted)
    clients = [found[run] if isinstance(run, str) else _resolve(run, None) for run in runs]
    if root is None:
        if catalog is not None and not isinstance(catalog, str | os.PathLike):
            root = catalog
        else:  # run clients alone: the catalog they came from
            from tiled.client import from_context

            root = from_context(clients[0].context)
    streams = _streams(root, clients, stream)
    out = []
    for client in clients:
        start = _start(client)
        node = streams.get(str(start.get("uid")))
        ds = _read_table(node) if node is not None else None
        if ds is None:
            out.append(_read(client, stream))
        else:
            out.append((_annotate(client, node, ds, start, stream), start))
    return out


def _catalog_root(catalog: Any) -> Any:
    if catalog is None or isinstance(catalog, str | os.PathLike):
        from .catalog import open_catalog

        return open_catalog(catalog)
    return catalog


def _runs_by_uid(root: Any, uids: Sequence[str]) -> dict[str, Any]:
    """The run clients of ``uids`` (with their metadata), a search per hundred uids."""
    from tiled.queries import KeysFilter

    found: dict[str, Any] = {}
    unique = list(dict.fromkeys(uids))
    for i in range(0, len(unique), _KEYS_PER_REQUEST):
        found.update(root.search(KeysFilter(unique[i : i + _KEYS_PER_REQUEST])).items())
    for uid in unique:
        if uid not in found:
            _resolve(uid, root)  # raises RunNotFoundError with its advice
    return found


def _streams(root: Any, clients: Sequence[Any], stream: str) -> dict[str, Any]:
    """The ``stream`` node of each run, by uid, from one deep search over their time span.

    A stream's metadata holds the time its descriptor was made, which lies between its
    run's start and stop; runs still open count until now. A run whose stream is not
    found this way (another layout) is left to the per-run read.
    """
    import time as _time

    from tiled.queries import Comparison, KeysFilter

    if not hasattr(root, "search_deep"):
        return {}
    times: list[float] = []
    for client in clients:
        metadata = client.metadata
        start, stop = metadata.get("start") or {}, metadata.get("stop") or {}
        for when in (start.get("time"), stop.get("time") if stop else _time.time() + 60.0):
            if not isinstance(when, int | float):
                return {}
            times.append(float(when))
    uids = {_start(client).get("uid") for client in clients}
    try:
        found = root.search_deep(
            KeysFilter([stream]),
            Comparison("ge", "time", min(times)),
            Comparison("le", "time", max(times)),
            max_depth=2,
        )
        if len(found) > _DEEP_SEARCH_SPREAD * len(uids) + 10:
            return {}  # the runs are spread over a long time: one search per run is less
        return {key[0]: node for key, node in found.items() if len(key) == 2 and key[0] in uids}
    except Exception:  # a server without deep search: read run by run
        return {}


def _read_table(node: Any) -> xr.Dataset | None:
    """A Bluesky event stream's table in one request, as Tiled's own read gives it.

    None when the stream is not one plain table of numbers (array data keys are stored
    beside it), or the server has no such table: then the caller reads it Tiled's way.
    """
    from tiled.client.utils import handle_error
    from tiled.serialization.table import deserialize_arrow

    data_keys = _data_keys(node)
    if any(key.get("external") or key.get("shape") for key in data_keys.values()):
        return None
    link = node.item["links"].get("self", "")
    if "/metadata/" not in link:
        return None
    url = link.replace("/metadata/", "/table/full/", 1).rstrip("/") + "/internal"
    try:
        response = handle_error(
            node.context.http_client.get(
                url, headers={"Accept": "application/vnd.apache.arrow.file"}
            )
        )
    except Exception:
        return None
    table = deserialize_arrow(response.read())
    columns = [c for c in table.columns if not str(c).startswith("ts_") and c not in _NOT_DATA]
    if set(data_keys) - set(columns) or "time" not in columns:
        return None
    data = {str(c): ("time", table[c].to_numpy()) for c in columns}
    if any(values.dtype.kind not in "biuf" for _, values in data.values()):
        return None  # strings: Tiled's read decides their dtype
    return xr.Dataset(data)


# --------------------------------------------------------------------------- stacks


def _lookup(context: Mapping[str, Any], path: Sequence[str]) -> tuple[bool, Any, str]:
    """The value at ``path`` in the context; on a miss, where it stopped and what was there."""
    node: Any = context
    for depth, part in enumerate(path):
        if not isinstance(node, Mapping) or part not in node:
            where = ".".join(["sloxide", *path[:depth]])
            found = sorted(node) if isinstance(node, Mapping) else type(node).__name__
            return False, None, f"{where} has {found}"
        node = node[part]
    return True, node, ""


def _dim_and_units(key: str, dim: str | None, units: str | None) -> tuple[str, str | None]:
    """``temperature_K`` → (``temperature``, ``K``), by :data:`UNIT_SUFFIXES`."""
    stem, _, suffix = key.rpartition("_")
    if stem and suffix in UNIT_SUFFIXES:
        return dim or stem, units if units is not None else UNIT_SUFFIXES[suffix]
    return dim or key, units


_DIFFERENT = object()


def _common(contexts: Sequence[Any]) -> Any:
    """The part of several contexts that all of them share (equal values, recursively)."""
    first = contexts[0]
    if all(isinstance(c, Mapping) for c in contexts):
        out = {}
        for key in first:
            if all(key in c for c in contexts):
                shared = _common([c[key] for c in contexts])
                if shared is not _DIFFERENT:
                    out[key] = shared
        return out
    return first if all(c == first for c in contexts[1:]) else _DIFFERENT


def _find_quantity(ds: xr.Dataset, quantity: str) -> str | None:
    """The variable the accessor would take for ``quantity``: by attr, then by name."""
    for name in [*ds.data_vars, *ds.coords]:
        if ds[name].attrs.get("quantity") == quantity:
            return str(name)
    return quantity if quantity in ds.variables else None


def _scan_axis(ds: xr.Dataset, start: Mapping[str, Any]) -> str | None:
    """The scanned readback: quantity ``energy``, else the start document's hinted dimension."""
    found = _find_quantity(ds, "energy")
    if found is not None:
        return found
    for entry in (start.get("hints") or {}).get("dimensions") or []:
        fields = entry[0] if entry else []
        if len(fields) == 1 and fields[0] in ds.data_vars:
            return str(fields[0])
    return None


def _energy_setpoints(
    datasets: Sequence[xr.Dataset], starts: Sequence[Mapping[str, Any]], uids: Sequence[str]
) -> tuple[str, np.ndarray, dict[str, Any]]:
    """The scanned energy of XAS runs: the setpoints every run shares, and their attrs."""
    axes = [_scan_axis(ds, start) for ds, start in zip(datasets, starts, strict=True)]
    if any(axis is None for axis in axes) or len(set(axes)) != 1:
        raise SloxideError(
            "cannot find the scanned energy of every XAS run: expected a variable with "
            "quantity 'energy' (start document sloxide['quantities']) or one hinted "
            f"dimension; found {dict(zip(uids, axes, strict=True))}"
        )
    axis = str(axes[0])
    setpoint = f"{axis}_setpoint"
    exact = all(setpoint in ds.data_vars for ds in datasets)
    source = setpoint if exact else axis
    values = [np.asarray(ds[source].values, dtype=float) for ds in datasets]
    reference = values[0]
    steps = np.abs(np.diff(reference))
    # Setpoints must agree exactly; readbacks within half the finest step.
    atol = 1e-9 if exact else 0.5 * float(steps[steps > 0].min(initial=np.inf))
    for uid, other in zip(uids[1:], values[1:], strict=True):
        if other.shape != reference.shape or not np.allclose(other, reference, rtol=0, atol=atol):
            raise SloxideError(
                f"the XAS runs have different energy points ({source}: {reference.size} points "
                f"{reference[:1]}…{reference[-1:]} eV in run {uids[0]!r}, {other.size} points in "
                f"run {uid!r}); only spectra on the same energies stack. Read them one by one "
                "with read_run and interpolate onto a common grid"
            )
    if np.unique(reference).size != reference.size:
        raise SloxideError(
            f"the energy points of run {uids[0]!r} ({source}) repeat; a spectrum needs each "
            "energy once to be indexed by energy"
        )
    attrs = {
        "units": datasets[0][axis].attrs.get("units", "eV"),
        "long_name": "energy",
        "quantity": "energy",
        "description": f"energy setpoints ({source})" if exact else f"energy ({source})",
    }
    return axis, reference, attrs


class StackError(SloxideError):
    """:func:`read_runs` cannot tell which context key to stack the runs along.

    Examples
    --------
    >>> from sloxide.errors import SloxideError
    >>> from sloxide.io import StackError
    >>> issubclass(StackError, SloxideError)
    True
    """


#: The context sections that describe a measurement: runs stacked without
#: ``along`` may differ in one setpoint and nothing else of these.
_DESCRIBING = ("sample", "hall_bar", "setpoints", "rotation", "xas")
#: Keys that are links, not conditions of the measurement.
_LINKS = frozenset({"xas.group_uid"})
#: Context keys that record the same condition as a setpoint, and so differ with it.
_FOLLOWERS = {"setpoints.incidence_angle_deg": ("xas.incidence_angle_deg", "xas.channel")}


def _context_path(along: str) -> list[str]:
    path = [part for part in along.split(".") if part]
    if path[:1] == ["sloxide"]:
        path = path[1:]
    if not path:
        raise SloxideError(
            f"along={along!r} names no context key; write e.g. 'setpoints.temperature_K'"
        )
    return path


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    """The scalar (and list) leaves of a context section, by dotted path."""
    if not isinstance(node, Mapping):
        return {prefix: node}
    out: dict[str, Any] = {}
    for key, value in node.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _stack_key(contexts: Sequence[Mapping[str, Any]]) -> str:
    """The context key to stack runs along: the XLD pair's angle, or the one setpoint that differs."""
    flat = [
        {
            path: value
            for section in _DESCRIBING
            for path, value in _leaves(context.get(section, {}), section).items()
            if path not in _LINKS
        }
        for context in contexts
    ]
    missing = object()
    differing = sorted(
        path
        for path in set().union(*flat)
        if len({repr(leaf.get(path, missing)) for leaf in flat}) > 1
    )
    groups = {repr((c.get("xas") or {}).get("group_uid")) for c in contexts}
    is_xas = all(c.get("measurement") == "xas" for c in contexts)
    angle = "xas.incidence_angle_deg"
    if is_xas and len(groups) == 1 and groups != {"None"} and angle in differing:
        return angle  # an XLD pair
    setpoints = [path for path in differing if path.startswith("setpoints.")]
    if len(setpoints) == 1:
        (key,) = setpoints
        others = set(differing) - {key, *_FOLLOWERS.get(key, ())}
        if not others:
            return angle if angle in _FOLLOWERS.get(key, ()) and angle in differing else key
    if not differing:
        raise StackError(
            f"the {len(contexts)} runs share every setpoint, sample, Hall-bar, rotation and XAS "
            "setting, so there is nothing to stack them along; pass along= a context key "
            "whose values differ, or read them one by one with read_run"
        )
    listed = ", ".join(f"sloxide.{path}" for path in differing)
    raise StackError(
        f"cannot tell which key to stack these runs along: they differ in {listed}; pass "
        f"along= one of them, e.g. along={differing[0]!r}, or stack runs that differ in "
        "one setpoint only (an XLD pair, or a series)"
    )


def read_runs(
    runs: Iterable[Any],
    *,
    along: str | None = None,
    catalog: Any = None,
    stream: str = "primary",
    dim: str | None = None,
    units: str | None = None,
) -> xr.Dataset:
    """Several runs of one kind stacked into one Dataset along a context key.

    The runs are read as :func:`read_run` reads each, in a few requests for all
    (:func:`read_many`). Without ``along`` the key is found from the runs themselves:

    * the runs of an XLD pair (XAS runs sharing ``xas.group_uid``) stack along
      ``xas.incidence_angle_deg``;
    * runs that differ in exactly one setpoint (``setpoints.*``), and in
      nothing else that describes the measurement (``sample``, ``hall_bar``,
      ``rotation``, ``xas``: a series), stack along that setpoint, e.g.
      field loops at several temperatures along ``setpoints.temperature_K``. An
      XAS run's ``xas.incidence_angle_deg`` and ``xas.channel`` go with its
      incidence-angle setpoint.

    Anything else (two setpoints differ, or the samples too, or nothing does)
    raises :class:`StackError` listing the context keys that differ; pass
    ``along=`` one of them. The new dim takes its values from
    each run's start document at ``sloxide.<along>``; its name is the last
    component of ``along`` without a unit suffix, and its units come from that
    suffix (:data:`UNIT_SUFFIXES`: ``_K``, ``_T``, ``_deg``, ``_eV``, ...):
    ``"setpoints.temperature_K"`` gives dim ``temperature`` in K and
    ``"xas.incidence_angle_deg"`` dim ``incidence_angle`` in deg. Runs keep the
    order given.

    How the runs are aligned depends on the measurement:

    * **XAS** (``measurement == "xas"``, e.g. the two runs of an XLD pair): the
      dim ``time`` becomes ``energy``, indexed by the energy *setpoints*
      (the ``<energy readback>_setpoint`` data key; without one, the first
      run's readbacks, which the others must match within half a step). All
      runs must share these energies. The result has dims (``along`` dim,
      ``energy``), so ``.sloxide.normalize_xas()``/``.xld()`` need no
      arguments. The readbacks stay as 2-D data, without their ``quantity``
      attr, so that the accessor takes the ``energy`` coordinate.
    * **Anything else** (field loops, rotations, R(T), M(T)): runs are aligned
      by position in the scan. The dim ``time`` becomes ``point`` (0, 1, ...),
      and every readback stays a 2-D variable (``along`` dim, ``point``).
      Shorter runs are padded with NaN, which the reductions drop. The
      accessor's sweep methods take ``point`` as the sweep dim, so
      ``.sloxide.ahe()`` needs no arguments either.

    The event times become a 2-D ``time`` coordinate; ``uid`` and ``scan_id``
    are coordinates along the new dim.

    Parameters
    ----------
    runs : iterable of tiled run clients, uids or Datasets, or a search result
        The runs; at least one. What :func:`sloxide.catalog.find_runs` returns
        works as it is; so do Datasets :func:`read_run` or :func:`read_many` read
        (the scanned energy of an XAS run is then the variable of quantity
        ``energy``, not a hinted dimension of its start document).
    along : str, optional
        A dotted key path in the ``sloxide`` start-document context, e.g.
        ``"setpoints.temperature_K"`` (a leading ``"sloxide."`` is allowed).
        Values must be numbers or strings, distinct between the runs. Default:
        found from the runs, as above.
    catalog : tiled client, str or os.PathLike, optional
        Where to look uids up; see :func:`read_run`.
    stream : str, default "primary"
    dim : str, optional
        Name of the new dim, instead of the one derived from ``along``.
    units : str, optional
        Units of the new coordinate, instead of the suffix rule.

    Returns
    -------
    xarray.Dataset
        Attrs: ``sloxide`` (what every run's context shares: the ``along``
        key and anything else that differs between the runs is left out),
        ``along``, ``stream``, and ``plan_name`` when every run has the same.

    Raises
    ------
    StackError
        Without ``along``, if the runs are not a pair or a one-setpoint
        series; the message lists the keys that differ.
    SloxideError
        If the runs cannot be stacked: no runs, different measurement types,
        a run without the ``along`` key or with a non-scalar value there,
        repeated values, different data keys or units, XAS runs on
        different energies, or a dim name already used by a variable.

    Examples
    --------
    >>> import tempfile
    >>> import bluesky.plans as bp
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.io import read_runs
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> hallbar = sim_lab(SimWorld())["hallbar"]
    >>> uids = [RE(bp.count([hallbar], num=n, md={"sloxide": {
    ...     "measurement": "rt", "setpoints": {"temperature_K": t}}}))[0]
    ...     for n, t in ((3, 300.0), (2, 250.0))]
    >>> ds = read_runs([catalog[u] for u in uids], along="setpoints.temperature_K")
    >>> ds.hallbar_R_xx.dims, ds.temperature.attrs["units"]
    (('temperature', 'point'), 'K')
    >>> int(ds.hallbar_R_xx.isel(temperature=1).count())  # the shorter run is NaN-padded
    2
    >>> read_runs([catalog[u] for u in uids]).attrs["along"]  # one setpoint differs
    'sloxide.setpoints.temperature_K'
    """
    if along is not None:
        _context_path(along)  # a malformed key is refused before anything is read
    if isinstance(runs, Mapping):  # a search result (find_runs): its run clients
        runs = runs.values()
    runs = list(runs)
    given = {i: run for i, run in enumerate(runs) if isinstance(run, xr.Dataset)}
    others = _read_many([run for run in runs if not isinstance(run, xr.Dataset)], catalog, stream)
    read = []
    for i in range(len(runs)):
        if i in given:  # read already: its start document is no longer at hand
            read.append((given[i].copy(), {"uid": given[i].attrs.get("uid")}))
        else:
            read.append(others.pop(0))
    if not read:
        raise SloxideError("read_runs needs at least one run; got none")
    datasets = [ds for ds, _ in read]
    starts = [start for _, start in read]
    uids = [str(ds.attrs["uid"]) for ds in datasets]
    contexts = [ds.attrs["sloxide"] for ds in datasets]

    measurements = {uid: c.get("measurement") for uid, c in zip(uids, contexts, strict=True)}
    if len(set(measurements.values())) > 1:
        raise SloxideError(
            f"the runs are different measurements {measurements}; only runs of one "
            "measurement type stack. Pass runs of one type"
        )
    if along is None:
        along = _stack_key(contexts)
    path = _context_path(along)
    name, coord_units = _dim_and_units(path[-1], dim, units)
    label = "sloxide." + ".".join(path)
    values = []
    for uid, context in zip(uids, contexts, strict=True):
        ok, value, where = _lookup(context, path)
        if not ok:
            raise SloxideError(
                f"run {uid!r} has no {label} in its start document ({where}); stack along "
                "a key every run has, e.g. along='setpoints.temperature_K'"
            )
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise SloxideError(
                f"run {uid!r} has {label} = {value!r}; stacking needs a number or a string there"
            )
        values.append(value)
    if len({type(v) is str for v in values}) > 1:
        raise SloxideError(f"{label} mixes numbers and strings between the runs: {values}")
    if len(set(values)) != len(values):
        raise SloxideError(
            f"the runs repeat values of {label}: {dict(zip(uids, values, strict=True))}; "
            "each run needs its own value to be indexed by it. Stack distinct runs, or "
            "average repeated ones first"
        )

    names = {uid: set(map(str, ds.data_vars)) for uid, ds in zip(uids, datasets, strict=True)}
    shared = set.intersection(*names.values())
    if any(n != shared for n in names.values()):
        extra = {uid: sorted(n - shared) for uid, n in names.items() if n != shared}
        raise SloxideError(
            f"the runs record different data keys (beyond the shared ones: {extra}); only "
            "runs of the same devices stack"
        )
    for var in sorted(shared):
        seen = {uid: ds[var].attrs.get("units") for uid, ds in zip(uids, datasets, strict=True)}
        if len(set(seen.values())) > 1:
            raise SloxideError(
                f"{var} has different units in the runs {seen}; convert them before stacking"
            )
    if name in shared or name in ("time", "point", "energy"):
        raise SloxideError(
            f"the new dim {name!r} (from along={along!r}) is already a variable or dim name; "
            "pass dim='<another name>'"
        )

    aligned = []
    if measurements[uids[0]] == "xas":
        axis, energies, energy_attrs = _energy_setpoints(datasets, starts, uids)
        for ds in datasets:
            ds = ds.rename({axis: f"{axis}_readback"}) if axis == "energy" else ds
            for readback in ds.data_vars.values():
                if readback.attrs.get("quantity") == "energy":
                    del readback.attrs["quantity"]
                    readback.attrs["description"] = (
                        "readback; the energy coordinate is the setpoints"
                    )
            ds = ds.assign_coords(energy=("time", energies, energy_attrs))
            aligned.append(ds.swap_dims(time="energy"))
    else:
        for ds in datasets:
            index = np.arange(ds.sizes.get("time", 0))
            ds = ds.assign_coords(point=("time", index, {"long_name": "position in the scan"}))
            aligned.append(ds.swap_dims(time="point"))

    coord_attrs = {"long_name": name, "description": f"{label} of each run's start document"}
    if coord_units is not None:
        coord_attrs["units"] = coord_units
    stack_coord = xr.DataArray(np.asarray(values), dims=name, name=name, attrs=coord_attrs)
    stacked = xr.concat(
        aligned,
        dim=stack_coord,
        data_vars="all",
        coords="different",
        compat="equals",
        join="outer",
        combine_attrs="override",
        fill_value=np.nan,
    )
    stacked = stacked.assign_coords(uid=(name, uids, {"long_name": "run uid"}))
    scan_ids = [ds.attrs.get("scan_id") for ds in datasets]
    if all(isinstance(s, int) for s in scan_ids):
        stacked = stacked.assign_coords(scan_id=(name, scan_ids, {"long_name": "scan id"}))
    attrs: dict[str, Any] = {"sloxide": _common(contexts), "along": label, "stream": stream}
    plan_names = {ds.attrs.get("plan_name") for ds in datasets}
    if len(plan_names) == 1 and None not in plan_names:
        attrs["plan_name"] = plan_names.pop()
    stacked.attrs = attrs
    return stacked


# --------------------------------------------------------------------------- results
