"""A caproto IOC that serves a :class:`~sloxide.simulation.world.SimWorld` over EPICS Channel Access.

``sloxide ioc`` (or :func:`run_ioc`) puts the simulated lab on the network under
the PV names the ``Epics…`` device classes use, so
``EpicsCryostat(prefix="SLX:", name="cryostat")``, ``EpicsHallBar``,
``EpicsRotator`` and ``EpicsBeamline`` all run against one IOC with one prefix.
Passing the same contract and physics tests as the in-process sims over a real
Channel Access connection is the proof that the EPICS classes will work in a
real lab (DESIGN.md, "EPICS").

How the PVs behave, and why:

* **Readbacks** (``LS336:IN1``, ``AMI430:Field``, ``m1.RBV``,
  ``MONO:Energy_RBV``, ``SAMPLE:Theta_RBV``) are computed by the world on
  every Channel Access read (a pvproperty *getter*), because ophyd's
  ``EpicsSignalRO`` reads with ``auto_monitor=False``: a read must show where
  the axis is now, with its noise, frozen under the ``"stuck_readback"`` fault.
  Monitors get the readings as they are taken, at most every
  :data:`STATUS_PERIOD` (a read itself posts nothing, as on a real IOC, where
  records post when they process).
* **Setpoints** (``LS336:OUT1:SP``, ``m1.VAL``, ``MONO:Energy``,
  ``SAMPLE:Theta``) command the world when put. The magnet follows the AMI 430:
  ``AMI430:FieldTarget`` only stores the target, and the field moves when
  ``AMI430:Ramp`` is put to 1 (:class:`~sloxide.devices.cryostat.EpicsCryostat`
  does this after every target). Setpoints carry the axis limits as control
  limits, as the drive limits of a real record would.
* **Acquire PVs** (``Delta:Acquire``, ``MAG:Acquire``, ``EM:Acquire``) take a
  fresh reading and write the result PVs *before* the put completes, because
  the devices trigger with put completion: when ophyd's status finishes, the
  reading is there. Under the ``"detector_timeout"`` fault the put does not
  complete until the fault is cleared, like a detector that stopped answering,
  so the trigger status times out on the client; each put runs in its own
  task, so every other PV keeps answering meanwhile.
* **Status PVs** (``AMI430:Quench``, ``RING:Current``, ``SHUTTER:Open``) are
  fresh on every read too, and a 10 Hz loop reads them from the world and
  posts their changes to monitors, so bluesky suspenders subscribed over
  Channel Access see a beam dump or a quench as it happens. They carry no
  noise, so the loop leaves the world's seeded noise alone.

Simulation control, for tests and demos (no real IOC has these):

``{prefix}SIM:Fault`` (string)
    Put a fault name of :data:`sloxide.simulation.world.FAULTS` to inject it. An
    unknown name fails the put with an error response (which caproto's
    threading client does not report: there the put just never completes).
``{prefix}SIM:Clear`` (integer)
    Put 1 to clear every fault.
``{prefix}SIM:Sample`` (string)
    The mounted sample; put a key of :data:`sloxide.model.samples.SAMPLES`
    to change it (``SimWorld.set_sample``: T, field and angle stay).
``{prefix}SIM:Faults`` (read-only string)
    The faults in force, comma-separated, sorted.
``{prefix}SIM:Reset`` (integer)
    Put a seed to start the lab over: a new world with the IOC's first sample
    and mode and that noise seed, and every setting (setpoints, plane, sample,
    excitation) as at startup. Tests use it to get a fresh lab per test.

Network: by default the IOC serves on 127.0.0.1 only, with its beacons kept
on the loopback interface too, so a simulated lab never answers searches from
the facility network. Set ``EPICS_CAS_INTF_ADDR_LIST`` (and, for beacons,
``EPICS_CAS_BEACON_ADDR_LIST``) to serve elsewhere; ``EPICS_CA_SERVER_PORT``
sets the port (default 5064). Clients find it with
``EPICS_CA_ADDR_LIST=127.0.0.1`` and ``EPICS_CA_AUTO_ADDR_LIST=NO``
(:func:`ca_environment` returns such a set). :func:`spawn_ioc` runs the IOC in
a subprocess on a free port, for tests, benchmarks and notebooks.

Examples
--------
>>> from sloxide.simulation.world import SimWorld
>>> from sloxide.ioc import SimWorldIOC
>>> ioc = SimWorldIOC(SimWorld(sample="C10/L6", mode="instant"), prefix="SLX:")
>>> ioc.pvdb["SLX:AMI430:Field"].units
'T'
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal

try:
    import caproto
    from caproto import ChannelType
    from caproto.server import PVGroup, pvproperty
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("sloxide.ioc needs caproto: pip install 'sloxide[deploy]'") from exc

from .devices.beamline import EnergyAxis, IncidenceAngleAxis
from .devices.cryostat import FieldAxis, TemperatureAxis
from .devices.rotator import PLANES, AngleAxis
from .errors import SloxideError
from .model.samples import HALL_BAR
from .simulation.world import SimWorld

__all__ = [
    "SimWorldIOC",
    "run_ioc",
    "spawn_ioc",
    "SpawnedIOC",
    "ca_environment",
    "free_port",
    "PV_SUFFIXES",
    "STATUS_PERIOD",
]

logger = logging.getLogger(__name__)

#: The PV suffixes the IOC serves, by instrument (``"sim"``: the simulation control).
PV_SUFFIXES: dict[str, tuple[str, ...]] = {
    "cryostat": (
        "LS336:OUT1:SP",
        "LS336:IN1",
        "AMI430:FieldTarget",
        "AMI430:Field",
        "AMI430:Ramp",
        "AMI430:Quench",
        "MAG:Moment",
        "MAG:Acquire",
    ),
    "hallbar": (
        "Delta:Rxx",
        "Delta:Rxy",
        "Delta:Acquire",
        "K6221:Current",
        "K6221:Reversal",
    ),
    "rotator": ("m1.VAL", "m1.RBV", "Plane"),
    "beamline": (
        "MONO:Energy",
        "MONO:Energy_RBV",
        "SAMPLE:Theta",
        "SAMPLE:Theta_RBV",
        "EM:TEY",
        "EM:I0",
        "EM:Acquire",
        "RING:Current",
        "SHUTTER:Open",
    ),
    "sim": ("SIM:Fault", "SIM:Clear", "SIM:Sample", "SIM:Faults", "SIM:Reset"),
}

#: Seconds between two posts of the status PVs (quench, ring current, shutter, faults).
STATUS_PERIOD = 0.1

_FAULTS_LENGTH = 256  # every fault name, comma-separated, fits


# ---------------------------------------------------------------------- PV factories
#
# Hooks are plain module functions taking the group, as caproto's ``get=``, ``put=``
# and ``startup=`` arguments expect; factories build the many PVs of one shape.


async def _store(instance: Any, value: Any) -> None:
    """Make ``value`` what this read returns, without posting it to monitors.

    caproto's ``write`` posts every value to the monitors, and a post on every read
    slows each monitored read about twentyfold (the updates then race the read
    replies through the client's threads). A real IOC posts when a record
    processes, not when it is read; here the status loop posts, at most every
    :data:`STATUS_PERIOD`. caproto has no public setter that skips the post, so
    the value goes where ``write`` puts it.
    """
    instance._data["value"] = instance.preprocess_value(value)
    await instance.write_metadata(publish=False, timestamp=time.time())


def _readback(name: str, key: str, units: str, precision: int, doc: str) -> Any:
    """A read-only axis readback: ``world.readback(key)`` on every read."""

    async def get(group: SimWorldIOC, instance: Any) -> None:
        await _store(instance, group.world.readback(key))

    return pvproperty(
        get=get,
        name=name,
        value=0.0,
        units=units,
        precision=precision,
        read_only=True,
        doc=doc,
    )


def _setpoint(
    name: str,
    key: str,
    limits: tuple[float, float],
    units: str,
    precision: int,
    doc: str,
    *,
    command: bool = True,
) -> Any:
    """An axis setpoint; a put commands the world unless ``command=False`` (the AMI target)."""

    async def put(group: SimWorldIOC, instance: Any, value: float) -> None:
        group.world.command(key, value)

    low, high = limits
    return pvproperty(
        put=put if command else None,
        name=name,
        value=0.0,
        units=units,
        precision=precision,
        lower_ctrl_limit=low,
        upper_ctrl_limit=high,
        doc=doc,
    )


def _status(
    name: str, read: Callable[[SimWorld], Any], units: str, doc: str, **kwargs: Any
) -> Any:
    """A status PV, fresh on every read; the status loop posts its changes.

    The getter stores the value without running the putter: reading the shutter
    under the ``"shutter_closed"`` fault must not close the real shutter.
    """

    async def get(group: SimWorldIOC, instance: Any) -> None:
        await _store(instance, read(group.world))

    return pvproperty(get=get, name=name, units=units, doc=doc, **kwargs)


def _acquire(name: str, measure: Callable[[SimWorldIOC], Any], doc: str) -> Any:
    """An acquire PV: a put takes a reading and writes the results before it completes."""

    async def put(group: SimWorldIOC, instance: Any, value: int) -> int:
        # A detector that stopped answering: the put does not complete while the fault
        # lasts, so the client's trigger status times out. Each write runs in its own
        # task, so nothing else waits; once the fault is cleared the reading is taken
        # and the late completion is ignored by the client, whose status already failed.
        while "detector_timeout" in group.world.faults:
            await group._sleep(STATUS_PERIOD)
        for pv, reading in measure(group):
            await pv.write(reading)
        return 0  # idle again: the reading is done

    return pvproperty(put=put, name=name, value=0, units="1", doc=doc)


def _measure_hall(group: SimWorldIOC) -> list[tuple[Any, float]]:
    # As SimHallBar: with current reversal, the mean of a +I and a −I reading.
    readings = 2 if group.current_reversal.value else 1
    values = [group.world.hall_resistances() for _ in range(readings)]
    return [
        (group.R_xx, sum(v[0] for v in values) / readings),
        (group.R_xy, sum(v[1] for v in values) / readings),
    ]


def _measure_moment(group: SimWorldIOC) -> list[tuple[Any, float]]:
    return [(group.moment, group.world.moment())]


def _measure_beam(group: SimWorldIOC) -> list[tuple[Any, float]]:
    tey, i0 = group.world.beam_signals()
    return [(group.tey, tey), (group.i0, i0)]


def _faults_text(world: SimWorld) -> str:
    return ",".join(sorted(world.faults))


# ---------------------------------------------------------------------- hooks


async def _ramp(group: SimWorldIOC, instance: Any, value: int) -> None:
    # AMI 430: the magnet approaches the stored target only when told to ramp.
    if value:
        group.world.command("field", float(group.field_target.value))


async def _plane(group: SimWorldIOC, instance: Any, value: str) -> None:
    if value not in PLANES:
        raise ValueError(f"plane must be one of {PLANES}, got {value!r}")
    group.world.plane = value


async def _shutter(group: SimWorldIOC, instance: Any, value: int) -> None:
    group.world.set_shutter(bool(value))


async def _fault(group: SimWorldIOC, instance: Any, value: str) -> None:
    group.world.inject(value)  # ValueError for an unknown fault: the put fails
    await group.post_status()


async def _clear(group: SimWorldIOC, instance: Any, value: int) -> int:
    if value:
        group.world.clear()
        await group.post_status()
    return 0


async def _sample(group: SimWorldIOC, instance: Any, value: str) -> None:
    group.world.set_sample(value)  # ValueError for an unknown sample


async def _reset(group: SimWorldIOC, instance: Any, value: int) -> None:
    group.world = SimWorld(
        sample=group.first_sample,
        mode=group.world.mode,
        seed=int(value),
        hall_bar=group.world.hall_bar,
    )
    await group.sync()


async def _start(group: SimWorldIOC, instance: Any, async_lib: Any) -> None:
    group.async_lib = async_lib
    await group.sync()
    while True:  # the status loop: monitors of quench, ring current, shutter and faults
        await group.post_status()
        await group._sleep(STATUS_PERIOD)


# ---------------------------------------------------------------------- the IOC


class SimWorldIOC(PVGroup):
    """The PVs of the simulated lab: one :class:`SimWorld` behind every ``Epics…`` device.

    Parameters
    ----------
    world : SimWorld
        The simulated lab to serve. Its sample and mode are also what
        ``SIM:Reset`` starts over with.
    prefix : str, default "SLX:"
        PV prefix shared by all four instruments.
    **kwargs
        Passed to :class:`caproto.server.PVGroup` (``macros``, ``parent``, ``name``).

    Attributes
    ----------
    world : SimWorld
        The world served now (``SIM:Reset`` replaces it).
    first_sample : str
        The sample ``SIM:Reset`` mounts.

    Notes
    -----
    The suffixes are listed in :data:`PV_SUFFIXES`; the module docstring says how
    each kind behaves. Serve the group with ``caproto.server.run(ioc.pvdb, ...)``
    (asyncio) or use :func:`run_ioc`.

    Examples
    --------
    >>> from sloxide.simulation.world import SimWorld
    >>> from sloxide.ioc import PV_SUFFIXES, SimWorldIOC
    >>> ioc = SimWorldIOC(SimWorld(sample="C10/L6", mode="instant"), prefix="SLX:")
    >>> len(ioc.pvdb) == sum(len(s) for s in PV_SUFFIXES.values())
    True
    >>> [name for name in ioc.pvdb if name.startswith("SLX:LS336")]
    ['SLX:LS336:OUT1:SP', 'SLX:LS336:IN1']
    >>> ioc.pvdb["SLX:Delta:Rxx"].units, ioc.pvdb["SLX:MONO:Energy_RBV"].precision
    ('ohm', 3)
    """

    # LakeShore 336 temperature controller, output 1 / input A
    temperature_setpoint = _setpoint(
        "LS336:OUT1:SP", "temperature", TemperatureAxis.limits, "K", 3, "temperature setpoint"
    )
    temperature = _readback("LS336:IN1", "temperature", "K", 3, "sample temperature")
    # AMI 430 magnet power supply
    field_target = _setpoint(
        "AMI430:FieldTarget", "field", FieldAxis.limits, "T", 5, "field target", command=False
    )
    field = _readback("AMI430:Field", "field", "T", 5, "magnet field µ0H")
    ramp = pvproperty(put=_ramp, name="AMI430:Ramp", value=0, units="1", doc="1: ramp to target")
    quench = _status(
        "AMI430:Quench",
        lambda world: int("quench" in world.faults),
        "1",
        "1 after a magnet quench",
        value=0,
        read_only=True,
    )
    # Magnetometer
    moment = pvproperty(
        name="MAG:Moment", value=0.0, units="emu", precision=9, read_only=True, doc="moment"
    )
    moment_acquire = _acquire("MAG:Acquire", _measure_moment, "1: read the moment")
    # Keithley 6221/2182A delta mode
    R_xx = pvproperty(
        name="Delta:Rxx", value=0.0, units="ohm", precision=6, read_only=True, doc="R_xx"
    )
    R_xy = pvproperty(
        name="Delta:Rxy", value=0.0, units="ohm", precision=6, read_only=True, doc="R_xy"
    )
    hall_acquire = _acquire("Delta:Acquire", _measure_hall, "1: read R_xx and R_xy")
    current = pvproperty(
        name="K6221:Current",
        value=HALL_BAR.current_uA,
        units="uA",
        precision=3,
        doc="excitation current",
    )
    current_reversal = pvproperty(
        name="K6221:Reversal", value=1, units="1", doc="1: average +I and -I readings"
    )
    # Sample rotator: a motor record and the mount plane
    angle_setpoint = _setpoint("m1.VAL", "angle", AngleAxis.limits, "deg", 3, "rotation angle")
    angle = _readback("m1.RBV", "angle", "deg", 3, "rotation angle readback")
    plane = pvproperty(
        put=_plane, name="Plane", value="(010)", dtype=ChannelType.STRING, doc="mount plane"
    )
    # Beamline: monochromator, sample incidence angle, electrometer, ring, shutter
    energy_setpoint = _setpoint("MONO:Energy", "energy", EnergyAxis.limits, "eV", 3, "energy")
    energy = _readback("MONO:Energy_RBV", "energy", "eV", 3, "energy readback")
    theta_setpoint = _setpoint(
        "SAMPLE:Theta", "incidence_angle", IncidenceAngleAxis.limits, "deg", 3, "incidence angle"
    )
    theta = _readback("SAMPLE:Theta_RBV", "incidence_angle", "deg", 3, "incidence angle readback")
    tey = pvproperty(
        name="EM:TEY",
        value=0.0,
        units="pA",
        precision=5,
        read_only=True,
        doc="total electron yield",
    )
    i0 = pvproperty(
        name="EM:I0", value=0.0, units="pA", precision=5, read_only=True, doc="incident flux I0"
    )
    beam_acquire = _acquire("EM:Acquire", _measure_beam, "1: read TEY and I0")
    ring_current = _status(
        "RING:Current",
        lambda world: world.ring_current(),
        "mA",
        "storage ring current",
        value=0.0,
        precision=2,
        read_only=True,
    )
    shutter = _status(
        "SHUTTER:Open",
        lambda world: int(world.shutter_open()),
        "1",
        "1 open, 0 closed",
        value=1,
        put=_shutter,
    )
    # Simulation control (tests and demos)
    sim_fault = pvproperty(
        put=_fault, name="SIM:Fault", value="", dtype=ChannelType.STRING, doc="inject a fault"
    )
    sim_clear = pvproperty(put=_clear, name="SIM:Clear", value=0, units="1", doc="1: clear")
    sim_sample = pvproperty(
        put=_sample, name="SIM:Sample", value="", dtype=ChannelType.STRING, doc="mounted sample"
    )
    sim_faults = pvproperty(
        startup=_start,
        name="SIM:Faults",
        value="",
        dtype=ChannelType.CHAR,
        max_length=_FAULTS_LENGTH,
        report_as_string=True,
        read_only=True,
        doc="faults in force",
    )
    sim_reset = pvproperty(
        put=_reset, name="SIM:Reset", value=0, units="1", doc="seed: start over"
    )

    def __init__(self, world: SimWorld, prefix: str = "SLX:", **kwargs: Any) -> None:
        self.world = world
        self.first_sample = world.sample.name
        self.async_lib: Any = None
        self._posted: dict[str, Any] = {}  # PV name -> the value last posted to monitors
        super().__init__(prefix, **kwargs)

    async def _sleep(self, seconds: float) -> None:
        """Sleep in the server's async library (asyncio unless started otherwise)."""
        if self.async_lib is None:
            import asyncio

            await asyncio.sleep(seconds)
        else:
            await self.async_lib.library.sleep(seconds)

    async def sync(self) -> None:
        """Make every stored PV show the world: setpoints, plane, sample, excitation, status.

        The IOC does this at startup and after ``SIM:Reset``; call it after changing
        the world directly, e.g. from a notebook that serves the IOC in process.

        Examples
        --------
        >>> import asyncio
        >>> from sloxide.simulation.world import SimWorld
        >>> from sloxide.ioc import SimWorldIOC
        >>> world = SimWorld(mode="instant")
        >>> ioc = SimWorldIOC(world, prefix="SLX:")
        >>> world.command("temperature", 2.0)
        >>> asyncio.run(ioc.sync())
        >>> ioc.temperature_setpoint.value
        2.0
        """
        world = self.world
        for pv, key in (
            (self.temperature_setpoint, "temperature"),
            (self.field_target, "field"),
            (self.angle_setpoint, "angle"),
            (self.energy_setpoint, "energy"),
            (self.theta_setpoint, "incidence_angle"),
        ):
            await pv.write(world.position(key), verify_value=False)
        await self.plane.write(world.plane, verify_value=False)
        await self.sim_sample.write(world.sample.name, verify_value=False)
        await self.current.write(world.hall_bar.current_uA, verify_value=False)
        await self.current_reversal.write(1, verify_value=False)
        await self.post_status()

    async def post_status(self) -> None:
        """Post to monitors what changed since the last post.

        The status PVs (quench, ring current, shutter, faults) are read from the
        world, which costs no noise; the readbacks post the value their last read
        returned, so a monitor of a readback sees the readings as they are taken.

        Examples
        --------
        >>> import asyncio
        >>> from sloxide.simulation.world import SimWorld
        >>> from sloxide.ioc import SimWorldIOC
        >>> world = SimWorld(mode="instant")
        >>> ioc = SimWorldIOC(world, prefix="SLX:")
        >>> world.inject("beam_dump")
        >>> asyncio.run(ioc.post_status())
        >>> ioc.ring_current.value, ioc.sim_faults.value
        (0.0, 'beam_dump')
        """
        world = self.world
        for pv, value in (
            (self.quench, int("quench" in world.faults)),
            (self.ring_current, world.ring_current()),
            (self.shutter, int(world.shutter_open())),
            (self.sim_faults, _faults_text(world)),
        ):
            await _store(pv, value)
        for pv in (
            self.quench,
            self.ring_current,
            self.shutter,
            self.sim_faults,
            self.temperature,
            self.field,
            self.angle,
            self.energy,
            self.theta,
        ):
            if self._posted.get(pv.pvname) != pv.value:
                self._posted[pv.pvname] = pv.value
                await pv.write(pv.value, verify_value=False)


# ---------------------------------------------------------------------- serving


def _localhost_by_default() -> list[str]:
    """The interfaces to serve on: ``EPICS_CAS_INTF_ADDR_LIST``, else 127.0.0.1 only.

    With the loopback default the beacons stay on the loopback too (unless
    ``EPICS_CAS_BEACON_ADDR_LIST`` says otherwise), instead of caproto's
    broadcast to every network.
    """
    if os.environ.get("EPICS_CAS_INTF_ADDR_LIST", "").strip():
        return list(caproto.get_server_address_list())
    if not os.environ.get("EPICS_CAS_BEACON_ADDR_LIST", "").strip():
        os.environ["EPICS_CAS_BEACON_ADDR_LIST"] = "127.0.0.1"
        os.environ["EPICS_CAS_AUTO_BEACON_ADDR_LIST"] = "NO"
    return ["127.0.0.1"]


def _quiet_loopback_beacons(record: logging.LogRecord) -> bool:
    """Drop caproto's "Failed to send beacon" errors when beacons stay on the loopback.

    caproto sends beacons on connected UDP sockets, so with no CA repeater on the
    loopback port every beacon reports "connection refused" with a traceback. A
    lab on localhost needs no repeater: clients find it by searching.
    """
    return not str(record.msg).startswith("Failed to send beacon")


#: Seconds the IOC may take to shut down after Ctrl-C or SIGTERM before the process leaves.
SHUTDOWN_S = 10.0


def run_ioc(
    prefix: str = "SLX:",
    sample: str = "C10/L6",
    mode: Literal["instant", "realistic"] = "realistic",
    seed: int = 0,
    on_serving: Callable[[], None] | None = None,
) -> None:
    """Serve a new simulated lab over Channel Access until interrupted (Ctrl-C).

    Parameters
    ----------
    prefix : str, default "SLX:"
        PV prefix of all four instruments.
    sample : str, default "C10/L6"
        Mounted sample, a key of :data:`sloxide.model.samples.SAMPLES`.
    mode : {"realistic", "instant"}, default "realistic"
        Axes move at the rates of real hardware, or arrive at once.
    seed : int, default 0
        Noise seed.
    on_serving : callable, optional
        Called once the server listens, so an announcement is never early.

    Notes
    -----
    Serves on 127.0.0.1 unless ``EPICS_CAS_INTF_ADDR_LIST`` names other
    interfaces; the port is ``EPICS_CA_SERVER_PORT`` (default 5064). This is
    ``sloxide ioc``. Nothing is read from ``sys.argv``.

    Raises
    ------
    SloxideError
        For an unknown sample or mode (a ``ValueError``).

    Examples
    --------
    >>> from sloxide.ioc import run_ioc
    >>> run_ioc(prefix="SLX:", sample="C2/L6", mode="instant")  # doctest: +SKIP
    """
    from caproto.asyncio.server import start_server

    try:
        world = SimWorld(sample=sample, mode=mode, seed=seed)
    except ValueError as exc:  # a one-line error for ``sloxide ioc``, not a traceback
        raise SloxideError(str(exc)) from None
    ioc = SimWorldIOC(world, prefix=prefix)
    interfaces = _localhost_by_default()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s] %(message)s", "%H:%M:%S"))
    for name in ("caproto.ctx", __name__):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    if all(host.startswith("127.") for host, _ in caproto.get_beacon_address_list()):
        logging.getLogger("caproto.ctx").addFilter(_quiet_loopback_beacons)
    logger.info(
        "serving %d PVs of the simulated lab (%s, %s, seed %d) as %s* on %s, port %s",
        len(ioc.pvdb),
        sample,
        mode,
        seed,
        prefix,
        " ".join(interfaces),
        os.environ.get("EPICS_CA_SERVER_PORT", "5064"),
    )

    async def announce(async_lib: object) -> None:
        if on_serving is not None:
            on_serving()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def stop() -> None:
            # Ctrl-C or SIGTERM cancels the server; should its shutdown not finish (it
            # hung once in CI), the process still leaves, never hangs.
            watchdog = threading.Timer(SHUTDOWN_S, os._exit, args=(0,))
            watchdog.daemon = True
            watchdog.start()
            task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        await start_server(ioc.pvdb, interfaces=interfaces, startup_hook=announce)

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(serve())


# ---------------------------------------------------------------------- a subprocess IOC


def free_port(address: str = "127.0.0.1") -> int:
    """A port that is free for both TCP and UDP on ``address`` right now.

    Channel Access serves searches on UDP and circuits on TCP at the same port.

    Examples
    --------
    >>> from sloxide.ioc import free_port
    >>> 1024 <= free_port() <= 65535
    True
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((address, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no port free for both TCP and UDP on {address}")


def ca_environment(port: int, repeater_port: int, address: str = "127.0.0.1") -> dict[str, str]:
    """EPICS variables for a server and its clients that meet on ``address:port`` only.

    Examples
    --------
    >>> from sloxide.ioc import ca_environment
    >>> env = ca_environment(5999, 6000)
    >>> env["EPICS_CA_ADDR_LIST"], env["EPICS_CA_AUTO_ADDR_LIST"], env["EPICS_CA_SERVER_PORT"]
    ('127.0.0.1', 'NO', '5999')
    """
    return {
        "EPICS_CA_ADDR_LIST": address,
        "EPICS_CA_AUTO_ADDR_LIST": "NO",
        "EPICS_CA_SERVER_PORT": str(port),
        "EPICS_CA_REPEATER_PORT": str(repeater_port),
        "EPICS_CAS_INTF_ADDR_LIST": address,
        "EPICS_CAS_BEACON_ADDR_LIST": address,
        "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
        "EPICS_CAS_BEACON_PORT": str(repeater_port),
    }


def _answers_search(address: str, port: int, pvname: str, timeout: float) -> bool:
    """Whether a Channel Access server on ``address:port`` answers a search for ``pvname``.

    Speaks the protocol directly (caproto's sans-I/O broadcaster), so it needs no
    client context and no environment variables.
    """
    broadcaster = caproto.Broadcaster(our_role=caproto.CLIENT)
    request = broadcaster.send(
        caproto.VersionRequest(0, caproto.DEFAULT_PROTOCOL_VERSION),
        caproto.SearchRequest(pvname, 1, caproto.DEFAULT_PROTOCOL_VERSION),
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request, (address, port))
            data, source = sock.recvfrom(caproto.MAX_UDP_RECV)
        except OSError:  # includes the timeout
            return False
    commands = broadcaster.recv(data, source)
    return any(isinstance(command, caproto.SearchResponse) for command in commands)


@dataclass(frozen=True)
class SpawnedIOC:
    """An IOC running in a subprocess (see :func:`spawn_ioc`).

    Attributes
    ----------
    prefix : str
        Its PV prefix.
    port : int
        Its Channel Access server port.
    env : dict of str
        The EPICS variables a client needs to find it (and only it).
    process : subprocess.Popen
        The IOC process.

    Examples
    --------
    >>> from sloxide.ioc import SpawnedIOC
    >>> [f for f in SpawnedIOC.__dataclass_fields__]
    ['prefix', 'port', 'env', 'process']
    """

    prefix: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the IOC, and kill it if it has not exited after ``timeout`` s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def spawn_ioc(
    prefix: str = "SLX:",
    *,
    sample: str = "C10/L6",
    mode: Literal["instant", "realistic"] = "instant",
    seed: int = 0,
    address: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 60.0,
    output: int | IO[Any] | None = None,
) -> Iterator[SpawnedIOC]:
    """Run ``sloxide ioc`` in a subprocess on a free port; stop it on exit.

    The IOC serves on ``address`` only and answers on a port picked with
    :func:`free_port`, so parallel test sessions never meet. Point a client at
    it with the variables in ``.env`` (set them before the client's first search).

    Parameters
    ----------
    prefix : str, default "SLX:"
    sample : str, default "C10/L6"
    mode : {"instant", "realistic"}, default "instant"
    seed : int, default 0
    address : str, default "127.0.0.1"
        Interface to serve on and to search at.
    port : int, optional
        Server port; default a free one.
    timeout : float, default 60
        Seconds to wait for the IOC to answer a search before giving up.
    output : file, file descriptor or subprocess.DEVNULL, optional
        Where the IOC's log goes; default this process's stdout/stderr.

    Yields
    ------
    SpawnedIOC

    Raises
    ------
    RuntimeError
        If the IOC exits or does not answer within ``timeout``.

    Examples
    --------
    >>> from sloxide.ioc import spawn_ioc
    >>> with spawn_ioc(prefix="DEMO:", mode="instant") as ioc:  # doctest: +SKIP
    ...     os.environ.update(ioc.env)
    ...     cryostat = EpicsCryostat(prefix=ioc.prefix, name="cryostat")
    """
    port = free_port(address) if port is None else port
    env = ca_environment(port, free_port(address), address)
    command = [sys.executable, "-m", "sloxide.cli", "ioc", "--prefix", prefix]
    command += ["--sample", sample, "--mode", mode, "--seed", str(seed)]
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=output,
    )
    served = SpawnedIOC(prefix=prefix, port=port, env=env, process=process)
    try:
        deadline = time.monotonic() + timeout
        while not _answers_search(address, port, prefix + "SIM:Faults", timeout=0.2):
            if process.poll() is not None:
                raise RuntimeError(f"the IOC exited with code {process.returncode}: {command}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the IOC did not answer on {address}:{port} in {timeout} s")
        yield served
    finally:
        served.stop()
