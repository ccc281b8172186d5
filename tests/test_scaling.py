"""Tests of sloxide.analysis.scaling: Δρ_AHE against ρ_xx (PHYSICS.md §1 item 9, §8 check 14).

Synthetic series: ρ_xx rises linearly from 0.38 to 0.42 mΩ·cm over 2–20 K in
1 K steps (19 temperatures); Δρ_AHE = 0.19·ρ_xx² µΩ·cm plus Gaussian noise of
σ = 2e-4 µΩ·cm (a little below the 5e-4 µΩ·cm ρ_xy noise of PHYSICS.md §0,
since Δρ is half a jump fitted over a whole loop).

Tolerances derived from the noise: the "paper" slope has
stderr ≈ σ/sqrt(Σρ⁴) ≈ 2e-4/sqrt(19·0.0256) ≈ 3e-4 S/cm (0.15 %), so 2 %
(check 14) is > 10 stderr; the intercept model's stderr is computed by the code
and the test uses 3 of them.
"""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

import sloxide  # noqa: F401  (registers the .sloxide accessor)
from sloxide.analysis.scaling import anomalous_hall_scaling
from sloxide.errors import DataError, MissingVariableError, SloxideError, UnitsError
from sloxide.units import is_quantified

SIGMA_AH = 0.19  # S/cm
NOISE = 2e-4  # µΩ·cm
TEMPERATURES = np.arange(2.0, 21.0)  # K, 1 K steps
RHO_XX = 0.38 + 0.04 * (TEMPERATURES - 2.0) / 18.0  # mΩ·cm, 0.38 → 0.42


def _raise_if_computed(dsk, keys, **kwargs):
    raise RuntimeError("a dask graph was computed, but the operation should stay lazy")


def _series(values, units, temperatures=TEMPERATURES, extra_dims=()):
    coords = {"temperature": ("temperature", temperatures, {"units": "K"})}
    dims = (*extra_dims, "temperature")
    return xr.DataArray(values, dims=dims, coords=coords, attrs={"units": units})


def _noisy(rng, sigma=SIGMA_AH, rho=RHO_XX, noise=NOISE):
    return sigma * rho**2 + rng.normal(0.0, noise, rho.shape)


# --------------------------------------------------------------------------- check 14


def test_check14_paper_model_recovers_slope():
    rng = np.random.default_rng(14)
    drho = _series(_noisy(rng), "uohm*cm")
    rho = _series(RHO_XX, "mohm*cm")
    out = anomalous_hall_scaling(drho, rho)
    assert out.attrs["model"] == "paper"
    assert float(out.sigma_ah) == pytest.approx(SIGMA_AH, rel=0.02)
    assert "intercept" not in out and "linear_term" not in out
    # The estimate is consistent with the truth within its own error bar.
    assert abs(float(out.sigma_ah) - SIGMA_AH) < 4 * float(out.sigma_ah_stderr)
    # stderr is the predicted σ/sqrt(Σρ⁴); σ̂ from 18 dof scatters by 1/sqrt(36) ≈ 17 %, so ±50 % is 3σ
    predicted = NOISE / np.sqrt(np.sum(RHO_XX**4))
    assert float(out.sigma_ah_stderr) == pytest.approx(predicted, rel=0.5)
    assert out.sigma_ah.attrs["units"] == "S/cm"
    assert out.sigma_ah_stderr.attrs["units"] == "S/cm"
    assert out.sigma_ah.attrs["long_name"]


def test_check14_intercept_model_intercept_is_consistent_with_zero():
    rng = np.random.default_rng(141)
    out = anomalous_hall_scaling(
        _series(_noisy(rng), "uohm*cm"), _series(RHO_XX, "mohm*cm"), model="intercept"
    )
    assert abs(float(out.intercept)) < 3 * float(out.intercept_stderr)
    assert abs(float(out.sigma_ah) - SIGMA_AH) < 3 * float(out.sigma_ah_stderr)
    assert out.intercept.attrs["units"] == "uohm * cm"
    assert out.attrs["model"] == "intercept"


def test_check14_linear_model_recovers_a_and_b_exactly():
    a, b = 0.05, 0.17  # µΩ·cm per mΩ·cm, S/cm
    drho = _series(a * RHO_XX + b * RHO_XX**2, "uohm*cm")
    out = anomalous_hall_scaling(drho, _series(RHO_XX, "mohm*cm"), model="linear")
    assert float(out.sigma_ah) == pytest.approx(b, rel=1e-9)
    # linear_term is dimensionless: a·(µΩ·cm)/(mΩ·cm) = a·1e-3
    assert float(out.linear_term) == pytest.approx(a * 1e-3, rel=1e-9)
    assert out.linear_term.attrs["units"] == "1"
    # No noise, so no residual: the errors vanish (relative to the values).
    assert float(out.sigma_ah_stderr) < 1e-9 * b
    assert float(out.linear_term_stderr) < 1e-9 * a * 1e-3


def test_noise_free_intercept_model_recovers_c_and_b_exactly():
    c, b = 0.004, 0.21
    drho = _series(c + b * RHO_XX**2, "uohm*cm")
    out = anomalous_hall_scaling(drho, _series(RHO_XX, "mohm*cm"), model="intercept")
    assert float(out.sigma_ah) == pytest.approx(b, rel=1e-9)
    assert float(out.intercept) == pytest.approx(c, rel=1e-9)


# --------------------------------------------------------------------------- units


def test_input_units_are_converted():
    rng = np.random.default_rng(1401)
    drho_uohm = _noisy(rng)
    reference = anomalous_hall_scaling(_series(drho_uohm, "uohm*cm"), _series(RHO_XX, "mohm*cm"))
    # the same data in nΩ·m and Ω·m, with the temperature coordinate in degC
    celsius = TEMPERATURES - 273.15
    drho = xr.DataArray(
        drho_uohm * 10.0,  # 1 µΩ·cm = 10 nΩ·m
        dims="temperature",
        coords={"temperature": ("temperature", celsius, {"units": "degC"})},
        attrs={"units": "nohm*m"},
    )
    rho = drho.copy(data=RHO_XX * 1e-5).assign_attrs(units="ohm*m")  # 1 mΩ·cm = 1e-5 Ω·m
    out = anomalous_hall_scaling(drho, rho)
    assert float(out.sigma_ah) == pytest.approx(float(reference.sigma_ah), rel=1e-12)


def test_pint_in_gives_pint_out():
    rng = np.random.default_rng(1402)
    drho = _series(_noisy(rng), "uohm*cm")
    rho = _series(RHO_XX, "mohm*cm")
    plain = anomalous_hall_scaling(drho, rho)
    quantified = anomalous_hall_scaling(drho.pint.quantify(), rho.pint.quantify())
    assert is_quantified(quantified.sigma_ah)
    assert not is_quantified(plain.sigma_ah)
    assert quantified.sigma_ah.data.to("S/cm").magnitude == pytest.approx(
        float(plain.sigma_ah), rel=1e-12
    )


def test_outputs_do_not_inherit_input_metadata():
    # Variables from read_run carry `quantity` (and often `description`) attrs. A result
    # must not keep the input's: a sigma_ah tagged quantity="delta_rho_ahe" would be
    # found by the accessor's quantity lookup as Δρ_AHE (DESIGN.md "Data contract";
    # STYLE.md 5: never trust attrs that survived arithmetic).
    rng = np.random.default_rng(1413)
    drho = _series(_noisy(rng), "uohm*cm").assign_attrs(
        quantity="delta_rho_ahe", description="half the saturation jump of rho_AHE"
    )
    rho = _series(RHO_XX, "mohm*cm").assign_attrs(quantity="rho_xx", description="zero field")
    out = anomalous_hall_scaling(drho, rho, model="intercept")
    for name, var in out.data_vars.items():
        assert var.attrs.get("quantity") in (None, name.removesuffix("_stderr")), name
        assert var.attrs.get("description") not in (
            drho.attrs["description"],
            rho.attrs["description"],
        ), name


def test_missing_units_are_all_reported():
    with pytest.raises(UnitsError) as info:
        anomalous_hall_scaling(
            _series(SIGMA_AH * RHO_XX**2, "uohm*cm").assign_attrs(units="K"),
            _series(RHO_XX, "mohm*cm").drop_attrs(),
        )
    assert "delta_rho_ahe" in str(info.value) and "rho_xx" in str(info.value)


# --------------------------------------------------------------------------- temperature range


def test_temperature_range_excludes_points_outside():
    rng = np.random.default_rng(1403)
    inside = _noisy(rng)
    reference = anomalous_hall_scaling(_series(inside, "uohm*cm"), _series(RHO_XX, "mohm*cm"))
    # Add 21–40 K with wildly different values: 100× the Δρ and a different ρ_xx.
    hot = np.arange(21.0, 41.0)
    t_all = np.concatenate([TEMPERATURES, hot])
    rho_all = np.concatenate([RHO_XX, np.full(hot.size, 0.9)])
    drho_all = np.concatenate([inside, np.full(hot.size, 50.0)])
    out = anomalous_hall_scaling(
        _series(drho_all, "uohm*cm", t_all), _series(rho_all, "mohm*cm", t_all)
    )
    assert float(out.sigma_ah) == pytest.approx(float(reference.sigma_ah), rel=1e-12)
    assert float(out.sigma_ah_stderr) == pytest.approx(float(reference.sigma_ah_stderr), rel=1e-9)
    # And the hot points do matter when the range includes them.
    wide = anomalous_hall_scaling(
        _series(drho_all, "uohm*cm", t_all),
        _series(rho_all, "mohm*cm", t_all),
        temperature_range=None,
    )
    assert abs(float(wide.sigma_ah) - SIGMA_AH) > 1.0


def test_temperature_range_is_inclusive_and_accepts_quantities():
    rng = np.random.default_rng(1404)
    drho = _series(_noisy(rng), "uohm*cm")
    rho = _series(RHO_XX, "mohm*cm")
    sub = anomalous_hall_scaling(
        drho.sel(temperature=slice(5, 15)),
        rho.sel(temperature=slice(5, 15)),
        temperature_range=None,
    )
    ranged = anomalous_hall_scaling(drho, rho, temperature_range=("5 K", "15 K"))
    assert float(ranged.sigma_ah) == pytest.approx(float(sub.sigma_ah), rel=1e-12)
    reversed_order = anomalous_hall_scaling(drho, rho, temperature_range=(15.0, 5.0))
    assert float(reversed_order.sigma_ah) == pytest.approx(float(sub.sigma_ah), rel=1e-12)


@pytest.mark.parametrize(
    ("model", "temperature_range"),
    [("paper", (2.0, 2.0)), ("intercept", (2.0, 3.0)), ("linear", (19.5, 20.0))],
)
def test_too_few_temperatures_in_range_raise(model, temperature_range):
    with pytest.raises(DataError, match="temperature"):
        anomalous_hall_scaling(
            _series(SIGMA_AH * RHO_XX**2, "uohm*cm"),
            _series(RHO_XX, "mohm*cm"),
            model=model,
            temperature_range=temperature_range,
        )


def test_nan_readings_are_dropped():
    rng = np.random.default_rng(1405)
    values = _noisy(rng)
    with_nan = values.copy()
    with_nan[[3, 11]] = np.nan
    keep = np.isfinite(with_nan)
    out = anomalous_hall_scaling(_series(with_nan, "uohm*cm"), _series(RHO_XX, "mohm*cm"))
    reference = anomalous_hall_scaling(
        _series(values[keep], "uohm*cm", TEMPERATURES[keep]),
        _series(RHO_XX[keep], "mohm*cm", TEMPERATURES[keep]),
    )
    assert float(out.sigma_ah) == pytest.approx(float(reference.sigma_ah), rel=1e-12)


def test_infinite_values_raise():
    values = SIGMA_AH * RHO_XX**2
    values[4] = np.inf
    with pytest.raises(DataError, match="inf"):
        anomalous_hall_scaling(_series(values, "uohm*cm"), _series(RHO_XX, "mohm*cm"))


def test_unknown_model_and_missing_dim_raise():
    drho = _series(SIGMA_AH * RHO_XX**2, "uohm*cm")
    rho = _series(RHO_XX, "mohm*cm")
    with pytest.raises(SloxideError, match="model"):
        anomalous_hall_scaling(drho, rho, model="quadratic")
    with pytest.raises(DataError, match="temperature"):
        anomalous_hall_scaling(drho.rename(temperature="T"), rho.rename(temperature="T"))


# --------------------------------------------------------------------------- magnetization


def test_magnetization_normalization():
    # C10/L2-like: M still changes over 2–20 K, Δρ = σ·ρ²·M/M(2 K) (PHYSICS.md §1 item 9).
    m = 20.0 * (1.0 - 0.1 * ((TEMPERATURES - 2.0) / 18.0) ** 1.5)  # emu/cm³, 20 → 18
    drho = _series(SIGMA_AH * RHO_XX**2 * m / m[0], "uohm*cm")
    rho = _series(RHO_XX, "mohm*cm")
    magnetization = _series(m, "emu/cm^3")
    out = anomalous_hall_scaling(drho, rho, magnetization=magnetization)
    assert float(out.sigma_ah) == pytest.approx(SIGMA_AH, rel=1e-9)
    # Without the normalization the slope is biased by the falling M.
    raw = anomalous_hall_scaling(drho, rho)
    assert abs(float(raw.sigma_ah) - SIGMA_AH) > 0.01 * SIGMA_AH
    # M's scale and units do not matter, only its shape.
    scaled = anomalous_hall_scaling(drho, rho, magnetization=_series(m * 1e-3, "A*m^2"))
    assert float(scaled.sigma_ah) == pytest.approx(SIGMA_AH, rel=1e-9)


def test_magnetization_needs_units():
    with pytest.raises(UnitsError, match="magnetization"):
        anomalous_hall_scaling(
            _series(SIGMA_AH * RHO_XX**2, "uohm*cm"),
            _series(RHO_XX, "mohm*cm"),
            magnetization=_series(np.ones(TEMPERATURES.size), "emu").drop_attrs(),
        )


# --------------------------------------------------------------------------- vectorization


def _three_samples(rng):
    sigmas = np.array([0.30, 0.199, 0.05])
    rho = np.stack([RHO_XX * 3.0, RHO_XX, RHO_XX * 0.9])
    drho = sigmas[:, None] * rho**2 + rng.normal(0.0, NOISE, rho.shape)
    samples = ["C10/L2", "C10/L6", "C2/L6"]
    drho_da = _series(drho, "uohm*cm", extra_dims=("sample",)).assign_coords(sample=samples)
    rho_da = _series(rho, "mohm*cm", extra_dims=("sample",)).assign_coords(sample=samples)
    return drho_da, rho_da, sigmas


@pytest.mark.parametrize("model", ["paper", "intercept", "linear"])
def test_vectorized_over_samples_equals_per_sample_fits(model):
    rng = np.random.default_rng(1406)
    drho, rho, _ = _three_samples(rng)
    out = anomalous_hall_scaling(drho, rho, model=model)
    assert out.sigma_ah.dims == ("sample",)
    assert list(out.sample.values) == list(drho.sample.values)
    for sample in drho.sample.values:
        single = anomalous_hall_scaling(
            drho.sel(sample=sample), rho.sel(sample=sample), model=model
        )
        for name in single.data_vars:
            np.testing.assert_allclose(
                out[name].sel(sample=sample).values, single[name].values, rtol=1e-12, atol=0
            )


def test_vectorized_fit_recovers_each_sample():
    rng = np.random.default_rng(1407)
    drho, rho, sigmas = _three_samples(rng)
    out = anomalous_hall_scaling(drho, rho)
    stderr = out.sigma_ah_stderr.values
    assert np.all(np.abs(out.sigma_ah.values - sigmas) < 4 * stderr)


def test_dask_input_stays_lazy_and_matches_numpy():
    rng = np.random.default_rng(1408)
    drho, rho, _ = _three_samples(rng)
    eager = anomalous_hall_scaling(drho, rho, model="intercept")
    with dask.config.set(scheduler=_raise_if_computed):
        lazy = anomalous_hall_scaling(
            drho.chunk({"sample": 1}), rho.chunk({"sample": 1}), model="intercept"
        )
        assert lazy.sigma_ah.chunks is not None
        assert lazy.intercept_stderr.chunks is not None
    xr.testing.assert_allclose(lazy.compute(), eager, rtol=1e-14, atol=0)


# --------------------------------------------------------------------------- Monte Carlo


def test_stderr_matches_monte_carlo_scatter():
    # 50 seeded realizations, fitted in one vectorized call. The sample standard
    # deviation of 50 estimates scatters by ~1/sqrt(2·49) = 10 %, so ±30 % is 3σ.
    seeds = range(50)
    noise = np.stack(
        [np.random.default_rng(seed).normal(0.0, NOISE, RHO_XX.size) for seed in seeds]
    )
    rho = _series(np.broadcast_to(RHO_XX, noise.shape), "mohm*cm", extra_dims=("realization",))
    for model in ("paper", "intercept"):
        drho = _series(SIGMA_AH * RHO_XX**2 + noise, "uohm*cm", extra_dims=("realization",))
        out = anomalous_hall_scaling(drho, rho, model=model)
        scatter = float(out.sigma_ah.std(ddof=1))
        reported = float(np.sqrt((out.sigma_ah_stderr**2).mean()))
        assert reported == pytest.approx(scatter, rel=0.3), model
        # unbiased: the mean is within 3 standard errors of the mean of the truth
        assert abs(float(out.sigma_ah.mean()) - SIGMA_AH) < 3 * scatter / np.sqrt(len(seeds))


# --------------------------------------------------------------------------- accessor


def _dataset(rng):
    return xr.Dataset(
        {
            "delta_rho_ahe": ("temperature", _noisy(rng), {"units": "uohm*cm"}),
            "rho_xx": ("temperature", RHO_XX, {"units": "mohm*cm"}),
            "moment": ("temperature", 20.0 - 0.05 * TEMPERATURES, {"units": "emu/cm^3"}),
        },
        coords={"temperature": ("temperature", TEMPERATURES, {"units": "K"})},
    )


@pytest.mark.parametrize("model", ["paper", "intercept", "linear"])
def test_accessor_equals_function(model):
    ds = _dataset(np.random.default_rng(1409))
    via_accessor = ds.sloxide.ahe_scaling(model=model)
    direct = anomalous_hall_scaling(ds.delta_rho_ahe, ds.rho_xx, model=model)
    xr.testing.assert_identical(via_accessor, direct)


def test_accessor_finds_variables_by_quantity_and_takes_magnetization():
    ds = _dataset(np.random.default_rng(1410))
    renamed = ds.rename(delta_rho_ahe="drho", rho_xx="rho0")
    renamed["drho"].attrs["quantity"] = "delta_rho_ahe"
    renamed["rho0"].attrs["quantity"] = "rho_xx"
    xr.testing.assert_allclose(
        renamed.sloxide.ahe_scaling(), ds.sloxide.ahe_scaling(), rtol=1e-15, atol=0
    )
    with_m = ds.sloxide.ahe_scaling(magnetization="moment")
    direct = anomalous_hall_scaling(ds.delta_rho_ahe, ds.rho_xx, magnetization=ds.moment)
    xr.testing.assert_identical(with_m, direct)


def test_dataarray_accessor_equals_function():
    ds = _dataset(np.random.default_rng(1411))
    via = ds.delta_rho_ahe.sloxide.ahe_scaling(rho_xx=ds.rho_xx)
    xr.testing.assert_identical(via, anomalous_hall_scaling(ds.delta_rho_ahe, ds.rho_xx))


def test_accessor_missing_variable_lists_what_exists():
    ds = _dataset(np.random.default_rng(1412)).drop_vars("rho_xx")
    with pytest.raises(MissingVariableError) as info:
        ds.sloxide.ahe_scaling()
    assert "rho_xx=" in str(info.value)
    assert "delta_rho_ahe" in str(info.value)
