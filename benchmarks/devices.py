"""Events per second of a field loop on the sim devices against bare ``bp.list_scan`` on ``ophyd.sim``."""

from __future__ import annotations

from typing import Any

import numpy as np


def run(points: int = 1801) -> dict[str, Any]:
    """Time the same list scan on the sim Hall bar/magnet and on ophyd.sim's det/motor."""
    import bluesky.plans as bp
    from bluesky import RunEngine
    from ophyd.sim import det, motor

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
    return {
        "events": len(fields),
        "sim field loop (events/s)": len(fields) / ours,
        "bare ophyd.sim list_scan (events/s)": len(fields) / bare,
        # The RunEngine's own cost dominates both; ±15 % between runs.
        "sim / bare events per second": at_least(0.8, bare / ours, 0.15),
    }
