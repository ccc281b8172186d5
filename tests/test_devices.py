"""The devices: the movable contract, physics through the devices, memory, units and faults.

Every test that takes the ``lab`` fixture runs twice: on the in-process sim devices
(``[sim]``) and on the ``Epics…`` devices over Channel Access to a real caproto IOC
subprocess serving the same world (``[epics]``, see tests/test_ioc.py). Faults and
sample changes go through the lab's ``inject``/``clear``/``set_sample``, i.e.
``SimWorld`` calls or puts to the IOC's ``SIM:`` PVs. Tests on ``simlab`` are sim-only,
each saying why.
"""

from __future__ import annotations

import time

import bluesky.plan_stubs as bps
import bluesky.plans as bp
import numpy as np
import pytest
import xarray as xr
from bluesky import RunEngine
from bluesky.utils import FailedStatus
from ophyd.sim import make_fake_device
from ophyd.utils import StatusTimeoutError
from test_ioc import EpicsLab, SimLab, ioc  # noqa: F401  (ioc: the session's IOC fixture)

import sloxide  # noqa: F401
from sloxide.devices.beamline import EpicsBeamline
from sloxide.devices.cryostat import EpicsCryostat
from sloxide.devices.hallbar import EpicsHallBar
from sloxide.devices.positioner import LimitError
from sloxide.devices.rotator import EpicsRotator
from sloxide.devices.sim import AXES, FAULTS, SimWorld, sim_lab
from sloxide.model.samples import HALL_BAR, SAMPLES

MOVABLES = [
    ("cryostat", "temperature", 10.0),
    ("cryostat", "field", 1.5),
    ("rotator", "angle", 45.0),
    ("beamline", "energy", 871.5),
    ("beamline", "incidence_angle", 30.0),
]


# Over Channel Access a point costs a dozen round trips (10–20 ms), so the EPICS runs use
# coarser steps where the checkpoint bands allow; the bands stay the same. Over 8 sim
# seeds: a 0.15 T loop gives Hc = 0.971 ± 0.0045 T (band ±0.02 T) and Δρ_AHE, MR within
# 1 % of theirs; 10° rotations give |c2| > 17 standard errors in every AMR case; a 0.2 eV
# Ni L2 pair gives Σ XLD(866–878 eV) = −2.3 … −3.4, never near 0; FC M(T) in 2 K steps
# gives T_c = 75.7 ± 0.14 K (band ±1.5 K).
LOOP_STEP_T = {"sim": 0.02, "epics": 0.15}
AMR_STEP_DEG = {"sim": 5.0, "epics": 10.0}
XAS_STEP_EV = {"sim": 0.1, "epics": 0.2}
FC_STEP_K = {"sim": 1.0, "epics": 2.0}


@pytest.fixture(params=["sim", "epics"])
def lab(request):
    """A fresh instant-mode C10/L6 lab with noise seed 0, in process or over Channel Access."""
    if request.param == "sim":
        yield SimLab(seed=0)
        return
    served = request.getfixturevalue("ioc")
    epics = EpicsLab(served.prefix, seed=0)
    yield epics
    epics.close()


@pytest.fixture
def simlab():
    return SimLab(seed=0)


@pytest.fixture
def RE():
    return RunEngine({})


def _axis(lab, device, component):
    return getattr(lab[device], component)


class Documents(list):
    """A RunEngine subscriber that keeps every (name, document) pair."""

    __hash__ = object.__hash__

    def __call__(self, name, doc):
        self.append((name, doc))


def _run_to_dataset(docs):
    """Events of a run as a Dataset along ``time`` with the descriptor units (a tiny reader)."""
    descriptor = next(d for n, d in docs if n == "descriptor")
    events = [d for n, d in docs if n == "event"]
    data = {
        key: (
            "time",
            np.array([e["data"][key] for e in events], dtype=float),
            {"units": spec["units"]},
        )
        for key, spec in descriptor["data_keys"].items()
        if spec["dtype"] == "number"
    }
    return xr.Dataset(data)


# ---------------------------------------------------------------------- the movable contract


@pytest.mark.parametrize(("device", "component", "target"), MOVABLES)
def test_moves_finish_and_report_done(lab, device, component, target):
    axis = _axis(lab, device, component)
    status = axis.set(target)
    status.wait(5)
    assert status.done and status.success
    assert abs(axis.position - target) <= axis.band(target)
    assert axis.setpoint.get() == target


@pytest.mark.parametrize(("device", "component", "target"), MOVABLES)
def test_move_to_the_current_position_and_within_tolerance_complete(
    lab, device, component, target
):
    axis = _axis(lab, device, component)
    # apstools #725: a move to where the axis already is must still report done.
    for setpoint in (target, target, target + 0.5 * axis.band(target)):
        status = axis.set(setpoint)
        status.wait(5)  # raises on a timeout or a failed move
        assert status.done and status.success
        assert abs(axis.position - setpoint) <= axis.band(setpoint)


@pytest.mark.parametrize(("device", "component", "target"), MOVABLES)
def test_settle_time_is_time_in_band(lab, device, component, target):
    axis = _axis(lab, device, component)
    axis.settle_time.put(0.3)
    start = time.monotonic()
    axis.set(target).wait(5)
    assert time.monotonic() - start >= 0.3


@pytest.mark.parametrize(("device", "component", "target"), MOVABLES)
def test_a_stuck_readback_ends_in_a_timeout_not_a_hang(lab, device, component, target):
    axis = _axis(lab, device, component)
    axis.timeout_margin.put(0.4)
    axis.position  # noqa: B018  (a reading to freeze)
    lab.inject("stuck_readback")
    start = time.monotonic()
    status = axis.set(target)
    with pytest.raises(StatusTimeoutError):
        status.wait(5)
    assert time.monotonic() - start < 3
    assert np.isfinite(axis.position)  # still reads, at its last value


def test_a_stuck_readback_is_a_failed_status_in_the_run_engine(lab, RE):
    field = lab["cryostat"].field
    field.timeout_margin.put(0.3)
    field.position  # noqa: B018
    lab.inject("stuck_readback")
    with pytest.raises(FailedStatus):
        RE(bps.mv(field, 2.0))
    lab.clear()
    RE(bps.mv(field, 1.0))  # the RunEngine is usable afterwards
    assert abs(field.position - 1.0) < 0.01


# Sim-only: realistic-mode timing of the in-process world (the session's IOC is instant).
def test_stop_holds_the_current_value():
    world = SimWorld(sample="C10/L6", mode="realistic", seed=1)
    field = sim_lab(world)["cryostat"].field
    status = field.set(2.0)  # 100 s at 0.02 T/s
    time.sleep(0.3)
    field.stop()
    with pytest.raises(RuntimeError):
        status.wait(1)
    held = field.position
    assert 0 < held < 0.05
    assert field.setpoint.get() == pytest.approx(held, abs=1e-3)
    time.sleep(0.2)
    assert field.position == pytest.approx(held, abs=1e-3)


# Sim-only, as above.
def test_realistic_moves_take_time_at_the_rate():
    world = SimWorld(sample="C10/L6", mode="realistic", seed=2)
    angle = sim_lab(world)["rotator"].angle
    start = time.monotonic()
    angle.set(91.0).wait(5)  # 1° at 5°/s
    assert time.monotonic() - start >= 0.15
    assert angle.move_timeout(100.0) == pytest.approx(
        abs(100.0 - angle.position) / 5.0 + 5.0, rel=0.01
    )


# Sim-only: the sim axis knows its readback noise and refuses the band; an EPICS axis
# cannot know the noise of the hardware behind the PV.
@pytest.mark.parametrize(("device", "component", "target"), MOVABLES)
def test_tolerance_tighter_than_the_noise_is_refused(simlab, device, component, target):
    axis = _axis(simlab, device, component)
    axis.tolerance.put(AXES[component][2])  # 1σ
    axis.relative_tolerance.put(0.0)
    before = axis.setpoint.get()
    with pytest.raises(ValueError, match="tighter than 3σ"):
        axis.set(target)
    assert axis.setpoint.get() == before  # nothing moved


def test_targets_outside_the_limits_are_refused_before_motion(lab):
    field = lab["cryostat"].field
    with pytest.raises(LimitError, match="limits"):
        field.set(12.0)
    with pytest.raises(LimitError):
        field.set(float("nan"))
    assert field.setpoint.get() == 0.0


def test_named_incidence_positions(lab):
    angle = lab["beamline"].incidence_angle
    angle.set("I_c").wait(5)
    assert angle.position == pytest.approx(30.0, abs=0.05)
    angle.set("I_ab").wait(5)
    assert angle.position == pytest.approx(90.0, abs=0.05)
    with pytest.raises(LimitError, match="known"):
        angle.set("I_x")


def test_temperature_band_follows_the_design_rule(lab):
    temperature = lab["cryostat"].temperature
    assert temperature.band(2.0) == pytest.approx(0.05)
    assert temperature.band(300.0) == pytest.approx(0.75)


# ---------------------------------------------------------------------- physics via devices


def test_resistivity_at_300_k(lab, RE):
    docs = []
    RE(bps.mv(lab["cryostat"].temperature, 300.0))
    RE(bp.count([lab["hallbar"]], num=5), lambda n, d: docs.append((n, d)))
    ds = _run_to_dataset(docs)
    rho = ds.sloxide.resistivity(
        R_xx="hallbar_R_xx",
        width=HALL_BAR.width_um,
        length=HALL_BAR.length_um,
        thickness=SAMPLES["C10/L6"].thickness_nm,
    )
    assert float(rho.rho_xx.mean()) == pytest.approx(0.60, rel=0.005)  # C10/L6 [P]


def _field_loop(lab, RE, temperature, field_max=9.0, step=0.02):
    RE(bps.mv(lab["cryostat"].temperature, temperature))
    k = int(round(field_max / step))
    fields = list(np.r_[0 : k + 1, k - 1 : -k - 1 : -1, -k + 1 : k + 1] * step)
    docs = []
    RE(
        bp.list_scan([lab["hallbar"]], lab["cryostat"].field, fields),
        lambda n, d: docs.append((n, d)),
    )
    ds = _run_to_dataset(docs)
    ds["hallbar_R_xx"].attrs["quantity"] = "R_xx"
    ds["hallbar_R_xy"].attrs["quantity"] = "R_xy"
    ds["cryostat_field"].attrs["quantity"] = "field"
    sample = SAMPLES[lab.sample]
    ds.attrs["sloxide"] = {
        "hall_bar": {"width_um": 200.0, "length_um": 1200.0},
        "sample": {"thickness_nm": sample.thickness_nm},
    }
    return ds


def test_field_loop_at_2_k_reproduces_the_c10_l6_checkpoints(lab, RE):
    step = LOOP_STEP_T[lab.kind]
    ds = _field_loop(lab, RE, 2.0, step=step)
    # 0 → +9 → −9 → +9 T: 2251 points in the paper's 0.02 T steps, 301 in 0.15 T steps
    assert ds.sizes["time"] == 5 * round(9.0 / step) + 1
    ahe = ds.sloxide.ahe(step=step)
    mr = ds.sloxide.mr(step=step)
    assert ahe.delta_rho_ahe.item() == pytest.approx(0.03, rel=0.05)  # [P]
    assert ahe.coercive_field.item() == pytest.approx(0.97, abs=0.02)  # [P]
    assert ahe.carrier_type.item() == "holes"  # [P]
    assert mr.mr_max_field.item() == pytest.approx(-0.65, abs=0.03)  # [P]


def test_hysteresis_memory(lab, RE):
    cryostat, hallbar = lab["cryostat"], lab["hallbar"]
    RE(bps.mv(cryostat.temperature, 2.0))
    readings = {}
    for start in (9.0, -9.0):
        RE(bps.mv(cryostat.field, start))
        RE(bps.mv(cryostat.field, 0.0))
        hallbar.trigger().wait(1)
        readings[start] = hallbar.R_xy.get()
    # Remanence: ±0.9·Δρ/t = ±4.4 mΩ apart by far more than the 5e-4 µΩ·cm noise.
    assert readings[9.0] - readings[-9.0] > 5e-3


def test_set_sample_keeps_the_axes_and_starts_unmagnetized(lab, RE):
    cryostat = lab["cryostat"]
    RE(bps.mv(cryostat.temperature, 2.0, cryostat.field, 9.0))
    lab.set_sample("C10/L2")
    assert lab.sample == "C10/L2"
    assert cryostat.temperature.position == pytest.approx(2.0, abs=0.05)
    assert cryostat.field.position == pytest.approx(9.0, abs=1e-3)
    if lab.kind == "sim":  # the hysteresis memory is inside the world, which only a sim exposes
        assert lab.world.memory.state == 0
    with pytest.raises(ValueError, match="unknown sample"):
        lab.set_sample("C3/L3")


def _amr_c2(lab, RE, sample, plane, temperature):
    lab.set_sample(sample)
    RE(bps.mv(lab["rotator"].plane, plane))
    RE(bps.mv(lab["cryostat"].temperature, temperature, lab["cryostat"].field, 9.0))
    docs = []
    angles = list(np.arange(0.0, 360.0, AMR_STEP_DEG[lab.kind]))
    RE(
        bp.list_scan([lab["hallbar"]], lab["rotator"].angle, angles),
        lambda n, d: docs.append((n, d)),
    )
    ds = _run_to_dataset(docs)
    out = ds.sloxide.amr_harmonics(signal="hallbar_R_xx", angle="rotator_angle")
    return out.c.sel(harmonic=2).item()


def test_amr_signs_per_plane(lab, RE):
    # (001): valleys at 0°/180° for every sample [P]; C10/L2 (010): cos 2φ > 0 at 5 K and
    # < 0 at 20 K [P].
    assert _amr_c2(lab, RE, "C10/L2", "(001)", 5.0) < 0
    assert _amr_c2(lab, RE, "C2/L6", "(001)", 5.0) < 0
    assert _amr_c2(lab, RE, "C10/L2", "(010)", 5.0) > 0
    assert _amr_c2(lab, RE, "C10/L2", "(010)", 20.0) < 0


def test_ni_l2_xld_sign(lab, RE):
    beamline = lab["beamline"]
    lab.set_sample("C2/L2")
    energies = list(np.round(np.arange(862.0, 885.0, XAS_STEP_EV[lab.kind]), 6))
    spectra = []
    for angle in ("I_ab", "I_c"):
        RE(bps.mv(beamline.incidence_angle, angle))
        docs = Documents()
        RE(bp.list_scan([beamline], beamline.energy, energies), docs)
        ds = _run_to_dataset(docs)
        spectra.append((ds.beamline_tey / ds.beamline_i0).values)
    pair = xr.Dataset(
        {"mu": (("incidence_angle", "energy"), np.stack(spectra), {"units": "1"})},
        coords={
            "incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"}),
            "energy": ("energy", energies, {"units": "eV"}),
        },
    )
    norm = pair.sloxide.normalize_xas(870.0, -8, -3, 9, 15, mu="mu").norm
    xld = xr.Dataset({"norm": norm}).sloxide.xld().xld
    assert float(xld.sel(energy=slice(866, 878)).sum()) < 0  # x²−y² preferred [P]


# ---------------------------------------------------------------------- data keys and hints


def test_every_data_key_has_units(lab):
    for device in lab.values():
        for key, spec in {**device.describe(), **device.describe_configuration()}.items():
            if spec["dtype"] in ("number", "integer"):
                assert spec.get("units"), key


def test_kinds_follow_the_style(lab):
    cryostat = lab["cryostat"]
    assert cryostat.temperature.readback.name == "cryostat_temperature"
    assert "cryostat_temperature" in cryostat.temperature.hints["fields"]
    assert "cryostat_temperature_setpoint" in cryostat.temperature.describe()
    assert "cryostat_temperature_tolerance" in cryostat.temperature.describe_configuration()
    assert "hallbar_current" in lab["hallbar"].describe_configuration()
    assert "rotator_plane" in lab["rotator"].describe_configuration()


# Sim-only: a scale check of the in-process sim; over Channel Access the cost per point is
# what benchmarks/epics.py measures.
def test_field_loop_at_scale_completes(simlab, RE):
    lab = simlab
    # 1,801 instant-mode points, 0 → +9 → −9 → 0 T, in one run (throughput is measured
    # in benchmarks/).
    docs = []
    fields = list(np.r_[0:451, 449:-451:-1, -449:1] * 0.02)
    RE(
        bp.list_scan([lab["hallbar"]], lab["cryostat"].field, fields),
        lambda n, d: docs.append((n, d)),
    )
    assert sum(n == "event" for n, _ in docs) == 1801


# ---------------------------------------------------------------------- faults


def test_each_fault_is_visible_on_a_signal(lab, RE):
    beamline, cryostat = lab["beamline"], lab["cryostat"]
    RE(bps.mv(cryostat.field, 3.0, cryostat.temperature, 10.0))
    assert beamline.ring_current.get() > 0 and beamline.shutter.get() == 1
    lab.inject("beam_dump")
    assert beamline.ring_current.get() == 0
    lab.inject("shutter_closed")
    assert beamline.shutter.get() == 0
    lab.inject("quench")
    assert cryostat.quench.get() == 1
    assert cryostat.field.position == pytest.approx(0.0, abs=1e-3)
    lab.inject("temperature_excursion")
    assert cryostat.temperature.position == pytest.approx(15.0, abs=0.05)
    lab.clear()
    assert beamline.ring_current.get() > 0 and beamline.shutter.get() == 1
    assert cryostat.quench.get() == 0
    with pytest.raises(ValueError, match="unknown fault"):
        lab.inject("meteor")
    assert set(FAULTS) >= {"beam_dump", "shutter_closed", "quench", "temperature_excursion"}


def test_shutter_can_be_closed_and_opened(lab):
    beamline = lab["beamline"]
    beamline.shutter.put(0)
    assert beamline.shutter.get() == 0
    beamline.trigger().wait(1)
    assert abs(beamline.i0.get()) < 0.01
    beamline.shutter.put(1)
    assert beamline.shutter.get() == 1


def test_detector_timeout_fails_the_trigger(lab, RE):
    hallbar = lab["hallbar"]
    hallbar.trigger_timeout.put(0.3)
    lab.inject("detector_timeout")
    with pytest.raises(FailedStatus):
        RE(bp.count([hallbar]))
    lab.clear()
    RE(bp.count([hallbar]))


# ---------------------------------------------------------------------- EPICS variants


@pytest.mark.parametrize(
    ("cls", "signals"),
    [
        (
            EpicsCryostat,
            {"temperature.setpoint": "LS336:OUT1:SP", "field.readback": "AMI430:Field"},
        ),
        (EpicsHallBar, {"R_xx": "Delta:Rxx", "current": "K6221:Current"}),
        (EpicsRotator, {"angle.setpoint": "m1.VAL", "angle.readback": "m1.RBV"}),
        (EpicsBeamline, {"energy.readback": "MONO:Energy_RBV", "ring_current": "RING:Current"}),
    ],
)
def test_epics_variants_share_the_component_names(cls, signals):
    fake = make_fake_device(cls)(prefix="LAB:", name="dev")  # builds without a network
    base = cls.__mro__[1]
    assert set(base.component_names) <= set(cls.component_names)
    assert set(fake.describe()) == set(make_fake_device(cls)(name="dev").describe())
    for dotted, suffix in signals.items():
        owner, pv = cls, ""
        for part in dotted.split("."):
            component = getattr(owner, part)
            pv += component.suffix
            owner = component.cls
        assert pv.endswith(suffix), (dotted, pv)


def test_the_cryostat_temperature_changes_what_the_instruments_read(lab, RE):
    cryostat, hallbar = lab["cryostat"], lab["hallbar"]
    readings = {}
    for temperature in (300.0, 5.0):
        RE(bps.mv(cryostat.temperature, temperature, cryostat.field, 0.2))
        hallbar.trigger().wait(1)
        cryostat.trigger().wait(1)
        readings[temperature] = (hallbar.R_xx.get(), cryostat.moment.get())
    # ρ(300 K)/ρ(5 K) = 0.60/0.39 for C10/L6, and the film is ferromagnetic at 5 K only.
    assert readings[300.0][0] / readings[5.0][0] == pytest.approx(1.54, rel=0.02)
    assert readings[5.0][1] > readings[300.0][1] + 1e-5


def test_field_cooled_magnetization_gives_the_curie_temperature(lab, RE):
    # FC M(T) at 0.2 T through the magnetometer, background subtracted, tangent T_c.
    cryostat = lab["cryostat"]
    RE(bps.mv(cryostat.temperature, 150.0, cryostat.field, 0.2))
    docs = Documents()
    temperatures = list(np.arange(150.0, 1.0, -FC_STEP_K[lab.kind]))
    RE(bp.list_scan([cryostat], cryostat.temperature, temperatures), docs)
    ds = _run_to_dataset(docs)
    ds["cryostat_moment"].attrs["quantity"] = "moment"
    ds["cryostat_temperature"].attrs["quantity"] = "temperature"
    tc = ds.sloxide.curie_temperature()  # the defaults, on the raw film-on-substrate run
    assert tc.Tc.item() == pytest.approx(75.6, abs=1.5)  # PHYSICS.md §7: tangent T_c 75.6 K
