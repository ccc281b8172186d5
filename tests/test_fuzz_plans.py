"""Plan arguments, fuzzed: every bad one raises a SloxideError before anything moves.

Each example draws every argument of a plan either from its valid domain or from a set
of values that are wrong for it (NaN, ±inf, out of limits, wrong units, wrong types, a
step that would make millions of points, ...). The plan is then started the way the
RunEngine starts it, by asking the generator for its first message:

* with any bad argument, that must raise a SloxideError naming the argument, so no
  message (no motion) was ever produced;
* with all arguments valid, it must yield its first message.

A counter records the examples run; the last test prints the total.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sloxide.plans as plans
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.errors import SloxideError

EXAMPLES: dict[str, int] = {}
SETTINGS = settings(
    max_examples=300,
    deadline=None,  # the first example pays for imports; no example may hang (see below)
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LAB = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))

# Values wrong for any numeric argument (each plan's limits add its own).
NOT_NUMBERS = st.sampled_from([math.nan, math.inf, -math.inf, "abc", None, [1.0], {"a": 1}])


def arg(valid, bad, numeric=True):
    """(value, is_bad): a valid value three times out of four; numbers get NOT_NUMBERS too."""
    bad = st.one_of(bad, NOT_NUMBERS) if numeric else bad
    return st.one_of(
        valid.map(lambda v: (v, False)),
        valid.map(lambda v: (v, False)),
        valid.map(lambda v: (v, False)),
        bad.map(lambda v: (v, True)),
    )


def temperature(low=2.0, high=300.0):
    return arg(
        st.floats(low, high),
        st.sampled_from([-1.0, 400.5, 1e300, "5 T", "-3 K"]),
    )


FIELD = arg(st.floats(-9.0, 9.0), st.sampled_from([9.5, -12.0, "2 K", "1e6 Oe"]))
SAMPLE = arg(
    st.sampled_from([None, "C10/L6", "my film", {"name": "x"}]),
    st.sampled_from([3.5, [1], ("a",), b"x", math.nan]),
    numeric=False,
)
HALL_SIGN = arg(st.sampled_from([1, -1]), st.sampled_from([0, 2, -3, 0.5, True, "1"]))
MD = arg(
    st.sampled_from([None, {}, {"operator": "me"}]),
    st.sampled_from([3, "x", [("a", 1)], math.nan]),
    numeric=False,
)


def _first_message(plan, args, kwargs, bad_names):
    """Start the plan; bad arguments must raise before the first message."""
    EXAMPLES[plan.__name__] = EXAMPLES.get(plan.__name__, 0) + 1
    generator = plan(*args, **kwargs)
    if bad_names:
        with pytest.raises(SloxideError) as info:
            next(generator)
        assert str(info.value).strip(), "the error must say what is wrong"
        return
    message = next(generator)
    assert message.command is not None
    generator.close()


def _refuse_one_point_sweeps(drawn, bad):
    """A valid start, stop and step that make a sweep of one point is a bad step."""
    (start, bad_start), (stop, bad_stop), (step, bad_step) = (
        drawn["start"],
        drawn["stop"],
        drawn["step"],
    )
    if not (bad_start or bad_stop or bad_step) and step > abs(stop - start) + 1e-9:
        bad.append("step")


def _split(drawn):
    kwargs = {name: value for name, (value, _) in drawn.items()}
    bad = [name for name, (_, is_bad) in drawn.items() if is_bad]
    return kwargs, bad


@st.composite
def field_loop_args(draw):
    step = draw(st.sampled_from([0.05, 0.1, 0.25, 0.5]))
    k = draw(st.integers(2, 36))
    drawn = {
        "temperature": draw(temperature()),
        "step": draw(arg(st.just(step), st.sampled_from([0.0, -0.1, 1e-9, 3.7, "0.1 K"]))),
        "sample": draw(SAMPLE),
        "hall_sign": draw(HALL_SIGN),
        "md": draw(MD),
    }
    field_max = draw(arg(st.just(round(k * step, 10)), st.sampled_from([0.0, -1.0, 12.0])))
    if not drawn["step"][1] and not field_max[1] and k * step > 9.0:
        field_max = (field_max[0], True)  # beyond the magnet's 9 T
    drawn["field_max"] = field_max
    if not drawn["step"][1] and drawn["step"][0] == 3.7 and not field_max[1]:
        drawn["field_max"] = (field_max[0], True)
    return drawn


@SETTINGS
@given(field_loop_args())
def test_field_loop_arguments(drawn):
    kwargs, bad = _split(drawn)
    ratio = kwargs["field_max"] / kwargs["step"] if not bad else 0.0
    if not bad and abs(ratio - round(ratio)) > 1e-9:
        bad = ["field_max"]  # not a multiple of the step
    _first_message(plans.field_loop, (LAB["hallbar"], LAB["cryostat"]), kwargs, bad)


@SETTINGS
@given(
    start=temperature(),
    stop=temperature(),
    step=arg(
        st.floats(0.5, 20.0),
        # An offset unit is a temperature, not a step: "5 degC" would be a 278 K step.
        st.sampled_from([0.0, -2.0, 1e-6, "2 T", "5 degC", "1 degF"]),
    ),
    field=FIELD,
    sample=SAMPLE,
    hall_sign=HALL_SIGN,
    md=MD,
)
def test_rt_sweep_arguments(**drawn):
    kwargs, bad = _split(drawn)
    _refuse_one_point_sweeps(drawn, bad)
    _first_message(plans.rt_sweep, (LAB["hallbar"], LAB["cryostat"]), kwargs, bad)


@SETTINGS
@given(
    start=temperature(100.0, 300.0),
    stop=temperature(2.0, 99.0),
    step=arg(st.floats(0.5, 10.0), st.sampled_from([0.0, -1.0, 1e-7, "2 degC"])),
    field=FIELD,
    sample=SAMPLE,
    md=MD,
)
def test_fc_magnetization_arguments(**drawn):
    kwargs, bad = _split(drawn)
    _refuse_one_point_sweeps(drawn, bad)
    _first_message(plans.fc_magnetization, (LAB["cryostat"],), kwargs, bad)


@SETTINGS
@given(
    temperature=temperature(),
    field=FIELD,
    plane=arg(
        st.sampled_from(["(001)", "(010)"]),
        st.sampled_from(["(100)", "001", "", 1, None]),
        numeric=False,
    ),
    step=arg(st.sampled_from([5.0, 10.0, 15.0, 30.0, 60.0]), st.sampled_from([0.0, 7.0, 90.0])),
    sample=SAMPLE,
    md=MD,
)
def test_amr_rotation_arguments(**drawn):
    kwargs, bad = _split(drawn)
    args = (LAB["hallbar"], LAB["cryostat"], LAB["rotator"])
    _first_message(plans.amr_rotation, args, kwargs, bad)


REGIONS = arg(
    st.sampled_from([None, (866.0, 0.5, 876.0), [860.0, 1.0, 866.0, 0.1, 870.0, 1.0, 885.0]]),
    st.sampled_from([
        (866.0,), (866.0, 0.5), (876.0, 0.5, 866.0), (866.0, -0.5, 876.0), (866.0, 0.0, 876.0),
        (866.0, 1e-9, 876.0), (866.0, math.nan, 876.0), ("a", 1, 2), (50.0, 1.0, 60.0),
        (1990.0, 1.0, 2100.0), 866.0, math.nan, math.inf, "abc", {"a": 1},
    ]),
    numeric=False,  # None is valid here: the edge's own regions
)  # fmt: skip
EDGE = arg(
    st.sampled_from(["Ni L2", "O K", "Ru M"]),
    st.sampled_from(["Ni L3", "", "o k", 3, None, math.nan]),
    numeric=False,
)


@SETTINGS
@given(
    edge=EDGE,
    regions=REGIONS,
    incidence_angle=arg(st.floats(0.0, 90.0), st.sampled_from([-1.0, 91.0, 180.0])),
    sample=SAMPLE,
    md=MD,
)
def test_xas_scan_arguments(**drawn):
    kwargs, bad = _split(drawn)
    _first_message(plans.xas_scan, (LAB["beamline"],), kwargs, bad)


@SETTINGS
@given(
    edge=EDGE,
    regions=REGIONS,
    angles=arg(
        st.sampled_from([(90.0, 30.0), [30.0, 90.0], (90.0, 45.0)]),
        st.sampled_from([(90.0, 90.0), (90.0,), (90.0, 30.0, 60.0), (90.0, 120.0), ("a", 3)]),
    ),
    sample=SAMPLE,
    md=MD,
)
def test_xld_scan_arguments(**drawn):
    kwargs, bad = _split(drawn)
    _first_message(plans.xld_scan, (LAB["beamline"],), kwargs, bad)


def test_zz_report_the_number_of_examples(capsys):
    total = sum(EXAMPLES.values())
    with capsys.disabled():
        print(f"\nplan arguments fuzzed: {total} examples {EXAMPLES}")
    assert total >= 6 * 100
