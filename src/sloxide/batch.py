"""Batch reduction of a whole catalog: ``sloxide reduce``.

1. **Find the work.** The runs matching a query (server-side Tiled search on the
   start document) become jobs: one per run that :mod:`sloxide.reduction` knows how
   to reduce, one per complete XLD pair (two runs sharing ``group_uid``), and one
   per temperature series of field loops (same sample, field range and step; at
   least three loops up to 20 K) for the AHE scaling. Runs that did not end with
   ``exit_status == "success"`` are left out and counted.
2. **Skip what is done.** A job whose every result is stored, by this sloxide
   version with the same parameters, is not run again: one listing of what is stored
   (:func:`sloxide.results.stored_index`) decides, not a request per job.
3. **Reduce.** In this process with numpy, or on a dask.distributed cluster when a
   scheduler address is given: the workers read the runs and compute; only this
   process writes, so the catalog sees one writer.
4. **Store and summarize.** Each result goes to the catalog with its provenance;
   the summary is a tidy table, one row per scalar result (``uids``, ``sample``,
   ``measurement``, ``method``, ``variable``, ``value``, ``units``, ``status``),
   written as CSV or Parquet. A job that fails gives a row with ``status``
   ``"failed: <why>"``; the others go on.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from . import reduction
from .errors import SloxideError
from .reduction import Job, Result, jobs_from_starts
from .results import ResultWriter, plain_dataset, read_results, result_key, stored_index

__all__ = [
    "Job",
    "Summary",
    "parse_query",
    "find_runs_of",
    "find_jobs",
    "reduce_catalog",
    "run_job",
    "write_summary",
]

SUMMARY_COLUMNS = (
    "uids", "sample", "measurement", "method", "variable", "value", "units", "status",
)  # fmt: skip


@dataclass
class Summary:
    """What :func:`reduce_catalog` did."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    reduced: int = 0
    skipped: int = 0
    failed: int = 0
    incomplete: int = 0
    seconds: float = 0.0

    def table(self) -> Any:
        """The summary as a pandas DataFrame (the tidy table written to disk)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(SUMMARY_COLUMNS))


def parse_query(items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``sloxide reduce --query``, ``sloxide ls --query``) as a query.

    Two kinds of key:

    * a :func:`sloxide.catalog.find_runs` keyword: ``sample``, ``measurement``,
      ``since``, ``until``, a setpoint (``temperature``, ``field``, ...,
      :data:`sloxide.catalog.SEARCH_KEYS`, or a setpoints key with its unit
      suffix). A setpoint value may carry units (``field=9 T``) and may be a
      range ``LOW..HIGH`` (``temperature=2..20``, ``temperature=2 K..20 K``;
      an empty end is no bound: ``field=..1``), matched as :func:`find_runs`
      matches it (a value within the instrument's tolerance);
    * a dotted start-document key (``sloxide.sample.name``), or a top-level
      one (``uid``, ``plan_name``, ``scan_id``), matched exactly.

    Values are read as JSON where they parse (numbers, true/false), else as text.
    The query is checked here, before any catalog is opened.

    Raises
    ------
    SloxideError
        For an item without ``=``, an empty key, or a key or value
        :func:`~sloxide.catalog.find_runs` refuses (a
        :class:`~sloxide.catalog.QueryError` that says what to write instead).

    Examples
    --------
    >>> from sloxide.batch import parse_query
    >>> parse_query(["sloxide.sample.name=C10/L6", "sloxide.setpoints.temperature_K=2"])
    {'sloxide.sample.name': 'C10/L6', 'sloxide.setpoints.temperature_K': 2}
    >>> parse_query(["sample=C10/L6", "temperature=2 K..20 K", "field=..1", "since=7d"])
    {'sample': 'C10/L6', 'temperature': ('2 K', '20 K'), 'field': (None, 1), 'since': '7d'}
    """
    from .catalog import QueryError, _search_terms

    query: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SloxideError(
                f"a query is KEY=VALUE, e.g. sample=C10/L6, temperature=2..20 or "
                f"sloxide.setpoints.field_T=9; got {item!r}"
            )
        if _is_search_key(key) and key not in _NAME_KEYS and ".." in text:
            low, _, high = text.partition("..")
            query[key] = (_json_or_text(low), _json_or_text(high))
        else:
            query[key] = _json_or_text(text)
        if not _is_search_key(key) and "." not in key and key not in _START_KEYS:
            raise QueryError(
                f"--query {key}: not a search key nor a start-document key; use sample, "
                "measurement, since, until, a setpoint (temperature, field, ...) or a dotted "
                "start-document key such as sloxide.sample.name"
            )
    _search_terms(**{k: v for k, v in query.items() if _is_search_key(k)})
    return query


#: Top-level start-document keys a query may name without a dot (event-model's schema).
_START_KEYS = frozenset(
    "uid time plan_name plan_type scan_id group owner project beamline_id detectors "
    "motors num_points num_intervals data_session data_groups".split()
)


_NAME_KEYS = ("sample", "measurement", "since", "until")


def _is_search_key(key: str) -> bool:
    """A :func:`sloxide.catalog.find_runs` keyword, as opposed to a start-document key."""
    from .catalog import QueryError, _context_key

    if "." in key:
        return False
    if key in _NAME_KEYS:
        return True
    try:
        _context_key(key)
    except QueryError:
        return False
    return True


def _json_or_text(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def find_runs_of(catalog: Any, query: Mapping[str, Any] | None = None) -> Any:
    """The runs matching a :func:`parse_query` query, found server-side by :func:`find_runs`.

    :func:`find_runs` keywords go to it; other keys are start-document keys
    matched exactly (``Eq`` on ``start.<key>``), also by the server.

    Examples
    --------
    >>> import tempfile
    >>> from sloxide.batch import find_runs_of
    >>> from sloxide.catalog import open_catalog
    >>> len(find_runs_of(open_catalog(tempfile.mkdtemp(), create=True), {"uid": "a-uid"}))
    0
    """
    from tiled.queries import Eq

    from .catalog import find_runs

    query = dict(query or {})
    runs = find_runs(catalog, **{k: v for k, v in query.items() if _is_search_key(k)})
    for key, value in query.items():
        if not _is_search_key(key):
            runs = runs.search(Eq(f"start.{key}", value))
    return runs


def find_jobs(catalog: Any, query: Mapping[str, Any] | None = None) -> tuple[list[Job], int]:
    """The jobs of the runs matching ``query``, and how many runs were left out as incomplete.

    The runs are found server-side by :func:`find_runs_of` (so by
    :func:`sloxide.catalog.find_runs`): ``query`` is what :func:`parse_query`
    returns, e.g. ``{"sample": "C10/L6", "temperature": (2, 20)}``.

    Examples
    --------
    >>> import tempfile
    >>> from sloxide.batch import find_jobs
    >>> from sloxide.catalog import open_catalog
    >>> find_jobs(open_catalog(tempfile.mkdtemp(), create=True))
    ([], 0)
    """
    starts, incomplete = _complete_starts(catalog, query)
    return jobs_from_starts(starts), incomplete


def _complete_starts(
    catalog: Any, query: Mapping[str, Any] | None
) -> tuple[list[dict[str, Any]], int]:
    """The start documents of the matching runs that ended well, and how many did not."""
    starts: list[dict[str, Any]] = []
    incomplete = 0
    for run in find_runs_of(catalog, query).values():
        metadata = run.metadata
        start, stop = metadata.get("start"), metadata.get("stop")
        if not start or "sloxide" not in start:
            continue
        if not stop or stop.get("exit_status") != "success":
            incomplete += 1
            continue
        starts.append(dict(start))
    return starts, incomplete


def run_job(catalog: Any, job: Job) -> list[Result]:
    """Read a job's runs and reduce them (no writing): what a worker does.

    ``catalog`` may be a location (directory or URL), opened once per process.
    The results are plain numpy with JSON-able attrs, so they travel back from a
    dask worker.

    Examples
    --------
    >>> import tempfile
    >>> from bluesky import RunEngine
    >>> from sloxide.batch import find_jobs, run_job
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import rt_sweep
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> lab = sim_lab(SimWorld())
    >>> uid, = RE(rt_sweep(lab["hallbar"], lab["cryostat"], start=300, stop=200, step=50,
    ...                    sample="C10/L6"))
    >>> (job,), _ = find_jobs(catalog)
    >>> [result.method for result in run_job(catalog, job)]
    ['resistivity']
    """
    from .catalog import open_catalog

    if isinstance(catalog, str | os.PathLike):
        catalog = open_catalog(catalog)
    # On a dask worker, the tables Tiled reads with dask would otherwise be computed
    # through the cluster from inside a task; one job is small, so compute it here.
    with _synchronous_dask():
        results = reduction.run_job(catalog, job)
        return [r._replace(data=plain_dataset(r.data)) for r in results]


def _synchronous_dask() -> Any:
    try:
        import dask
    except ImportError:  # numpy only: nothing to configure
        return contextlib.nullcontext()
    return dask.config.set(scheduler="synchronous")


def _keys(job: Job) -> list[tuple[str, str]]:
    """The (method, result key) of every result a job stores."""
    return [(m, result_key(m, job.uids, json.loads(p))) for m, p in job.expected]


def _rows(job: Job, results: Sequence[tuple[str, xr.Dataset]], status: str) -> list[dict]:
    rows = []
    for method, data in results:
        for name, variable in data.data_vars.items():
            if variable.ndim == 0 and variable.dtype.kind in "iuf":
                rows.append({
                    "uids": " ".join(job.uids), "sample": job.sample,
                    "measurement": job.measurement, "method": method, "variable": str(name),
                    "value": float(variable.values), "units": variable.attrs.get("units", ""),
                    "status": status,
                })  # fmt: skip
    return rows


def _stored_rows(
    catalog: Any, job: Job, index: Mapping[str, list[dict[str, Any]] | None]
) -> list[dict]:
    """The summary rows of a job already reduced, from the index; a result stored in an
    older format (no scalars in its metadata) is read."""
    rows = []
    for method, key in _keys(job):
        scalars = index.get(key)
        if scalars is None:
            ds = read_results(job.uids[0], catalog=catalog, method=method)
            rows += _rows(job, [(method, ds)] if ds is not None else [], "stored")
            continue
        rows += [
            {"uids": " ".join(job.uids), "sample": job.sample, "measurement": job.measurement,
             "method": method, **scalar, "status": "stored"}
            for scalar in scalars
        ]  # fmt: skip
    return rows


def reduce_catalog(
    catalog: Any,
    *,
    location: str | os.PathLike[str] | None = None,
    query: Mapping[str, Any] | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> Summary:
    """Reduce every matching run (and group) of a catalog and store the results.

    Parameters
    ----------
    catalog : tiled client
        The catalog root (:func:`sloxide.catalog.open_catalog`).
    location : str or os.PathLike, optional
        Where workers open the catalog (the directory or URL); needed with
        ``scheduler``.
    query : mapping, optional
        Dotted start-document keys and values, all of which a run must match.
    scheduler : str, optional
        A dask.distributed scheduler address (``tcp://host:8786``); default,
        reduce in this process.
    progress : bool, default False
        Show a progress bar (tqdm).

    Returns
    -------
    Summary
        Counts and the tidy rows; a job already reduced is counted as skipped
        and its stored results are read into the table.

    Raises
    ------
    SloxideError
        If a scheduler is given without a location, or does not answer.

    Examples
    --------
    >>> import tempfile
    >>> from bluesky import RunEngine
    >>> from sloxide.batch import reduce_catalog
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import fc_magnetization
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> uid, = RE(fc_magnetization(sim_lab(SimWorld())["cryostat"], start=150, stop=2,
    ...                            step=2, sample="C10/L6"))
    >>> first, second = reduce_catalog(catalog), reduce_catalog(catalog)
    >>> (first.reduced, first.skipped), (second.reduced, second.skipped)
    ((1, 0), (0, 1))
    >>> row = first.table().set_index("variable").loc["Tc"]
    >>> bool(abs(row.value - 75.6) < 1.5), row.units  # PHYSICS.md §7: tangent T_c 75.6 K
    (True, 'K')
    """
    if scheduler is not None and location is None:
        raise SloxideError("reducing on a dask cluster needs the catalog location for workers")
    if scheduler is not None:
        check_scheduler(scheduler)
    started = time.perf_counter()
    starts, incomplete = _complete_starts(catalog, query)
    jobs = jobs_from_starts(starts)
    by_uid = {start["uid"]: start for start in starts}
    summary = Summary(incomplete=incomplete)
    # What is stored already, in one listing: a pass with nothing to do asks the catalog
    # once, not once per job.
    index = stored_index(catalog)
    todo = []
    for job in jobs:
        if all(key in index for _, key in _keys(job)):
            summary.skipped += 1
            summary.rows += _stored_rows(catalog, job, index)
        else:
            todo.append(job)
    # One writer for the pass: the results container found once, nothing asked before a
    # write (the index says what is stored), the run context from the starts in hand.
    writer = ResultWriter(catalog, stored=index)
    bar = _progress(len(todo), progress)
    for job, outcome in _execute(todo, catalog, location, scheduler):
        if isinstance(outcome, str):
            summary.failed += 1
            summary.rows.append({
                "uids": " ".join(job.uids), "sample": job.sample,
                "measurement": job.measurement, "method": "", "variable": "", "value": None,
                "units": "", "status": outcome,
            })  # fmt: skip
        else:
            starts_of_job = [by_uid[uid] for uid in job.uids if uid in by_uid]
            for result in outcome:
                writer.store(
                    result.data, method=result.method, raw_uids=job.uids,
                    parameters=result.parameters, starts=starts_of_job,
                )  # fmt: skip
            summary.reduced += 1
            summary.rows += _rows(job, [(r.method, r.data) for r in outcome], "reduced")
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    summary.seconds = time.perf_counter() - started
    return summary


#: Jobs whose runs are read together (:func:`sloxide.io.read_many`): a few requests for
#: all of their runs instead of six per run.
JOBS_PER_BATCH = 32


def _run_jobs(catalog: Any, jobs: Sequence[Job]) -> list[list[Result] | str]:
    """Read the runs of several jobs together and reduce each: what a worker does with a batch.

    Each job gives its plain results, or the status of its failure (``"failed: <why>"``;
    a string travels back from a worker whatever the exception was).
    """
    from .catalog import open_catalog
    from .io import read_many

    if isinstance(catalog, str | os.PathLike):
        catalog = open_catalog(catalog)
    uids = list(dict.fromkeys(uid for job in jobs for uid in job.uids))
    out: list[list[Result] | str] = []
    with _synchronous_dask():
        try:
            runs = dict(zip(uids, read_many(uids, catalog=catalog), strict=True))
        except Exception:  # a run that cannot be read: each job reads its own and says why
            runs = {}
        for job in jobs:
            try:
                results = reduction.reduce_job(job, reduction.read_job(catalog, job, runs))
                out.append([r._replace(data=plain_dataset(r.data)) for r in results])
            except Exception as exc:
                out.append(f"failed: {type(exc).__name__}: {exc}")
    return out


def _batches(jobs: Sequence[Job], size: int) -> list[list[Job]]:
    return [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]


def _execute(
    jobs: list[Job], catalog: Any, location: Any, scheduler: str | None
) -> Iterable[tuple[Job, list[Result] | str]]:
    """(job, results or the status of its failure) as each batch of jobs finishes."""
    if scheduler is None:
        for batch in _batches(jobs, JOBS_PER_BATCH):
            yield from zip(batch, _run_jobs(catalog, batch), strict=True)
        return
    from dask.distributed import Client, as_completed

    with Client(scheduler) as client:
        # Batches of jobs, not one task per job: a task costs the scheduler and the
        # worker a few ms and each batch reads its runs together. Four batches per
        # worker at least, so that the workers finish together.
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(1, min(JOBS_PER_BATCH, -(-len(jobs) // (4 * workers))))
        futures = {
            client.submit(_run_jobs, str(location), batch, pure=False): batch
            for batch in _batches(jobs, size)
        }
        for future in as_completed(futures):
            batch = futures[future]
            try:
                yield from zip(batch, future.result(), strict=True)
            except Exception as exc:  # the worker died, or the batch did not travel
                for job in batch:
                    yield job, f"failed: {type(exc).__name__}: {exc}"


def check_scheduler(address: str, timeout: float = 3.0) -> None:
    """Refuse a dask scheduler address that does not answer, in seconds rather than 30.

    A ``tcp://`` or ``tls://`` address (or a bare ``host:port``) is checked with a
    TCP connection; other protocols are left to dask.

    Parameters
    ----------
    address : str
        The scheduler address, e.g. ``tcp://scheduler-host:8786``.
    timeout : float, default 3
        Seconds to wait for the connection.

    Raises
    ------
    SloxideError
        If the address is malformed or nothing accepts a connection there.

    Examples
    --------
    >>> from sloxide.batch import check_scheduler
    >>> check_scheduler("tcp://127.0.0.1:1")
    Traceback (most recent call last):
    ...
    sloxide.errors.SloxideError: cannot reach the dask scheduler at tcp://127.0.0.1:1 (...) ...
    """
    import socket
    from urllib.parse import urlsplit

    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp", "tls"):
        return
    try:
        parts = urlsplit(f"//{rest}")
        host, port = parts.hostname, parts.port or 8786
    except ValueError:
        host = None
    if not host:
        raise SloxideError(
            f"the dask scheduler address {address!r} is not HOST:PORT; pass one such as "
            "tcp://scheduler-host:8786"
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise SloxideError(
            f"cannot reach the dask scheduler at {address} ({why}); start it (dask "
            "scheduler) or pass its address with --scheduler tcp://HOST:PORT"
        ) from None


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="job", desc="sloxide reduce")


def write_summary(summary: Summary, out: Path, fmt: str = "csv") -> Path:
    """Write the tidy summary table to ``out/summary.<csv|parquet>``; returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sloxide.batch import Summary, write_summary
    >>> write_summary(Summary(), pathlib.Path(tempfile.mkdtemp())).name
    'summary.csv'
    """
    if fmt not in ("csv", "parquet"):
        raise SloxideError(f"the summary format is 'csv' or 'parquet', got {fmt!r}")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"summary.{fmt}"
    table = summary.table()
    if fmt == "csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    return path
