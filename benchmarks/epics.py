"""Seconds per point over Channel Access against the in-process sim, on the same plans.

The EPICS devices talk to ``sloxide ioc --mode instant`` in a subprocess on a free
localhost port (:func:`sloxide.ioc.spawn_ioc`); the sim devices call the world
directly. Both run a field loop (a ``bp.list_scan`` of the Hall bar over the magnet)
and a ``bp.count`` of the Hall bar, so the ratio is the price of the network, the
IOC and the control layer per point.
"""

from __future__ import annotations

import contextlib
import os
import subprocess

import numpy as np


def _loop(points: int) -> list[float]:
    half = (points - 1) // 4
    return list(np.r_[0 : half + 1, half - 1 : -half - 1 : -1, -half + 1 : 1] * (9.0 / half))


def run(points: int = 601) -> dict[str, float]:
    """Time a ``points``-point field loop and a ``points``-point count, over CA and in process."""
    import bluesky.plans as bp
    import ophyd
    from bluesky import RunEngine

    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.ioc import spawn_ioc

    from .timing import best_of

    fields = _loop(points)
    engine = RunEngine({})
    sim = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))
    sim_loop = best_of(
        lambda: engine(bp.list_scan([sim["hallbar"]], sim["cryostat"].field, fields)), repeat=2
    )
    sim_count = best_of(lambda: engine(bp.count([sim["hallbar"]], num=len(fields))), repeat=2)

    with contextlib.ExitStack() as stack:
        ioc = stack.enter_context(spawn_ioc(prefix="BENCH:", output=subprocess.DEVNULL))
        saved = {key: os.environ.get(key) for key in ioc.env}
        stack.callback(_restore, saved)
        os.environ.update(ioc.env)  # read by the client at its first search
        if ophyd.cl.name != "caproto":
            ophyd.set_cl("caproto")
        stack.callback(_disconnect_client)  # before the IOC stops: no reconnect noise
        from sloxide.devices.cryostat import EpicsCryostat
        from sloxide.devices.hallbar import EpicsHallBar

        cryostat = EpicsCryostat(prefix=ioc.prefix, name="cryostat")
        hallbar = EpicsHallBar(prefix=ioc.prefix, name="hallbar")
        for device in (cryostat, hallbar):
            device.wait_for_connection(timeout=10)
            stack.callback(device.destroy)
        ca_loop = best_of(
            lambda: engine(bp.list_scan([hallbar], cryostat.field, fields)), repeat=2
        )
        ca_count = best_of(lambda: engine(bp.count([hallbar], num=len(fields))), repeat=2)

    n = len(fields)
    return {
        "points": n,
        "sim field loop (ms/point)": 1e3 * sim_loop / n,
        "CA field loop (ms/point)": 1e3 * ca_loop / n,
        "CA / sim field loop, seconds per point": ca_loop / sim_loop,
        "sim count of the Hall bar (ms/point)": 1e3 * sim_count / n,
        "CA count of the Hall bar (ms/point)": 1e3 * ca_count / n,
        "CA / sim count, seconds per point": ca_count / sim_count,
    }


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _disconnect_client() -> None:
    from caproto.threading.pyepics_compat import PV

    PV.default_context().disconnect()


if __name__ == "__main__":  # python -m benchmarks.epics
    for name, value in run().items():
        print(f"  {name:<55} {value:>12.4g}")
