"""AMR curves and harmonics: PHYSICS.md §3 and §8 checks 7 and 8."""

from __future__ import annotations

import dask
import dask.array
import numpy as np
import pytest
import xarray as xr

import sloxide  # noqa: F401
from sloxide.analysis.amr import amr, amr_harmonics, design_matrix
from sloxide.errors import DataError, SloxideError

THETA = np.arange(0.0, 360.0, 1.0)


def _raise_on_compute(dsk, keys, **kwargs):
    raise RuntimeError("a dask graph was computed")


def _curves(theta, c2=0.3, w2=10.0, c4=0.05, w4=0.0, offset=0.0):
    t = np.deg2rad(theta)
    return offset + c2 * np.cos(2 * t - np.deg2rad(w2)) + c4 * np.cos(4 * t - np.deg2rad(w4))


def _da(values, theta=THETA, units="percent", dims=("angle",), angle_units="deg"):
    return xr.DataArray(
        values,
        dims=dims,
        coords={"angle": ("angle", theta, {"units": angle_units})},
        attrs={"units": units},
        name="amr",
    )


def test_check7_recovers_parameters_and_honest_errors():
    # c2 = 0.3 %, ω2 = 10°, c4 = 0.05 %, ω4 = 0°, noise 0.005 %, 1° steps; 400 curves at once.
    rng = np.random.default_rng(7)
    n = 400
    y = _curves(THETA) + 0.005 * rng.standard_normal((n, THETA.size))
    out = amr_harmonics(_da(y, dims=("realization", "angle")))
    c = out.c.values
    omega = out.omega.values
    assert np.all(np.abs(c[:, 0] - 0.3) <= 0.01 * 0.3)
    assert np.all(np.abs(c[:, 1] - 0.05) <= 0.03 * 0.05)
    assert np.all(np.abs(omega[:, 0] - 10.0) <= 0.3)
    assert np.all(np.abs(omega[:, 1] - 0.0) <= 3.0)
    # Reported σ within ±30 % of the Monte-Carlo scatter.
    for name, truth in (("c", c), ("omega", omega)):
        ratio = out[f"{name}_stderr"].mean("realization").values / truth.std(axis=0)
        assert np.all((ratio > 0.7) & (ratio < 1.3)), (name, ratio)
    # And both match the textbook σ_c ≈ σ·sqrt(2/N).
    assert out.c_stderr.mean().item() == pytest.approx(0.005 * np.sqrt(2 / 360), rel=0.05)


def test_vectorized_stack_equals_per_curve_fits():
    rng = np.random.default_rng(8)
    temperature, sample = [5.0, 20.0, 50.0], ["C10/L2", "C2/L6"]
    y = np.empty((3, 2, THETA.size))
    for i in range(3):
        for j in range(2):
            y[i, j] = _curves(THETA, c2=0.1 * (i + 1), w2=5.0 * j, c4=0.02 * j)
    y += 0.003 * rng.standard_normal(y.shape)
    stack = xr.DataArray(
        y,
        dims=("temperature", "sample", "angle"),
        coords={
            "temperature": temperature,
            "sample": sample,
            "angle": ("angle", THETA, {"units": "deg"}),
        },
        attrs={"units": "percent"},
    )
    out = amr_harmonics(stack, fit=True)
    for i in range(3):
        for j in range(2):
            one = amr_harmonics(stack.isel(temperature=i, sample=j), fit=True)
            for name in ("c0", "c", "omega", "c_stderr", "omega_stderr", "residual_rms", "fit"):
                np.testing.assert_allclose(
                    out[name].isel(temperature=i, sample=j).values,
                    one[name].values,
                    rtol=1e-12,
                    atol=0,
                )


def test_matches_numpy_lstsq_reference():
    rng = np.random.default_rng(9)
    y = _curves(THETA, offset=1.0) + 0.01 * rng.standard_normal(THETA.size)
    out = amr_harmonics(_da(y), convention="positive")
    coef, *_ = np.linalg.lstsq(design_matrix(THETA, [2, 4]), y, rcond=None)
    np.testing.assert_allclose(out.c0.item(), coef[0], rtol=1e-10)
    np.testing.assert_allclose(out.c.values, np.hypot(coef[1::2], coef[2::2]), rtol=1e-10)
    np.testing.assert_allclose(
        out.omega.values, np.rad2deg(np.arctan2(coef[2::2], coef[1::2])), rtol=1e-10
    )


def test_check8_conventions():
    y = _da(-0.05 * np.cos(np.deg2rad(2 * THETA)))
    positive = amr_harmonics(y, harmonics=[2], convention="positive")
    signed = amr_harmonics(y, harmonics=[2])
    assert positive.c.item() == pytest.approx(0.05, rel=1e-10)
    # PHYSICS.md §3: ω in (−180°, 180°], so the phase of −cos 2θ is +180°, never −180°.
    assert -180.0 < positive.omega.item() <= 180.0
    assert positive.omega.item() == pytest.approx(180.0, abs=1e-8)
    assert signed.c.item() == pytest.approx(-0.05, rel=1e-10)
    assert signed.omega.item() == pytest.approx(0.0, abs=1e-8)
    sine = amr_harmonics(_da(np.sin(np.deg2rad(2 * THETA))), harmonics=[2], convention="positive")
    assert sine.omega.item() == pytest.approx(90.0, abs=1e-8)


@pytest.mark.parametrize("step", [1.0, 2.0, 5.0, 7.5, 10.0])
@pytest.mark.parametrize("amplitude", [3e-3, 0.05, 1.0, 7.0])
@pytest.mark.parametrize("k", [2, 4])
def test_the_branch_cut_never_gives_minus_180(step, amplitude, k):
    # A pure −cos kθ fits b = ±1e-17 (rounding): half of these grids gave b < 0, so
    # atan2 returned −π. ω must land on +180° (positive) and 0° (signed) on every grid.
    theta = np.arange(0.0, 360.0, step)
    y = _da(-amplitude * np.cos(np.deg2rad(k * theta)), theta)
    positive = amr_harmonics(y, harmonics=[k], convention="positive")
    signed = amr_harmonics(y, harmonics=[k])
    assert positive.omega.item() == 180.0
    assert signed.omega.item() == 0.0
    assert signed.c.item() == pytest.approx(-amplitude, rel=1e-10)


@pytest.mark.parametrize("phase", [-180.0, -90.0, -45.0, 0.0, 45.0, 90.0, 135.0, 180.0])
def test_phases_on_the_interval_edges(phase):
    # The documented intervals are half-open: (−180°, 180°] and, signed, (−90°, 90°].
    y = _da(0.2 * np.cos(np.deg2rad(2 * THETA - phase)))
    positive = amr_harmonics(y, harmonics=[2], convention="positive")
    signed = amr_harmonics(y, harmonics=[2])
    expected = 180.0 if phase == -180.0 else phase
    folded = (
        expected - 180.0
        if expected > 90.0
        else expected + 180.0
        if expected <= -90.0
        else expected
    )
    assert -180.0 < positive.omega.item() <= 180.0
    assert positive.omega.item() == pytest.approx(expected, abs=1e-10)
    assert -90.0 < signed.omega.item() <= 90.0
    assert signed.omega.item() == pytest.approx(folded, abs=1e-10)
    assert signed.c.item() == pytest.approx(0.2 if folded == expected else -0.2, rel=1e-10)


def test_sign_inversion_of_c10_l2_in_the_010_plane():
    # PHYSICS.md §7: (A_m − 0.05 %)·cos 2φ − 0.02 %·cos 4φ, A_m = 0.12 %·exp(−(T − 5)/5 K).
    phi = np.arange(0.0, 360.0, 2.0)
    temperature = np.array([5.0, 20.0])
    a_m = 0.12 * np.exp(-(temperature - 5.0) / 5.0)
    y = (a_m[:, None] - 0.05) * np.cos(np.deg2rad(2 * phi)) - 0.02 * np.cos(np.deg2rad(4 * phi))
    rng = np.random.default_rng(10)
    y += 0.003 * rng.standard_normal(y.shape)
    da = xr.DataArray(
        y,
        dims=("temperature", "angle"),
        coords={"temperature": temperature, "angle": ("angle", phi, {"units": "deg"})},
        attrs={"units": "percent"},
    )
    c2 = amr_harmonics(da).c.sel(harmonic=2)
    assert c2.sel(temperature=5.0) > 0 > c2.sel(temperature=20.0)
    expected = a_m - 0.05
    np.testing.assert_allclose(c2.values, expected, atol=5 * amr_harmonics(da).c_stderr.max())


def test_angles_in_radians_give_the_same_fit():
    y = _curves(THETA)
    degrees = amr_harmonics(_da(y))
    radians = amr_harmonics(_da(y, theta=np.deg2rad(THETA), angle_units="rad"))
    np.testing.assert_allclose(radians.c.values, degrees.c.values, rtol=1e-10)
    np.testing.assert_allclose(radians.omega.values, degrees.omega.values, atol=1e-8)


def test_nan_patterns_are_grouped_and_each_curve_matches_its_own_fit():
    rng = np.random.default_rng(11)
    y = _curves(THETA) + 0.005 * rng.standard_normal((6, THETA.size))
    y[1, 10:20] = np.nan
    y[2, ::7] = np.nan
    y[3, 10:20] = np.nan  # same pattern as curve 1
    y[4, 200] = np.nan
    out = amr_harmonics(_da(y, dims=("curve", "angle")), convention="positive")
    for i in range(6):
        ok = np.isfinite(y[i])
        coef, *_ = np.linalg.lstsq(design_matrix(THETA[ok], [2, 4]), y[i, ok], rcond=None)
        np.testing.assert_allclose(out.c0.values[i], coef[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(out.c.values[i], np.hypot(coef[1::2], coef[2::2]), rtol=1e-12)


def test_duplicated_zero_and_360_is_refused():
    theta = np.arange(0.0, 361.0, 10.0)
    with pytest.raises(DataError, match="360"):
        amr_harmonics(_da(np.cos(np.deg2rad(2 * theta)), theta=theta))


@pytest.mark.parametrize("theta", [np.array([0.0]), np.array([0.0, 90.0, 180.0, 270.0, 45.0])])
def test_too_few_angles_are_refused(theta):
    with pytest.raises(DataError, match="cannot determine"):
        amr_harmonics(_da(np.ones(theta.size), theta=theta))


def test_infinite_readings_are_refused():
    y = _curves(THETA)
    y[3] = np.inf
    with pytest.raises(DataError, match="inf"):
        amr_harmonics(_da(y))


def test_bad_convention_and_harmonics():
    with pytest.raises(SloxideError, match="convention"):
        amr_harmonics(_da(_curves(THETA)), convention="absolute")
    with pytest.raises(SloxideError, match="harmonics"):
        amr_harmonics(_da(_curves(THETA)), harmonics=[2, 2])


def test_dask_stays_lazy_and_equals_numpy():
    rng = np.random.default_rng(12)
    y = _curves(THETA) + 0.005 * rng.standard_normal((8, THETA.size))
    da = _da(y, dims=("curve", "angle"))
    lazy_in = da.chunk({"curve": 3})
    with dask.config.set(scheduler=_raise_on_compute):
        out = amr_harmonics(lazy_in)
        assert isinstance(out.c.data, dask.array.Array)
    eager = amr_harmonics(da)
    xr.testing.assert_allclose(out.compute(), eager, rtol=1e-12)


def test_chunked_angle_dim_is_refused():
    da = _da(np.tile(_curves(THETA), (2, 1)), dims=("curve", "angle")).chunk({"angle": 90})
    with pytest.raises(DataError, match="chunk"):
        amr_harmonics(da)


def test_missing_units_are_refused():
    da = _da(_curves(THETA))
    da.attrs = {}
    with pytest.raises(SloxideError, match="units"):
        amr_harmonics(da)


@pytest.mark.parametrize("reference", ["max", "mean", "theta0"])
def test_amr_references(reference):
    R = _da(100.0 + 0.2 * np.cos(np.deg2rad(2 * THETA)), units="ohm")
    out = amr(R, reference=reference).amr
    assert out.attrs["units"] == "percent"
    if reference == "max":
        assert out.max().item() == pytest.approx(0.0, abs=1e-12)
        assert out.min().item() == pytest.approx(100 * (99.8 - 100.2) / 100.2, rel=1e-9)
    elif reference == "mean":
        assert out.mean().item() == pytest.approx(0.0, abs=1e-12)
    else:
        assert out.sel(angle=0.0).item() == pytest.approx(0.0, abs=1e-12)


def test_theta0_reference_without_zero_is_refused():
    theta = np.arange(5.0, 360.0, 10.0)
    with pytest.raises(DataError, match="θ = 0"):
        amr(_da(np.ones(theta.size), theta=theta, units="ohm"), reference="theta0")


def test_accessor_on_a_rotation_run_with_readback_angles():
    # A run as the rotation plan records it: angle readback and R_xx along time.
    rng = np.random.default_rng(13)
    readback = THETA + 0.01 * rng.standard_normal(THETA.size)
    r_xx = 250.0 * (1 - 0.0015 * np.cos(np.deg2rad(2 * readback)))
    ds = xr.Dataset(
        {
            "rotator_angle": ("time", readback, {"units": "deg", "quantity": "angle"}),
            "hallbar_R_xx": ("time", r_xx, {"units": "ohm", "quantity": "R_xx"}),
        }
    )
    out = ds.sloxide.amr_harmonics()
    # AMR relative to R_max: −0.15 %·cos 2θ scaled by R_mean/R_max.
    assert out.c.sel(harmonic=2).item() == pytest.approx(-0.15 / 1.0015, rel=1e-9)
    assert out.c.attrs["units"] == "percent"
    raw = ds.sloxide.amr_harmonics(reference=None)
    assert raw.c.attrs["units"] == "ohm"
    assert raw.c.sel(harmonic=2).item() == pytest.approx(-250.0 * 0.0015, rel=1e-9)
    assert ds.sloxide.amr().amr.max().item() == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------ reference and fit, one pass


def _resistance_stack(rng, nan_fraction=0.0):
    """R_xx rotations (ohm) of 4 × 3 curves, with NaN readings sprinkled in."""
    r = np.empty((4, 3, THETA.size))
    for i in range(4):
        for j in range(3):
            r[i, j] = 585.0 * (1 + 1e-3 * _curves(THETA, c2=0.1 * (i + 1), w2=4.0 * j))
    r += 585.0 * 3e-5 * rng.standard_normal(r.shape)
    r[rng.random(r.shape) < nan_fraction] = np.nan
    return xr.DataArray(
        r,
        dims=("temperature", "sample", "angle"),
        coords={"angle": ("angle", THETA, {"units": "deg"})},
        attrs={"units": "ohm"},
        name="R_xx",
    )


@pytest.mark.parametrize("reference", ["max", "mean", "theta0"])
@pytest.mark.parametrize("nan_fraction", [0.0, 0.05])
def test_the_reference_applied_to_the_coefficients_equals_fitting_the_amr(reference, nan_fraction):
    # AMR = 100·(R − R_ref)/R_ref is linear in R: fitting R and scaling the coefficients
    # is the same least-squares problem as fitting the AMR array (to rounding).
    rng = np.random.default_rng(21)
    stack = _resistance_stack(rng, nan_fraction)
    if reference == "theta0":
        stack[..., 0] = stack[..., 0].fillna(585.0)
    one_pass = amr_harmonics(stack, reference=reference, fit=True)
    two_steps = amr_harmonics(amr(stack, reference=reference)["amr"], reference=None, fit=True)
    # The 4-fold term here is noise (c4 ~ 1e-5 %): its phase carries the rounding of R
    # (1e-16 × 585 Ω) divided by c4, about 1e-10°.
    for name in ("c0", "c", "omega", "c_stderr", "omega_stderr", "residual_rms", "fit"):
        np.testing.assert_allclose(
            one_pass[name].values, two_steps[name].values, rtol=1e-9,
            atol=1e-8 if name.startswith("omega") else 1e-12, equal_nan=True, err_msg=name,
        )  # fmt: skip
    assert one_pass.c.attrs["units"] == "percent"


def test_auto_reference_follows_the_units():
    rng = np.random.default_rng(22)
    stack = _resistance_stack(rng)
    auto = amr_harmonics(stack)  # a resistance: the AMR in % of R_max, as the paper
    assert auto.c.attrs["units"] == "percent" and auto.attrs["reference"] == "max"
    xr.testing.assert_allclose(auto, amr_harmonics(stack, reference="max"))
    percent = amr(stack)["amr"]  # already an AMR in %: fitted as it is
    again = amr_harmonics(percent)
    assert again.attrs["reference"] == "None"
    np.testing.assert_allclose(again.c.values, auto.c.values, rtol=1e-9)
    raw = amr_harmonics(stack, reference=None)
    assert raw.c.attrs["units"] == "ohm"


def test_fit_only_when_asked():
    y = _da(_curves(THETA))
    assert "fit" not in amr_harmonics(y)
    out = amr_harmonics(y, fit=True)
    model = float(out.c0) + sum(
        float(out.c.sel(harmonic=k))
        * np.cos(np.deg2rad(k * THETA - float(out.omega.sel(harmonic=k))))
        for k in (2, 4)
    )
    np.testing.assert_allclose(out.fit.values, model, atol=1e-12)


@pytest.mark.parametrize("fit", [False, True])
def test_dask_reference_and_fit_stay_lazy(fit):
    import dask

    rng = np.random.default_rng(23)
    stack = _resistance_stack(rng, 0.02)
    lazy = stack.chunk({"temperature": 1})
    with dask.config.set(scheduler=_raise_on_compute):
        out = amr_harmonics(lazy, fit=fit)
    assert out.c.chunks is not None
    xr.testing.assert_allclose(out.compute(), amr_harmonics(stack, fit=fit))
