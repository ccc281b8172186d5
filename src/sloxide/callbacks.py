"""Live reduction and live feedback: results while the experiment runs, never in the way.

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
never delays or breaks a plan. A reduction that raises is logged as a warning,
recorded in :attr:`LiveReduction.errors` and noted on the run in the catalog
(:data:`NOT_REDUCED_KEY`); the others go on. The figure is drawn from the
RunEngine's thread (matplotlib is not thread-safe), on the next document after a
result, and only with an interactive matplotlib backend.

**On exit** the interpreter waits, at most ``drain_timeout`` seconds, for the
queued reductions, then notes every run still unreduced on the run in the
catalog, with the reason, and exits. A run without stored results is what
``sloxide reduce`` reduces, so nothing is lost. The wait runs before the
catalog's client shuts down: an embedded catalog is served in-process by a
thread (an anyio blocking portal) that Tiled stops at interpreter shutdown, in
``threading``'s own exit hooks, which run before :mod:`atexit`'s. A reduction
still reading or writing then gets "This portal is not running", and a request
caught in flight while the portal stops leaves the interpreter waiting forever
for the portal's thread. :class:`LiveReduction` therefore registers its drain
in the same hooks, after the client exists, so that it runs first (they run
last-registered first), and no catalog request of its own is in flight when the
portal stops.

**Feedback** for a person at an IPython or Jupyter prompt
(:func:`install_feedback`): bluesky's ``BestEffortCallback`` (a live table and
live plots) and a progress bar for moves. The plots follow the plan's hints:
the first field of the start document's ``hints["dimensions"]`` is the x axis
and ``hints["fields"]`` are the y axes (:class:`FollowPlanHints`). Feedback is
off under the queueserver, in scripts and in tests (:func:`feedback_wanted`).
"""

from __future__ import annotations

import collections
import datetime
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import xarray as xr

from .errors import SloxideError
from .reduction import Result, jobs_from_starts, read_job, reduce_job

__all__ = [
    "DRAIN_TIMEOUT_S",
    "FEEDBACK_ENV",
    "NOT_REDUCED_KEY",
    "FollowPlanHints",
    "LiveReduction",
    "feedback_wanted",
    "install_feedback",
    "interactive_session",
    "summary_line",
]

logger = logging.getLogger(__name__)

#: How long the worker waits for a stopped run to appear closed in the catalog.
CATALOG_WAIT_S = 30.0

#: How long, by default, the interpreter's exit waits for queued reductions (s).
DRAIN_TIMEOUT_S = 30.0

#: How long the exit waits, past the drain deadline, for a catalog request in flight.
REQUEST_GRACE_S = 10.0

#: The run-metadata key where live reduction notes a run it did not reduce, and why:
#: ``{"status": "not reduced", "reason": ..., "at": ISO time}``. The stored results
#: decide whether a run is reduced; ``sloxide reduce`` reduces every run without them.
NOT_REDUCED_KEY = "live_reduction"

#: The environment variable that turns feedback on (``1``) or off (``0``); unset or
#: ``auto``, it is on in an interactive IPython or Jupyter session only.
FEEDBACK_ENV = "SLOXIDE_FEEDBACK"


class _Closing(Exception):
    """The live reduction is closing: the worker touches the catalog no more."""


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
    drain_timeout : float, default 30
        Seconds the interpreter's exit (and :meth:`close`) waits for the
        queued reductions; the runs left are noted as not reduced and exit goes
        on (``sloxide reduce`` reduces them later).
    close_at_exit : bool, default True
        Register :meth:`close` to run at interpreter exit, before the catalog's
        client shuts down.

    Attributes
    ----------
    results : dict
        Run uid -> list of :class:`~sloxide.reduction.Result` (an XLD pair's
        results under both uids).
    errors : dict
        Run uid -> why it was not reduced: the message of a reduction that
        failed, or that it was still queued or running at exit. The same
        reason is noted on the run in the catalog, under :data:`NOT_REDUCED_KEY`.

    Raises
    ------
    SloxideError
        If ``drain_timeout`` is negative or not a number.

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
    >>> live.close()  # what interpreter exit does: nothing left to wait for
    []
    """

    def __init__(
        self,
        catalog: Any,
        *,
        store: bool = True,
        echo: Callable[[str], Any] | None = print,
        figure: bool = True,
        drain_timeout: float = DRAIN_TIMEOUT_S,
        close_at_exit: bool = True,
    ) -> None:
        try:
            self.drain_timeout = float(drain_timeout)
        except (TypeError, ValueError):
            self.drain_timeout = math.nan
        if not self.drain_timeout >= 0:
            raise SloxideError(
                f"drain_timeout must be a number of seconds ≥ 0, got {drain_timeout!r}"
            )
        self.catalog = catalog
        self.store = store
        self.echo = echo
        self.results: dict[str, list[Result]] = {}
        self.errors: dict[str, str] = {}
        self._starts: dict[str, dict[str, Any]] = {}
        self._groups: dict[str, list[str]] = {}
        # Jobs: the pending ones and the one the worker holds, under one condition so
        # that close() sees every job exactly once (pending, current, or finished).
        self._state = threading.Condition()
        self._pending: collections.deque[tuple[str, ...]] = collections.deque()
        self._current: tuple[str, ...] | None = None
        self._closing = False
        # Held around each catalog request of the worker: close() takes it, so that no
        # request of ours is in flight when the catalog's client shuts down.
        self._requests = threading.Lock()
        self._to_draw: collections.deque[tuple[dict[str, Any], list[Result]]] = collections.deque()
        self._plot = _LivePlot() if figure and _interactive() else None
        self._worker = threading.Thread(target=self._work, name="sloxide-live", daemon=True)
        self._worker.start()
        if close_at_exit:
            _before_threading_shutdown(self._close_at_exit)

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
                self._submit(tuple(members))
                del self._groups[group]
        elif context.get("measurement"):
            self._submit((start["uid"],))

    def _submit(self, uids: tuple[str, ...]) -> None:
        with self._state:
            if self._closing:
                logger.warning(
                    "LiveReduction is closed: run(s) %s not reduced live; "
                    "`sloxide reduce` reduces them",
                    uids,
                )
                return
            self._pending.append(uids)
            self._state.notify_all()

    def _draw(self) -> None:
        while self._plot is not None and self._to_draw:
            self._plot.add(*self._to_draw.popleft())

    # ------------------------------------------------------------- worker thread

    def _work(self) -> None:
        while True:
            with self._state:
                while not self._pending and not self._closing:
                    self._state.wait()
                if self._closing:
                    return
                uids = self._current = self._pending.popleft()
            try:
                self._reduce(uids)
            except _Closing:
                pass  # close() took the job over and noted it
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                for uid in uids:
                    self.errors[uid] = message
                logger.warning("LiveReduction: run(s) %s not reduced: %s", uids, message)
                try:
                    with self._request():
                        self._note_not_reduced(uids, message)
                except _Closing:
                    pass
            finally:
                with self._state:
                    if self._current == uids:
                        self._current = None
                    self._state.notify_all()

    @contextmanager
    def _request(self) -> Iterator[None]:
        """Hold the catalog for one request; :class:`_Closing` once close() has begun."""
        with self._requests:
            if self._closing:
                raise _Closing
            yield

    def _reduce(self, uids: tuple[str, ...]) -> None:
        from .results import store_result

        for uid in uids:
            self._wait_closed(uid)
        start = self._starts[uids[0]]
        # The one grouping and reduction path of sloxide.reduction, as sloxide reduce uses.
        jobs = jobs_from_starts([self._starts[uid] for uid in uids])
        if not jobs:
            return
        (job,) = jobs
        with self._request():
            data = read_job(self.catalog, job)
        # The reduction itself runs without holding the catalog: close() need not wait for it.
        results = reduce_job(job, data)
        if not results:
            return
        with self._request():
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
            if self._plot is not None:
                self._to_draw.append((start, results))
            if self.echo is not None:
                self.echo(summary_line(start, results))
            with self._state:  # done: close() no longer counts it, wait() may return
                self._current = None

    def _wait_closed(self, uid: str) -> None:
        deadline = time.monotonic() + CATALOG_WAIT_S
        while True:
            try:
                with self._request():
                    if self.catalog[uid].metadata.get("stop"):
                        return
            except KeyError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"run {uid} was not closed in the catalog in {CATALOG_WAIT_S} s"
                )
            time.sleep(0.05)

    def _note_not_reduced(self, uids: tuple[str, ...], reason: str) -> None:
        """Note on each run, in the catalog, that it was not reduced live and why."""
        if not self.store:
            return
        note = {
            "status": "not reduced",
            "reason": reason,
            "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        for uid in uids:
            try:
                self.catalog[uid].update_metadata({NOT_REDUCED_KEY: note})
            except Exception as exc:  # the note is a courtesy; the missing results say it too
                logger.warning(
                    "LiveReduction: could not note run %s as not reduced (%s: %s)",
                    uid,
                    type(exc).__name__,
                    exc,
                )

    # ------------------------------------------------------------- control

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every finished run is reduced; False if ``timeout`` (s) passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._state:
            while self._pending or self._current is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._state.wait(0.1 if remaining is None else min(remaining, 0.1))
        self._draw()
        return True

    def close(self, timeout: float | None = None) -> list[str]:
        """Finish the queued reductions within ``timeout`` s, note the rest, stop the worker.

        Each run still queued or being reduced when ``timeout`` (default
        :attr:`drain_timeout`) has passed, and each XAS run still waiting for
        the other run of its XLD pair, is noted as not reduced, with the
        reason, in :attr:`errors` and on the run in the catalog
        (:data:`NOT_REDUCED_KEY`). ``sloxide reduce`` reduces it later. Runs
        that stop after this are not reduced live. Calling it again does nothing.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the queued reductions; Ctrl-C stops the wait.

        Returns
        -------
        list of str
            The uids of the runs left unreduced.
        """
        timeout = self.drain_timeout if timeout is None else max(float(timeout), 0.0)
        with self._state:
            if self._closing:
                return []
            busy = len(self._pending) + (self._current is not None)
        if busy:
            print(
                f"sloxide: finishing {busy} live reduction(s) before exit "
                f"(at most {timeout:g} s; Ctrl-C skips)",
                file=sys.stderr,
                flush=True,
            )
        why = f"drain timeout {timeout:g} s"
        try:
            self.wait(timeout)
        except KeyboardInterrupt:
            why = "the wait was interrupted"
        # No request of the worker's may be in flight once this returns: wait for the
        # one under way (a read or a write takes well under a second).
        held = self._requests.acquire(timeout=REQUEST_GRACE_S)
        try:
            with self._state:
                self._closing = True
                left = list(self._pending)
                if self._current is not None:
                    left.insert(0, self._current)
                self._pending.clear()
                self._state.notify_all()
            lone = [(uid,) for members in self._groups.values() for uid in members]
            self._groups.clear()
            if not held:
                logger.warning(
                    "LiveReduction: a catalog request was still under way after %g s",
                    REQUEST_GRACE_S,
                )
            unreduced: list[str] = []
            for uids in left:
                reason = self.errors.get(uids[0]) or (
                    f"the session ended before it was reduced ({why})"
                )
                for uid in uids:
                    self.errors.setdefault(uid, reason)
                if held:
                    self._note_not_reduced(uids, reason)
                unreduced.extend(uids)
            for uids in lone:  # an XLD run whose partner never finished: nothing to pair
                reason = "the other run of its XLD pair (same group_uid) never finished"
                self.errors.setdefault(uids[0], reason)
                if held:
                    self._note_not_reduced(uids, reason)
                unreduced.extend(uids)
        finally:
            if held:
                self._requests.release()
        if unreduced:
            logger.warning(
                "LiveReduction: run(s) %s not reduced before exit; `sloxide reduce` reduces them",
                ", ".join(uid[:8] for uid in unreduced),
            )
        self._worker.join(timeout=1.0)  # daemon: a reduction still computing is abandoned
        self._draw()
        return unreduced

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except (Exception, KeyboardInterrupt) as exc:  # exit must go on, Tiled's hook too
            logger.warning(
                "LiveReduction: closing at exit failed: %s: %s", type(exc).__name__, exc
            )


def _before_threading_shutdown(callback: Callable[[], None]) -> None:
    """Run ``callback`` at interpreter exit, before the hooks registered until now.

    ``threading``'s exit hooks run last-registered first, before non-daemon
    threads are joined and before :mod:`atexit`; Tiled registers the shutdown
    of an in-process catalog's client there when it is opened. Python has no
    public way in: without the private hook, fall back to :mod:`atexit`.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:
        import atexit

        atexit.register(callback)
        return
    try:
        register(callback)
    except RuntimeError:  # the interpreter is already shutting down
        pass


# --------------------------------------------------------------------------- feedback


def interactive_session() -> bool:
    """True in an IPython or Jupyter session a person types into; False elsewhere.

    False in the queueserver's worker (even when it runs an IPython kernel), in
    a plain Python script or test, and in ``ipython -c ...`` or ``ipython
    script.py`` without ``-i`` (IPython runs, but nobody watches the prompt).

    Returns
    -------
    bool

    Examples
    --------
    >>> from sloxide.callbacks import interactive_session
    >>> interactive_session()  # a doctest is not an interactive session
    False
    """
    try:
        from bluesky_queueserver import is_re_worker_active
    except ImportError:
        pass
    else:
        if is_re_worker_active():
            return False
    ipython = sys.modules.get("IPython")  # never imported here: only a running one counts
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    if type(shell).__name__ == "ZMQInteractiveShell":  # Jupyter's kernel
        return True
    from IPython.terminal.ipapp import TerminalIPythonApp

    if TerminalIPythonApp.initialized():
        return bool(TerminalIPythonApp.instance().interact)
    return sys.stdin is not None and sys.stdin.isatty()  # IPython.embed() and the like


def feedback_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether to show live feedback: :data:`FEEDBACK_ENV`, else :func:`interactive_session`.

    Parameters
    ----------
    environ : mapping, optional
        The environment to read; default ``os.environ``.

    Returns
    -------
    bool
        ``SLOXIDE_FEEDBACK=1`` (or ``true``, ``yes``, ``on``): True;
        ``0`` (``false``, ``no``, ``off``): False; unset, empty or ``auto``: True
        in an interactive IPython or Jupyter session only.

    Raises
    ------
    SloxideError
        For any other value of ``SLOXIDE_FEEDBACK``.

    Examples
    --------
    >>> from sloxide.callbacks import feedback_wanted
    >>> feedback_wanted({"SLOXIDE_FEEDBACK": "1"}), feedback_wanted({"SLOXIDE_FEEDBACK": "0"})
    (True, False)
    >>> feedback_wanted({})  # auto: not an interactive session
    False
    """
    value = (os.environ if environ is None else environ).get(FEEDBACK_ENV, "").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    if value not in {"", "auto"}:
        raise SloxideError(
            f"{FEEDBACK_ENV}={value!r} is not understood: use 1 (live table, plots and "
            "progress bars), 0 (none) or auto (only in an interactive IPython or Jupyter session)"
        )
    return interactive_session()


class FollowPlanHints:
    """Pass documents to a callback, plotting and tabulating the fields the plan hints.

    bluesky's ``BestEffortCallback`` plots every field the *devices* hint
    against the first field of the plan's ``hints["dimensions"]``. sloxide's
    devices hint their readbacks only (a Hall bar's ``R_xx`` and ``R_xy`` are
    ``normal``), so the plan names what is worth watching in the start
    document's ``hints["fields"]``; this wrapper narrows each descriptor's hints
    to those fields and the dimensions' before the callback sees them, and
    changes nothing for a plan without ``hints["fields"]``. The other
    subscribers see the documents unchanged.

    Parameters
    ----------
    callback : callable
        ``callback(name, doc)``, e.g. a ``BestEffortCallback``.

    Examples
    --------
    >>> from sloxide.callbacks import FollowPlanHints
    >>> seen = []
    >>> follow = FollowPlanHints(lambda name, doc: seen.append(doc))
    >>> follow("start", {"uid": "u", "hints": {"dimensions": [[["T"], "primary"]],
    ...                                         "fields": ["R"]}})
    >>> follow("descriptor", {"object_keys": {"meter": ["R", "I"], "T": ["T"]},
    ...                       "hints": {"meter": {"fields": []}}})
    >>> seen[-1]["hints"]
    {'meter': {'fields': ['R']}, 'T': {'fields': ['T']}}
    """

    def __init__(self, callback: Callable[[str, dict[str, Any]], Any]) -> None:
        self.callback = callback
        self._wanted: set[str] | None = None

    def __call__(self, name: str, doc: dict[str, Any]) -> Any:
        if name == "start":
            hints = doc.get("hints") or {}
            fields = hints.get("fields")
            if fields:
                self._wanted = set(fields)
                for dimension, _stream in hints.get("dimensions", ()):
                    self._wanted.update([dimension] if isinstance(dimension, str) else dimension)
            else:
                self._wanted = None
        elif name == "descriptor" and self._wanted is not None:
            doc = {
                **doc,
                "hints": {
                    obj: {"fields": [f for f in keys if f in self._wanted]}
                    for obj, keys in doc.get("object_keys", {}).items()
                },
            }
        return self.callback(name, doc)


def install_feedback(RE: Any, *, enabled: bool | None = None) -> Any:
    """Live table, live plots and move progress bars for a person at the prompt.

    Subscribes bluesky's ``BestEffortCallback`` through :class:`FollowPlanHints`
    (a table of every event; one figure per run with the plan's hinted fields
    against its first dimension) and sets ``RE.waiting_hook`` to bluesky's
    ``ProgressBarManager``. In IPython it also turns on IPython's matplotlib
    integration with the configured backend, so the figures update while a
    plan runs (``MPLBACKEND=Agg`` keeps every window closed).

    Parameters
    ----------
    RE : bluesky.RunEngine
    enabled : bool, optional
        Default: :func:`feedback_wanted`, i.e. ``SLOXIDE_FEEDBACK``, else on in
        an interactive IPython or Jupyter session only.

    Returns
    -------
    bluesky.callbacks.best_effort.BestEffortCallback or None
        The callback (``bec.disable_plots()``, ``bec.disable_table()``), or
        None when feedback is off.

    Raises
    ------
    SloxideError
        For a ``SLOXIDE_FEEDBACK`` value that is not understood.

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.callbacks import install_feedback
    >>> RE = RunEngine({})
    >>> install_feedback(RE) is None  # not an interactive session: nothing is installed
    True
    """
    if enabled is None:
        enabled = feedback_wanted()
    if not enabled:
        return None
    from bluesky.callbacks.best_effort import BestEffortCallback
    from bluesky.utils import ProgressBarManager

    _matplotlib_in_ipython()
    bec = BestEffortCallback()
    RE.subscribe(FollowPlanHints(bec))
    RE.waiting_hook = ProgressBarManager()
    return bec


def _matplotlib_in_ipython() -> None:
    """Run IPython's event loop for an interactive matplotlib backend, so plots update live."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not _interactive():  # Agg, inline: drawn, shown at most per cell
        return
    import matplotlib

    try:
        shell.enable_matplotlib(matplotlib.get_backend().lower())
    except Exception as exc:  # e.g. the GUI toolkit is missing: plots are drawn, not shown
        logger.warning("sloxide: live plots stay hidden (%s: %s)", type(exc).__name__, exc)


def _interactive() -> bool:
    """True when matplotlib is importable and its backend draws on a display."""
    try:
        import matplotlib
        from matplotlib.backends import BackendFilter, backend_registry
    except ImportError:
        return False
    backend = matplotlib.get_backend().lower()
    # The filter must be the enum: the string "interactive" filters nothing (Agg included).
    interactive = backend_registry.list_builtin(BackendFilter.INTERACTIVE)
    return backend in {b.lower() for b in interactive}


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
