"""Put instruments back as the plan found them, whatever happens (``finalize_wrapper``)."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import Msg

__all__ = ["restoring"]


def restoring(plan: Generator[Msg, Any, Any], settable: Sequence[Any]) -> Generator[Msg, Any, Any]:
    """Run ``plan``; afterwards, even after an error or an abort, move ``settable`` back.

    The values are read (``bps.rd``) before the plan starts, so a plan that fails
    leaves the field, angle, plane, shutter or incidence angle as it found them.

    Examples
    --------
    >>> import bluesky.plan_stubs as bps
    >>> from bluesky import RunEngine
    >>> from ophyd.sim import motor
    >>> from sloxide.plans.restore import restoring
    >>> RE = RunEngine({})
    >>> _ = RE(restoring(bps.mv(motor, 5.0), [motor]))
    >>> motor.position
    0.0
    """
    initial: list[Any] = []
    for device in settable:
        # A positioner goes back to its setpoint: the readback carries noise and may sit
        # a hair outside the limits. (An EpicsSignal's ``setpoint`` is a value, not a
        # component: read the signal itself then.)
        setpoint = getattr(device, "setpoint", None)
        value = yield from bps.rd(setpoint if hasattr(setpoint, "read") else device)
        initial.extend([device, value])

    def restore() -> Generator[Msg, Any, Any]:
        if initial:
            yield from bps.mv(*initial)

    return (yield from bpp.finalize_wrapper(plan, restore()))
