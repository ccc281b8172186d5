"""Events per second of a field loop on the sim devices against bare ``bp.list_scan`` on
``ophyd.sim``: alone, and with the catalog subscribed (every document stored, as in use)."""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np


def run(points: int = 1801) -> dict[str, Any]:
    """Time the same list scan on the sim Hall bar/magnet and on ophyd.sim's det/motor."""
    import bluesky.plans as bp
    from bluesky import RunEngine
    from ophyd.sim import det, motor

    from sloxide.catalog import open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab

    from .timing import at_least, best_of

    lab = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))
    half = (points - 1) // 4
    fields = list(np.r_[0 : half + 1, half - 1 : -half - 1 : -1, -half + 1 : 1] * (9.0 / half))
    engine = RunEngine({})
    ours = best_of(
        lambda: engine(bp.list_scan([lab["hallbar"]], lab["cryostat"].field, fields)), repeat=2
    )
    bare = best_of(lambda: engine(bp.list_scan([det], motor, fields)), repeat=2)
    stored = RunEngine({})
    subscribe(stored, open_catalog(tempfile.mkdtemp(prefix="sloxide-bench-devices-"), create=True))
    ours_stored = best_of(
        lambda: stored(bp.list_scan([lab["hallbar"]], lab["cryostat"].field, fields)), repeat=2
    )
    return {
        "events": len(fields),
        "sim field loop (events/s)": len(fields) / ours,
        "bare ophyd.sim list_scan (events/s)": len(fields) / bare,
        # The RunEngine's own cost dominates both; ±15 % between runs.
        "sim / bare events per second": at_least(0.8, bare / ours, 0.15),
        "sim field loop, catalog subscribed (events/s)": len(fields) / ours_stored,
        # The same against the bare scan storing nothing: the writer batches the events
        # (sloxide.catalog.subscribe), so storing costs a few requests per run. ±15 %.
        "sim with the catalog / bare events per second": at_least(0.8, bare / ours_stored, 0.15),
    }
