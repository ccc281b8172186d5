"""Soft X-ray beamline: mono energy, incidence angle, TEY/I0, ring current and shutter.

The incidence angle θ is measured from the sample surface; its named positions are
``I_ab`` = 90° (E in the ab plane) and ``I_c`` = 30° (mostly along c).
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
    "EnergyAxis",
    "IncidenceAngleAxis",
    "Beamline",
    "EpicsBeamline",
    "SimBeamline",
]


class EnergyAxis(Positioner):
    """Monochromator energy in eV, band 0.01 eV."""

    egu = "eV"
    limits = (100.0, 2000.0)
    setpoint = Cpt(UnitSignal, value=870.0, kind=Kind.normal)
    readback = Cpt(UnitSignal, value=870.0, kind=Kind.hinted)
    tolerance = Cpt(UnitSignal, value=0.01, kind=Kind.config)


class IncidenceAngleAxis(Positioner):
    """Incidence angle from the surface in deg, band 0.05°; positions I_ab = 90°, I_c = 30°."""

    egu = "deg"
    limits = (0.0, 90.0)
    positions = {"I_ab": 90.0, "I_c": 30.0}
    setpoint = Cpt(UnitSignal, value=90.0, kind=Kind.normal)
    readback = Cpt(UnitSignal, value=90.0, kind=Kind.hinted)
    tolerance = Cpt(UnitSignal, value=0.05, kind=Kind.config)


class Beamline(Device):
    """``energy``, ``incidence_angle`` (movables), ``tey``, ``i0`` (pA), ``ring_current`` (mA),
    ``shutter`` (1 open, 0 closed); ``trigger()`` takes fresh TEY and I0 readings."""

    energy = Cpt(EnergyAxis)
    incidence_angle = Cpt(IncidenceAngleAxis)
    tey = Cpt(UnitSignal, value=0.0, units="pA", kind=Kind.normal)
    i0 = Cpt(UnitSignal, value=0.0, units="pA", kind=Kind.normal)
    ring_current = Cpt(UnitSignal, value=400.0, units="mA", kind=Kind.normal)
    shutter = Cpt(UnitSignal, value=1, units="1", kind=Kind.normal)
    trigger_timeout = Cpt(UnitSignal, value=10.0, units="s", kind=Kind.config)


class EpicsEnergyAxis(EnergyAxis):
    setpoint = Cpt(EpicsSignal, "Energy", kind=Kind.normal)
    readback = Cpt(EpicsSignalRO, "Energy_RBV", kind=Kind.hinted)


class EpicsIncidenceAngleAxis(IncidenceAngleAxis):
    setpoint = Cpt(EpicsSignal, "Theta", kind=Kind.normal)
    readback = Cpt(EpicsSignalRO, "Theta_RBV", kind=Kind.hinted)


class EpicsBeamline(Beamline):
    """PVs: ``{prefix}MONO:Energy``/``Energy_RBV``, ``{prefix}SAMPLE:Theta``/``Theta_RBV``,
    ``{prefix}EM:TEY``, ``EM:I0`` read after ``EM:Acquire``, ``{prefix}RING:Current``,
    ``{prefix}SHUTTER:Open``."""

    energy = Cpt(EpicsEnergyAxis, "MONO:")
    incidence_angle = Cpt(EpicsIncidenceAngleAxis, "SAMPLE:")
    tey = Cpt(EpicsSignalRO, "EM:TEY", kind=Kind.normal)
    i0 = Cpt(EpicsSignalRO, "EM:I0", kind=Kind.normal)
    ring_current = Cpt(EpicsSignalRO, "RING:Current", kind=Kind.normal)
    shutter = Cpt(EpicsSignal, "SHUTTER:Open", kind=Kind.normal)
    acquire = Cpt(EpicsSignal, "EM:Acquire", put_complete=True, kind=Kind.omitted)

    def trigger(self) -> Status:
        return self.acquire.set(1, timeout=float(self.trigger_timeout.get()))


class SimEnergyAxis(SimAxis, EnergyAxis):
    world_key = "energy"
    readback = world_readback("energy")


class SimIncidenceAngleAxis(SimAxis, IncidenceAngleAxis):
    world_key = "incidence_angle"
    readback = world_readback("incidence_angle")


def _set_shutter(world: SimWorld, value: Any) -> None:
    world.set_shutter(bool(value))


class SimBeamline(Beamline):
    """The beamline of a :class:`~sloxide.simulation.world.SimWorld`."""

    energy = Cpt(SimEnergyAxis)
    incidence_angle = Cpt(SimIncidenceAngleAxis)
    ring_current = Cpt(
        WorldSignal,
        read=lambda world: world.ring_current(),
        notify=True,
        units="mA",
        kind=Kind.normal,
    )
    shutter = Cpt(
        WorldSignal,
        read=lambda world: int(world.shutter_open()),
        write=_set_shutter,
        notify=True,
        units="1",
        kind=Kind.normal,
    )

    def __init__(self, *args: Any, world: SimWorld, **kwargs: Any) -> None:
        self.world = world
        super().__init__(*args, **kwargs)

    def trigger(self) -> Status:
        return sim_trigger(self, self._measure)

    def _measure(self) -> None:
        tey, i0 = self.world.beam_signals()
        self.tey.put(tey)
        self.i0.put(i0)
