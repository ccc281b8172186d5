"""The facility under load: ``sloxide serve`` on PostgreSQL with concurrent writers, readers
and a dask reduction (docs/deployment.md, "Scale-out").

Writers are processes, each a RunEngine on its own sim lab (``SimWorld`` in instant
mode) writing field loops and XLD pairs through the server with the write key. Readers
are processes that poll for the newest finished run and ``read_run`` it with the
read-only key. ``sloxide reduce --catalog http://... --scheduler ...`` reduces on a dask
``LocalCluster`` whose workers read with the read-only key, once while the writers write
and once after. Afterwards every document the writers emitted is looked for in the
catalog: a run, stop document or event missing is lost; an event row stored twice, or a
run nobody emitted, is duplicated.

:func:`load` is the load itself, given a running server (tests/test_facility.py runs it
small, asserting counts only); :func:`run` makes the whole facility (a throwaway
PostgreSQL cluster, ``tiled catalog init``, ``sloxide serve``) and prints the figures:
``python -m benchmarks facility``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .timing import at_most

#: The energies of the XLD pairs (eV): short, so that a pair costs about what a loop does,
#: with 11 points in 868.5–873.5 eV: more than the 8 parameters of the Ni valence fit.
XLD_REGIONS = (862.0, 0.5, 880.0)
#: Seconds a process may take to be ready (imports, opening the catalog) on a busy machine.
READY_TIMEOUT_S = 180.0


# --------------------------------------------------------------------------- processes


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} did not appear within {timeout:g} s")
        time.sleep(0.02)


def _plans(lab: dict, index: int, runs: int) -> list[Any]:
    """``runs`` plans: field loops and XLD pairs in turn, each with its own setpoint."""
    from sloxide.plans import field_loop, xld_scan

    plans = []
    for k in range(runs):
        if k % 2 == 0:
            temperature = 30.0 + k + 0.01 * index  # above 20 K: no AHE scaling series
            plans.append(field_loop(lab["hallbar"], lab["cryostat"], temperature=temperature,
                                    field_max=3.0, step=0.25, sample="C10/L6"))  # fmt: skip
        else:
            plans.append(xld_scan(lab["beamline"], regions=XLD_REGIONS, sample="C10/L6"))
    return plans


def writer(location: str, key: str, index: int, runs: int, workdir: str) -> None:
    """One instrument: a RunEngine writing ``runs`` plans to ``location``, counting documents.

    Writes ``writer-INDEX.json`` in ``workdir``: per run uid the exit status and
    the events emitted per stream (with their ``seq_num``), the events and the
    seconds spent in the RunEngine, and any error.
    """
    os.environ["TILED_API_KEY"] = key
    from bluesky import RunEngine

    from sloxide.catalog import open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab

    folder = Path(workdir)
    report: dict[str, Any] = {"runs": {}, "events": 0, "seconds": 0.0, "errors": []}
    descriptors: dict[str, tuple[str, str]] = {}

    def count(name: str, doc: dict) -> None:
        if name == "start":
            report["runs"][doc["uid"]] = {"streams": {}, "exit_status": None}
        elif name == "descriptor":
            descriptors[doc["uid"]] = (doc["run_start"], doc["name"])
            report["runs"][doc["run_start"]]["streams"].setdefault(doc["name"], [])
        elif name == "event":
            start, stream = descriptors[doc["descriptor"]]
            report["runs"][start]["streams"][stream].append(doc["seq_num"])
            report["events"] += 1
        elif name == "stop":
            report["runs"][doc["run_start"]]["exit_status"] = doc["exit_status"]

    try:
        catalog = open_catalog(location, create=not location.startswith("http"))
        RE = RunEngine({})
        RE.subscribe(count)
        subscribe(RE, catalog)
        lab = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=index))
        plans = _plans(lab, index, runs)
        (folder / f"writer-{index}.ready").touch()
        _wait_for(folder / "go", READY_TIMEOUT_S)
        for plan in plans:
            started = time.perf_counter()
            RE(plan)
            report["seconds"] += time.perf_counter() - started
    except Exception as exc:  # reported, counted by the caller
        report["errors"].append(f"{type(exc).__name__}: {exc}"[:500])
    (folder / f"writer-{index}.json").write_text(json.dumps(report))


def reader(url: str, key: str, index: int, workdir: str, poll: float = 0.05) -> None:
    """A reader polling for the newest finished run and reading it, until ``stop`` appears
    (then once more).

    Writes ``reader-INDEX.json``: the latency of each ``read_run`` (s) and any errors.
    """
    os.environ["TILED_API_KEY"] = key
    from sloxide.catalog import open_catalog
    from sloxide.io import read_run

    folder = Path(workdir)
    report: dict[str, Any] = {"latencies": [], "errors": [], "uids": []}
    try:
        catalog = open_catalog(url)
        (folder / f"reader-{index}.ready").touch()
        _wait_for(folder / "go", READY_TIMEOUT_S)
        last = False
        while not last:
            last = (folder / "stop").exists()  # then one more read: of the final runs
            try:
                for uid in catalog.keys()[-1:-5:-1]:  # the newest four, newest first
                    node = catalog[uid]
                    if node.metadata.get("stop") and "primary" in node:
                        started = time.perf_counter()
                        read_run(node)
                        report["latencies"].append(time.perf_counter() - started)
                        report["uids"].append(uid)
                        break
            except Exception as exc:
                report["errors"].append(f"{type(exc).__name__}: {exc}"[:500])
            time.sleep(poll)
    except Exception as exc:
        report["errors"].append(f"{type(exc).__name__}: {exc}"[:500])
    (folder / f"reader-{index}.json").write_text(json.dumps(report))


# --------------------------------------------------------------------------- reducing


_SUMMARY = re.compile(r"(\d+) reduced, (\d+) already reduced, (\d+) failed.* in ([\d.]+) s")


def reduce_pass(url: str, key: str, scheduler: str, out: str) -> dict[str, float]:
    """One ``sloxide reduce --catalog URL --scheduler ...``: reduced, failed, seconds."""
    env = {**os.environ, "TILED_API_KEY": key}
    done = subprocess.run(
        [sys.executable, "-m", "sloxide.cli", "reduce", "--catalog", url,
         "--scheduler", scheduler, "--out", out, "--no-progress"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    found = _SUMMARY.search(done.stdout)
    if found is None:
        raise RuntimeError(f"sloxide reduce failed ({done.returncode}): {done.stderr[-2000:]}")
    reduced, skipped, failed, seconds = found.groups()
    return {"reduced": int(reduced), "skipped": int(skipped), "failed": int(failed),
            "seconds": float(seconds)}  # fmt: skip


# --------------------------------------------------------------------------- accounting


def account(
    catalog: Any, reports: list[dict], before: set[str] | frozenset = frozenset()
) -> dict[str, int]:
    """Documents lost and duplicated: what the writers emitted against what is stored.

    ``before`` are the runs the catalog held before the writers started.
    """
    emitted = {uid: run for report in reports for uid, run in report["runs"].items()}
    lost = duplicated = 0
    stored = {uid for uid in catalog if "start" in catalog[uid].metadata} - set(before)
    duplicated += len(stored - set(emitted))  # runs nobody emitted
    for uid, run in emitted.items():
        if uid not in stored:
            lost += 1 + sum(len(seq) for seq in run["streams"].values())
            lost += run["exit_status"] is not None
            continue
        node = catalog[uid]
        stop = node.metadata.get("stop")
        if (
            run["exit_status"] is not None
            and (stop or {}).get("exit_status") != run["exit_status"]
        ):
            lost += 1
        for stream, seq in run["streams"].items():
            rows = list(node[stream].base["internal"].read()["seq_num"]) if seq else []
            lost += len(set(seq) - set(rows))
            duplicated += len(rows) - len(set(rows)) + len(set(rows) - set(seq))
    return {"lost": lost, "duplicated": duplicated, "runs": len(emitted)}


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def _start(target: Any, *args: Any) -> Any:
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    return process


def load(
    url: str,
    write_key: str,
    read_key: str,
    *,
    writers: int = 4,
    runs: int = 4,
    readers: int = 4,
    scheduler: str | None = None,
    server_log: str | None = None,
) -> dict[str, Any]:
    """``writers`` RunEngines, ``readers`` readers and a dask reduction at once on ``url``.

    Returns the writers' and readers' reports, the reduction passes, the
    accounting (:func:`account`) and the server's 5xx count (from
    ``server_log``, its access log, if given).
    """
    from sloxide.catalog import open_catalog

    workdir = Path(tempfile.mkdtemp(prefix="sloxide-facility-"))
    errors_before = _server_errors(server_log)
    catalog = open_catalog(f"{url}?api_key={read_key}")
    before = set(catalog)
    processes = [_start(writer, url, write_key, i, runs, str(workdir)) for i in range(writers)]
    processes += [_start(reader, url, read_key, i, str(workdir)) for i in range(readers)]
    for name in [f"writer-{i}" for i in range(writers)] + [f"reader-{i}" for i in range(readers)]:
        _wait_ready(workdir, name, processes)
    passes: list[dict[str, float]] = []
    reducing = None
    if scheduler is not None:
        out = str(workdir / "reduce")
        reducing = threading.Thread(
            target=lambda: passes.append(reduce_pass(url, write_key, scheduler, out))
        )
    started = time.perf_counter()
    (workdir / "go").touch()
    if reducing is not None:
        reducing.start()
    for process in processes[:writers]:
        process.join()
    writing = time.perf_counter() - started
    (workdir / "stop").touch()
    for process in processes[writers:]:
        process.join()
    if reducing is not None:
        reducing.join()
        passes.append(reduce_pass(url, write_key, scheduler, str(workdir / "reduce")))
    write_reports = [
        json.loads((workdir / f"writer-{i}.json").read_text()) for i in range(writers)
    ]
    read_reports = [json.loads((workdir / f"reader-{i}.json").read_text()) for i in range(readers)]
    return {
        "writers": write_reports,
        "readers": read_reports,
        "passes": passes,
        "writing_seconds": writing,
        "accounting": account(catalog, write_reports, before),
        "server_errors": _server_errors(server_log) - errors_before,
    }


def _wait_ready(workdir: Path, name: str, processes: list) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not (workdir / f"{name}.ready").exists():
        if (workdir / f"{name}.json").exists():  # it failed before it was ready
            raise RuntimeError(f"{name} failed: {(workdir / f'{name}.json').read_text()[:2000]}")
        dead = [p for p in processes if p.exitcode is not None and p.exitcode != 0]
        if dead:
            for process in processes:
                process.kill()
            raise RuntimeError(f"a load process exited with {dead[0].exitcode} before {name} "
                               "was ready")  # fmt: skip
        if time.monotonic() > deadline:
            for process in processes:
                process.kill()
            raise TimeoutError(f"{name} not ready within {READY_TIMEOUT_S:g} s")
        time.sleep(0.05)


def _server_errors(server_log: str | None) -> int:
    """Replies with a 5xx status in the server's access log."""
    if server_log is None or not os.path.exists(server_log):
        return 0
    with open(server_log) as log:
        return sum(1 for line in log if re.search(r'HTTP/1\.1" 5\d\d ', line))


# --------------------------------------------------------------------------- the benchmark


def _services() -> Any:
    """tests/services.py: the PostgreSQL cluster and ``sloxide serve`` the tests start."""
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import services

    return services


def _warm(url: str) -> int:
    """Open the catalog on a dask worker (cached for the process): what its first job costs."""
    from sloxide.catalog import open_catalog

    return len(open_catalog(url))


def run(writers: int = 4, runs: int = 8, readers: int = 4, workers: int = 2) -> dict[str, Any]:
    """The whole facility on this machine, loaded; the figures of ``python -m benchmarks``."""
    from dask.distributed import LocalCluster

    services = _services()
    write_key, read_key = secrets.token_hex(32), secrets.token_hex(32)
    postgres = services.PostgresCluster()
    scratch = Path(tempfile.mkdtemp(prefix="sloxide-facility-bench-"))
    try:
        postgres.start()
        uri = postgres.createdb("facility")
        tiled = Path(sys.executable).with_name("tiled")
        subprocess.run([str(tiled), "catalog", "init", uri], check=True, capture_output=True)
        server = services.SloxideServe(
            uri, str(scratch), "--data", str(scratch / "data"), "--allow-writes",
            key=write_key, env={"SLOXIDE_READ_API_KEY": read_key},
        )  # fmt: skip
        # The same writer alone on an embedded catalog: the baseline of events/s.
        baseline_dir = scratch / "embedded"
        baseline = _start(writer, str(baseline_dir), write_key, 0, runs, str(scratch))
        _wait_ready(scratch, "writer-0", [baseline])
        (scratch / "go").touch()
        baseline.join()
        embedded = json.loads((scratch / "writer-0.json").read_text())
        server.wait()
        previous = os.environ.get("TILED_API_KEY")
        os.environ["TILED_API_KEY"] = read_key  # what the dask workers read with
        try:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:  # fmt: skip
                # Warm the workers (imports, opening the catalog) as a long-lived cluster is.
                from dask.distributed import Client

                with Client(cluster.scheduler_address) as client:
                    client.run(_warm, server.url)
                result = load(
                    server.url, write_key, read_key, writers=writers, runs=runs,
                    readers=readers, scheduler=cluster.scheduler_address,
                    server_log=server.stderr_path,
                )  # fmt: skip
        finally:
            if previous is None:
                os.environ.pop("TILED_API_KEY", None)
            else:
                os.environ["TILED_API_KEY"] = previous
        server.stop()
        if result["server_errors"]:
            print(server.output()[1][-20000:], file=sys.stderr)
    finally:
        postgres.remove()
    return figures(result, embedded)


def figures(result: dict[str, Any], embedded: dict[str, Any]) -> dict[str, Any]:
    """The printed figures of a :func:`load` result against the embedded baseline."""
    rate = embedded["events"] / embedded["seconds"]
    per_writer = [w["events"] / w["seconds"] for w in result["writers"] if w["seconds"] > 0]
    latencies = [t for r in result["readers"] for t in r["latencies"]]
    reduced = sum(p["reduced"] for p in result["passes"])
    seconds = sum(p["seconds"] for p in result["passes"])
    errors = sum(len(w["errors"]) for w in result["writers"])
    errors += sum(len(r["errors"]) for r in result["readers"])
    accounting = result["accounting"]
    return {
        "runs written (field loops and XLD pairs)": float(accounting["runs"]),
        "embedded catalog, one writer alone (events/s)": rate,
        "each writer through the server, 4 at once (events/s, mean)": (
            sum(per_writer) / len(per_writer) if per_writer else float("nan")
        ),
        "all writers through the server together (events/s)": sum(per_writer),
        # Reported: 4 writers, 4 readers, the server, PostgreSQL and dask share the cores.
        "  each writer against the embedded catalog (mean ratio)": (
            sum(per_writer) / len(per_writer) / rate if per_writer else float("nan")
        ),
        "  slowest writer against the embedded catalog": (
            min(per_writer) / rate if per_writer else float("nan")
        ),
        "read_run of the newest run, p50 (s)": _percentile(latencies, 50),
        "read_run of the newest run, p95 (s)": _percentile(latencies, 95),
        "reads": float(len(latencies)),
        "runs reduced on dask (per second of sloxide reduce)": (
            reduced / seconds if seconds else float("nan")
        ),
        "runs reduced": float(reduced),
        "reductions failed": at_most(0.0, float(sum(p["failed"] for p in result["passes"])), 0),
        "documents lost": at_most(0.0, float(accounting["lost"]), 0),
        "documents duplicated": at_most(0.0, float(accounting["duplicated"]), 0),
        "server errors (5xx replies)": at_most(0.0, float(result["server_errors"]), 0),
        "client errors (writers and readers)": at_most(0.0, float(errors), 0),
    }
