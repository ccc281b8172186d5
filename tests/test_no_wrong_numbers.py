"""Wrong numbers with no error, and degenerate sweeps: each is now refused before any work.

Offset units in differences (a 5 degC window read as 278 K), data that are not real
numbers (datetimes, strings, objects, complex, booleans), one bad curve in a stack,
and sweeps of one point.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sloxide  # noqa: F401  (registers the accessor)
from sloxide.errors import DataError, SloxideError, UnitsError
from sloxide.units import difference, scalar_magnitude

T_GRID = np.arange(2.0, 151.0)
#: Piecewise-linear M (PHYSICS.md §8 check 13): the tangent crosses zero at exactly 75 K.
MOMENT = xr.DataArray(
    np.clip((75.0 - T_GRID) / 35.0, 0.0, 1.0),
    dims="temperature",
    coords={"temperature": ("temperature", T_GRID, {"units": "K"})},
    attrs={"units": "emu"},
    name="moment",
)
THETA = np.arange(0.0, 360.0, 10.0)


def _rotation(values, angle=THETA, units="percent"):
    return xr.DataArray(
        values,
        dims="angle",
        coords={"angle": ("angle", angle, {"units": "deg"})},
        attrs={"units": units},
        name="amr",
    )


# ------------------------------------------------------------------------- offset units


@pytest.mark.parametrize("window", ["5 degC", "9 degF"])
def test_a_window_in_an_offset_unit_is_refused_with_delta_advice(window):
    # "5 degC" gave T_c = 116.6 K: pint read the window as the absolute 278.15 K.
    with pytest.raises(UnitsError, match="offset scale.*delta_deg"):
        MOMENT.sloxide.curie_temperature(window=window)


@pytest.mark.parametrize("window", ["5 delta_degC", "5 K", 5.0, "9 delta_degF"])
def test_a_window_as_a_difference_gives_the_tangent_t_c(window):
    assert float(MOMENT.sloxide.curie_temperature(window=window).Tc) == pytest.approx(75.0)


@pytest.mark.parametrize("window", [200.0, 74.0])
def test_a_window_as_wide_as_the_sweep_is_refused(window):
    with pytest.raises(DataError, match="window.*spans the whole 148 K"):
        MOMENT.sloxide.curie_temperature(window=window)


def test_difference_conversions():
    assert scalar_magnitude("2 delta_degC", difference("K"), "step") == 2.0
    assert scalar_magnitude("9 delta_degF", difference("K"), "step") == pytest.approx(5.0)
    assert scalar_magnitude("300 mK", difference("K"), "step") == pytest.approx(0.3)
    # An absolute temperature stays absolute where one is meant.
    assert scalar_magnitude("20 degC", "K", "start") == pytest.approx(293.15)
    with pytest.raises(UnitsError, match="'5 delta_degC'"):
        scalar_magnitude("5 degC", difference("K"), "step")


def test_rt_sweep_in_celsius_refuses_an_offset_step_before_motion():
    pytest.importorskip("bluesky")
    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import rt_sweep

    lab = sim_lab(SimWorld(sample="C10/L6"))
    before = lab["cryostat"].temperature.setpoint.get()
    plan = rt_sweep(
        lab["hallbar"], lab["cryostat"], start="20 degC", stop="10 degC", step="5 degC"
    )
    with pytest.raises(UnitsError, match="step.*278.15 K.*'5 delta_degC'"):
        next(plan)
    assert lab["cryostat"].temperature.setpoint.get() == before
    # Written as a difference, the same sweep is the three points 293.15, 288.15, 283.15 K.
    plan = rt_sweep(
        lab["hallbar"], lab["cryostat"], start="20 degC", stop="10 degC", step="5 delta_degC"
    )
    assert next(plan).command  # the first message: validation passed
    plan.close()


# ------------------------------------------------------------------------ degenerate sweeps


@pytest.mark.parametrize(
    ("start", "stop", "step", "match"),
    [
        (300.0, 280.0, 50.0, "one point"),
        (300.0, 300.0, 10.0, "both 300 K"),
        (2.0, 2.5, 1.0, "one point"),
    ],
)
def test_a_sweep_of_one_point_is_refused_before_motion(start, stop, step, match):
    pytest.importorskip("bluesky")
    from bluesky import RunEngine

    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import fc_magnetization, rt_sweep

    lab = sim_lab(SimWorld(sample="C10/L6"))
    documents = []
    RE = RunEngine({})
    RE.subscribe(lambda name, doc: documents.append(name))
    with pytest.raises(SloxideError, match=match):
        RE(rt_sweep(lab["hallbar"], lab["cryostat"], start=start, stop=stop, step=step))
    if start > stop or start == stop:
        with pytest.raises(SloxideError, match=f"{match}|above stop"):
            RE(fc_magnetization(lab["cryostat"], start=start, stop=stop, step=step))
    assert documents == []  # no run was opened


# ---------------------------------------------------------------------------- bad dtypes


@pytest.mark.parametrize(
    "angle",
    [
        THETA.astype("datetime64[s]"),
        THETA.astype("timedelta64[s]"),
        THETA.astype(object),
        THETA.astype(str),
    ],
    ids=["datetime", "timedelta", "object", "str"],
)
def test_an_angle_that_is_not_a_number_is_refused(angle):
    # A datetime64 angle labelled "deg" returned nonsense harmonics with no error.
    with pytest.raises(DataError, match="'angle' coordinate holds .* not real numbers"):
        _rotation(-0.1 * np.cos(np.deg2rad(2 * THETA)), angle).sloxide.amr_harmonics()


@pytest.mark.parametrize(
    ("values", "what"),
    [
        ((-0.1 * np.cos(np.deg2rad(2 * THETA))).astype(complex), "complex"),
        ((-0.1 * np.cos(np.deg2rad(2 * THETA))).astype(str), "strings"),
        ((-0.1 * np.cos(np.deg2rad(2 * THETA))).astype(object), "Python objects"),
        (np.cos(np.deg2rad(2 * THETA)) > 0, "booleans"),
    ],
    ids=["complex", "str", "object", "bool"],
)
@pytest.mark.parametrize("method", ["amr", "amr_harmonics"])
def test_data_that_are_not_real_numbers_are_refused(values, what, method):
    # These raised TypeError or KeyError from numpy, or (complex) dropped the imaginary
    # part with only numpy's ComplexWarning.
    with pytest.raises(DataError, match=f"holds {what}"):
        getattr(_rotation(values).sloxide, method)()


def test_integer_and_float32_data_are_real_numbers():
    # R_xx in whole milliohms, as some meters report it: the same harmonics as floats.
    y = np.round(585_000 * (1 - 0.001 * np.cos(np.deg2rad(2 * THETA))))
    as_float = _rotation(y, units="mohm").sloxide.amr_harmonics()
    for dtype in (np.int64, np.int32, np.float32):
        out = _rotation(y.astype(dtype), units="mohm").sloxide.amr_harmonics()
        np.testing.assert_allclose(out.c.values, as_float.c.values, rtol=1e-5, atol=1e-9)


def test_one_all_nan_curve_in_a_stack_is_named():
    stack = xr.concat(
        [_rotation(np.cos(np.deg2rad(2 * THETA)) + k) for k in range(4)],
        dim=xr.DataArray([2.0, 5.0, 10.0, 20.0], dims="temperature", name="temperature"),
    )
    stack[2] = np.nan
    with pytest.raises(DataError, match="temperature=10"):
        stack.sloxide.amr()
