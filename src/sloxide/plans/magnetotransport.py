# mypy: disable-error-code="attr-defined,arg-type,list-item"
# The queueserver needs bluesky protocol hints (Readable, Movable) on device arguments;
# the plans then use the instruments' components, which the protocols do not declare, and
# bluesky types list_scan's motor/positions varargs as tuples.
"""Magnetotransport plans: R(T), Hall-bar field loops and AMR rotations.

Each measurement is one run (DESIGN.md, "Plans"). The field loops use the
(010) mount at φ = 90°, where the field is along [001].
"""

# No `from __future__ import annotations`: the queueserver reads the hints as objects.
from collections.abc import Generator
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import numpy as np
from bluesky.protocols import Movable, Readable
from bluesky.utils import Msg

from ..errors import SloxideError
from .context import (
    check_points,
    check_positive,
    check_range,
    hall_bar_context,
    plot_hints,
    sample_context,
    start_metadata,
    temperature_steps,
)
from .restore import restoring

__all__ = ["rt_sweep", "field_loop", "amr_rotation", "loop_fields"]

MsgGenerator = Generator[Msg, Any, Any]
PLANES = ("(001)", "(010)")


def _hall_bar(hallbar: Any, hall_sign: int = 1) -> dict[str, Any]:
    # A device that knows its bar (QDHallBar: width_um, length_um config) overrides
    # the default geometry.
    geometry = {
        key: float(getattr(hallbar, key).get())
        for key in ("width_um", "length_um")
        if key in getattr(hallbar, "component_names", ())
    }
    return hall_bar_context(hallbar.current.get(), hall_sign, geometry=geometry)


def _hall_quantities(hallbar: Any, cryostat: Any) -> dict[str, str]:
    return {
        hallbar.R_xx.name: "R_xx",
        hallbar.R_xy.name: "R_xy",
        cryostat.field.name: "field",
        cryostat.temperature.name: "temperature",
    }


def loop_fields(field_max: float, step: float) -> list[float]:
    """0 → +Hmax → −Hmax → +Hmax in ``step`` (T): the field_loop sequence.

    Examples
    --------
    >>> from sloxide.plans.magnetotransport import loop_fields
    >>> loop_fields(1.0, 0.5)
    [0.0, 0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -0.5, 0.0, 0.5, 1.0]
    """
    check_points("the field loop", 4 * field_max / step + 1)  # 0 → +H → −H → +H
    k = int(round(field_max / step))
    if k < 2 or not np.isclose(k * step, field_max, rtol=1e-9):
        raise SloxideError(
            f"field_max = {field_max} T must be a multiple (≥ 2) of step = {step} T"
        )
    ks = np.r_[0 : k + 1, k - 1 : -k - 1 : -1, -k + 1 : k + 1]
    return [float(v) for v in np.round(ks * step, 12) + 0.0]


def rt_sweep(
    hallbar: Readable,
    cryostat: Movable,
    *,
    start: float = 300.0,
    stop: float = 2.0,
    step: float = 2.0,
    field: float = 0.0,
    sample: str | None = None,
    hall_sign: int = 1,
    md: dict | None = None,
) -> MsgGenerator:
    """R(T): R_xx and R_xy from ``start`` to ``stop`` at a fixed field (default zero).

    Parameters
    ----------
    hallbar : Readable
        The Hall-bar source/meter (``R_xx``, ``R_xy``).
    cryostat : Movable
        The cryostat (``temperature``, ``field``).
    start, stop : float, default 300, 2
        Temperatures in K; the sweep runs from ``start`` towards ``stop``.
    step : float, default 2
        Temperature step in K.
    field : float, default 0
        µ0H in T during the sweep.
    sample : str, optional
        Sample name; a name of the sample table fills in n, m, thickness.
    hall_sign : int, default 1
        Lead polarity recorded in the context.
    md : dict, optional
        Metadata merged last into the start document.

    Yields
    ------
    Msg
        One run, measurement ``"rt"``.

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import rt_sweep
    >>> lab = sim_lab(SimWorld(sample="C10/L6"))
    >>> uid, = RunEngine({})(rt_sweep(lab["hallbar"], lab["cryostat"], start=300, stop=280, step=10))
    """
    t0 = check_range("start", start, cryostat.temperature.limits, "K")
    t1 = check_range("stop", stop, cryostat.temperature.limits, "K")
    dt = check_positive("step", step, "K")
    h = check_range("field", field, cryostat.field.limits, "T")
    temperatures = temperature_steps(t0, t1, dt)
    context = {
        "measurement": "rt",
        "sample": sample_context(sample),
        "hall_bar": _hall_bar(hallbar, hall_sign),
        "setpoints": {"field_T": h, "start_K": t0, "stop_K": t1},
        "quantities": _hall_quantities(hallbar, cryostat),
    }
    args = {"start": t0, "stop": t1, "step": dt, "field": h, "sample": sample}
    hints = plot_hints([cryostat.temperature, cryostat.field], [hallbar.R_xx, hallbar.R_xy])
    _md = start_metadata("rt_sweep", args, context, md, hints)

    def inner() -> MsgGenerator:
        yield from bps.mv(cryostat.field, h)
        return (
            yield from bp.list_scan(
                [hallbar, cryostat.field], cryostat.temperature, temperatures, md=_md
            )
        )

    return (yield from restoring(inner(), [cryostat.field]))


def field_loop(
    hallbar: Readable,
    cryostat: Movable,
    *,
    temperature: float = 2.0,
    field_max: float = 9.0,
    step: float = 0.02,
    sample: str | None = None,
    hall_sign: int = 1,
    md: dict | None = None,
) -> MsgGenerator:
    """Hall/MR field loop 0 → +Hmax → −Hmax → +Hmax at a fixed temperature.

    Parameters
    ----------
    hallbar : Readable
        The Hall-bar source/meter.
    cryostat : Movable
        The cryostat.
    temperature : float, default 2
        In K.
    field_max : float, default 9
        Hmax in T; a multiple of ``step``.
    step : float, default 0.02
        Field step in T.
    sample : str, optional
        Sample name.
    hall_sign : int, default 1
        Lead polarity recorded in the context.
    md : dict, optional
        Metadata merged last.

    Yields
    ------
    Msg
        One run, measurement ``"field_loop"``; the field returns to its starting value.

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import field_loop
    >>> lab = sim_lab(SimWorld(sample="C10/L6"))
    >>> uid, = RunEngine({})(field_loop(lab["hallbar"], lab["cryostat"], field_max=1.0, step=0.5))
    >>> lab["cryostat"].field.position == 0.0 or abs(lab["cryostat"].field.position) < 1e-3
    True
    """
    t = check_range("temperature", temperature, cryostat.temperature.limits, "K")
    h_max = check_positive("field_max", field_max, "T")
    check_range("field_max", h_max, cryostat.field.limits, "T")
    dh = check_positive("step", step, "T")
    fields = loop_fields(h_max, dh)
    context = {
        "measurement": "field_loop",
        "sample": sample_context(sample),
        "hall_bar": _hall_bar(hallbar, hall_sign),
        "setpoints": {"temperature_K": t, "field_max_T": h_max, "field_step_T": dh},
        "quantities": _hall_quantities(hallbar, cryostat),
    }
    args = {"temperature": t, "field_max": h_max, "step": dh, "sample": sample}
    hints = plot_hints([cryostat.field, cryostat.temperature], [hallbar.R_xx, hallbar.R_xy])
    _md = start_metadata("field_loop", args, context, md, hints)

    def inner() -> MsgGenerator:
        yield from bps.mv(cryostat.temperature, t)
        return (
            yield from bp.list_scan(
                [hallbar, cryostat.temperature], cryostat.field, fields, md=_md
            )
        )

    return (yield from restoring(inner(), [cryostat.field]))


def amr_rotation(
    hallbar: Readable,
    cryostat: Movable,
    rotator: Movable,
    *,
    temperature: float = 5.0,
    field: float = 9.0,
    plane: str = "(001)",
    step: float = 5.0,
    sample: str | None = None,
    md: dict | None = None,
) -> MsgGenerator:
    """AMR: a full rotation (0 to 360° − step) at fixed temperature and field.

    Parameters
    ----------
    hallbar : Readable
    cryostat : Movable
    rotator : Movable
        With ``angle`` and the mount ``plane``.
    temperature : float, default 5
        In K.
    field : float, default 9
        µ0H in T.
    plane : {"(001)", "(010)"}, default "(001)"
        Rotation plane: θ in the film plane, or φ from [100] towards [001].
    step : float, default 5
        Angle step in deg; it must divide 360.
    sample : str, optional
    md : dict, optional

    Yields
    ------
    Msg
        One run, measurement ``"amr"``; angle, plane and field are restored.

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import amr_rotation
    >>> lab = sim_lab(SimWorld(sample="C10/L2"))
    >>> uid, = RunEngine({})(amr_rotation(lab["hallbar"], lab["cryostat"], lab["rotator"], step=60))
    >>> lab["rotator"].plane.get()
    '(010)'
    """
    t = check_range("temperature", temperature, cryostat.temperature.limits, "K")
    h = check_range("field", field, cryostat.field.limits, "T")
    if plane not in PLANES:
        raise SloxideError(f"plane must be one of {PLANES}, got {plane!r}")
    da = check_positive("step", step, "deg")
    n = check_points("the rotation", np.floor(360.0 / da + 0.5))  # 360°/step, rounded
    if n < 6 or not np.isclose(n * da, 360.0):
        raise SloxideError(f"step = {da}° must divide 360° into at least 6 angles")
    angles = [float(v) for v in da * np.arange(n)]
    context = {
        "measurement": "amr",
        "sample": sample_context(sample),
        "hall_bar": _hall_bar(hallbar),
        "setpoints": {"temperature_K": t, "field_T": h},
        "rotation": {"plane": plane, "angle_name": "theta" if plane == "(001)" else "phi"},
        "quantities": {**_hall_quantities(hallbar, cryostat), rotator.angle.name: "angle"},
    }
    args = {"temperature": t, "field": h, "plane": plane, "step": da, "sample": sample}
    hints = plot_hints(
        [rotator.angle, cryostat.temperature, cryostat.field], [hallbar.R_xx, hallbar.R_xy]
    )
    _md = start_metadata("amr_rotation", args, context, md, hints)

    def inner() -> MsgGenerator:
        yield from bps.mv(rotator.plane, plane)
        yield from bps.mv(cryostat.temperature, t, cryostat.field, h)
        return (
            yield from bp.list_scan(
                [hallbar, cryostat.temperature, cryostat.field], rotator.angle, angles, md=_md
            )
        )

    return (yield from restoring(inner(), [rotator.angle, rotator.plane, cryostat.field]))
