"""Cryostat: temperature controller, superconducting magnet and magnetometer.

Temperature band (DESIGN.md): 0.05 K below 20 K and 0.25 % of the setpoint above,
i.e. max(0.05 K, 0.0025·T). Field band 1 mT. The magnet's quench flag is a
signal a suspender can watch.
"""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO, Kind
from ophyd.status import Status

from ..simulation.world import SimWorld
from .positioner import Positioner
from .signals import UnitSignal, WorldSignal
from .sim_binding import SimAxis, sim_trigger, world_readback

__all__ = [
    "TemperatureAxis",
    "FieldAxis",
    "Cryostat",
    "EpicsCryostat",
    "SimCryostat",
]


class TemperatureAxis(Positioner):
    """Sample temperature in K (a LakeShore-style control loop)."""

    egu = "K"
    limits = (0.0, 400.0)
    setpoint = Cpt(UnitSignal, value=300.0, kind=Kind.normal)
    readback = Cpt(UnitSignal, value=300.0, kind=Kind.hinted)
    tolerance = Cpt(UnitSignal, value=0.05, kind=Kind.config)
    relative_tolerance = Cpt(UnitSignal, value=0.0025, units="1", kind=Kind.config)


class FieldAxis(Positioner):
    """Magnet field µ0H in T (an AMI-style power supply)."""

    egu = "T"
    limits = (-9.0, 9.0)
    setpoint = Cpt(UnitSignal, value=0.0, kind=Kind.normal)
    readback = Cpt(UnitSignal, value=0.0, kind=Kind.hinted)
    tolerance = Cpt(UnitSignal, value=1e-3, kind=Kind.config)


class Cryostat(Device):
    """Temperature, field and the magnetometer moment; ``trigger()`` reads a fresh moment.

    Components: ``temperature`` and ``field`` (movables), ``moment`` (emu),
    ``quench`` (1 after a magnet quench) and ``trigger_timeout`` (config, s).
    """

    temperature = Cpt(TemperatureAxis)
    field = Cpt(FieldAxis)
    moment = Cpt(UnitSignal, value=0.0, units="emu", kind=Kind.normal)
    quench = Cpt(UnitSignal, value=0, units="1", kind=Kind.normal)
    trigger_timeout = Cpt(UnitSignal, value=10.0, units="s", kind=Kind.config)


class EpicsTemperatureAxis(TemperatureAxis):
    setpoint = Cpt(EpicsSignal, "OUT1:SP", kind=Kind.normal)
    readback = Cpt(EpicsSignalRO, "IN1", kind=Kind.hinted)


class EpicsFieldAxis(FieldAxis):
    setpoint = Cpt(EpicsSignal, "FieldTarget", kind=Kind.normal)
    readback = Cpt(EpicsSignalRO, "Field", kind=Kind.hinted)
    ramp = Cpt(EpicsSignal, "Ramp", kind=Kind.omitted)

    def _after_setpoint(self, value: float) -> None:
        self.ramp.put(1)  # AMI 430: a new target is only approached after RAMP


class EpicsCryostat(Cryostat):
    """PVs: ``{prefix}LS336:OUT1:SP``/``IN1``, ``{prefix}AMI430:FieldTarget``/``Field``/``Ramp``/
    ``Quench``, and the magnetometer ``{prefix}MAG:Moment`` read after ``MAG:Acquire``."""

    temperature = Cpt(EpicsTemperatureAxis, "LS336:")
    field = Cpt(EpicsFieldAxis, "AMI430:")
    moment = Cpt(EpicsSignalRO, "MAG:Moment", kind=Kind.normal)
    quench = Cpt(EpicsSignalRO, "AMI430:Quench", kind=Kind.normal)
    acquire = Cpt(EpicsSignal, "MAG:Acquire", put_complete=True, kind=Kind.omitted)

    def trigger(self) -> Status:
        return self.acquire.set(1, timeout=float(self.trigger_timeout.get()))


class SimTemperatureAxis(SimAxis, TemperatureAxis):
    world_key = "temperature"
    readback = world_readback("temperature")


class SimFieldAxis(SimAxis, FieldAxis):
    world_key = "field"
    readback = world_readback("field")


class SimCryostat(Cryostat):
    """The cryostat of a :class:`~sloxide.simulation.world.SimWorld`."""

    temperature = Cpt(SimTemperatureAxis)
    field = Cpt(SimFieldAxis)
    quench = Cpt(
        WorldSignal,
        read=lambda world: int("quench" in world.faults),
        notify=True,
        units="1",
        kind=Kind.normal,
    )

    def __init__(self, *args: Any, world: SimWorld, **kwargs: Any) -> None:
        self.world = world
        super().__init__(*args, **kwargs)

    def trigger(self) -> Status:
        return sim_trigger(self, lambda: self.moment.put(self.world.moment()))
