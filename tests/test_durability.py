"""Catalog durability: a writer killed mid-run, and readers next to a running writer.

A real writer process opens an embedded catalog, writes three complete runs,
then a long run written in small batches (``subscribe(..., batch_size=2)``,
so that the writer is busy most of the time). This module

* reads the finished runs from the test process, idle and while the writer
  writes, and compares the read latencies;
* kills the writer with SIGKILL in the middle of the long run, then checks
  the catalog from the test process (which had it open all along, like a
  notebook next to the acquisition) and from a fresh process (the next
  session): it opens, every finished run reads whole, the killed run reads
  with the events written before the kill and no ``exit_status``, and a new
  run can be written to it;
* checks that a run killed before its first batch was stored (every run
  shorter than the default batch of 10,000 events) reads as a clear
  ``DataError``, not as an empty Dataset.

Reading next to a writer needs the catalog's SQLite files in WAL mode
(``sloxide.catalog._use_wal``): without it, the reads here failed at once with
"database is locked".

Opening the catalog costs seconds per process (STACK.md), so both helper
processes start when the module starts and wait on their stdin.
"""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import bluesky.plans as bp
import numpy as np
import pytest

pytest.importorskip("tiled")

from sloxide.catalog import CATALOG_FILENAME, TABLES_FILENAME, open_catalog  # noqa: E402
from sloxide.io import read_run  # noqa: E402

#: Events per write of the writer: small, so that the long run is written as it runs.
BATCH_SIZE = 2
#: Events of the long run if nobody kills it (minutes): a bound on an orphan's life.
LONG_EVENTS = 3000
#: The complete runs (kind, arguments) and their events; odd counts leave a part-batch
#: for the stop document to flush.
FINISHED = [
    ("field_loop", {"temperature": 2.0, "field_max": 0.2, "step": 0.1}, 11),
    ("field_loop", {"temperature": 10.0, "field_max": 0.5, "step": 0.1}, 26),
    ("count", {"num": 7}, 7),
]
UNITS = {
    "field_loop": {
        "hallbar_R_xx": "ohm",
        "hallbar_R_xy": "ohm",
        "cryostat_field": "T",
        "cryostat_temperature": "K",
    },
    "count": {"hallbar_R_xx": "ohm", "hallbar_R_xy": "ohm"},
}
#: How long the test process reads while the writer writes.
BUSY_SECONDS = 8.0

WRITER = textwrap.dedent(
    """
    import json, sys
    import bluesky.plans as bp
    from bluesky import RunEngine
    from sloxide.catalog import open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import field_loop

    directory, batch_size, long_events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    runs = json.loads(sys.argv[4])
    catalog = open_catalog(directory, create=True)
    print("OPENED", flush=True)
    lab = sim_lab(SimWorld(sample="C10/L6", seed=0))
    hallbar, cryostat = lab["hallbar"], lab["cryostat"]
    RE = RunEngine({})
    subscribe(RE, catalog, batch_size=batch_size)

    for kind, args, _ in runs:
        seen = []
        record = lambda name, doc: seen.append(doc["data"]) if name == "event" else None
        if kind == "field_loop":
            plan = field_loop(hallbar, cryostat, **args)
        else:
            plan = bp.count([hallbar], md={"sloxide": {"measurement": "rt"}}, **args)
        (uid,) = RE(plan, record)
        values = {key: [event[key] for event in seen] for key in seen[0]}
        print("DONE", json.dumps({"uid": uid, "kind": kind, "data": values}), flush=True)
    print("READY", flush=True)
    if not sys.stdin.readline():  # the test went away
        sys.exit(0)

    def announce(name, doc):
        # Called after the TiledWriter (subscribed first): two batches are in the catalog.
        if name == "event" and doc["seq_num"] == 2 * batch_size + 1:
            print("STARTED", doc["descriptor"], flush=True)

    md = {"sloxide": {"measurement": "rt"}}
    (uid,) = RE(bp.count([hallbar], num=long_events, md=md), announce)
    print("FINISHED", uid, flush=True)
    """
)

# A fresh process that waits (tiled imported) until the writer is dead, then opens the
# catalog, reads every run, writes a new one and prints what it found as JSON.
VERIFIER = textwrap.dedent(
    """
    import json, sys, time
    import bluesky.plans as bp
    import tiled.catalog, tiled.client, tiled.server.app  # the import cost, paid while waiting
    from bluesky import RunEngine
    from sloxide.catalog import open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.errors import SloxideError
    from sloxide.io import read_run

    print("WAITING", flush=True)
    if not sys.stdin.readline():
        sys.exit(0)
    t0 = time.perf_counter()
    catalog = open_catalog(sys.argv[1])
    report = {"open_s": time.perf_counter() - t0, "listed": list(catalog), "runs": {}}

    def describe(uid):
        try:
            run = catalog[uid]
            ds = read_run(run)
        except SloxideError as err:
            return {"error": f"{type(err).__name__}: {err}"}
        return {
            "data": {k: v.values.tolist() for k, v in ds.data_vars.items()},
            "units": {k: v.attrs.get("units") for k, v in ds.data_vars.items()},
            "seq_num": run["primary"]["seq_num"].read().tolist(),
            "exit_status": ds.attrs.get("exit_status"),
            "stop": "stop" in run.metadata,
        }

    for uid in report["listed"]:
        report["runs"][uid] = describe(uid)
    RE = RunEngine({})
    subscribe(RE, catalog)
    hallbar = sim_lab(SimWorld(sample="C10/L6", seed=2))["hallbar"]
    (uid,) = RE(bp.count([hallbar], num=3, md={"sloxide": {"measurement": "rt"}}))
    report["new"] = {"uid": uid, **describe(uid)}
    report["listed_after"] = list(catalog)
    print("REPORT", json.dumps(report), flush=True)
    """
)


class Helper:
    """A Python subprocess whose stdout lines are collected by a thread, to wait on."""

    def __init__(self, script: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._pumps = [
            threading.Thread(target=self._pump, args=(stream, is_stdout), daemon=True)
            for stream, is_stdout in ((self.process.stdout, True), (self.process.stderr, False))
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream, is_stdout) -> None:
        for line in stream:
            (self.lines.put if is_stdout else self.stderr.append)(line.rstrip("\n"))

    def expect(self, word: str, timeout: float) -> str:
        """The rest of the next stdout line that starts with ``word``; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                if left <= 0 or self.process.poll() is not None:
                    pytest.fail(
                        f"no {word!r} from the helper process within {timeout:g} s "
                        f"(exit code {self.process.poll()}); stderr:\n"
                        + "\n".join(self.stderr[-30:])
                    )
                continue
            if line.split(" ", 1)[0] == word:
                return line.partition(" ")[2]

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        for pump in self._pumps:  # they end at the end of the output
            pump.join(timeout=10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


class Writer(Helper):
    """The writer process: the complete runs it wrote, and its long run on demand."""

    def __init__(self, directory: Path) -> None:
        super().__init__(
            WRITER, str(directory), str(BATCH_SIZE), str(LONG_EVENTS), json.dumps(FINISHED)
        )
        self.directory = directory
        self.finished: list[dict] = []
        self.long_run_started = False

    def wait_ready(self) -> None:
        while len(self.finished) < len(FINISHED):
            self.finished.append(json.loads(self.expect("DONE", timeout=120)))
        self.expect("READY", timeout=30)

    def start_long_run(self) -> None:
        """Start the long run (once) and return when two batches of it are written."""
        if not self.long_run_started:
            self.send("go")
            self.expect("STARTED", timeout=60)
            self.long_run_started = True


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    """The writer, already writing its complete runs, and the waiting verifier."""
    directory = tmp_path_factory.mktemp("durable")
    writer = Writer(directory)
    verifier = Helper(VERIFIER, str(directory))
    try:
        writer.expect("OPENED", timeout=120)  # created by the writer: no race to initialize
        open_catalog(directory)  # in this process too, while the writer writes its runs
        yield writer, verifier
    finally:
        writer.stop()
        verifier.stop()


@pytest.fixture(scope="module")
def writer(processes):
    writer, _ = processes
    writer.wait_ready()
    return writer


def _long_uid(catalog, writer):
    finished = {run["uid"] for run in writer.finished}
    (uid,) = [uid for uid in catalog if uid not in finished]
    return uid


def _check_finished(ds, expected) -> None:
    """A run read back holds exactly what the writer recorded, with units and exit status."""
    assert ds.attrs["exit_status"] == "success"
    assert set(ds.data_vars) == set(expected["data"])
    for key, values in expected["data"].items():
        np.testing.assert_array_equal(ds[key].values, values, err_msg=key)
    for key, units in UNITS[expected["kind"]].items():
        assert ds[key].attrs["units"] == units, key


def _read_round(catalog, writer, latencies: dict[str, list[float]]) -> None:
    """Read every finished run and its event table once, and list the catalog once.

    The latencies (s) are appended to ``latencies["read_run"]``, ``["table"]`` (the
    stored event table alone, the part that reads ``tables.sqlite``) and ``["list"]``.
    """
    for expected in writer.finished:
        t0 = time.perf_counter()
        ds = read_run(expected["uid"], catalog=catalog)
        t1 = time.perf_counter()
        table = catalog[expected["uid"], "primary", "internal"].read()
        t2 = time.perf_counter()
        latencies["read_run"].append(t1 - t0)
        latencies["table"].append(t2 - t1)
        _check_finished(ds, expected)
        assert table["seq_num"].tolist() == list(range(1, ds.sizes["time"] + 1))
    t0 = time.perf_counter()
    uids = list(catalog)
    latencies["list"].append(time.perf_counter() - t0)
    assert {run["uid"] for run in writer.finished} <= set(uids)


def _summary(latencies: list[float]) -> str:
    ms = [1e3 * t for t in latencies]
    return f"median {statistics.median(ms):4.0f} ms, max {max(ms):4.0f} ms (n={len(ms)})"


def test_a_reader_reads_finished_runs_while_a_run_is_written(writer):
    catalog = open_catalog(writer.directory)  # opened in this process, next to the writer
    # Idle: the writer process is alive, with the catalog open, but writes nothing.
    _read_round(catalog, writer, {"read_run": [], "table": [], "list": []})  # warm-up
    idle: dict[str, list[float]] = {"read_run": [], "table": [], "list": []}
    for _ in range(3):
        _read_round(catalog, writer, idle)

    writer.start_long_run()
    long_uid = _long_uid(catalog, writer)
    before = read_run(long_uid, catalog=catalog)  # a run being written reads too
    busy: dict[str, list[float]] = {"read_run": [], "table": [], "list": [], "live": []}
    deadline = time.monotonic() + BUSY_SECONDS
    while time.monotonic() < deadline:
        _read_round(catalog, writer, busy)
        t0 = time.perf_counter()
        partial = read_run(long_uid, catalog=catalog)
        busy["live"].append(time.perf_counter() - t0)
        assert "exit_status" not in partial.attrs  # not closed yet
        assert partial.sizes["time"] % BATCH_SIZE == 0  # whole batches only
    after = read_run(long_uid, catalog=catalog)

    # The writer kept writing the whole time: still running, and the run grew.
    assert writer.process.poll() is None, "\n".join(writer.stderr[-30:])
    assert after.sizes["time"] > before.sizes["time"] >= 2 * BATCH_SIZE
    rate = (after.sizes["time"] - before.sizes["time"]) / BUSY_SECONDS
    # No read waited out SQLite's busy timeout (5 s) for a lock: a lock timeout in all
    # but name. (Without WAL mode, reads here failed at once: "database is locked".)
    assert max(max(values) for values in busy.values()) < 5.0
    print(
        f"\nread_run of a finished run, idle:          {_summary(idle['read_run'])}"
        f"\nread_run of a finished run, while writing: {_summary(busy['read_run'])}"
        f"\nits event table alone, idle:               {_summary(idle['table'])}"
        f"\nits event table alone, while writing:      {_summary(busy['table'])}"
        f"\nlist(catalog), idle:                       {_summary(idle['list'])}"
        f"\nlist(catalog), while writing:              {_summary(busy['list'])}"
        f"\nread_run of the run being written:         {_summary(busy['live'])}"
        f"\nthe writer meanwhile wrote {rate:.1f} events/s in batches of {BATCH_SIZE}"
    )


def _integrity(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def test_killing_the_writer_mid_run_leaves_the_catalog_intact(processes, writer):
    _, verifier = processes
    verifier.expect("WAITING", timeout=120)
    # This process has the catalog open across the kill, like a notebook next to the
    # acquisition session.
    catalog = open_catalog(writer.directory)
    writer.start_long_run()
    time.sleep(0.3)  # a few more batches: the kill lands while the writer is busy
    writer.process.send_signal(signal.SIGKILL)
    assert writer.process.wait(timeout=30) == -signal.SIGKILL
    # What the kill left next to the SQLite files: write-ahead logs (-wal, -shm) that the
    # next opener recovers, or a rollback journal.
    leftovers = sorted(
        p.name for p in writer.directory.iterdir() if p.name.endswith(("-journal", "-wal", "-shm"))
    )
    verifier.send("go")  # a fresh process opens the catalog now

    # This process reads on.
    long_uid = _long_uid(catalog, writer)
    for expected in writer.finished:
        _check_finished(read_run(expected["uid"], catalog=catalog), expected)
    killed = read_run(long_uid, catalog=catalog)
    assert "exit_status" not in killed.attrs
    assert "stop" not in catalog[long_uid].metadata

    # The fresh process: opens, reads every finished run whole, writes a new run.
    report = json.loads(verifier.expect("REPORT", timeout=120))
    finished = {run["uid"]: run for run in writer.finished}
    assert set(report["listed"]) == {*finished, long_uid}
    for uid, expected in finished.items():
        found = report["runs"][uid]
        assert found["exit_status"] == "success" and found["stop"]
        assert found["data"] == expected["data"]
        assert found["seq_num"] == list(range(1, len(found["seq_num"]) + 1))
        for key, units in UNITS[expected["kind"]].items():
            assert found["units"][key] == units
    assert [len(finished[run["uid"]]["data"]["hallbar_R_xx"]) for run in writer.finished] == [
        n for _, _, n in FINISHED
    ]
    # The killed run: listed, no stop document, and read_run returns the events written
    # before the kill (whole batches, in order) with no exit_status rather than raising.
    partial = report["runs"][long_uid]
    assert "error" not in partial, partial
    n = len(partial["seq_num"])
    assert n >= 2 * BATCH_SIZE and n % BATCH_SIZE == 0
    assert partial["seq_num"] == list(range(1, n + 1))
    assert partial["exit_status"] is None and not partial["stop"]
    assert partial["units"]["hallbar_R_xx"] == "ohm"
    assert n == killed.sizes["time"]
    # No stale lock: the fresh process wrote a new run after the kill.
    new = report["new"]
    assert new["exit_status"] == "success" and len(new["seq_num"]) == 3
    assert new["uid"] in report["listed_after"]
    # And this process sees it.
    assert read_run(new["uid"], catalog=catalog).sizes["time"] == 3
    # The SQLite files are whole (a journal left by the kill has been rolled back).
    for name in (CATALOG_FILENAME, TABLES_FILENAME):
        assert _integrity(writer.directory / name) == "ok", name
    print(
        f"\nkilled after {n} events of the long run; files left by the kill: "
        f"{leftovers or 'none'}; the fresh process opened the catalog in "
        f"{report['open_s']:.1f} s"
    )


def test_a_run_killed_before_its_first_batch_says_so(writer):
    """With the default batch size, a run killed before its end has no events stored.

    The TiledWriter sends a run's events at its stop document, or every
    ``WRITE_BATCH_SIZE`` events: a process that dies before either leaves the run
    with its start document and an empty stream. Here a TiledWriter is given every
    document of a run but the stop, which is what the catalog sees of such a run.
    """
    from bluesky import RunEngine
    from bluesky_tiled_plugins import TiledWriter

    from sloxide.catalog import WRITE_BATCH_SIZE
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.errors import DataError

    catalog = open_catalog(writer.directory)
    documents: list = []
    hallbar = sim_lab(SimWorld(sample="C10/L6", seed=4))["hallbar"]
    md = {"sloxide": {"measurement": "rt"}}
    RunEngine({})(bp.count([hallbar], num=3, md=md), lambda *doc: documents.append(doc))
    assert documents[-1][0] == "stop"
    tiled_writer = TiledWriter(catalog, batch_size=WRITE_BATCH_SIZE)  # as subscribe does
    for name, doc in documents[:-1]:
        tiled_writer(name, doc)
    uid = documents[0][1]["uid"]
    assert uid in catalog and "stop" not in catalog[uid].metadata
    with pytest.raises(DataError, match="no events stored in its 'primary' stream yet"):
        read_run(uid, catalog=catalog)
