# mypy: disable-error-code="attr-defined,arg-type,list-item"
# The queueserver needs bluesky protocol hints (Readable, Movable) on device arguments;
# the plans then use the instruments' components, which the protocols do not declare, and
# bluesky types list_scan's motor/positions varargs as tuples.
"""The paper's measurement campaign for one sample."""

# No `from __future__ import annotations`: the queueserver reads the hints as objects.
from collections.abc import Generator
from typing import Any

from bluesky.protocols import Movable, Readable
from bluesky.utils import Msg

from ..model.samples import SAMPLES
from .magnetometry import fc_magnetization
from .magnetotransport import amr_rotation, field_loop, rt_sweep
from .xas import xld_scan

__all__ = ["campaign", "LOOP_TEMPERATURES"]

#: Field-loop temperatures (K): the AHE scaling range 2–20 K and the decay above it.
LOOP_TEMPERATURES = (2.0, 5.0, 10.0, 15.0, 20.0, 50.0, 100.0)


def campaign(
    hallbar: Readable,
    cryostat: Movable,
    rotator: Movable,
    beamline: Movable,
    *,
    sample: str = "C10/L6",
    quick: bool = False,
    md: dict | None = None,
) -> Generator[Msg, Any, Any]:
    """R(T), field loops, FC M(T), AMR in both planes and the XLD pairs of one sample.

    Parameters
    ----------
    hallbar, cryostat, rotator, beamline
        The instruments.
    sample : str, default "C10/L6"
        The mounted sample (recorded in every run).
    quick : bool, default False
        Coarser steps and fewer temperatures, for a fast demo.
    md : dict, optional
        Merged into every run.

    Yields
    ------
    Msg
        One run per measurement.

    Examples
    --------
    >>> from sloxide.plans import campaign
    >>> callable(campaign)
    True
    """
    info = SAMPLES.get(sample)
    ferromagnetic = info is None or info.ferromagnetic
    loop_step = 0.05 if quick else 0.02
    temperatures = (2.0, 10.0, 20.0) if quick else LOOP_TEMPERATURES
    yield from rt_sweep(hallbar, cryostat, step=10.0 if quick else 2.0, sample=sample, md=md)
    for t in temperatures if ferromagnetic else temperatures[:1]:
        yield from field_loop(
            hallbar, cryostat, temperature=t, step=loop_step, sample=sample, md=md
        )
    if ferromagnetic:
        yield from fc_magnetization(cryostat, step=2.0 if quick else 1.0, sample=sample, md=md)
    for plane, t in (("(001)", 5.0), ("(010)", 5.0), ("(010)", 20.0)):
        yield from amr_rotation(
            hallbar, cryostat, rotator, temperature=t, plane=plane,
            step=10.0 if quick else 5.0, sample=sample, md=md,
        )  # fmt: skip
    if info is None or info.has_nickel:
        yield from xld_scan(beamline, edge="Ni L2", sample=sample, md=md)
    yield from xld_scan(beamline, edge="O K", sample=sample, md=md)
