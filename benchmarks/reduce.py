"""``sloxide reduce``: runs per second on numpy in-process, and on a dask cluster of 1 and 2
workers. The same runs are written to three fresh catalogs at once, so each path
reduces everything from scratch."""

from __future__ import annotations

import tempfile
import time


def _warm(directory: str) -> int:
    """Open the catalog on a worker (cached for the process); the count pickles, it doesn't."""
    from sloxide.catalog import open_catalog

    return len(open_catalog(directory))


def run(loops: int = 24) -> dict[str, float]:
    """Reduce ``loops`` field loops (AHE + MR each) on numpy, then on 1 and 2 dask workers."""
    from bluesky import RunEngine
    from dask.distributed import LocalCluster

    from sloxide.batch import reduce_catalog
    from sloxide.catalog import open_catalog, subscribe
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

    rates: dict[str, float] = {}
    started = time.perf_counter()
    summary = reduce_catalog(open_catalog(directories["numpy"]))
    rates["numpy"] = summary.reduced / (time.perf_counter() - started)
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
        "numpy in-process (runs/s)": rates["numpy"],
        "dask, 1 worker (runs/s)": rates["1 worker"],
        "dask, 2 workers (runs/s)": rates["2 workers"],
        "scaling 1 -> 2 workers (ideal 2; 2 cores here)": rates["2 workers"] / rates["1 worker"],
        "2 workers / numpy in-process": rates["2 workers"] / rates["numpy"],
    }
