"""The one movable contract of sloxide: temperature, field, angle, energy, incidence angle.

A move puts the setpoint and then watches the readback on a timer. It is done
when the readback has stayed within the tolerance band for ``settle_time``
seconds; it fails with a timeout after |Δ|/rate + ``timeout_margin`` seconds.
Nothing waits for the readback to *change*, so a move to the current position,
or within tolerance, completes (apstools #725), and a readback that stops
updating still reads at its last value while the move fails with a timeout
instead of hanging (nslsii #264). ``stop()`` holds the current value.

The band is max(tolerance, relative_tolerance·|target|); both are config
signals a facility can change.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from ophyd import Component as Cpt
from ophyd import Device, Kind
from ophyd.status import Status
from ophyd.utils import InvalidState

from ..errors import LimitError
from .signals import UnitSignal

__all__ = ["Positioner", "LimitError", "finished_status"]


class Positioner(Device):
    """Setpoint/readback axis with tolerance, settle time and a derived timeout.

    Subclasses define ``setpoint`` and ``readback`` components (soft, EPICS or
    simulated) and the class attributes ``egu`` (units), ``limits`` and
    ``positions`` (named targets, e.g. ``{"I_ab": 90.0}``). The readback takes
    the positioner's own name, so its data key reads like the device
    (``cryostat_temperature``).

    Examples
    --------
    >>> from ophyd import Component as Cpt
    >>> from sloxide.devices.positioner import Positioner
    >>> from sloxide.devices.signals import UnitSignal
    >>> class Soft(Positioner):
    ...     egu = "K"
    ...     setpoint = Cpt(UnitSignal, value=0.0, kind="normal")
    ...     readback = Cpt(UnitSignal, value=0.0, kind="hinted")
    ...     def _after_setpoint(self, value):  # a soft axis arrives at once
    ...         self.readback.put(value)
    >>> axis = Soft(name="t")
    >>> axis.tolerance.put(0.05)
    >>> status = axis.set(4.2)
    >>> status.wait(2)
    >>> axis.position, axis.readback.name
    (4.2, 't')
    """

    egu: ClassVar[str] = ""
    limits: ClassVar[tuple[float, float]] = (-math.inf, math.inf)
    positions: ClassVar[Mapping[str, float]] = {}
    poll_period: ClassVar[float] = 0.005

    setpoint: Any
    readback: Any
    tolerance = Cpt(UnitSignal, value=0.0, kind=Kind.config)
    relative_tolerance = Cpt(UnitSignal, value=0.0, units="1", kind=Kind.config)
    settle_time = Cpt(UnitSignal, value=0.0, units="s", kind=Kind.config)
    rate = Cpt(UnitSignal, value=math.inf, kind=Kind.config)
    timeout_margin = Cpt(UnitSignal, value=5.0, units="s", kind=Kind.config)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.readback.name = self.name
        self._move_lock = threading.Lock()
        self._status: Status | None = None
        self.rate._units = f"{self.egu}/s"

    # ------------------------------------------------------------------ contract

    @property
    def position(self) -> float:
        """The readback, at its last value if it stopped updating."""
        return float(self.readback.get())

    @property
    def idle(self) -> bool:
        """True when no move is under way."""
        status = self._status
        return status is None or status.done

    def band(self, target: float) -> float:
        """Half-width of the tolerance band around ``target``."""
        return max(float(self.tolerance.get()), float(self.relative_tolerance.get()) * abs(target))

    def resolve(self, value: float | str) -> float:
        """A numeric target from a number or a named position; checked against the limits.

        Raises
        ------
        LimitError
            For an unknown name, a non-finite target or one outside ``limits``.
        """
        if isinstance(value, str):
            if value not in self.positions:
                raise LimitError(
                    f"{self.name}: unknown position {value!r}; known: {sorted(self.positions)}"
                )
            value = self.positions[value]
        target = float(value)
        low, high = self.limits
        if not math.isfinite(target) or not low <= target <= high:
            raise LimitError(
                f"{self.name}: target {target!r} {self.egu} is outside the limits "
                f"[{low}, {high}] {self.egu}"
            )
        return target

    def move_timeout(self, target: float) -> float:
        """|Δ|/rate plus the margin, in seconds."""
        rate = float(self.rate.get())
        travel = abs(target - self.position) / rate if rate > 0 else math.inf
        return travel + float(self.timeout_margin.get())

    def set(self, value: float | str, **kwargs: Any) -> Status:
        """Move to ``value`` (a number in ``egu`` or a named position).

        Returns
        -------
        ophyd.status.Status
            Done when the readback has stayed in band for ``settle_time``; failed
            with a timeout after |Δ|/rate + ``timeout_margin``.
        """
        target = self.resolve(value)
        self._check_target(target)
        timeout = self.move_timeout(target)
        with self._move_lock:
            previous, self._status = self._status, None
        if previous is not None:
            _end(previous, RuntimeError(f"{self.name}: superseded by a new move"))
        self.setpoint.put(target)
        self._after_setpoint(target)
        if float(self.settle_time.get()) == 0 and self._in_band(target):
            # Already there (instant sims, moves within tolerance): no timer thread needed.
            return finished_status(self)
        status = Status(obj=self, timeout=timeout)
        with self._move_lock:
            self._status = status
        threading.Thread(target=self._watch, args=(status, target), daemon=True).start()
        return status

    def _in_band(self, target: float) -> bool:
        return abs(float(self.readback.get()) - target) <= self.band(target)

    def stop(self, *, success: bool = False) -> None:
        """Hold the current value: setpoint = readback; an unfinished move ends."""
        with self._move_lock:
            status, self._status = self._status, None
        if success and (status is None or status.done):
            # The RunEngine calls stop(success=True) on every movable a plan touched when
            # the plan ends; with nothing moving there is nothing to hold, and re-sending
            # the noisy readback as a new setpoint would nudge the hardware.
            return
        low, high = self.limits
        here = min(max(self.position, low), high)  # the noise may read past a limit
        self.setpoint.put(here)
        self._after_setpoint(here)
        if status is not None:
            _end(status, None if success else RuntimeError(f"{self.name}: stopped at {here}"))

    # ------------------------------------------------------------------ hooks

    def _check_target(self, target: float) -> None:
        """Refuse a move the axis cannot complete (subclasses)."""

    def _after_setpoint(self, value: float) -> None:
        """Tell the hardware (or the simulation) to go; EPICS axes need nothing."""

    def _watch(self, status: Status, target: float) -> None:
        in_band_since: float | None = None
        while not status.done:
            try:
                here = float(self.readback.get())
            except Exception as exc:  # a readback that raises ends the move, never hangs it
                _end(status, exc)
                return
            now = time.monotonic()
            if abs(here - target) <= self.band(target):
                in_band_since = now if in_band_since is None else in_band_since
                if now - in_band_since >= float(self.settle_time.get()):
                    _end(status, None)
                    return
            else:
                in_band_since = None
            time.sleep(self.poll_period)


def _end(status: Status, error: BaseException | None) -> None:
    """Finish ``status`` (or fail it with ``error``) unless it already ended, e.g. timed out."""
    if status.done:
        return
    try:
        if error is None:
            status.set_finished()
        else:
            status.set_exception(error)
    except InvalidState:  # lost the race against the timeout
        pass


def finished_status(obj: Any) -> Status:
    """A status that is already done: for moves and readings that complete at once.

    Examples
    --------
    >>> from sloxide.devices.positioner import finished_status
    >>> status = finished_status(None)
    >>> status.done, status.success
    (True, True)
    """
    status = Status(obj=obj)
    status.set_finished()
    return status
