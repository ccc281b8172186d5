"""Reliability: suspenders ride out faults, interruptions close runs, hangs become errors.

Each fault is injected into the simulated lab while a plan runs, with a short sleep
before every reading so the plan is still running when the fault arrives (STACK.md,
"Suspenders"). The checks are on the documents: every point exactly once, in order,
none taken while the fault was on, and the run closed with the right exit status.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.utils import FailedStatus, RunEngineInterrupted

import sloxide.plans as plans
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.plans.magnetotransport import loop_fields
from sloxide.plans.suspenders import install_suspenders
from sloxide.plans.xas import energy_points

STEP_DELAY_S = 0.01  # a sleep before every trigger keeps the plan running long enough
FAULT_S = 0.3  # how long each injected fault lasts


class Documents(list):
    """A RunEngine subscriber that keeps every (name, document) pair."""

    __hash__ = object.__hash__

    def __call__(self, name, doc):
        self.append((name, doc))

    def of(self, name):
        return [d for n, d in self if n == name]


def slowly(plan, delay=STEP_DELAY_S):
    """``plan`` with ``bps.sleep(delay)`` before every trigger."""

    def insert(msg):
        if msg.command == "trigger":
            return bpp.pchain(bps.sleep(delay), bpp.single_gen(msg)), None
        return None, None

    return bpp.plan_mutator(plan, insert)


class FaultAt:
    """Inject ``fault`` into ``world`` after event ``at`` of the first run; clear it later.

    Subscribe it to the RunEngine; ``window`` is the (on, off) time of the fault.
    """

    __hash__ = object.__hash__

    def __init__(self, world, fault, at=5, duration=FAULT_S):
        self.world, self.fault, self.at, self.duration = world, fault, at, duration
        self.window: tuple[float, float] | None = None
        self._thread: threading.Thread | None = None

    def __call__(self, name, doc):
        if name == "event" and doc["seq_num"] == self.at and self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self):
        on = time.time()
        self.world.inject(self.fault)
        time.sleep(self.duration)
        off = time.time()
        self.world.clear()
        self.window = (on, off)

    def join(self):
        assert self._thread is not None, "the fault was never injected"
        self._thread.join(5)
        assert self.window is not None


@pytest.fixture
def world():
    return SimWorld(sample="C2/L2", mode="instant", seed=0)


@pytest.fixture
def lab(world):
    return sim_lab(world)


@pytest.fixture
def RE(lab):
    RE = RunEngine({})
    install_suspenders(RE, lab)
    return RE


def _assert_paused_through(events, window, fault):
    """No event was taken while the fault was on (a little slack for the step in flight)."""
    on, off = window
    inside = [e["seq_num"] for e in events if on + 0.05 < e["time"] < off]
    assert not inside, f"events {inside} were taken during the {fault}"


# --------------------------------------------------------------------------- suspenders


@pytest.mark.parametrize("fault", ["beam_dump", "shutter_closed"])
def test_a_beam_fault_pauses_an_xld_scan_which_resumes_with_every_point_once(
    world, lab, RE, fault
):
    regions = (866.0, 0.5, 876.0)
    expected = energy_points(regions)
    docs, injector = Documents(), FaultAt(world, fault, at=5)
    RE.subscribe(docs)
    RE.subscribe(injector)
    uids = RE(slowly(plans.xld_scan(lab["beamline"], regions=regions)))
    injector.join()
    assert len(uids) == 2
    assert [s["exit_status"] for s in docs.of("stop")] == ["success", "success"]
    events = docs.of("event")
    first = [e for e in events if e["descriptor"] == docs.of("descriptor")[0]["uid"]]
    energies = [e["data"]["beamline_energy"] for e in first]
    # Every point once, in order: the readbacks match the setpoints within 5σ of their noise.
    np.testing.assert_allclose(energies, expected, atol=5e-3)
    assert [e["seq_num"] for e in first] == list(range(1, len(expected) + 1))
    assert all(e["data"]["beamline_i0"] > 0.5 for e in events)  # never measured without beam
    _assert_paused_through(events, injector.window, fault)
    assert lab["beamline"].shutter.get() == 1  # restored to what the scan found


def test_a_quench_pauses_a_field_loop_which_resumes_and_redoes_the_step(world, lab, RE):
    expected = loop_fields(1.0, 0.1)
    docs, injector = Documents(), FaultAt(world, "quench", at=8)
    RE.subscribe(docs)
    RE.subscribe(injector)
    RE(slowly(plans.field_loop(lab["hallbar"], lab["cryostat"], field_max=1.0, step=0.1)))
    injector.join()
    events = docs.of("event")
    np.testing.assert_allclose([e["data"]["cryostat_field"] for e in events], expected, atol=5e-5)
    assert [e["seq_num"] for e in events] == list(range(1, len(expected) + 1))
    assert docs.of("stop")[0]["exit_status"] == "success"
    _assert_paused_through(events, injector.window, "quench")


def test_a_temperature_excursion_pauses_an_rt_sweep(world, lab, RE):
    docs, injector = Documents(), FaultAt(world, "temperature_excursion", at=4)
    RE.subscribe(docs)
    RE.subscribe(injector)
    RE(slowly(plans.rt_sweep(lab["hallbar"], lab["cryostat"], start=300, stop=260, step=2)))
    injector.join()
    events = docs.of("event")
    temperatures = [e["data"]["cryostat_temperature"] for e in events]
    # No reading carries the +5 K excursion: each is within 5σ of its setpoint.
    np.testing.assert_allclose(temperatures, np.arange(300, 259, -2.0), atol=5e-3)
    _assert_paused_through(events, injector.window, "temperature excursion")


def test_a_temperature_move_does_not_trip_the_excursion_suspender():
    """During a ramp the readback lags the setpoint by design: that is no excursion."""
    from sloxide.plans.suspenders import EXCURSION_LIMIT_K, SuspendExcursion

    world = SimWorld(sample="C2/L2", mode="realistic", seed=0)
    temperature = sim_lab(world)["cryostat"].temperature
    suspender = SuspendExcursion(temperature, EXCURSION_LIMIT_K)
    status = temperature.set(297.0)  # 3 K at 2 K/s
    lag = abs(temperature.position - 297.0)
    assert lag > EXCURSION_LIMIT_K and not temperature.idle
    assert not suspender._should_suspend(temperature.position)
    status.wait(10)
    assert temperature.idle and not suspender._should_suspend(temperature.position)
    world.inject("temperature_excursion")  # now, at rest, the same lag is an excursion
    assert suspender._should_suspend(temperature.position)


# --------------------------------------------------------------------------- interruptions


class PauseAt:
    """Call ``action(RE)`` from another thread after event ``at``."""

    __hash__ = object.__hash__

    def __init__(self, RE, action, at=5):
        self.RE, self.action, self.at, self.done = RE, action, at, False

    def __call__(self, name, doc):
        if name == "event" and doc["seq_num"] == self.at and not self.done:
            self.done = True
            threading.Thread(target=self.action, args=(self.RE,), daemon=True).start()


def _loop(lab):
    return slowly(plans.field_loop(lab["hallbar"], lab["cryostat"], field_max=1.0, step=0.1))


def _interrupt(RE, lab, action):
    docs = Documents()
    RE.subscribe(docs)
    RE.subscribe(PauseAt(RE, action))
    with pytest.raises(RunEngineInterrupted):
        RE(_loop(lab))
    assert RE.state == "paused"
    return docs


def test_pause_then_resume_completes_the_run_with_every_point_once(lab, RE):
    docs = _interrupt(RE, lab, lambda RE: RE.request_pause(defer=False))
    RE.resume()
    events = docs.of("event")
    np.testing.assert_allclose(
        [e["data"]["cryostat_field"] for e in events], loop_fields(1.0, 0.1), atol=5e-5
    )
    assert docs.of("stop")[0]["exit_status"] == "success"


@pytest.mark.parametrize(("end", "status"), [("abort", "abort"), ("stop", "success")])
def test_pause_then_abort_or_stop_closes_the_run_and_makes_the_lab_safe(
    lab, RE, tiled_catalog, end, status
):
    from sloxide.catalog import subscribe
    from sloxide.io import read_run

    subscribe(RE, tiled_catalog)
    lab["cryostat"].field.set(0.3).wait(2)
    docs = _interrupt(RE, lab, lambda RE: RE.request_pause(defer=False))
    getattr(RE, end)()
    assert RE.state == "idle"
    (stop,) = docs.of("stop")
    assert stop["exit_status"] == status
    taken = len(docs.of("event"))
    assert 5 <= taken < len(loop_fields(1.0, 0.1))
    ds = read_run(tiled_catalog[stop["run_start"]])
    assert ds.sizes["time"] == taken and ds.attrs["exit_status"] == status
    # Safe state: the field is back where the plan found it.
    assert abs(lab["cryostat"].field.position - 0.3) < 1e-3
    RE(plans.field_loop(lab["hallbar"], lab["cryostat"], field_max=0.2, step=0.1))  # usable


def test_ctrl_c_pauses_and_abort_closes_the_run(lab, RE):
    def ctrl_c(RE):
        os.kill(os.getpid(), signal.SIGINT)  # the RunEngine's handler: pause at a checkpoint

    docs = _interrupt(RE, lab, ctrl_c)
    RE.abort("operator pressed Ctrl-C")
    (stop,) = docs.of("stop")
    assert stop["exit_status"] == "abort"
    assert abs(lab["cryostat"].field.position) < 1e-3


# --------------------------------------------------------------------------- hangs


def test_a_detector_that_stops_answering_fails_the_plan_in_the_configured_time(world, lab):
    RE = RunEngine({})
    lab["hallbar"].trigger_timeout.put(0.5)
    docs = Documents()
    RE.subscribe(docs)
    world.inject("detector_timeout")
    start = time.monotonic()
    with pytest.raises(FailedStatus):
        RE(plans.field_loop(lab["hallbar"], lab["cryostat"], field_max=0.2, step=0.1))
    # The timeout (0.5 s) plus the restore; the slack is for a busy machine, a hang never ends.
    assert time.monotonic() - start < 0.5 + 10.0
    assert docs.of("stop")[0]["exit_status"] == "fail"
    world.clear()
    (uid,) = RE(plans.field_loop(lab["hallbar"], lab["cryostat"], field_max=0.2, step=0.1))
    assert docs.of("stop")[-1]["exit_status"] == "success"


def test_a_frozen_readback_fails_the_move_in_the_configured_time(world, lab):
    RE = RunEngine({})
    field = lab["cryostat"].field
    field.timeout_margin.put(0.5)
    world.inject("stuck_readback")
    field.position  # noqa: B018  (the readback freezes at this value)
    start = time.monotonic()
    with pytest.raises(FailedStatus):
        RE(bps.mv(field, 1.0))
    assert time.monotonic() - start < 0.5 + 10.0  # the margin, not a hang (slack: busy CI)
    world.clear()
    RE(bps.mv(field, 0.0))
    assert abs(field.position) < 1e-3
