"""``read_run`` against a plain Tiled read of the same run."""

from __future__ import annotations

import tempfile
from typing import Any


def run(step: float = 0.04) -> dict[str, Any]:
    """Write one ±9 T field loop in ``step`` (T) to a fresh embedded catalog; time both reads."""
    from bluesky import RunEngine

    from sloxide.catalog import open_catalog, subscribe
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.io import read_run
    from sloxide.plans import field_loop

    from .timing import at_most, best_of

    catalog = open_catalog(tempfile.mkdtemp(), create=True)
    lab = sim_lab(SimWorld(sample="C10/L6", seed=0))
    engine = RunEngine({})
    subscribe(engine, catalog)
    (uid,) = engine(field_loop(lab["hallbar"], lab["cryostat"], step=step))
    client = catalog[uid]
    plain = best_of(lambda: client["primary"].read(), repeat=5)
    ours = best_of(lambda: read_run(client), repeat=5)
    return {
        "events": client.metadata["stop"]["num_events"]["primary"],
        "plain Tiled read (s)": plain,
        "read_run (s)": ours,
        # Two reads of a few ms each: ±25 % between runs on a shared machine.
        "read_run / plain read": at_most(1.2, ours / plain, 0.25),
    }
