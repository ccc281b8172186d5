"""Sample rotator: the angle of the field to the current, in the (001) or (010) plane."""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO, Kind, Signal

from ..simulation.world import SimWorld
from .positioner import Positioner
from .signals import UnitSignal, WorldSignal
from .sim_binding import SimAxis, world_readback

__all__ = ["AngleAxis", "Rotator", "EpicsRotator", "SimRotator", "PLANES"]

PLANES = ("(001)", "(010)")


class AngleAxis(Positioner):
    """Rotation angle in deg, band 0.05°."""

    egu = "deg"
    limits = (-360.0, 720.0)
    setpoint = Cpt(UnitSignal, value=90.0, kind=Kind.normal)
    readback = Cpt(UnitSignal, value=90.0, kind=Kind.hinted)
    tolerance = Cpt(UnitSignal, value=0.05, kind=Kind.config)


class Rotator(Device):
    """``angle`` (movable) and the mount ``plane`` (config): "(001)" rotates the field in the
    film plane (θ from [100]); "(010)" rotates it from [100] to [001] (φ; 90° is H ∥ [001],
    the geometry of the Hall loops)."""

    angle = Cpt(AngleAxis)
    plane = Cpt(Signal, value="(010)", kind=Kind.config)


class EpicsAngleAxis(AngleAxis):
    setpoint = Cpt(EpicsSignal, "m1.VAL", kind=Kind.normal)
    readback = Cpt(EpicsSignalRO, "m1.RBV", kind=Kind.hinted)


class EpicsRotator(Rotator):
    """PVs: a motor record ``{prefix}m1.VAL``/``m1.RBV`` and the mount ``{prefix}Plane``."""

    angle = Cpt(EpicsAngleAxis, "")
    plane = Cpt(EpicsSignal, "Plane", string=True, kind=Kind.config)


class SimAngleAxis(SimAxis, AngleAxis):
    world_key = "angle"
    readback = world_readback("angle")


def _set_plane(world: SimWorld, value: Any) -> None:
    if value not in PLANES:
        raise ValueError(f"plane must be one of {PLANES}, got {value!r}")
    world.plane = value


class SimRotator(Rotator):
    """The rotator of a :class:`~sloxide.simulation.world.SimWorld`."""

    angle = Cpt(SimAngleAxis)
    plane = Cpt(WorldSignal, read=lambda world: world.plane, write=_set_plane, kind=Kind.config)

    def __init__(self, *args: Any, world: SimWorld, **kwargs: Any) -> None:
        self.world = world
        super().__init__(*args, **kwargs)
