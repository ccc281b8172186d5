"""Soft signals that carry units in ``describe()``, and signals backed by a simulated world.

Plain ``ophyd.Signal.describe()`` has no ``units`` (STACK.md); every data key of
sloxide must have one, so every soft signal here adds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ophyd import Signal

__all__ = ["UnitSignal", "WorldSignal"]


class UnitSignal(Signal):
    """A soft signal whose ``describe()`` carries ``units``.

    ``units=None`` takes the ``egu`` of the parent device (the units of its axis).

    Examples
    --------
    >>> from sloxide.devices.signals import UnitSignal
    >>> sig = UnitSignal(name="t", value=2.0, units="K")
    >>> sig.describe()["t"]["units"]
    'K'
    """

    def __init__(self, *args: Any, units: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._units = units

    @property
    def units(self) -> str:
        """The units of the value (pint-readable)."""
        if self._units is not None:
            return self._units
        return str(getattr(self.parent, "egu", ""))

    def describe(self) -> dict[str, dict[str, Any]]:
        description = super().describe()
        if description[self.name]["dtype"] in ("number", "integer"):
            description[self.name]["units"] = self.units
        return description


class WorldSignal(UnitSignal):
    """A signal read from (and optionally written to) the ``world`` of its root device.

    ``read(world)`` gives the value on every ``get()``; ``write(world, value)``,
    when given, makes the signal settable. With ``notify=True`` the signal tells
    its subscribers when the world changes (``world.on_change``), as an EPICS
    monitor would; it reads the world only while somebody subscribes, so
    unwatched readbacks draw no extra noise. Used by the sim devices, whose root
    holds a :class:`~sloxide.simulation.world.SimWorld`.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from ophyd import Component as Cpt, Device
    >>> from sloxide.devices.signals import WorldSignal
    >>> class Source(Device):
    ...     current = Cpt(WorldSignal, read=lambda world: world.ring, units="mA")
    ...     def __init__(self, *args, world, **kwargs):
    ...         self.world = world
    ...         super().__init__(*args, **kwargs)
    >>> Source(name="src", world=SimpleNamespace(ring=400.0)).current.get()
    400.0
    """

    def __init__(
        self,
        *args: Any,
        read: Callable[[Any], Any],
        write: Callable[[Any, Any], None] | None = None,
        notify: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._read = read
        self._write = write
        if notify:
            self.root.world.on_change(self._world_changed)

    def _world_changed(self) -> None:
        if not self._callbacks[self.SUB_VALUE]:
            return
        old = self._readback
        value = self.get()
        if value != old:
            self._run_subs(
                sub_type=self.SUB_VALUE, old_value=old, value=value, timestamp=time.time()
            )

    def get(self, **kwargs: Any) -> Any:
        value = self._read(self.root.world)
        self._readback = value
        return value

    def describe(self) -> dict[str, dict[str, Any]]:
        self.get()  # describe the world's value, not the placeholder
        return super().describe()

    def put(self, value: Any, **kwargs: Any) -> None:
        if self._write is None:
            raise PermissionError(f"{self.name} is read-only")
        self._write(self.root.world, value)
        super().put(self._read(self.root.world), **kwargs)
