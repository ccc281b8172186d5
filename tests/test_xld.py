"""XLD geometry and orbital polarization: PHYSICS.md §4 and §8 checks 9 and 10."""

from __future__ import annotations

import dask
import dask.array
import numpy as np
import pytest
import xarray as xr

import sloxide  # noqa: F401
from sloxide.analysis.xld import (
    band_integrals,
    edge_step_function,
    geometry_weights,
    hole_ratio_from_polarization,
    incidence_intensity,
    orbital_polarization,
    xld,
)
from sloxide.errors import DataError

ENERGY = np.round(np.arange(862.0, 885.0, 0.1), 10)


def _gauss(e, center, fwhm, area=1.0):
    sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
    return area * np.exp(-0.5 * ((e - center) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


def _ni_l2_pair(polarization=0.19, angles=(90.0, 30.0), energy=ENERGY):
    """Normalized Ni L2 spectra with the §7 construction: iso white lines, D ∝ G(871.4, 1.3)."""
    iso = 0.5 * (_gauss(energy, 870.2, 0.9) + _gauss(energy, 871.2, 1.0)) + 0.5 * 1.6 * _gauss(
        energy, 871.6, 1.5
    )
    area_iso = 0.5 * 2 + 0.5 * 1.6
    _, r = hole_ratio_from_polarization(polarization)
    d = _gauss(energy, 871.4, 1.3, 3 * area_iso * (1 - r) / (r + 2))
    i_ab, i_c = iso + d / 3, iso - 2 * d / 3
    step = edge_step_function(energy, 870.6, 0.8)
    spectra = np.stack([incidence_intensity(i_ab, i_c, a) for a in angles]) + step
    return xr.DataArray(
        spectra,
        dims=("incidence_angle", "energy"),
        coords={
            "incidence_angle": ("incidence_angle", list(angles), {"units": "deg"}),
            "energy": ("energy", energy, {"units": "eV"}),
        },
        attrs={"units": "1"},
        name="norm",
    ), (i_ab, i_c)


def _raise_on_compute(dsk, keys, **kwargs):
    raise RuntimeError("a dask graph was computed")


def test_check10_geometry():
    i_30 = incidence_intensity(1.0, 1.2, 30.0)
    assert i_30 == pytest.approx(1.15, abs=1e-12)
    pair = xr.DataArray(
        [[1.0], [i_30]],
        dims=("incidence_angle", "energy"),
        coords={"incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"})},
        attrs={"units": "1"},
    )
    out = xld(pair)
    assert out.I_c.item() == pytest.approx(1.2, abs=1e-12)
    assert out.iso.item() == pytest.approx((2 + 1.2) / 3, abs=1e-12)
    assert out.xld.item() == pytest.approx(-0.2, abs=1e-12)
    assert out.I_ab.attrs["units"] == "1"


@pytest.mark.parametrize("angles", [(90.0, 45.0), (70.0, 20.0), (30.0, 90.0)])
def test_a_general_angle_pair_recovers_both_intensities(angles):
    pair, (i_ab, i_c) = _ni_l2_pair(angles=angles)
    out = xld(pair)
    step = edge_step_function(ENERGY, 870.6, 0.8)
    np.testing.assert_allclose(out.I_ab.values, i_ab + step, atol=1e-12)
    np.testing.assert_allclose(out.I_c.values, i_c + step, atol=1e-12)


def test_uncorrected_geometry_takes_the_grazing_spectrum_as_i_c():
    pair, (i_ab, i_c) = _ni_l2_pair()
    out = xld(pair, geometry_correction=False)
    np.testing.assert_allclose(out.xld.values, 0.75 * (i_ab - i_c), atol=1e-12)


def test_uncorrected_geometry_needs_a_normal_incidence_spectrum():
    pair, _ = _ni_l2_pair(angles=(60.0, 30.0))
    with pytest.raises(DataError, match="90°"):
        xld(pair, geometry_correction=False)


def test_a_pair_needs_two_distinct_angles():
    pair, _ = _ni_l2_pair()
    with pytest.raises(DataError, match="two incidence angles"):
        xld(pair.isel(incidence_angle=[0]))
    with pytest.raises(DataError, match="incidence_angle"):
        xld(pair.isel(incidence_angle=0))
    same = pair.assign_coords(incidence_angle=("incidence_angle", [30.0, 30.0], {"units": "deg"}))
    with pytest.raises(DataError, match="separate"):
        xld(same)
    assert geometry_weights([90.0, 30.0]).shape == (2, 2)


def test_check9_noise_free_polarization():
    pair, _ = _ni_l2_pair(0.19)
    out = orbital_polarization(pair)
    assert out.r.item() == pytest.approx(1.0981, abs=0.001)
    assert out.P.item() == pytest.approx(0.190, abs=0.002)
    assert out.hole_ratio.item() == pytest.approx(1.135, abs=0.002)
    uncorrected = orbital_polarization(pair, geometry_correction=False)
    assert uncorrected.P.item() == pytest.approx(0.144, abs=0.002)
    assert out.P.attrs["units"] == "1"
    assert out.attrs["step_center_eV"] == 870.6


@pytest.mark.parametrize("n_eg", [1.0, 1.3, 1.5])
def test_polarization_scales_with_n_eg(n_eg):
    pair, _ = _ni_l2_pair(0.19)
    p = orbital_polarization(pair, n_eg=n_eg).P.item()
    # P = (4/n_eg − 1)·(X − 1)/(X + 1) at fixed X.
    assert p == pytest.approx(0.19 * (4 / n_eg - 1) / 3, rel=1e-3)


def test_polarization_errors_match_the_scatter():
    # Noise 0.2 % of the (unit) edge step on both spectra, 300 realizations in one call.
    rng = np.random.default_rng(21)
    pair, _ = _ni_l2_pair(0.19)
    noisy = pair.expand_dims(realization=300) + 0.002 * rng.standard_normal((300, *pair.shape))
    noisy = noisy.assign_attrs(units="1")
    out = orbital_polarization(noisy)
    scatter = out.P.std().item()
    reported = out.P_stderr.mean().item()
    assert 0.7 < reported / scatter < 1.3
    assert abs(out.P.mean().item() - 0.19) < 4 * scatter / np.sqrt(300) + 1e-3


def test_dask_stays_lazy_and_equals_numpy():
    rng = np.random.default_rng(22)
    pair, _ = _ni_l2_pair(0.19)
    stack = pair.expand_dims(sample=4) + 0.001 * rng.standard_normal((4, *pair.shape))
    stack = stack.assign_attrs(units="1")
    with dask.config.set(scheduler=_raise_on_compute):
        lazy = orbital_polarization(stack.chunk({"sample": 2}))
        lazy_xld = xld(stack.chunk({"sample": 2}))
        assert isinstance(lazy.P.data, dask.array.Array)
        assert isinstance(lazy_xld.xld.data, dask.array.Array)
    xr.testing.assert_allclose(lazy.compute(), orbital_polarization(stack), rtol=1e-12)
    xr.testing.assert_allclose(lazy_xld.compute(), xld(stack), rtol=1e-12)


def test_energy_in_kev_gives_the_same_polarization():
    pair, _ = _ni_l2_pair(0.19)
    kev = pair.assign_coords(energy=("energy", ENERGY / 1000, {"units": "keV"}))
    assert orbital_polarization(kev).P.item() == pytest.approx(
        orbital_polarization(pair).P.item(), rel=1e-9
    )


def test_non_monotonic_energy_and_short_window_are_refused():
    pair, _ = _ni_l2_pair(0.19)
    with pytest.raises(DataError, match="increasing"):
        orbital_polarization(pair.isel(energy=np.r_[5:20, 0:5, 20 : ENERGY.size]))
    with pytest.raises(DataError, match="fewer than 3"):
        orbital_polarization(pair, window=(890.0, 895.0))


def test_hole_ratio_inverse_round_trip():
    x, r = hole_ratio_from_polarization(np.array([0.0, 0.1, 0.19]))
    np.testing.assert_allclose(x[0], 1.0)
    pair, _ = _ni_l2_pair(0.1)
    assert orbital_polarization(pair).P.item() == pytest.approx(0.1, abs=0.002)


def test_band_integrals_of_a_box_xld():
    e = np.round(np.arange(525.0, 546.0, 0.05), 10)
    signal = np.where((e >= 527.0) & (e <= 528.5), 0.06, 0.0) + np.where(
        (e >= 529.0) & (e <= 533.0), 0.04, 0.0
    )
    da = xr.DataArray(
        signal,
        dims="energy",
        coords={"energy": ("energy", e, {"units": "eV"})},
        attrs={"units": "1"},
    )
    out = band_integrals(da)
    assert list(out.band.values)[:2] == ["Ru t2g", "Ru eg"]
    assert out.integral.sel(band="Ru t2g").item() == pytest.approx(0.06 * 1.5, abs=0.06 * 0.05)
    assert out.integral.sel(band="Ru eg").item() == pytest.approx(0.04 * 4.0, abs=0.04 * 0.05)
    assert out.average.sel(band="La 5d / Ca 4d").item() == 0.0
