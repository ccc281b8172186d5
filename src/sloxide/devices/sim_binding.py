"""How a Sim device binds to its :class:`~sloxide.simulation.world.SimWorld`.

Three pieces the ``Sim…`` classes of every instrument module share: :class:`SimAxis`
(a movable whose setpoint commands a world axis), :func:`world_readback` (its
readback component) and :func:`sim_trigger` (a detector's ``trigger()``, which honours
the "detector_timeout" fault). The instrument modules import this one; it imports
none of them, so the device modules form no import cycle.
"""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt
from ophyd import Kind
from ophyd.status import Status

from ..simulation.world import AXES, SimWorld
from .positioner import finished_status
from .signals import WorldSignal

__all__ = ["SimAxis", "sim_trigger", "world_readback"]


class SimAxis:
    """Mixin that binds a :class:`~sloxide.devices.positioner.Positioner` to a world axis.

    The readback is the world's (noisy, possibly frozen) readback; putting the
    setpoint commands the world. A tolerance band narrower than three standard
    deviations of the readback noise is refused, since no move could settle in it.

    Examples
    --------
    >>> from sloxide.devices.cryostat import SimCryostat
    >>> from sloxide.simulation.world import SimWorld
    >>> world = SimWorld(seed=0)
    >>> cryostat = SimCryostat(name="cryostat", world=world)
    >>> cryostat.field.set(1.0).wait(5)
    >>> world.position("field")
    1.0
    """

    world_key: str = ""
    world: SimWorld
    readback: Any
    setpoint: Any
    rate: Any
    name: str
    egu: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        world = self.root.world  # type: ignore[attr-defined]
        self.rate.put(world.rate(self.world_key))
        self.setpoint.put(world.position(self.world_key))

    def _after_setpoint(self, value: float) -> None:
        self.root.world.command(self.world_key, value)  # type: ignore[attr-defined]

    def _check_target(self, target: float) -> None:
        noise = AXES[self.world_key][2]
        band = self.band(target)  # type: ignore[attr-defined]
        if band < 3 * noise:
            raise ValueError(
                f"{self.name}: the tolerance band ±{band:g} {self.egu} is tighter than 3σ of "
                f"the readback noise ({noise:g} {self.egu}); no move could settle. Raise "
                f"{self.name}.tolerance"
            )


def sim_trigger(device: Any, measure: Any) -> Any:
    """``trigger()`` of a sim detector: ``measure()`` now, or never under "detector_timeout".

    A status that never finishes lets the RunEngine's timeout end the plan, as a
    detector that stopped answering would.

    Parameters
    ----------
    device : ophyd.Device
        A sim detector: it has ``world`` and a ``trigger_timeout`` signal (s).
    measure : callable
        Takes the reading and puts it into the device's signals.

    Returns
    -------
    ophyd.status.Status
        Finished after ``measure()``; never finished under "detector_timeout".

    Examples
    --------
    >>> from sloxide.devices.sim_binding import sim_trigger
    >>> from sloxide.devices.hallbar import SimHallBar
    >>> from sloxide.simulation.world import SimWorld
    >>> world = SimWorld(seed=0)
    >>> hallbar = SimHallBar(name="hallbar", world=world)
    >>> sim_trigger(hallbar, lambda: None).done
    True
    >>> world.inject("detector_timeout")
    >>> sim_trigger(hallbar, lambda: None).done
    False
    """
    if "detector_timeout" in device.world.faults:
        return Status(obj=device, timeout=float(device.trigger_timeout.get()))
    measure()
    return finished_status(device)


def world_readback(key: str) -> Any:
    """A readback component for the world axis ``key`` (hinted, units of the axis).

    It notifies its subscribers when the world changes, as an EPICS monitor would,
    so a suspender watching it sees an excursion.

    Examples
    --------
    >>> from sloxide.devices.cryostat import SimCryostat
    >>> from sloxide.simulation.world import SimWorld
    >>> world = SimWorld(seed=0)
    >>> world.inject("temperature_excursion")  # the sample warms 5 K above 300 K
    >>> round(SimCryostat(name="cryostat", world=world).temperature.readback.get())
    305
    """
    return Cpt(WorldSignal, read=lambda world: world.readback(key), notify=True, kind=Kind.hinted)
