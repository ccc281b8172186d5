# mypy: disable-error-code="attr-defined,arg-type,list-item"
# The queueserver needs bluesky protocol hints (Readable, Movable) on device arguments;
# the plans then use the instruments' components, which the protocols do not declare, and
# bluesky types list_scan's motor/positions varargs as tuples.
"""Soft X-ray absorption plans: one spectrum (``xas_scan``) and the XLD pair (``xld_scan``).

Energy regions use one schema, ``(start, step, stop, step, stop, ...)`` in eV: each
stop ends a region scanned with the step before it, so (862, 0.2, 868, 0.05, 876, 0.2,
885) is a coarse pre-edge, a fine white line and a coarse post-edge. An XLD pair is two
runs sharing ``group_uid``: the incidence angle is the outer loop, energy the inner.
"""

# No `from __future__ import annotations`: the queueserver reads the hints as objects.
import uuid
from collections.abc import Generator, Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import bluesky.preprocessors as bpp
import numpy as np
from bluesky.protocols import Movable
from bluesky.utils import Msg

from ..errors import SloxideError
from ..model.spectra import EDGES
from .context import check_points, check_range, plot_hints, sample_context, start_metadata
from .restore import restoring
from .suspenders import shutter_suspender

__all__ = ["energy_points", "xas_scan", "xld_scan"]

MsgGenerator = Generator[Msg, Any, Any]
CHANNELS = {90.0: "I_ab", 30.0: "I_c"}


def energy_points(regions: Sequence[float]) -> list[float]:
    """Energies (eV) of ``(start, step, stop, step, stop, ...)``, every stop included once.

    Raises
    ------
    SloxideError
        For an even length, a non-positive step or stops that do not increase.

    Examples
    --------
    >>> from sloxide.plans.xas import energy_points
    >>> energy_points((860.0, 1.0, 862.0, 0.5, 863.0))
    [860.0, 861.0, 862.0, 862.5, 863.0]
    """
    try:
        values = [float(v) for v in regions]
    except (TypeError, ValueError):
        raise SloxideError(
            f"regions must be numbers in eV, (start, step, stop, step, stop, ...); got {regions!r}"
        ) from None
    if not np.all(np.isfinite(values)):
        raise SloxideError(f"regions must be finite energies and steps in eV, got {regions!r}")
    if len(values) < 3 or len(values) % 2 == 0:
        raise SloxideError(
            f"regions must be (start, step, stop, step, stop, ...) with an odd length ≥ 3, "
            f"got {tuple(regions)!r}"
        )
    points = [values[0]]
    low = values[0]
    total = 1.0
    for step, stop in zip(values[1::2], values[2::2], strict=True):
        if not step > 0 or not stop > low:
            raise SloxideError(
                f"each region needs a positive step and a stop above {low} eV; "
                f"got step {step}, stop {stop}"
            )
        total += (stop - low) / step
        low = stop
    check_points("the energy regions", np.floor(total))
    for step, stop in zip(values[1::2], values[2::2], strict=True):
        n = int(np.floor((stop - points[-1]) / step + 1e-9))
        region = points[-1] + step * np.arange(1, n + 1)
        points.extend(float(v) for v in np.round(region, 6))
        if not np.isclose(points[-1], stop):
            points.append(stop)
    return points


def _edge(edge: str) -> Any:
    if edge not in EDGES:
        raise SloxideError(f"unknown edge {edge!r}; known: {sorted(EDGES)}")
    return EDGES[edge]


def _default_regions(edge: str) -> tuple[float, float, float]:
    spec = _edge(edge)
    return (spec.start_eV, spec.step_eV, spec.stop_eV)


def _validate(beamline: Any, edge: str, regions: Sequence[float] | None, angle: Any) -> Any:
    energies = energy_points(regions if regions is not None else _default_regions(edge))
    limits = beamline.energy.limits
    check_range("the lowest energy", energies[0], limits, "eV")
    check_range("the highest energy", energies[-1], limits, "eV")
    return energies, check_range("incidence_angle", angle, beamline.incidence_angle.limits, "deg")


def xas_scan(
    beamline: Movable,
    *,
    edge: str = "Ni L2",
    regions: Sequence[float] | None = None,
    incidence_angle: float = 90.0,
    sample: str | None = None,
    group_uid: str | None = None,
    md: dict | None = None,
) -> MsgGenerator:
    """One XAS spectrum (TEY and I0) at one incidence angle.

    Parameters
    ----------
    beamline : Movable
        The beamline (``energy``, ``incidence_angle``, ``tey``, ``i0``, ``shutter``).
    edge : str, default "Ni L2"
        "Ni L2", "O K" or "Ru M".
    regions : sequence of float, optional
        ``(start, step, stop, ...)`` in eV; default the edge's scan range in 0.1 eV.
    incidence_angle : float, default 90
        θ from the surface in deg (90° measures I_ab; 30° mostly I_c).
    sample : str, optional
    group_uid : str, optional
        Links the runs of one XLD pair.
    md : dict, optional

    Yields
    ------
    Msg
        One run, measurement ``"xas"``; the shutter is opened for it and, like the
        incidence angle, restored afterwards.

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import xas_scan
    >>> lab = sim_lab(SimWorld(sample="C2/L2"))
    >>> uid, = RunEngine({})(xas_scan(lab["beamline"], regions=(868.0, 1.0, 872.0)))
    """
    spec = _edge(edge)
    energies, theta = _validate(beamline, edge, regions, incidence_angle)
    context = {
        "measurement": "xas",
        "sample": sample_context(sample),
        "xas": {
            "edge": spec.name,
            "e0_eV": spec.e0_eV,
            "incidence_angle_deg": theta,
            "channel": CHANNELS.get(theta, f"theta={theta:g}"),
            "detection": "TEY",
            "group_uid": group_uid,
        },
        "setpoints": {"incidence_angle_deg": theta},
        "quantities": {
            beamline.energy.name: "energy",
            beamline.tey.name: "tey",
            beamline.i0.name: "i0",
            beamline.incidence_angle.name: "incidence_angle",
        },
    }
    args = {"edge": edge, "regions": list(regions or ()), "incidence_angle": theta}
    hints = plot_hints([beamline.energy, beamline.incidence_angle], [beamline.tey])
    _md = start_metadata("xas_scan", args, context, md, hints)

    def inner() -> MsgGenerator:
        yield from bps.mv(beamline.incidence_angle, theta, beamline.shutter, 1)
        # The shutter is open from here until the run ends: closing it pauses the scan.
        scan = bp.list_scan(
            [beamline, beamline.incidence_angle], beamline.energy, energies, md=_md
        )
        return (yield from bpp.suspend_wrapper(scan, [shutter_suspender(beamline)]))

    return (yield from restoring(inner(), [beamline.incidence_angle, beamline.shutter]))


def xld_scan(
    beamline: Movable,
    *,
    edge: str = "Ni L2",
    regions: Sequence[float] | None = None,
    angles: Sequence[float] = (90.0, 30.0),
    sample: str | None = None,
    md: dict | None = None,
) -> MsgGenerator:
    """An XLD pair: one XAS run per incidence angle, sharing a ``group_uid``.

    Parameters
    ----------
    beamline : Movable
    edge : str, default "Ni L2"
    regions : sequence of float, optional
        As in :func:`xas_scan`, shared by both runs.
    angles : sequence of 2 floats, default (90, 30)
        Incidence angles in deg; any two distinct angles work.
    sample : str, optional
    md : dict, optional

    Yields
    ------
    Msg
        Two runs.

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import xld_scan
    >>> lab = sim_lab(SimWorld(sample="C2/L2"))
    >>> uids = RunEngine({})(xld_scan(lab["beamline"], regions=(868.0, 1.0, 872.0)))
    >>> len(uids)
    2
    """
    try:
        pair = [float(a) for a in angles]
    except (TypeError, ValueError):
        raise SloxideError(f"angles must be two incidence angles in deg, got {angles!r}") from None
    if len(pair) != 2 or pair[0] == pair[1]:
        raise SloxideError(f"an XLD pair needs two different incidence angles, got {angles!r}")
    for angle in pair:  # validate both runs before anything moves
        _validate(beamline, edge, regions, angle)
    group = str(uuid.uuid4())
    for angle in pair:
        yield from xas_scan(
            beamline,
            edge=edge,
            regions=regions,
            incidence_angle=angle,
            sample=sample,
            group_uid=group,
            md=md,
        )
    return group
