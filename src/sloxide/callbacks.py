"""Live reduction: results while the experiment runs, never in the way of acquisition.

:class:`LiveReduction` is a Bluesky callback. It notes each run's start document
and, when the stop document arrives, hands the run to a worker thread, which

1. waits until the run is closed in the catalog (the ``TiledWriter`` flushes on
   the stop document, in the RunEngine's thread),
2. reads it back with :func:`sloxide.io.read_run` and reduces it as
   :mod:`sloxide.reduction` says (an XLD pair once both runs are in),
3. stores every result with its provenance (:func:`sloxide.results.store_result`),
4. prints one line per run with the key numbers, and queues the numbers for the
   live figure.

The RunEngine's thread does nothing but enqueue: a slow or failing reduction
never delays or breaks a plan. A reduction that raises is logged as a warning
and recorded in :attr:`LiveReduction.errors`; the others go on. The figure is
drawn from the RunEngine's thread (matplotlib is not thread-safe), on the next
document after a result, and only with an interactive matplotlib backend.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import xarray as xr

from .reduction import Result, reduce_run, reduce_xas_pair

__all__ = ["LiveReduction", "summary_line"]

logger = logging.getLogger(__name__)

#: How long the worker waits for a stopped run to appear closed in the catalog.
CATALOG_WAIT_S = 30.0


def _scalars(result: xr.Dataset, limit: int = 4) -> list[str]:
    """``name = value units`` for the first finite 0-d variables of a result."""
    out = []
    for name, variable in result.data_vars.items():
        if variable.ndim or variable.dtype.kind not in "iuf" or str(name).endswith("_stderr"):
            continue
        value = float(variable.values)
        if not math.isfinite(value):
            continue
        units = variable.attrs.get("units", "")
        out.append(f"{name} = {value:.4g}{' ' + units if units not in ('', '1') else ''}")
        if len(out) == limit:
            break
    return out


def summary_line(start: Mapping[str, Any], results: list[Result]) -> str:
    """One line with the key numbers of a reduced run.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.callbacks import summary_line
    >>> from sloxide.reduction import Result
    >>> tc = xr.Dataset({"Tc": ((), 75.61, {"units": "K"})})
    >>> start = {"uid": "3f2a9c01-aaaa", "scan_id": 7,
    ...          "sloxide": {"measurement": "fc_magnetization", "sample": {"name": "C10/L6"}}}
    >>> summary_line(start, [Result("curie_temperature", {}, tc)])
    'scan 7 fc_magnetization C10/L6 [3f2a9c01]: curie_temperature: Tc = 75.61 K'
    """
    context = start.get("sloxide", {})
    sample = context.get("sample", {}).get("name", "")
    head = " ".join(
        part
        for part in (
            f"scan {start['scan_id']}" if "scan_id" in start else "",
            str(context.get("measurement", start.get("plan_name", ""))),
            sample,
            f"[{str(start.get('uid', ''))[:8]}]",
        )
        if part
    )
    body = "; ".join(
        f"{r.method}: {', '.join(_scalars(r.data)) or '(no scalar results)'}" for r in results
    )
    return f"{head}: {body}"


class LiveReduction:
    """A Bluesky callback that reduces every finished run and stores the results.

    Parameters
    ----------
    catalog : tiled client
        The catalog the RunEngine writes to (subscribe the writer too, with
        :func:`sloxide.catalog.subscribe`); results go to the same catalog.
    store : bool, default True
        Write the results to the catalog.
    echo : callable, default print
        Receives one summary line per reduced run; ``None`` to stay silent.
    figure : bool, default True
        Keep a live figure of the key numbers when matplotlib has an
        interactive backend.

    Attributes
    ----------
    results : dict
        Run uid -> list of :class:`~sloxide.reduction.Result` (an XLD pair's
        results under both uids).
    errors : dict
        Run uid -> the message of a reduction that failed.

    Examples
    --------
    >>> import tempfile
    >>> from bluesky import RunEngine
    >>> from sloxide.callbacks import LiveReduction
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import fc_magnetization
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> live = LiveReduction(catalog, echo=None)
    >>> token = RE.subscribe(live)
    >>> lab = sim_lab(SimWorld(sample="C10/L6"))
    >>> uid, = RE(fc_magnetization(lab["cryostat"], start=150, stop=2, step=2))
    >>> live.wait(60)
    True
    >>> abs(float(live.results[uid][0].data.Tc) - 75.6) < 1.5  # PHYSICS.md §7: 75.6 K
    True
    """

    def __init__(
        self,
        catalog: Any,
        *,
        store: bool = True,
        echo: Callable[[str], Any] | None = print,
        figure: bool = True,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.echo = echo
        self.results: dict[str, list[Result]] = {}
        self.errors: dict[str, str] = {}
        self._starts: dict[str, dict[str, Any]] = {}
        self._groups: dict[str, list[str]] = {}
        self._jobs: queue.Queue[tuple[str, ...] | None] = queue.Queue()
        self._to_draw: queue.Queue[tuple[dict[str, Any], list[Result]]] = queue.Queue()
        self._plot = _LivePlot() if figure and _interactive() else None
        self._worker = threading.Thread(target=self._work, name="sloxide-live", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------- RunEngine thread

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        try:
            if name == "start":
                self._starts[doc["uid"]] = doc
            elif name == "stop":
                self._on_stop(doc)
            self._draw()
        except Exception as exc:  # never let a callback error reach the RunEngine
            logger.warning("LiveReduction: %s on a %s document ignored", exc, name)

    def _on_stop(self, stop: dict[str, Any]) -> None:
        start = self._starts.get(stop["run_start"])
        if start is None:
            return
        context = start.get("sloxide", {})
        group = context.get("xas", {}).get("group_uid")
        if context.get("measurement") == "xas" and group:
            members = self._groups.setdefault(group, [])
            members.append(start["uid"])
            if len(members) == 2:
                self._jobs.put(tuple(members))
                del self._groups[group]
        elif context.get("measurement"):
            self._jobs.put((start["uid"],))

    def _draw(self) -> None:
        while self._plot is not None and not self._to_draw.empty():
            self._plot.add(*self._to_draw.get_nowait())

    # ------------------------------------------------------------- worker thread

    def _work(self) -> None:
        while True:
            uids = self._jobs.get()
            try:
                if uids is None:
                    return
                self._reduce(uids)
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                for uid in uids or ():
                    self.errors[uid] = message
                logger.warning("LiveReduction: run(s) %s not reduced: %s", uids, message)
            finally:
                self._jobs.task_done()

    def _reduce(self, uids: tuple[str, ...]) -> None:
        from .io import read_run, read_runs
        from .results import store_result

        for uid in uids:
            self._wait_closed(uid)
        start = self._starts[uids[0]]
        if len(uids) == 2:
            pair = read_runs(list(uids), along="xas.incidence_angle_deg", catalog=self.catalog)
            results = reduce_xas_pair(pair)
        else:
            results = reduce_run(read_run(uids[0], catalog=self.catalog))
        if not results:
            return
        if self.store:
            for result in results:
                store_result(
                    self.catalog,
                    result.data,
                    method=result.method,
                    raw_uids=list(uids),
                    parameters=result.parameters,
                )
        for uid in uids:
            self.results[uid] = results
        if self.echo is not None:
            self.echo(summary_line(start, results))
        if self._plot is not None:
            self._to_draw.put((start, results))

    def _wait_closed(self, uid: str) -> None:
        deadline = time.monotonic() + CATALOG_WAIT_S
        while True:
            try:
                if self.catalog[uid].metadata.get("stop"):
                    return
            except KeyError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"run {uid} was not closed in the catalog in {CATALOG_WAIT_S} s"
                )
            time.sleep(0.05)

    # ------------------------------------------------------------- control

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every finished run is reduced; False if ``timeout`` (s) passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._jobs.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        self._draw()
        return True

    def close(self) -> None:
        """Finish the queued reductions and stop the worker."""
        self._jobs.put(None)
        self._worker.join()


def _interactive() -> bool:
    """True when matplotlib is importable and its backend draws on a display."""
    try:
        import matplotlib
        from matplotlib import backends
    except ImportError:
        return False
    backend = matplotlib.get_backend().lower()
    return backend in {b.lower() for b in backends.backend_registry.list_builtin("interactive")}


class _LivePlot:
    """One panel per measurement: the first scalar result of each run, in run order."""

    def __init__(self) -> None:
        import matplotlib.pyplot as plt

        self._plt = plt
        self.figure = plt.figure("sloxide live reduction")
        self._series: dict[str, tuple[list[int], list[float], str]] = {}

    def add(self, start: Mapping[str, Any], results: list[Result]) -> None:
        for result in results:
            scalars = [(name, v) for name, v in result.data.data_vars.items() if v.ndim == 0]
            if not scalars:
                continue
            name, variable = scalars[0]
            label = f"{result.method}: {name} ({variable.attrs.get('units', '')})"
            xs, ys, _ = self._series.setdefault(result.method, ([], [], label))
            xs.append(int(start.get("scan_id", len(xs) + 1)))
            ys.append(float(variable.values))
        self.figure.clear()
        axes = self.figure.subplots(len(self._series) or 1, 1, squeeze=False)[:, 0]
        for ax, (xs, ys, label) in zip(axes, self._series.values(), strict=False):
            ax.plot(xs, ys, "o-")
            ax.set_ylabel(label, fontsize="small")
        axes[-1].set_xlabel("scan id")
        self.figure.canvas.draw_idle()
        self._plt.pause(0.001)
