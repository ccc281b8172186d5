"""``find_runs`` (Tiled's server-side queries) against listing every run and filtering in Python.

The catalog is built fast: each run is its start and stop documents written
through the catalog's own ``TiledWriter``, as a RunEngine would write them,
without running plans (a search reads metadata only, so runs need no events).
The contexts are the plans' (sample, measurement, setpoints), the start times
one every 10 minutes. The search asks for one sample's field loops between 2
and 20 K, about 1 run in 100.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

SAMPLES = ("C10/L6", "C2/L6", "C10/L2", "C6/L6", "C2/L2", "C10/L10")
MEASUREMENTS = ("field_loop", "rt", "amr", "xas", "fc_magnetization")
TEMPERATURES = (2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 300.0)


def _context(i: int) -> dict[str, Any]:
    measurement = MEASUREMENTS[i % len(MEASUREMENTS)]
    context: dict[str, Any] = {
        "measurement": measurement,
        "sample": {"name": SAMPLES[(i // len(MEASUREMENTS)) % len(SAMPLES)]},
    }
    temperature = TEMPERATURES[(i // 30) % len(TEMPERATURES)]
    if measurement == "field_loop":
        context["setpoints"] = {
            "temperature_K": temperature,
            "field_max_T": 9.0,
            "field_step_T": 0.02,
        }
    elif measurement == "amr":
        context["setpoints"] = {"temperature_K": temperature, "field_T": 9.0}
        context["rotation"] = {"plane": "(001)", "angle_name": "theta"}
    elif measurement == "xas":
        angle = 90.0 if i % 2 else 30.0
        context["xas"] = {"edge": "Ni L2", "incidence_angle_deg": angle, "group_uid": str(i // 2)}
        context["setpoints"] = {"incidence_angle_deg": angle}
    else:
        context["setpoints"] = {"field_T": 0.1, "start_K": 300.0, "stop_K": 2.0}
    return context


def build(n_runs: int) -> tuple[Any, float]:
    """A new embedded catalog of ``n_runs`` runs, and the seconds it took to write them."""
    from bluesky_tiled_plugins import TiledWriter
    from event_model import compose_run

    from sloxide.catalog import open_catalog

    catalog = open_catalog(tempfile.mkdtemp(prefix="sloxide-bench-find-"), create=True)
    writer = TiledWriter(catalog)
    began = time.perf_counter()
    first = time.time() - n_runs * 600.0
    for i in range(n_runs):
        when = first + i * 600.0
        bundle = compose_run(
            metadata={"sloxide": _context(i), "plan_name": "benchmark", "scan_id": i},
            time=when,
        )
        writer("start", bundle.start_doc)
        writer("stop", bundle.compose_stop(exit_status="success", time=when + 300.0))
    return catalog, time.perf_counter() - began


def _wanted(start: Any) -> bool:
    """The search, written out in Python over a start document."""
    context = start.get("sloxide") or {}
    temperature = (context.get("setpoints") or {}).get("temperature_K")
    return (
        (context.get("sample") or {}).get("name") == "C10/L6"
        and context.get("measurement") == "field_loop"
        and isinstance(temperature, int | float)
        and 2.0 <= temperature <= 20.0
    )


def run(n_runs: int = 2000) -> dict[str, float]:
    """Time both ways of finding the same runs, each reading the matches' metadata."""
    from sloxide.catalog import find_runs

    from .timing import best_of

    catalog, seconds = build(n_runs)
    query = {"sample": "C10/L6", "measurement": "field_loop", "temperature": (2, 20)}

    def searched() -> list[str]:
        return [uid for uid, run in find_runs(catalog, **query).items() if run.metadata]

    def scanned() -> list[str]:
        found = [(n.metadata["start"]["time"], uid) for uid, n in catalog.items() if _wanted(
            n.metadata.get("start") or {}
        )]  # fmt: skip
        return [uid for _, uid in sorted(found)]

    if searched() != scanned():
        raise AssertionError("find_runs and the Python scan found different runs")
    ours = best_of(searched, repeat=3)
    theirs = best_of(scanned, repeat=2)
    count = best_of(lambda: len(find_runs(catalog, **query)), repeat=3)
    return {
        "runs in the catalog": float(n_runs),
        "runs matching": float(len(searched())),
        "writing the catalog, start and stop documents (runs/s)": n_runs / seconds,
        "find_runs and read the matches (s)": ours,
        "list every run and filter in Python (s)": theirs,
        "list-and-filter / find_runs (speed-up)": theirs / ours,
        "len(find_runs(...)), counted by the database (s)": count,
    }
