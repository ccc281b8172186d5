"""Soak: back-to-back runs and a 10,000-point scan into one embedded catalog.

Both go through :func:`sloxide.catalog.subscribe` into a catalog in a temporary
directory and are read back: every run, every event. Memory must stay bounded:

* over the small runs, the process may not grow by anything like what keeping
  each run's documents would cost (a leak of the run's data);
* the 10,000-point scan may hold its events while they are written (the writer
  collects up to ``WRITE_BATCH_SIZE`` events per write), but no more than a
  few copies of them.

The small runs come in two sizes, with the same code paths and assertions. By
default 60 runs: the growth over the last 30 is compared with what keeping 30
runs' documents would add (6,000 Python blocks; about 200 are seen, and a quarter
is allowed). ``SLOXIDE_SOAK=long`` runs 200, the growth over the last 100 checked.
The scan keeps its 10,000 points at either size: it is one whole
``WRITE_BATCH_SIZE`` batch, and a shorter scan's fixed costs (about 6 MB of
reading) would come near its bound of five copies of the data.

Run with ``pytest -s tests/test_soak.py`` to see the figures; ``-m "not slow"``
leaves it out. The long soak took 4.5 minutes on a shared two-core machine under
load (load average 4 to 7): the RunEngine takes about 7 ms per event, Tiled's
eight requests per run 0.4 to 0.6 s, and reading back two requests per run. The
60 runs take 40 s where the 200 took 90 s (a two-core machine, load average 4).
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time
import tracemalloc

import bluesky.plans as bp
import numpy as np
import pytest

pytest.importorskip("tiled")
# psutil measures the resident set size now (ru_maxrss only gives the peak). It is
# installed with the test extra, through distributed (the deploy extra).
psutil = pytest.importorskip("psutil")

from bluesky import RunEngine  # noqa: E402

from sloxide.catalog import open_catalog, subscribe  # noqa: E402
from sloxide.devices.sim import SimWorld, sim_lab  # noqa: E402
from sloxide.io import read_run  # noqa: E402

pytestmark = pytest.mark.slow

#: SLOXIDE_SOAK=long: 200 small runs; by default 60 (the module docstring says why).
LONG = os.environ.get("SLOXIDE_SOAK", "").strip().lower() == "long"
RUNS = 200 if LONG else 60
RUN_EVENTS = 10
CHECKPOINTS = tuple(RUNS * k // 4 for k in (1, 2, 3, 4))  # growth is measured over the last half
BIG_EVENTS = 10_000
MB = 1e6


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


def _peak_rss() -> float:
    """The peak resident set size of this process so far (ru_maxrss: KiB on Linux)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(peak if sys.platform == "darwin" else peak * 1024)


def _sqlite_memory():
    """``sqlite3_memory_used`` of the SQLite that Python's sqlite3 uses, or None.

    The catalog database (``catalog.db``) is read and written through it; its page
    cache grows with the database, up to ``cache_size`` (2 MiB) per connection.
    """
    try:
        import _sqlite3

        function = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError):
        return None
    function.restype = ctypes.c_int64
    return lambda: int(function())


class PeakSampler:
    """The highest RSS seen by a thread that samples it every 50 ms."""

    def __init__(self) -> None:
        self.peak = _rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(0.05):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _held_by_documents(RE, plan) -> tuple[int, int]:
    """Bytes and allocated blocks that keeping one run's documents costs, measured."""
    documents: list = []
    gc.collect()
    tracemalloc.start()
    RE(plan, lambda name, doc: documents.append((name, doc)))
    gc.collect()
    traced, blocks = tracemalloc.get_traced_memory()[0], sys.getallocatedblocks()
    documents.clear()
    gc.collect()
    bytes_held = traced - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    gc.collect()
    return bytes_held, blocks - sys.getallocatedblocks()


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    catalog = open_catalog(tmp_path_factory.mktemp("soak"), create=True)
    lab = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))
    RE = RunEngine({})
    subscribe(RE, catalog)
    return catalog, lab, RE


def _small_run(hallbar, index):
    md = {"sloxide": {"measurement": "rt", "soak_index": index}}
    return bp.count([hallbar], num=RUN_EVENTS, md=md)


def test_runs_in_a_row_are_all_stored_in_bounded_memory(soak):
    catalog, lab, RE = soak
    hallbar = lab["hallbar"]
    RE(_small_run(hallbar, -1))  # the first run pays for connections and caches
    # What a leak of one run's data per run would cost: its documents, kept.
    run_bytes, run_blocks = _held_by_documents(RE, _small_run(hallbar, 0))
    sqlite_memory = _sqlite_memory()

    uids, at = [], {}
    gc.collect()
    at[0] = (_rss(), sys.getallocatedblocks(), sqlite_memory() if sqlite_memory else 0)
    start = time.perf_counter()
    for index in range(1, RUNS + 1):
        (uid,) = RE(_small_run(hallbar, index))
        uids.append(uid)
        if index in CHECKPOINTS:
            gc.collect()
            at[index] = (_rss(), sys.getallocatedblocks(), sqlite_memory() if sqlite_memory else 0)
    elapsed = time.perf_counter() - start

    # Read back: metadata of all runs in a few paged requests, then the stored seq_num
    # column of each primary stream (every event, in order), not the whole runs.
    start = time.perf_counter()
    listed = dict(catalog.items())
    for index, uid in enumerate(uids, start=1):
        metadata = listed[uid].metadata
        assert metadata["start"]["sloxide"]["soak_index"] == index
        assert metadata["stop"]["exit_status"] == "success"
        assert dict(metadata["stop"]["num_events"]) == {"primary": RUN_EVENTS}
        seq_num = catalog[uid, "primary", "internal"].read(["seq_num"])["seq_num"]
        assert seq_num.tolist() == list(range(1, RUN_EVENTS + 1)), uid
    read_elapsed = time.perf_counter() - start

    half = RUNS // 2
    rss_growth = at[RUNS][0] - at[half][0]
    blocks_growth = at[RUNS][1] - at[half][1]
    sqlite_growth = at[RUNS][2] - at[half][2]
    leak = half * run_bytes  # keeping each run's documents, over the last half of the runs
    leak_blocks = half * run_blocks
    print(
        f"\n{RUNS} runs of {RUN_EVENTS} events: {elapsed:.0f} s, {RUNS / elapsed:.2f} runs/s, "
        f"{RUNS * RUN_EVENTS / elapsed:.1f} events/s; read back in {read_elapsed:.1f} s"
        f"\nRSS after run "
        + ", ".join(f"{i}: {at[i][0] / MB:.1f} MB" for i in at)
        + f"\ngrowth from run {half} to {RUNS}: RSS {rss_growth / MB:+.2f} MB, of which SQLite "
        f"{sqlite_growth / MB:+.2f} MB (page cache, "
        + ("measured" if sqlite_memory else "not measurable here")
        + f"); Python blocks {blocks_growth:+d}"
        f"\none run's documents hold {run_bytes / 1e3:.1f} kB in {run_blocks} blocks: "
        f"leaking them would add {leak / MB:.2f} MB and {leak_blocks} blocks per {half} runs"
        f"\npeak RSS so far {_peak_rss() / MB:.0f} MB"
    )
    # No Python objects pile up: a leak of each run's documents would add leak_blocks
    # allocated blocks over the last half of the runs (observed over runs 101-200: a few
    # hundred); allow a quarter.
    assert blocks_growth < leak_blocks / 4
    # Nor does the process grow without bound. RSS, unlike the block count, also holds
    # malloc's arenas and the SQLite caches, which move by a few MB with what ran before
    # in the process (0.4 MB alone, 1.9 MB after the whole suite) and not in proportion
    # to the runs, so the block count above is the leak check; this bound catches gross
    # growth: 10 MB over the last half, 100 kB a run in the long soak (far above the
    # cache growth seen: at most 2 MB per 100 runs), 333 kB a run in the default one.
    assert rss_growth - sqlite_growth < 10 * MB


def test_a_10000_point_scan_is_stored_whole_in_bounded_memory(soak):
    catalog, lab, RE = soak
    hallbar = lab["hallbar"]
    md = {"sloxide": {"measurement": "rt", "quantities": {"hallbar_R_xx": "R_xx"}}}
    # What one event costs kept as a document, from a 50-event run.
    sample_bytes, sample_blocks = _held_by_documents(RE, bp.count([hallbar], num=50, md=md))
    event_bytes, event_blocks = sample_bytes / 50, sample_blocks / 50
    gc.collect()
    before, blocks_before = _rss(), sys.getallocatedblocks()
    start = time.perf_counter()
    with PeakSampler() as sampler:
        (uid,) = RE(bp.count([hallbar], num=BIG_EVENTS, md=md))
    elapsed = time.perf_counter() - start
    write_peak = sampler.peak

    start = time.perf_counter()
    with PeakSampler() as sampler:
        ds = read_run(uid, catalog=catalog)
    read_elapsed = time.perf_counter() - start
    assert ds.sizes["time"] == BIG_EVENTS
    assert ds.attrs["exit_status"] == "success"
    assert ds["hallbar_R_xx"].attrs == {"units": "ohm", "quantity": "R_xx"}
    assert ds["hallbar_R_xy"].attrs["units"] == "ohm"
    assert np.all(np.diff(ds["time"].values) > 0)  # every event once, in order
    assert np.isfinite(ds["hallbar_R_xx"].values).all()
    seq_num = catalog[uid, "primary", "internal"].read(["seq_num"])["seq_num"]
    np.testing.assert_array_equal(seq_num.values, np.arange(1, BIG_EVENTS + 1))
    del ds, seq_num
    gc.collect()
    after, retained_blocks = _rss(), sys.getallocatedblocks() - blocks_before

    run_bytes = BIG_EVENTS * event_bytes  # the run's events, kept as documents
    growth = max(write_peak, sampler.peak) - before
    print(
        f"\n{BIG_EVENTS}-point scan: written in {elapsed:.0f} s ({BIG_EVENTS / elapsed:.0f} "
        f"events/s), read back with read_run in {read_elapsed:.1f} s"
        f"\nRSS before {before / MB:.0f} MB, peak while writing {write_peak / MB:.0f} MB, "
        f"while reading {sampler.peak / MB:.0f} MB (+{growth / MB:.0f} MB), after "
        f"{after / MB:.0f} MB; Python blocks retained {retained_blocks:+d}"
        f"\nthe run's events as documents: {run_bytes / MB:.0f} MB in "
        f"{BIG_EVENTS * event_blocks:.0f} blocks; peak RSS of the process {_peak_rss() / MB:.0f} MB"
    )
    # While it runs, the writer holds up to WRITE_BATCH_SIZE (10,000) events, i.e. this
    # whole run, until it writes them at the stop document, and reading makes a table and
    # a Dataset of them: a few copies of the run's data, not more.
    assert growth < 5 * run_bytes
    # Afterwards nothing of it stays: keeping its events would retain
    # BIG_EVENTS * event_blocks blocks; allow a quarter of that.
    assert retained_blocks < BIG_EVENTS * event_blocks / 4
