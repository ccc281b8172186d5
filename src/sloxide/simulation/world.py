"""SimWorld: one consistent simulated lab that every sim device reads and drives.

The world holds the sample, the axes (temperature, field, angle, energy,
incidence angle), the beam and a clock; every reading comes from
:mod:`sloxide.model`, which holds all the physics. In ``"instant"`` mode a
commanded axis is there at once; in ``"realistic"`` mode it travels at its rate,
and readbacks follow the clock. Noise is seeded. Faults can be injected to
exercise suspenders and timeouts.

This module imports no ophyd: the sim devices (:mod:`sloxide.devices`) and the
IOC (:mod:`sloxide.ioc`) both sit on it.

>>> from sloxide.simulation.world import SimWorld
>>> world = SimWorld(sample="C10/L6", mode="instant", seed=0)
>>> world.command("field", 9.0)
>>> world.position("field")
9.0
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..model.magnetism import LoopMemory, expose, out_of_plane_field
from ..model.magnetometry import measured_moment
from ..model.magnetotransport import hall_bar_resistances, resistivities
from ..model.samples import HALL_BAR, SAMPLES, HallBarGeometry, Sample
from ..model.spectra import TEY_STEP, IncidentFlux, add_noise, edge_at, tey

__all__ = ["SimWorld", "FAULTS", "AXES"]

#: Faults a world can be put into (DESIGN.md, "Simulated time").
FAULTS = (
    "beam_dump",
    "shutter_closed",
    "quench",
    "temperature_excursion",
    "stuck_readback",
    "detector_timeout",
)

#: Axis: (start, realistic rate per s, readback noise σ), units K, T, deg, eV, deg.
AXES: dict[str, tuple[float, float, float]] = {
    "temperature": (300.0, 2.0, 1e-3),
    "field": (0.0, 0.02, 1e-5),
    "angle": (90.0, 5.0, 1e-3),
    "energy": (870.0, 2.0, 1e-3),
    "incidence_angle": (90.0, 2.0, 1e-3),
}

RING_CURRENT_MA = 400.0
EXCURSION_K = 5.0
# The film, its substrate and the magnetometer noise are physics: sloxide.model.magnetometry.


@dataclass
class _Axis:
    """Where an axis is, where it goes, and how fast."""

    start: float
    target: float
    rate: float
    noise: float
    t0: float = 0.0

    def at(self, now: float, instant: bool) -> float:
        if instant or not math.isfinite(self.rate) or self.rate <= 0:
            return self.target
        travel = self.rate * max(now - self.t0, 0.0)
        distance = self.target - self.start
        if abs(distance) <= travel:
            return self.target
        return self.start + math.copysign(travel, distance)


@dataclass
class _Beam:
    shutter_open: bool = True
    ring_current: float = RING_CURRENT_MA
    i0_per_mA: float = 2.5e-3  # pA of I0 per mA of ring current [A]
    faults: set[str] = field(default_factory=set)


class SimWorld:
    """The simulated lab state shared by all sim devices.

    Parameters
    ----------
    sample : str, default "C10/L6"
        A key of :data:`sloxide.model.samples.SAMPLES`.
    mode : {"instant", "realistic"}, default "instant"
        Instant moves (tests, the demo) or moves at the rates of :data:`AXES`.
    seed : int, default 0
        Seed of all noise.
    hall_bar : HallBarGeometry, optional
        Geometry and excitation; default 200 × 1200 µm, 100 µA.

    Examples
    --------
    >>> from sloxide.simulation.world import SimWorld
    >>> world = SimWorld(sample="C10/L6", seed=1)
    >>> world.command("temperature", 2.0)
    >>> world.position("temperature")
    2.0
    >>> world.set_sample("C2/L6")
    >>> world.sample.name, world.position("temperature")
    ('C2/L6', 2.0)
    """

    def __init__(
        self,
        sample: str = "C10/L6",
        mode: Literal["instant", "realistic"] = "instant",
        seed: int = 0,
        hall_bar: HallBarGeometry = HALL_BAR,
    ) -> None:
        if mode not in ("instant", "realistic"):
            raise ValueError(f"mode must be 'instant' or 'realistic', got {mode!r}")
        self.mode = mode
        self.rng = np.random.default_rng(seed)
        self.hall_bar = hall_bar
        self.plane = "(010)"
        self.edge = "Ni L2"
        self.hall_sign = 1
        self._lock = threading.RLock()
        now = time.monotonic()
        self._axes = {
            key: _Axis(start, start, rate if mode == "realistic" else math.inf, noise, now)
            for key, (start, rate, noise) in AXES.items()
        }
        self._frozen: dict[str, float] = {}
        self._listeners: list[Callable[[], None]] = []
        self.beam = _Beam()
        self.flux = IncidentFlux(self.rng)
        self.sample: Sample = SAMPLES["C10/L6"]
        self.memory = LoopMemory()
        self.set_sample(sample)

    # ------------------------------------------------------------------ state

    @property
    def instant(self) -> bool:
        return self.mode == "instant"

    @property
    def faults(self) -> frozenset[str]:
        """The faults in force."""
        return frozenset(self.beam.faults)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every command, fault and shutter change.

        Hardware pushes such changes (EPICS monitors); the status signals of the
        sim devices use this to do the same, so suspenders see a beam dump or a
        quench the moment it happens.
        """
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()

    def set_shutter(self, open_: bool) -> None:
        """Open (True) or close the shutter."""
        with self._lock:
            self.beam.shutter_open = bool(open_)
        self._notify()

    def set_sample(self, name: str) -> None:
        """Mount another sample: T, field and angle stay; the new sample is unmagnetized."""
        if name not in SAMPLES:
            raise ValueError(f"unknown sample {name!r}; known: {sorted(SAMPLES)}")
        with self._lock:
            self.sample = SAMPLES[name]
            self.memory = LoopMemory()

    def rate(self, key: str) -> float:
        """Travel rate of an axis per second (inf in instant mode)."""
        return self._axes[key].rate

    def command(self, key: str, target: float) -> None:
        """Send an axis to ``target``; in instant mode it is there at once."""
        with self._lock:
            axis = self._axes[key]
            now = time.monotonic()
            axis.start = axis.at(now, self.instant)
            axis.target = float(target)
            axis.t0 = now
            self._observe()
        self._notify()

    def position(self, key: str) -> float:
        """Where an axis truly is now (faults included), without noise."""
        with self._lock:
            here = self._axes[key].at(time.monotonic(), self.instant)
            if key == "field" and "quench" in self.beam.faults:
                return 0.0
            if key == "temperature" and "temperature_excursion" in self.beam.faults:
                return here + EXCURSION_K
            return here

    def readback(self, key: str) -> float:
        """What the axis readback shows: position plus noise, frozen under "stuck_readback"."""
        with self._lock:
            if "stuck_readback" in self.beam.faults and key in self._frozen:
                return self._frozen[key]
            value = self.position(key) + self._axes[key].noise * float(self.rng.standard_normal())
            self._frozen[key] = value
            return value

    def inject(self, fault: str) -> None:
        """Turn a fault on: one of :data:`FAULTS`."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {list(FAULTS)}")
        with self._lock:
            self.beam.faults.add(fault)
            if fault == "quench":
                self._axes["field"].start = self._axes["field"].target = 0.0
                self._observe()
        self._notify()

    def clear(self) -> None:
        """Turn every fault off."""
        with self._lock:
            self.beam.faults.clear()
        self._notify()

    # ------------------------------------------------------------------ physics

    def _observe(self) -> None:
        """Let the sample's hysteresis memory see the present field and temperature."""
        h = out_of_plane_field(self.position("field"), self.position("angle"), self.plane)
        expose(self.memory, self.sample, self.position("temperature"), h)

    def hall_resistances(self) -> tuple[float, float]:
        """A fresh R_xx and R_xy reading in Ω, with noise."""
        with self._lock:
            self._observe()
            rho_xx, rho_xy = resistivities(
                self.sample,
                self.position("temperature"),
                self.position("field"),
                self.memory,
                self.position("angle"),
                self.plane,
                self.rng,
                self.hall_sign,
            )
            r_xx, r_xy = hall_bar_resistances(rho_xx, rho_xy, self.sample, self.hall_bar)
            return float(r_xx), float(r_xy)

    def moment(self) -> float:
        """A fresh magnetometer reading in emu: film plus substrate, noise on the total."""
        with self._lock:
            self._observe()
            return float(
                measured_moment(
                    self.sample,
                    self.position("temperature"),
                    self.position("field"),
                    self.memory,
                    self.rng,
                )
            )

    def beam_signals(self) -> tuple[float, float]:
        """A fresh TEY and I0 reading in pA at the present energy and incidence angle.

        I0 fluctuates and drifts (:class:`~sloxide.model.spectra.IncidentFlux`); the
        TEY follows it, with its own noise of 0.1 % of the edge step (PHYSICS.md §7).
        """
        with self._lock:
            ring = self.ring_current()
            open_ = self.shutter_open()
            nominal = self.beam.i0_per_mA * ring if open_ else 0.0
            dark = 1e-4 * float(self.rng.standard_normal())
            if nominal == 0.0:
                return dark, dark
            i0 = self.flux.reading(nominal)
            energy = self.position("energy")
            signal = tey(
                self.sample,
                np.array([energy]),
                self.position("incidence_angle"),
                edge_at(energy),
                i0=i0,
                step=TEY_STEP,
            )
            return float(add_noise(signal, TEY_STEP * i0, self.rng)[0]), i0

    def ring_current(self) -> float:
        return 0.0 if "beam_dump" in self.beam.faults else self.beam.ring_current

    def shutter_open(self) -> bool:
        return self.beam.shutter_open and "shutter_closed" not in self.beam.faults
