"""Suspenders: pause a plan while the beam, the magnet or the temperature is not usable.

A suspender pauses the RunEngine at the next checkpoint when its condition trips
and resumes it, re-doing the interrupted step, when the condition clears (STYLE.md
item 16; NSLS-II SST ``suspenders.py``). sloxide uses three kinds, chosen by which
instruments a lab has (:func:`lab_suspenders`):

* **beam dump**: the ring current falls below a floor (beamline);
* **magnet quench**: the magnet's quench flag goes high (cryostat);
* **temperature excursion**: the sample temperature leaves a setpoint it had
  reached, by more than a limit, while no move is under way (cryostat).
  A fixed band would trip on every R(T) step, hence the custom suspender.

The shutter is not here: the X-ray plans open it themselves and close it when they
end, so a global "shutter closed" suspender would pause every other plan. Instead
:func:`~sloxide.plans.xas.xas_scan` guards its own scan with
:func:`shutter_suspender` while the shutter should be open.
"""

from __future__ import annotations

from typing import Any

from bluesky.suspenders import SuspendBoolHigh, SuspendBoolLow, SuspenderBase, SuspendFloor

__all__ = [
    "SuspendExcursion",
    "lab_suspenders",
    "install_suspenders",
    "shutter_suspender",
    "RING_CURRENT_FLOOR_MA",
    "RING_CURRENT_RESUME_MA",
    "EXCURSION_LIMIT_K",
]

#: A beam dump: the ring current below this pauses the plan (the sim ring runs at 400 mA).
RING_CURRENT_FLOOR_MA = 100.0
#: The beam is back when the ring current is above this again.
RING_CURRENT_RESUME_MA = 300.0
#: A temperature this far (K) from a setpoint it had reached pauses the plan; half of it
#: resumes. 20× the 0.05 K band of the low-temperature control loop (DESIGN.md).
EXCURSION_LIMIT_K = 1.0


class SuspendExcursion(SuspenderBase):
    """Suspend when an idle axis's readback leaves its setpoint by more than ``limit``.

    While the axis moves (a ramp, a new step) the readback is far from the setpoint
    by design, so nothing trips; once it has arrived, drifting away is an excursion.

    Parameters
    ----------
    axis : sloxide.devices.positioner.Positioner
        The watched axis (its readback is subscribed to).
    limit : float
        Trip when ``|readback - setpoint| > limit``, in the axis units.
    resume_limit : float, optional
        Resume when ``|readback - setpoint| <= resume_limit``; default ``limit / 2``.
    **kwargs
        ``sleep``, ``pre_plan``, ``post_plan``, ``tripped_message`` as in bluesky.

    Examples
    --------
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans.suspenders import SuspendExcursion
    >>> world = SimWorld()
    >>> cryostat = sim_lab(world)["cryostat"]
    >>> suspender = SuspendExcursion(cryostat.temperature, 1.0)
    >>> suspender._should_suspend(cryostat.temperature.position)
    False
    >>> world.inject("temperature_excursion")  # +5 K on the sample
    >>> suspender._should_suspend(cryostat.temperature.position)
    True
    """

    def __init__(
        self, axis: Any, limit: float, *, resume_limit: float | None = None, **kwargs: Any
    ) -> None:
        if not limit > 0:
            raise ValueError(f"limit must be positive, got {limit!r}")
        self._axis = axis
        self._limit = float(limit)
        self._resume_limit = float(limit) / 2 if resume_limit is None else float(resume_limit)
        super().__init__(axis.readback, **kwargs)

    def _deviation(self, value: float) -> float:
        return abs(float(value) - float(self._axis.setpoint.get()))

    def _should_suspend(self, value: float) -> bool:
        return bool(self._axis.idle and self._deviation(value) > self._limit)

    def _should_resume(self, value: float) -> bool:
        return self._deviation(value) <= self._resume_limit

    def _get_justification(self) -> str:
        if not self.tripped:
            return ""
        return (
            f"{self._axis.name} is more than {self._limit:g} {self._axis.egu} from its "
            f"setpoint {float(self._axis.setpoint.get()):g} {self._axis.egu}"
        )


def lab_suspenders(devices: dict[str, Any], *, sleep: float = 0.0) -> list[SuspenderBase]:
    """The suspenders for the instruments a lab has.

    Parameters
    ----------
    devices : dict
        Device name -> device, e.g. from
        :func:`~sloxide.devices.definitions.load_devices`; instruments are found by
        their components (a ``ring_current`` makes a beamline, a ``quench`` and a
        ``temperature`` axis a cryostat), so any names work.
    sleep : float, default 0
        Seconds to wait after a condition clears before resuming (e.g. for the
        optics to settle after the beam returns).

    Returns
    -------
    list of bluesky.suspenders.SuspenderBase
        Ring-current floor per beamline; quench and temperature excursion per
        cryostat.

    Examples
    --------
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans.suspenders import lab_suspenders
    >>> [type(s).__name__ for s in lab_suspenders(sim_lab(SimWorld()))]
    ['SuspendBoolHigh', 'SuspendExcursion', 'SuspendFloor']
    """
    suspenders: list[SuspenderBase] = []
    for device in devices.values():
        if hasattr(device, "quench"):
            suspenders.append(
                SuspendBoolHigh(device.quench, sleep=sleep, tripped_message="magnet quench")
            )
        if hasattr(device, "temperature") and hasattr(device.temperature, "setpoint"):
            suspenders.append(
                SuspendExcursion(
                    device.temperature,
                    EXCURSION_LIMIT_K,
                    sleep=sleep,
                    tripped_message="temperature excursion",
                )
            )
        if hasattr(device, "ring_current"):
            suspenders.append(
                SuspendFloor(
                    device.ring_current,
                    RING_CURRENT_FLOOR_MA,
                    resume_thresh=RING_CURRENT_RESUME_MA,
                    sleep=sleep,
                    tripped_message="beam dump",
                )
            )
    return suspenders


def install_suspenders(RE: Any, devices: dict[str, Any], *, sleep: float = 0.0) -> list[Any]:
    """Install :func:`lab_suspenders` on ``RE``; returns them (``RE.remove_suspender`` each).

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans.suspenders import install_suspenders
    >>> RE = RunEngine({})
    >>> len(install_suspenders(RE, sim_lab(SimWorld()))) == len(RE.suspenders)
    True
    """
    suspenders = lab_suspenders(devices, sleep=sleep)
    for suspender in suspenders:
        RE.install_suspender(suspender)
    return suspenders


def shutter_suspender(beamline: Any, *, sleep: float = 0.0) -> SuspendBoolLow:
    """Pause while the beamline's shutter is closed (for plans that opened it).

    Examples
    --------
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans.suspenders import shutter_suspender
    >>> shutter_suspender(sim_lab(SimWorld())["beamline"])._should_suspend(0)
    True
    """
    return SuspendBoolLow(beamline.shutter, sleep=sleep, tripped_message="shutter closed")
