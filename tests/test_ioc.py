"""The caproto IOC: the ``Epics…`` devices over Channel Access, against a real IOC subprocess.

One IOC, ``sloxide ioc --mode instant --seed 0`` with a unique prefix, serves the
whole test session on a free port bound to 127.0.0.1 (the :func:`ioc` fixture).
tests/test_devices.py runs its movable-contract and physics tests over it too,
through the :class:`EpicsLab` defined here; this module adds what only an IOC
has: the PV table, monitors, a hung acquire, the plans into a catalog, and the
IOC dying under a running plan.

Nothing here mocks Channel Access: every put and read crosses a real TCP circuit.
Without caproto the EPICS tests are skipped, unless ``SLOXIDE_REQUIRE_SERVICES=1``
(CI), where a missing caproto is a failure.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.utils import FailedStatus
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO
from ophyd.signal import EpicsSignalBase
from ophyd.utils import StatusTimeoutError

import sloxide  # noqa: F401  (registers the accessor)
from sloxide import plans
from sloxide.devices.beamline import EpicsBeamline
from sloxide.devices.cryostat import EpicsCryostat
from sloxide.devices.hallbar import EpicsHallBar
from sloxide.devices.rotator import EpicsRotator
from sloxide.devices.sim import SimWorld, sim_lab

EPICS_CLASSES = {
    "cryostat": EpicsCryostat,
    "hallbar": EpicsHallBar,
    "rotator": EpicsRotator,
    "beamline": EpicsBeamline,
}
# Seconds to wait for a refused simulation-control put: caproto's threading client
# ignores the server's error response, so a refused put shows as one that never completes.
REFUSED_PUT_S = 0.5


def _require_caproto() -> None:
    try:
        import caproto  # noqa: F401
    except ImportError:
        if os.environ.get("SLOXIDE_REQUIRE_SERVICES") == "1":
            pytest.fail(
                "caproto is missing and SLOXIDE_REQUIRE_SERVICES=1: install sloxide[deploy]"
            )
        pytest.skip("caproto is missing: pip install 'sloxide[deploy]'")


# ---------------------------------------------------------------------- labs, sim and EPICS


class Lab(dict):
    """The four instruments of one lab by name, and the simulation's controls.

    The sim and the EPICS lab offer the same small interface, so one test body
    drives either: ``inject``, ``clear``, ``set_sample`` and ``sample``.
    """

    kind = ""

    def inject(self, fault: str) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def set_sample(self, name: str) -> None:
        raise NotImplementedError

    @property
    def sample(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the lab holds (nothing for a sim)."""


class SimLab(Lab):
    """The in-process sim devices of a fresh instant-mode :class:`SimWorld`."""

    kind = "sim"

    def __init__(self, seed: int = 0, sample: str = "C10/L6") -> None:
        self.world = SimWorld(sample=sample, mode="instant", seed=seed)
        super().__init__(sim_lab(self.world))

    def inject(self, fault: str) -> None:
        self.world.inject(fault)

    def clear(self) -> None:
        self.world.clear()

    def set_sample(self, name: str) -> None:
        self.world.set_sample(name)

    @property
    def sample(self) -> str:
        return self.world.sample.name


class SimControl(Device):
    """The IOC's simulation-control PVs (``{prefix}SIM:...``), as an ophyd device."""

    fault = Cpt(EpicsSignal, "SIM:Fault", string=True, put_complete=True)
    clear = Cpt(EpicsSignal, "SIM:Clear", put_complete=True)
    sample = Cpt(EpicsSignal, "SIM:Sample", string=True, put_complete=True)
    faults = Cpt(EpicsSignalRO, "SIM:Faults", string=True)
    reset = Cpt(EpicsSignal, "SIM:Reset", put_complete=True)


class EpicsLab(Lab):
    """The ``Epics…`` devices on one IOC, its world started over with ``seed``.

    ``SIM:Reset`` gives every test the same fresh world a sim test gets from
    ``SimWorld(seed=0)``; new device objects give it fresh soft config (tolerances,
    settle times, timeouts) and no monitors left from another test. A device is made
    and connected when a test first asks for it, since connecting costs round trips.
    """

    kind = "epics"

    def __init__(self, prefix: str, seed: int = 0, *, reset: bool = True) -> None:
        super().__init__()
        self.prefix = prefix
        self.control = SimControl(prefix, name="sim")
        self.control.wait_for_connection(timeout=10)
        if reset:
            self.control.reset.set(seed).wait(5)  # put completion: the world has started over

    def __missing__(self, name: str) -> Any:
        if name not in EPICS_CLASSES:
            raise KeyError(name)
        device = EPICS_CLASSES[name](prefix=self.prefix, name=name)
        device.wait_for_connection(timeout=10)
        self[name] = device
        return device

    def _connect_all(self) -> None:
        for name in EPICS_CLASSES:
            self[name]  # noqa: B018  (made on first use)

    def __iter__(self):
        return iter(EPICS_CLASSES)

    def __len__(self) -> int:
        return len(EPICS_CLASSES)

    def keys(self):
        self._connect_all()
        return super().keys()

    def values(self):
        self._connect_all()
        return super().values()

    def items(self):
        self._connect_all()
        return super().items()

    def _put(self, signal: Any, value: Any, what: str) -> None:
        try:
            signal.set(value, timeout=REFUSED_PUT_S).wait()
        except StatusTimeoutError:
            raise ValueError(f"unknown {what} {value!r}: the IOC refused the put") from None

    def inject(self, fault: str) -> None:
        self._put(self.control.fault, fault, "fault")

    def clear(self) -> None:
        self.control.clear.set(1).wait(5)

    def set_sample(self, name: str) -> None:
        self._put(self.control.sample, name, "sample")

    @property
    def sample(self) -> str:
        return str(self.control.sample.get())

    @property
    def faults(self) -> set[str]:
        text = str(self.control.faults.get())
        return set(text.split(",")) if text else set()

    def close(self) -> None:
        for device in [*dict.values(self), self.control]:  # only those made
            device.destroy()


# ---------------------------------------------------------------------- the session's IOC


def _use_caproto_layer() -> None:
    # ophyd picks its control layer when first imported (OPHYD_CONTROL_LAYER, else the first
    # of pyepics/caproto that imports); other modules imported it long before this fixture.
    import ophyd

    if ophyd.cl.name != "caproto":
        ophyd.set_cl("caproto")


def _disconnect_client() -> None:
    # The threading client's context is process-wide (ophyd's shim uses the default one).
    # Disconnecting it at the end keeps the interpreter's exit free of its tracebacks.
    from caproto.threading.pyepics_compat import PV

    PV.default_context().disconnect()


@contextlib.contextmanager
def _epics_env(env: dict[str, str]):
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield


def _serve(stack: contextlib.ExitStack, mode: str = "instant") -> Any:
    from sloxide.ioc import spawn_ioc

    prefix = f"SLXT{uuid.uuid4().hex[:8]}:"
    return stack.enter_context(spawn_ioc(prefix=prefix, mode=mode, seed=0, timeout=60))


# One IOC per session. Both tests/test_devices.py and this module import this fixture,
# which gives each module its own fixture definition, so the IOC itself is kept here.
_SESSION_IOC: list[Any] = []


@pytest.fixture(scope="session")
def ioc(request):
    """The session's IOC (a :class:`sloxide.ioc.SpawnedIOC`), and a client environment for it.

    The IOC runs ``python -m sloxide.cli ioc --mode instant --seed 0`` on a free port
    (TCP and UDP) on 127.0.0.1. This process gets the same EPICS variables for the
    session (EPICS_CA_ADDR_LIST=127.0.0.1, EPICS_CA_AUTO_ADDR_LIST=NO,
    EPICS_CA_SERVER_PORT, EPICS_CA_REPEATER_PORT, EPICS_CAS_*), set before the first
    search (caproto reads the address list and port when it searches), and ophyd's
    caproto control layer. At the end: the client context is disconnected, the
    environment restored, the IOC terminated (killed if it lingers).
    """
    if not _SESSION_IOC:
        _require_caproto()
        stack = contextlib.ExitStack()
        request.addfinalizer(stack.close)
        served = _serve(stack)
        stack.enter_context(_epics_env({**served.env, "OPHYD_CONTROL_LAYER": "caproto"}))
        _use_caproto_layer()
        stack.callback(_disconnect_client)
        _SESSION_IOC.append(served)
    return _SESSION_IOC[0]


@pytest.fixture(scope="module", autouse=True)
def doomed_ioc(ioc):
    """A second IOC, in realistic mode, for the test that kills one; a future of it.

    Starting an IOC costs seconds of imports, so it starts in the background when this
    module starts, after the session's IOC has set the environment it copies.
    """
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(1) as pool:
        yield pool.submit(_serve, stack, "realistic")


@pytest.fixture
def epics_lab(ioc):
    lab = EpicsLab(ioc.prefix, seed=0)
    yield lab
    lab.close()


@pytest.fixture
def RE(tiled_catalog):
    """A RunEngine writing to this module's embedded catalog (conftest.py)."""
    from sloxide.catalog import subscribe

    engine = RunEngine({})
    subscribe(engine, tiled_catalog)
    return engine


# ---------------------------------------------------------------------- the PV table


def _pv_names(cls, prefix: str) -> set[str]:
    """The PV names an ophyd device class connects to, from its components (no network)."""
    names = set()
    for component in cls._sig_attrs.values():
        if issubclass(component.cls, Device):
            names |= _pv_names(component.cls, prefix + component.suffix)
        elif issubclass(component.cls, EpicsSignalBase):
            names.add(prefix + component.suffix)
            if "write_pv" in component.kwargs:
                names.add(prefix + component.kwargs["write_pv"])
    return names


def test_the_ioc_serves_every_pv_of_the_epics_devices():
    _require_caproto()
    from sloxide.ioc import PV_SUFFIXES, SimWorldIOC

    pvdb = SimWorldIOC(SimWorld(), prefix="LAB:").pvdb
    served = set(pvdb)
    assert served == {f"LAB:{s}" for suffixes in PV_SUFFIXES.values() for s in suffixes}
    for name, cls in EPICS_CLASSES.items():
        needed = _pv_names(cls, "LAB:")
        assert needed <= served, sorted(needed - served)
        assert needed == {f"LAB:{s}" for s in PV_SUFFIXES[name]}


def test_every_numeric_pv_carries_units_and_precision():
    _require_caproto()
    from caproto import ChannelType

    from sloxide.ioc import SimWorldIOC

    for name, pv in SimWorldIOC(SimWorld(), prefix="LAB:").pvdb.items():
        if pv.data_type in (ChannelType.DOUBLE, ChannelType.LONG):
            assert pv.units, name
        if pv.data_type == ChannelType.DOUBLE:
            assert pv.precision > 0, name


# ---------------------------------------------------------------------- over Channel Access


def test_readbacks_are_fresh_on_every_read(epics_lab):
    cryostat = epics_lab["cryostat"]
    readings = {cryostat.field.readback.get() for _ in range(5)}
    assert len(readings) == 5  # new noise each read: computed by the world, not cached
    assert all(abs(r) < 1e-4 for r in readings)  # 0 T with σ = 10 µT


def test_the_magnet_moves_only_after_ramp(epics_lab):
    field = epics_lab["cryostat"].field
    field.setpoint.put(1.0)  # the AMI target alone
    time.sleep(0.2)
    assert abs(field.position) < 1e-3
    field.ramp.put(1)
    deadline = time.monotonic() + 2
    while abs(field.position - 1.0) > 1e-3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert field.position == pytest.approx(1.0, abs=1e-3)


def test_status_pvs_post_to_monitors(epics_lab):
    # Suspenders subscribe; the IOC posts quench, ring current and shutter changes itself.
    ring = epics_lab["beamline"].ring_current
    seen = []
    token = ring.subscribe(lambda value, **kwargs: seen.append(value))
    try:
        epics_lab.inject("beam_dump")
        deadline = time.monotonic() + 2
        while 0.0 not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert 0.0 in seen and seen[0] == 400.0
        assert epics_lab.faults == {"beam_dump"}
    finally:
        ring.unsubscribe(token)


def test_a_refused_control_put_changes_nothing(epics_lab):
    with pytest.raises(ValueError, match="unknown fault"):
        epics_lab.inject("meteor")
    assert epics_lab.faults == set()
    with pytest.raises(ValueError, match="unknown sample"):
        epics_lab.set_sample("C3/L3")
    assert epics_lab.sample == "C10/L6"


def test_a_hung_acquire_blocks_nothing_else(epics_lab):
    cryostat, hallbar = epics_lab["cryostat"], epics_lab["hallbar"]
    hallbar.trigger_timeout.put(1.0)
    epics_lab.inject("detector_timeout")
    status = hallbar.trigger()  # a put that does not complete while the fault lasts
    start = time.monotonic()
    cryostat.field.set(0.5).wait(2)  # other PVs answer meanwhile
    readings = [cryostat.temperature.position for _ in range(20)]
    # Blocked, each read would wait for the hung put (1 s or more each, 20 s in all);
    # the bound separates that from a busy machine, it is no benchmark.
    assert time.monotonic() - start < 5
    assert not status.done and np.allclose(readings, 300.0, atol=0.05)
    with pytest.raises(StatusTimeoutError):
        status.wait(3)
    epics_lab.clear()
    hallbar.trigger().wait(2)  # the detector answers again


# ---------------------------------------------------------------------- plans into a catalog


def test_field_loop_over_ca_reduces_to_the_c10_l6_checkpoints(epics_lab, RE, tiled_catalog):
    from sloxide.io import read_run

    # 0.15 T steps (301 points) rather than the paper's 0.02 T: over 8 seeds of the sim, Hc
    # scatters by σ = 0.0045 T at 0.15 T steps, a quarter of the 0.02 T checkpoint band;
    # Δρ_AHE and MR by < 1 % of theirs (LOOP_STEP_T in tests/test_devices.py).
    (uid,) = RE(
        plans.field_loop(
            epics_lab["hallbar"], epics_lab["cryostat"], temperature=2.0, field_max=9.0,
            step=0.15, sample="C10/L6",
        )
    )  # fmt: skip
    ds = read_run(tiled_catalog[uid])
    assert ds.sizes["time"] == 301
    assert ds["hallbar_R_xy"].attrs["units"] == "ohm"  # the IOC's units, via describe()
    assert ds["cryostat_field"].attrs["units"] == "T"
    ahe = ds.sloxide.ahe()
    mr = ds.sloxide.mr()
    assert ahe.delta_rho_ahe.item() == pytest.approx(0.03, rel=0.05)  # [P]
    assert ahe.coercive_field.item() == pytest.approx(0.97, abs=0.02)  # [P]
    assert ahe.carrier_type.item() == "holes"  # [P]
    assert mr.mr_max_field.item() == pytest.approx(-0.65, abs=0.03)  # [P]
    assert epics_lab["cryostat"].field.position == pytest.approx(0.0, abs=1e-3)  # restored


def test_xld_scan_over_ca_reduces_to_the_c2_l2_checkpoints(epics_lab, RE, tiled_catalog):
    from sloxide.io import read_runs

    epics_lab.set_sample("C2/L2")
    # 0.1 eV, the demo's step: over 8 sim seeds P = 0.195 ± 0.005, well inside the 0.03 band
    # of the demo's comparison; at 0.2 eV the scatter (0.018) would not be.
    uids = RE(plans.xld_scan(epics_lab["beamline"], regions=(862.0, 0.1, 885.0), sample="C2/L2"))
    pair = read_runs([tiled_catalog[u] for u in uids], along="xas.incidence_angle_deg")
    assert pair.beamline_tey.dims == ("incidence_angle", "energy")
    assert pair.beamline_tey.attrs["units"] == "pA"
    xld = pair.sloxide.xld().xld
    assert float(xld.sel(energy=slice(866.0, 878.0)).sum()) < 0  # x²−y² preferred, C2/L2 [P]
    assert pair.sloxide.orbital_polarization().P.item() == pytest.approx(0.19, abs=0.03)  # [P]


# ---------------------------------------------------------------------- the IOC dies


def test_an_ioc_killed_mid_move_ends_the_plan_and_the_run_engine_carries_on(
    doomed_ioc, epics_lab, RE, tiled_catalog
):
    doomed = doomed_ioc.result(timeout=120)  # realistic: 300 K → 2 K at 2 K/s takes minutes
    with contextlib.ExitStack() as stack:
        # This process searches the session IOC's port; name the doomed one's too.
        stack.enter_context(
            _epics_env({"EPICS_CA_ADDR_LIST": f"127.0.0.1 127.0.0.1:{doomed.port}"})
        )
        lab = EpicsLab(doomed.prefix, reset=False)
        stack.callback(lab.close)
        cryostat = lab["cryostat"]
        for axis in (cryostat.temperature, cryostat.field):
            axis.timeout_margin.put(120.0)  # only the dead IOC may end this move
        killer = threading.Timer(0.3, doomed.process.kill)

        def kill_mid_move(msg):
            if msg.command == "set" and msg.obj is cryostat.temperature:
                killer.start()  # 0.3 s into the cool-down

        RE.msg_hook = kill_mid_move
        stack.callback(setattr, RE, "msg_hook", None)
        start = time.monotonic()
        with pytest.raises((TimeoutError, FailedStatus)):  # a readback that cannot connect
            RE(
                plans.field_loop(
                    lab["hallbar"], cryostat, temperature=2.0, field_max=1.0, step=0.5
                )
            )
        elapsed = time.monotonic() - start
    assert killer.finished.is_set() and doomed.process.wait(timeout=5) < 0  # killed
    # ophyd's connection timeout is 1 s per read (the move's watch, the restore, stop());
    # a hang would have run into the 120 s margin.
    assert elapsed < 10, elapsed
    assert RE.state == "idle"
    (uid,) = RE(bp.count([epics_lab["hallbar"]], num=2))  # the RunEngine carries on
    assert tiled_catalog[uid].metadata["stop"]["exit_status"] == "success"
    RE(bps.mv(epics_lab["cryostat"].field, 0.2))
    assert epics_lab["cryostat"].field.position == pytest.approx(0.2, abs=1e-3)


def test_the_ioc_subprocess_is_what_the_fixture_describes(ioc):
    assert ioc.process.poll() is None
    assert ioc.env["EPICS_CA_ADDR_LIST"] == "127.0.0.1"
    assert os.environ["EPICS_CA_SERVER_PORT"] == str(ioc.port)
    assert isinstance(ioc.process, subprocess.Popen)
