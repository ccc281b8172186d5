"""``sloxide reduce``: runs per second on numpy in-process, and on a dask cluster of 1 and 2
workers. The same runs are written to three fresh catalogs at once, so each path
reduces everything from scratch."""

from __future__ import annotations

import tempfile
import time
from typing import Any

from .timing import at_most


def _warm(directory: str) -> int:
    """Open the catalog on a worker (cached for the process); the count pickles, it doesn't."""
    from sloxide.catalog import open_catalog

    return len(open_catalog(directory))


def run(loops: int = 24) -> dict[str, Any]:
    """Reduce ``loops`` field loops (AHE + MR each) on numpy, then on 1 and 2 dask workers."""
    from bluesky import RunEngine
    from dask.distributed import LocalCluster

    from sloxide.batch import reduce_catalog
    from sloxide.catalog import find_runs, open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import field_loop

    directories = {name: tempfile.mkdtemp() for name in ("numpy", "1 worker", "2 workers")}
    engine = RunEngine({})
    for directory in directories.values():
        subscribe(engine, open_catalog(directory, create=True))
    lab = sim_lab(SimWorld(sample="C10/L6", seed=0))
    temperatures = [30.0 + 0.5 * k for k in range(loops)]  # above 20 K: no scaling series
    for t in temperatures:
        engine(field_loop(lab["hallbar"], lab["cryostat"], temperature=t, field_max=6.0,
                          step=0.05, sample="C10/L6"))  # fmt: skip

    from sloxide.io import read_run

    rates: dict[str, float] = {}
    numpy_catalog = open_catalog(directories["numpy"])
    uids = list(find_runs(numpy_catalog, measurement="field_loop"))
    started = time.perf_counter()
    for uid in uids:
        read_run(numpy_catalog[uid])
    rates["read only"] = len(uids) / (time.perf_counter() - started)
    started = time.perf_counter()
    summary = reduce_catalog(numpy_catalog)
    first = time.perf_counter() - started
    rates["numpy"] = summary.reduced / first
    started = time.perf_counter()
    again = reduce_catalog(numpy_catalog)
    second = time.perf_counter() - started
    assert again.reduced == 0 and again.skipped == summary.reduced
    for workers in (1, 2):
        name = f"{workers} worker" + ("s" if workers > 1 else "")
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:  # fmt: skip
            # Warm the workers (imports, opening the catalog) outside the timing, as a
            # long-lived cluster would be.
            from dask.distributed import Client

            with Client(cluster.scheduler_address) as client:
                client.run(_warm, directories[name])
            started = time.perf_counter()
            summary = reduce_catalog(
                open_catalog(directories[name]),
                location=directories[name],
                scheduler=cluster.scheduler_address,
            )
            rates[name] = summary.reduced / (time.perf_counter() - started)
    return {
        "runs reduced per path": float(loops),
        "read_run alone (runs/s)": rates["read only"],
        "numpy in-process (runs/s)": rates["numpy"],
        # Reading, reducing and storing against reading alone (DESIGN.md: >= 0.8). Storing
        # each result is several requests today; reported, not yet held to the target.
        "reduce / read throughput": rates["numpy"] / rates["read only"],
        # A second pass finds everything stored in one listing: <= 5 % of the first.
        "second pass / first pass (nothing to do)": at_most(0.05, second / first, 0.5),
        "dask, 1 worker (runs/s)": rates["1 worker"],
        "dask, 2 workers (runs/s)": rates["2 workers"],
        "scaling 1 -> 2 workers (ideal 2; 2 cores here)": rates["2 workers"] / rates["1 worker"],
        "2 workers / numpy in-process": rates["2 workers"] / rates["numpy"],
    }
