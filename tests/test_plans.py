"""Plans: start-document context, validation before motion, restored state, XLD pairs."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
from bluesky import RunEngine
from bluesky.utils import FailedStatus

import sloxide.plans as plans
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.errors import SloxideError
from sloxide.plans.xas import energy_points


class Documents(list):
    """A RunEngine subscriber that keeps every (name, document) pair."""

    __hash__ = object.__hash__

    def __call__(self, name, doc):
        self.append((name, doc))

    def of(self, name):
        return [d for n, d in self if n == name]


@pytest.fixture
def lab():
    return sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))


@pytest.fixture
def RE():
    return RunEngine({})


def test_field_loop_writes_the_context(lab, RE):
    docs = Documents()
    RE(
        plans.field_loop(
            lab["hallbar"], lab["cryostat"], field_max=1.0, step=0.25, sample="C10/L6",
            md={"operator": "tester", "sloxide_note": 1},
        ),
        docs,
    )  # fmt: skip
    (start,) = docs.of("start")
    ctx = start["sloxide"]
    assert start["plan_name"] == "field_loop"
    assert start["operator"] == "tester"
    assert ctx["measurement"] == "field_loop"
    assert ctx["sample"]["thickness_nm"] == 61.54
    assert ctx["hall_bar"]["width_um"] == 200.0 and ctx["hall_bar"]["current_uA"] == 100.0
    assert ctx["setpoints"] == {"temperature_K": 2.0, "field_max_T": 1.0, "field_step_T": 0.25}
    assert ctx["quantities"]["cryostat_field"] == "field"
    assert ctx["quantities"]["hallbar_R_xy"] == "R_xy"
    fields = [e["data"]["cryostat_field"] for e in docs.of("event")]
    assert len(fields) == 5 + 8 + 8  # 0 → 1 → −1 → 1 T in 0.25 T steps
    (descriptor,) = docs.of("descriptor")
    assert all(spec.get("units") for spec in descriptor["data_keys"].values())
    assert docs.of("stop")[0]["exit_status"] == "success"


@pytest.mark.parametrize(
    ("plan", "kwargs", "match"),
    [
        (plans.field_loop, {"temperature": 500.0}, "temperature"),
        (plans.field_loop, {"field_max": 12.0}, "field_max"),
        (plans.field_loop, {"step": -0.1}, "step"),
        (plans.field_loop, {"field_max": 1.0, "step": 0.3}, "multiple"),
        (plans.rt_sweep, {"step": 0.0}, "step"),
        (plans.rt_sweep, {"field": "high"}, "field"),
        (plans.field_loop, {"temperature": "2 T"}, "temperature"),
        (plans.field_loop, {"field_max": "9 K"}, "field_max"),
        (plans.field_loop, {"step": float("nan")}, "step"),
    ],
)
def test_bad_transport_arguments_raise_before_anything_moves(lab, RE, plan, kwargs, match):
    docs = Documents()
    cryostat = lab["cryostat"]
    before = (cryostat.field.setpoint.get(), cryostat.temperature.setpoint.get())
    with pytest.raises(SloxideError, match=match):
        RE(plan(lab["hallbar"], cryostat, **kwargs), docs)
    assert not docs.of("start")
    assert (cryostat.field.setpoint.get(), cryostat.temperature.setpoint.get()) == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"plane": "(100)"}, "plane"), ({"step": 7.0}, "divide"), ({"field": 10.0}, "field")],
)
def test_bad_rotation_arguments_raise_before_anything_moves(lab, RE, kwargs, match):
    rotator = lab["rotator"]
    before = (rotator.angle.setpoint.get(), rotator.plane.get())
    with pytest.raises(SloxideError, match=match):
        RE(plans.amr_rotation(lab["hallbar"], lab["cryostat"], rotator, **kwargs))
    assert (rotator.angle.setpoint.get(), rotator.plane.get()) == before


def test_arguments_with_units_are_converted(lab, RE):
    from sloxide import ureg

    docs = Documents()
    RE(
        plans.field_loop(
            lab["hallbar"], lab["cryostat"], temperature=ureg.Quantity(-271.15, "degC"),
            field_max="10 kOe", step="2500 Oe",
        ),
        docs,
    )  # fmt: skip
    setpoints = docs.of("start")[0]["sloxide"]["setpoints"]
    assert setpoints["temperature_K"] == pytest.approx(2.0)
    assert setpoints["field_max_T"] == pytest.approx(1.0)
    assert setpoints["field_step_T"] == pytest.approx(0.25)


def test_fc_magnetization_must_cool(lab, RE):
    with pytest.raises(SloxideError, match="cools"):
        RE(plans.fc_magnetization(lab["cryostat"], start=2.0, stop=150.0))


def test_state_is_restored_after_a_failure_and_the_run_is_closed(lab, RE):
    cryostat, hallbar = lab["cryostat"], lab["hallbar"]
    world = hallbar.world
    hallbar.trigger_timeout.put(0.3)
    docs = Documents()

    def fail_midway(name, doc):
        if name == "event" and doc["seq_num"] == 3:
            world.inject("detector_timeout")

    RE.subscribe(fail_midway)
    with pytest.raises(FailedStatus):
        RE(plans.field_loop(hallbar, cryostat, field_max=1.0, step=0.25), docs)
    world.clear()
    assert docs.of("stop")[0]["exit_status"] == "fail"
    assert len(docs.of("event")) == 3  # what was taken is kept
    assert cryostat.field.position == pytest.approx(0.0, abs=2e-3)


def test_amr_rotation_restores_angle_plane_and_field(lab, RE):
    rotator, cryostat = lab["rotator"], lab["cryostat"]
    docs = Documents()
    RE(plans.amr_rotation(lab["hallbar"], cryostat, rotator, step=30.0, plane="(001)"), docs)
    (start,) = docs.of("start")
    assert start["sloxide"]["rotation"] == {"plane": "(001)", "angle_name": "theta"}
    assert rotator.plane.get() == "(010)"
    assert rotator.angle.position == pytest.approx(90.0, abs=0.05)
    assert cryostat.field.position == pytest.approx(0.0, abs=2e-3)
    angles = [e["data"]["rotator_angle"] for e in docs.of("event")]
    assert len(angles) == 12 and max(angles) < 360.0


def test_xld_pair_shares_a_group_uid(lab, RE):
    docs = Documents()
    uids = RE(plans.xld_scan(lab["beamline"], regions=(868.0, 0.5, 872.0), sample="C2/L2"), docs)
    assert len(uids) == 2
    starts = docs.of("start")
    groups = {s["sloxide"]["xas"]["group_uid"] for s in starts}
    assert len(groups) == 1 and None not in groups
    assert [s["sloxide"]["xas"]["channel"] for s in starts] == ["I_ab", "I_c"]
    assert [s["sloxide"]["xas"]["incidence_angle_deg"] for s in starts] == [90.0, 30.0]
    assert lab["beamline"].incidence_angle.position == pytest.approx(90.0, abs=0.05)


def test_xld_pair_validates_both_angles_before_motion(lab, RE):
    docs = Documents()
    with pytest.raises(SloxideError, match="incidence_angle"):
        RE(plans.xld_scan(lab["beamline"], angles=(90.0, 120.0)), docs)
    assert not docs.of("start")
    with pytest.raises(SloxideError, match="two different"):
        RE(plans.xld_scan(lab["beamline"], angles=(30.0, 30.0)))


def test_energy_regions_schema():
    assert energy_points((860.0, 0.5, 861.0)) == [860.0, 860.5, 861.0]
    points = energy_points((862.0, 0.2, 868.0, 0.05, 876.0, 0.2, 885.0))
    assert np.all(np.diff(points) > 0)
    assert points[0] == 862.0 and points[-1] == 885.0 and 868.0 in points and 876.0 in points
    for bad in ((860.0, 0.5), (860.0, -0.5, 861.0), (860.0, 0.5, 859.0)):
        with pytest.raises(SloxideError):
            energy_points(bad)


@pytest.mark.parametrize("name", plans.__all__)
def test_plans_are_queueserver_ready(name):
    plan = getattr(plans, name)
    if name == "energy_points":
        return
    signature = inspect.signature(plan)
    assert "md" in signature.parameters and signature.parameters["md"].default is None
    for parameter in signature.parameters.values():
        if parameter.default is not inspect.Parameter.empty:
            ast.literal_eval(repr(parameter.default))  # literal defaults only
    assert "Parameters" in plan.__doc__ and "Examples" in plan.__doc__
