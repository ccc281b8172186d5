# mypy: disable-error-code="attr-defined,arg-type,list-item"
# The queueserver needs bluesky protocol hints (Movable) on device arguments; the plan
# then uses the cryostat's components, which the protocol does not declare.
"""Magnetometry plans: field-cooled M(T) on the cryostat's magnetometer.

Each measurement is one run (DESIGN.md, "Plans").
"""

# No `from __future__ import annotations`: the queueserver reads the hints as objects.
from collections.abc import Generator
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
from bluesky.protocols import Movable
from bluesky.utils import Msg

from ..errors import SloxideError
from .context import (
    check_positive,
    check_range,
    plot_hints,
    sample_context,
    start_metadata,
    temperature_steps,
)
from .restore import restoring

__all__ = ["fc_magnetization"]

MsgGenerator = Generator[Msg, Any, Any]


def fc_magnetization(
    cryostat: Movable,
    *,
    field: float = 0.2,
    start: float = 150.0,
    stop: float = 2.0,
    step: float = 1.0,
    sample: str | None = None,
    md: dict | None = None,
) -> MsgGenerator:
    """Field-cooled M(T): set the field above T_c, then cool while reading the moment.

    Parameters
    ----------
    cryostat : Movable
        The cryostat with its magnetometer (``moment``).
    field : float, default 0.2
        Cooling and measuring field in T (out of plane [P]).
    start, stop : float, default 150, 2
        In K; ``start`` must be above ``stop`` (a cooling sweep).
    step : float, default 1
        In K.
    sample : str, optional
    md : dict, optional

    Yields
    ------
    Msg
        One run, measurement ``"fc_magnetization"``.

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import fc_magnetization
    >>> lab = sim_lab(SimWorld(sample="C10/L6"))
    >>> uid, = RunEngine({})(fc_magnetization(lab["cryostat"], start=100, stop=90, step=5))
    """
    h = check_range("field", field, cryostat.field.limits, "T")
    t0 = check_range("start", start, cryostat.temperature.limits, "K")
    t1 = check_range("stop", stop, cryostat.temperature.limits, "K")
    dt = check_positive("step", step, "K")
    if not t0 > t1:
        raise SloxideError(
            f"a field-cooled sweep cools: start ({t0} K) must be above stop ({t1} K)"
        )
    temperatures = temperature_steps(t0, t1, dt)
    context = {
        "measurement": "fc_magnetization",
        "sample": sample_context(sample),
        "setpoints": {"field_T": h, "start_K": t0, "stop_K": t1},
        "quantities": {
            cryostat.moment.name: "moment",
            cryostat.temperature.name: "temperature",
            cryostat.field.name: "field",
        },
    }
    args = {"field": h, "start": t0, "stop": t1, "step": dt, "sample": sample}
    hints = plot_hints([cryostat.temperature, cryostat.field], [cryostat.moment])
    _md = start_metadata("fc_magnetization", args, context, md, hints)

    def inner() -> MsgGenerator:
        yield from bps.mv(cryostat.temperature, t0)
        yield from bps.mv(cryostat.field, h)
        return (yield from bp.list_scan([cryostat], cryostat.temperature, temperatures, md=_md))

    return (yield from restoring(inner(), [cryostat.field]))
