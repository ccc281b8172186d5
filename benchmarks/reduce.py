"""``sloxide reduce`` over a long campaign: runs per second on numpy in-process, and on a
dask cluster of 1 and 2 workers, against reading the same runs only.

The campaign (:mod:`benchmarks.campaign`) is written once and copied for each path, so
each reduces everything from scratch. Reading alone is timed two ways: ``read_run``
run after run (what a script does, and DESIGN.md's baseline), and ``read_many`` over all
runs (how ``sloxide reduce`` reads them now).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .timing import at_least, at_most


def _warm(directory: str) -> int:
    """Open the catalog on a worker (cached for the process) and reduce one job of each kind
    without storing it, so that every reduction's imports are done."""
    from sloxide.batch import _run_jobs, find_jobs
    from sloxide.catalog import open_catalog

    jobs, _ = find_jobs(open_catalog(directory))
    kinds = {job.measurement: job for job in jobs}
    return len(_run_jobs(directory, list(kinds.values())))


def _blas_threads() -> str:
    import os

    return os.environ.get("OMP_NUM_THREADS", "unset")


def run(n_runs: int = 500, read_run_subset: int = 50) -> dict[str, Any]:
    """Reduce a campaign of ``n_runs`` runs on numpy, then on 1 and 2 dask workers."""
    from dask.distributed import Client, LocalCluster

    from sloxide.batch import reduce_catalog
    from sloxide.catalog import open_catalog
    from sloxide.io import read_many, read_run

    from .campaign import build

    base = Path(tempfile.mkdtemp(prefix="sloxide-bench-reduce-"))
    uids, written = build(open_catalog(base / "numpy", create=True), n_runs)
    for name in ("1 worker", "2 workers"):
        shutil.copytree(base / "numpy", base / name)
    numpy_catalog = open_catalog(base / "numpy")

    subset = uids[:: max(1, len(uids) // read_run_subset)]
    started = time.perf_counter()
    for uid in subset:
        read_run(uid, catalog=numpy_catalog)
    read_one = len(subset) / (time.perf_counter() - started)
    started = time.perf_counter()
    read_many(uids, catalog=numpy_catalog)
    read_all = len(uids) / (time.perf_counter() - started)

    _warm(str(base / "numpy"))  # the reductions' imports, as on the workers
    started = time.perf_counter()
    summary = reduce_catalog(numpy_catalog)
    first = time.perf_counter() - started
    if summary.failed or summary.reduced != len(uids):
        raise AssertionError(f"reduce failed: {summary.table().status.unique()}")
    numpy_rate = len(uids) / first
    started = time.perf_counter()
    again = reduce_catalog(numpy_catalog)
    second = time.perf_counter() - started
    assert again.reduced == 0 and again.skipped == summary.reduced

    rates: dict[str, float] = {}
    threads = "?"
    for workers in (1, 2):
        name = f"{workers} worker" + ("s" if workers > 1 else "")
        location = str(base / name)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:  # fmt: skip
            # Warm the workers (imports, opening the catalog) outside the timing, as a
            # long-lived cluster would be (and as this process was, above).
            with Client(cluster.scheduler_address) as client:
                client.run(_warm, location)
                threads = ",".join(sorted(set(client.run(_blas_threads).values())))
            started = time.perf_counter()
            summary = reduce_catalog(
                open_catalog(location), location=location, scheduler=cluster.scheduler_address
            )
            rates[name] = len(uids) / (time.perf_counter() - started)
            if summary.failed or summary.reduced != len(uids):
                raise AssertionError(f"reduce on {name} failed")
    shutil.rmtree(base, ignore_errors=True)
    return {
        "runs in the campaign (field loops, R(T), M(T), AMR)": float(len(uids)),
        "writing them (runs/s)": len(uids) / written,
        f"read_run, run after run ({len(subset)} of them; runs/s)": read_one,
        "read_many, all of them (runs/s)": read_all,
        "numpy in-process: read, reduce, store (runs/s)": numpy_rate,
        # DESIGN.md: reading, reducing and storing at >= 0.8x the throughput of reading
        # the same runs. Reading is read_run's; ±30 % between runs on a shared machine.
        "reduce / read_run throughput": at_least(0.8, numpy_rate / read_one, 0.3),
        # Against the batch's own bulk read the store is the floor: one create request
        # of the catalog server (~20 ms) per result, two results per field loop.
        "reduce / read_many throughput (reported)": numpy_rate / read_all,
        # A second pass finds everything stored in one listing: <= 5 % of the first.
        "second pass / first pass (nothing to do)": at_most(0.05, second / first, 0.5),
        # dask starts its workers with OMP_NUM_THREADS=1: no BLAS oversubscription.
        f"dask, 1 worker (runs/s; OMP_NUM_THREADS={threads})": rates["1 worker"],
        "dask, 2 workers (runs/s)": rates["2 workers"],
        "scaling 1 -> 2 workers (ideal 2; 2 cores here)": rates["2 workers"] / rates["1 worker"],
        # Two workers read and reduce in parallel while this process stores: not slower
        # than in-process. ±25 % between runs.
        "2 workers / numpy in-process": at_least(1.0, rates["2 workers"] / numpy_rate, 0.25),
    }
