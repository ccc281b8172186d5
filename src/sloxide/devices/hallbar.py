"""Hall-bar source/meter: R_xx and R_xy in delta mode (a Keithley 6221/2182A-style pair)."""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO, Kind
from ophyd.status import Status

from ..simulation.world import SimWorld
from .signals import UnitSignal
from .sim_binding import sim_trigger

__all__ = ["HallBar", "EpicsHallBar", "SimHallBar"]


class HallBar(Device):
    """R_xx and R_xy of a Hall bar; ``trigger()`` takes a fresh reading.

    Config: the excitation ``current`` (µA), ``current_reversal`` (average of +I and
    −I readings, which cancels thermoelectric offsets) and ``trigger_timeout`` (s).
    """

    R_xx = Cpt(UnitSignal, value=0.0, units="ohm", kind=Kind.normal)
    R_xy = Cpt(UnitSignal, value=0.0, units="ohm", kind=Kind.normal)
    current = Cpt(UnitSignal, value=100.0, units="uA", kind=Kind.config)
    current_reversal = Cpt(UnitSignal, value=1, units="1", kind=Kind.config)
    trigger_timeout = Cpt(UnitSignal, value=10.0, units="s", kind=Kind.config)


class EpicsHallBar(HallBar):
    """PVs: ``{prefix}K6221:Current`` (µA), ``K6221:Reversal``, ``Delta:Acquire`` (put
    completion ends the reading), ``Delta:Rxx``, ``Delta:Rxy`` (Ω)."""

    R_xx = Cpt(EpicsSignalRO, "Delta:Rxx", kind=Kind.normal)
    R_xy = Cpt(EpicsSignalRO, "Delta:Rxy", kind=Kind.normal)
    current = Cpt(EpicsSignal, "K6221:Current", kind=Kind.config)
    current_reversal = Cpt(EpicsSignal, "K6221:Reversal", kind=Kind.config)
    acquire = Cpt(EpicsSignal, "Delta:Acquire", put_complete=True, kind=Kind.omitted)

    def trigger(self) -> Status:
        return self.acquire.set(1, timeout=float(self.trigger_timeout.get()))


class SimHallBar(HallBar):
    """The Hall bar of a :class:`~sloxide.simulation.world.SimWorld`."""

    def __init__(self, *args: Any, world: SimWorld, **kwargs: Any) -> None:
        self.world = world
        super().__init__(*args, **kwargs)

    def trigger(self) -> Status:
        return sim_trigger(self, self._measure)

    def _measure(self) -> None:
        readings = 2 if self.current_reversal.get() else 1
        values = [self.world.hall_resistances() for _ in range(readings)]
        self.R_xx.put(sum(v[0] for v in values) / readings)
        self.R_xy.put(sum(v[1] for v in values) / readings)
