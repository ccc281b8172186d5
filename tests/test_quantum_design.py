"""Quantum Design devices against the real MultiPyVu scaffolding server.

The harness starts ``MultiPyVu.Server(flags=["-s", "PPMS"])`` in a subprocess of its
own on a free port (scaffolding state lives in class attributes, so one process per
server) and waits until the port accepts. The scaffolding moves at real rates
(temperature 0.01–20 K/min, then 5 s "Near"; field after a 1 s pause, then
"Iterate"), so the ranges are tiny. It has no sample physics: these tests prove the
movable contract and the data path, not numbers. Without MultiPyVu they skip, unless
``SLOXIDE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import bluesky.plan_stubs as bps
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.utils import FailedStatus
from ophyd.utils import StatusTimeoutError
from services import ROOT, free_port, require, stop_process, wait_for

from sloxide.devices.definitions import DeviceDefinitionError, load_devices
from sloxide.devices.positioner import LimitError
from sloxide.devices.quantum_design import (
    DONE,
    FAILED,
    MOVING,
    STATUS,
    MultiVuConnection,
    MultiVuConnectionError,
    classify,
)

HAS_MULTIPYVU = importlib.util.find_spec("MultiPyVu") is not None
DEVICES = Path(ROOT) / "devices"
SERVER = (
    "import sys, MultiPyVu; "
    "MultiPyVu.Server(flags=['-s', sys.argv[1]], port=int(sys.argv[2]), "
    "keep_server_open=True).open()"
)


def _need_multipyvu() -> None:
    require(HAS_MULTIPYVU, "MultiPyVu is not installed (pip install 'sloxide[qd]')")


class Served:
    """A scaffolding server subprocess (its output in a log file): port, process, stop."""

    def __init__(self, tmp: Path, platform: str) -> None:
        self.port = free_port()
        self.log = tmp / f"multipyvu-{platform}-{self.port}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SERVER, platform, str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp,  # its QdMultiVu.log lands here
            )
        # Wait for the server to say so: a bare TCP connect-and-close (a port probe)
        # leaves the scaffolding server believing a client is still connected, and
        # it then refuses every real client.
        wait_for(
            lambda: f"Listening on port {self.port}" in self.log.read_text(errors="replace"),
            30,
            f"the MultiPyVu {platform} scaffolding",
            None,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    def stop(self) -> None:
        MultiVuConnection.shared(port=self.port).close()
        stop_process(self.process)


def _serve(tmp: Path, platform: str = "PPMS") -> Served:
    _need_multipyvu()
    return Served(tmp, platform)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = _serve(tmp_path_factory.mktemp("multipyvu"))
    yield served
    served.stop()


def _definition(tmp: Path, port: int, platform: str = "PPMS") -> Path:
    text = (DEVICES / "qd-ppms.toml").read_text()
    text = text.replace("port = 27183", f"port = {port}")
    text = text.replace('platform = "PPMS"', f'platform = "{platform}"')
    path = tmp / "qd.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def qd(server, tmp_path_factory):
    """The qd-ppms.toml lab on the module's server, with fast test rates."""
    path = _definition(tmp_path_factory.mktemp("qd"), server.port)
    lab = load_devices(path, connect=True)
    lab["cryostat"].temperature.rate.put(20.0 / 60)  # MultiVu's fastest, 20 K/min
    lab["cryostat"].field.rate.put(0.01)  # 100 Oe/s
    lab["rotator"].angle.rate.put(100.0)
    return lab


@pytest.fixture
def fresh(qd):
    """Margins back to test values after each test."""
    yield qd
    cryostat, rotator = qd["cryostat"], qd["rotator"]
    for axis, margin in (
        (cryostat.temperature, 30.0),
        (cryostat.field, 10.0),
        (rotator.angle, 10.0),
    ):
        axis.settle_time.put(0.0)
        axis.timeout_margin.put(margin)


# ---------------------------------------------------------------------- status table


def test_every_multipyvu_status_is_mapped():
    _need_multipyvu()
    from MultiPyVu import CommandField, CommandRotator, CommandTemperature

    tables = {
        "temperature": CommandTemperature.STATE_DICT,
        "field": CommandField.STATE_DICT,
        "rotator": CommandRotator.STATE_DICT,
    }
    for subsystem, table in tables.items():
        missing = set(table.values()) - set(STATUS[subsystem])
        assert not missing, (subsystem, missing)
        assert set(STATUS[subsystem]) <= set(table.values()), subsystem  # no invented strings
    # MultiVu's WaitFor counts the error codes as settled; sloxide fails the move.
    for code in (13, 14, 15):
        assert classify("temperature", CommandTemperature.STATE_DICT[code]) == FAILED
    assert classify("field", "Quenching") == FAILED
    assert classify("temperature", "Stable") == DONE
    assert classify("field", "Holding (driven)") == DONE
    assert {classify("temperature", s) for s in ("Tracking", "Chasing", "Near")} == {MOVING}
    assert classify("field", "Iterate") == MOVING
    assert classify("rotator", "Transport hit limit switch") == FAILED
    assert classify("field", "Client not connected to the server") == FAILED


# ---------------------------------------------------------------------- connect


def test_a_server_that_is_not_running_is_one_clear_error_at_connect(tmp_path):
    _need_multipyvu()
    path = _definition(tmp_path, free_port())
    start = time.monotonic()
    with pytest.raises(DeviceDefinitionError, match="no MultiPyVu server answers at") as info:
        load_devices(path, connect=True)
    assert "python -m MultiPyVu" in str(info.value)
    assert "\n" not in str(info.value)
    assert time.monotonic() - start < 10


def test_a_platform_mismatch_is_refused_at_connect(server, tmp_path):
    connection = MultiVuConnection(port=server.port, platform="MPMS3")
    with pytest.raises(MultiVuConnectionError, match="runs PPMS"):
        connection.connect()


def test_setpoints_start_where_the_instrument_is(server, tmp_path):
    # A setpoint left at the class default (300 K) would read as an excursion to the
    # temperature suspender, which would then hold the first plan for ever.
    lab = load_devices(_definition(tmp_path, server.port), connect=True)
    temperature = lab["cryostat"].temperature
    assert temperature.setpoint.get() == pytest.approx(temperature.position, abs=1e-9)


def test_one_client_per_server_shared_by_the_devices(qd):
    connections = {id(device.multivu) for device in qd.values()}
    assert len(connections) == 1
    assert qd["cryostat"].multivu.connected
    assert qd["cryostat"].multivu.platform == "PPMS"


# ---------------------------------------------------------------------- movable contract

MOVES = [
    ("cryostat", "field", 0.004),
    ("rotator", "angle", 20.0),
    ("cryostat", "temperature", 299.0),
]


@pytest.mark.parametrize(("device", "component", "target"), MOVES)
def test_moves_finish_and_report_done(fresh, device, component, target):
    axis = getattr(fresh[device], component)
    status = axis.set(target)
    status.wait(60)
    assert status.done and status.success
    assert abs(axis.position - target) <= axis.band(target)
    assert axis.setpoint.get() == target
    assert classify(axis.subsystem, axis.last_status) == DONE


@pytest.mark.parametrize(("device", "component", "target"), MOVES)
def test_move_to_the_current_position_and_within_tolerance_complete(
    fresh, device, component, target
):
    axis = getattr(fresh[device], component)
    axis.set(target).wait(60)
    start = time.monotonic()
    # apstools #725: a move to where the axis already is must still report done.
    for setpoint in (target, target + 0.5 * axis.band(target)):
        status = axis.set(setpoint)
        status.wait(60)
        assert status.done and status.success
    assert time.monotonic() - start < 5


def test_settle_time_is_time_in_band(fresh):
    angle = fresh["rotator"].angle
    angle.settle_time.put(0.5)
    start = time.monotonic()
    angle.set(25.0).wait(20)
    assert time.monotonic() - start >= 0.5


def test_a_move_that_does_not_arrive_ends_in_a_timeout_not_a_hang(fresh):
    field = fresh["cryostat"].field
    field.set(0.0).wait(30)
    field.timeout_margin.put(0.3)  # the scaffolding waits 1 s before it ramps
    start = time.monotonic()
    status = field.set(0.006)
    with pytest.raises(StatusTimeoutError):
        status.wait(10)
    assert time.monotonic() - start < 3
    assert np.isfinite(field.position)
    field.timeout_margin.put(10.0)
    field.set(0.0).wait(30)


def test_targets_and_rates_outside_the_limits_are_refused_before_motion(fresh):
    cryostat, rotator = fresh["cryostat"], fresh["rotator"]
    before = cryostat.field.setpoint.get()
    with pytest.raises(LimitError, match="limits"):
        cryostat.field.set(12.0)  # a 9 T PPMS
    with pytest.raises(LimitError):
        cryostat.field.set(float("nan"))
    with pytest.raises(LimitError, match="limits"):
        rotator.angle.set(400.0)
    assert cryostat.field.setpoint.get() == before
    rate = cryostat.temperature.rate.get()
    cryostat.temperature.rate.put(1.0)  # 60 K/min: more than MultiVu takes
    try:
        with pytest.raises(LimitError, match="0.01–20 K/min"):
            cryostat.temperature.set(298.0)
    finally:
        cryostat.temperature.rate.put(rate)
    cryostat.field.approach.put("sideways")
    try:
        with pytest.raises(ValueError, match="ApproachEnum"):
            cryostat.field.set(0.002)
    finally:
        cryostat.field.approach.put("linear")


def test_data_keys_units_and_kinds_match_the_sims(qd):
    from sloxide.devices.sim import SimWorld, sim_lab

    sims = sim_lab(SimWorld())
    for name, device in qd.items():
        keys = {**device.describe(), **device.describe_configuration()}
        for key, spec in keys.items():
            if spec["dtype"] in ("number", "integer"):
                assert spec.get("units"), key
        sim_keys = sims[name].describe()
        assert set(sim_keys) == set(device.describe()), name
        for key, spec in device.describe().items():
            assert spec.get("units") == sim_keys[key].get("units"), key
    cryostat = qd["cryostat"]
    assert cryostat.temperature.readback.name == "cryostat_temperature"
    assert "cryostat_temperature" in cryostat.temperature.hints["fields"]
    assert cryostat.describe()["cryostat_field"]["units"] == "T"
    assert "hallbar_R_xx_bridge" in qd["hallbar"].describe_configuration()
    assert "cryostat_field_approach" in cryostat.describe_configuration()


def test_the_hall_bar_reads_both_bridges(qd):
    hallbar = qd["hallbar"]
    hallbar.stage()
    try:
        hallbar.trigger().wait(10)
        reading = hallbar.read()
    finally:
        hallbar.unstage()
    assert set(reading) == {"hallbar_R_xx", "hallbar_R_xy"}
    hallbar.R_xy_bridge.put(1)
    try:
        with pytest.raises(ValueError, match="two different"):
            hallbar.trigger()
    finally:
        hallbar.R_xy_bridge.put(2)


# ---------------------------------------------------------------------- plans into the catalog


def test_the_plans_run_into_the_catalog_and_read_back(fresh, tiled_catalog):
    from sloxide.catalog import subscribe
    from sloxide.io import read_run
    from sloxide.plans import amr_rotation, field_loop, rt_sweep

    cryostat, hallbar, rotator = fresh["cryostat"], fresh["hallbar"], fresh["rotator"]
    hallbar.width_um.put(150.0)  # the device definition's bar goes into the run
    RE = RunEngine({})
    subscribe(RE, tiled_catalog)
    t0 = float(round(cryostat.temperature.position))  # where the earlier tests left it
    RE(bps.mv(cryostat.field, 0.0, cryostat.temperature, t0))
    start = time.monotonic()
    (rt,) = RE(rt_sweep(hallbar, cryostat, start=t0, stop=t0 - 1, step=1.0, sample="C10/L6"))
    (loop,) = RE(field_loop(hallbar, cryostat, temperature=t0 - 1, field_max=0.004, step=0.002))
    (amr,) = RE(
        amr_rotation(
            hallbar, cryostat, rotator, temperature=t0 - 1, field=0.004, step=60.0, plane="(001)"
        )
    )
    elapsed = time.monotonic() - start
    ds = read_run(tiled_catalog[rt])
    assert ds.sizes["time"] == 2
    assert ds["cryostat_temperature"].attrs == {"units": "K", "quantity": "temperature"}
    assert ds["hallbar_R_xx"].attrs["units"] == "ohm"
    assert ds.attrs["exit_status"] == "success"
    assert ds.attrs["sloxide"]["hall_bar"]["width_um"] == 150.0
    assert np.allclose(ds["cryostat_temperature"], [t0, t0 - 1], atol=0.75)
    ds = read_run(tiled_catalog[loop])
    assert ds.sizes["time"] == 11
    assert ds["cryostat_field"].attrs["units"] == "T"
    expected = np.array([0, 2, 4, 2, 0, -2, -4, -2, 0, 2, 4]) * 1e-3
    assert np.allclose(ds["cryostat_field"], expected, atol=1.01e-3, rtol=0)
    assert abs(cryostat.field.position) <= 1e-3  # restored
    ds = read_run(tiled_catalog[amr])
    assert ds.sizes["time"] == 6
    assert np.allclose(ds["rotator_angle"], np.arange(0, 360, 60), atol=0.05)
    assert ds["rotator_angle"].attrs["quantity"] == "angle"
    assert ds.attrs["sloxide"]["rotation"]["plane"] == "(001)"
    print(f"QD plans: rt + loop + amr in {elapsed:.1f} s")


# ---------------------------------------------------------------------- a server that dies


def test_killing_the_server_mid_move_fails_the_move_and_closes_the_run(tmp_path, tiled_catalog):
    _need_multipyvu()
    from sloxide.catalog import subscribe
    from sloxide.io import read_run
    from sloxide.plans import field_loop

    served = _serve(tmp_path)
    try:
        lab = load_devices(_definition(tmp_path, served.port), connect=True)
        cryostat, hallbar = lab["cryostat"], lab["hallbar"]
        cryostat.field.rate.put(0.0005)  # 5 Oe/s: each 2 mT step takes 5 s
        RE = RunEngine({})
        subscribe(RE, tiled_catalog)
        uids = []
        RE.subscribe(lambda name, doc: uids.append(doc["uid"]), "start")
        killer = threading.Timer(1.5, served.kill)  # 1.5 s into the second step's ramp

        def kill_after_the_first_event(name, doc):
            if not killer.is_alive() and not killer.finished.is_set():
                killer.start()

        RE.subscribe(kill_after_the_first_event, "event")
        start = time.monotonic()
        with pytest.raises((FailedStatus, MultiVuConnectionError)):
            RE(field_loop(hallbar, cryostat, temperature=300.0, field_max=0.004, step=0.002))
        assert time.monotonic() - start < 30
        run = tiled_catalog[uids[-1]]
        assert run.metadata["start"]["plan_name"] == "field_loop"
        assert run.metadata["stop"]["exit_status"] == "fail"
        ds = read_run(run)
        assert ds.sizes["time"] >= 1
        assert ds.attrs["exit_status"] == "fail"
        # The next connection attempt gives the one clear error.
        with pytest.raises(MultiVuConnectionError, match="no MultiPyVu server answers"):
            cryostat.field.position  # noqa: B018
    finally:
        served.stop()


def test_the_mpms3_has_no_bridges_and_no_rotator(tmp_path):
    _need_multipyvu()
    served = _serve(tmp_path, "MPMS3")
    try:
        path = _definition(tmp_path, served.port, "MPMS3")
        with pytest.raises(DeviceDefinitionError, match="has no BRT resistivity bridges"):
            load_devices(path, connect=True)
        from sloxide.devices.quantum_design import lab

        devices = lab(port=served.port, platform="MPMS3")
        assert sorted(devices) == ["cryostat"]
        assert devices["cryostat"].field.limits == (-7.0, 7.0)
        temperature, text = devices["cryostat"].temperature.query()
        assert text == "Stable" and temperature == pytest.approx(300.0)
    finally:
        served.stop()


# ---------------------------------------------------------------------- the plans/ profile


def test_the_profile_runs_with_the_quantum_design_definition(server, tmp_path):
    pytest.importorskip("IPython")
    MultiVuConnection.shared(port=server.port).close()  # one client per server: hand it over
    path = _definition(tmp_path, server.port)
    startup = Path(ROOT) / "plans" / "00-startup.py"
    cell = "\n".join(
        [
            f"%run -i {startup}",
            "RE(mv(cryostat.temperature, cryostat.temperature.position))",
            "uid, = RE(count([hallbar, cryostat], num=2))",
            "print('RESULT', uid, catalog[uid].metadata['stop']['exit_status'], "
            "type(cryostat).__name__, len(RE.suspenders))",
            "cryostat.multivu.close()",
        ]
    )
    env = {
        **os.environ,
        "SLOXIDE_CATALOG": str(tmp_path / "catalog"),
        "SLOXIDE_DEVICES": str(path),
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "IPython",
            "--quick",
            "--no-banner",
            "--colors=nocolor",
            "-c",
            cell,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    _, uid, status, cls, suspenders = lines[0].split()
    assert (status, cls) == ("success", "QDCryostat")
    assert int(suspenders) == 2  # quench, temperature excursion
