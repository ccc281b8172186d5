"""The X-ray and rotation methods of the accessor on run-shaped Datasets, with zero arguments."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sloxide  # noqa: F401
from sloxide.analysis.xas import normalize_xas
from sloxide.analysis.xld import (
    edge_step_function,
    hole_ratio_from_polarization,
    incidence_intensity,
    orbital_polarization,
    xld,
)
from sloxide.errors import MissingVariableError

ENERGY = np.round(np.arange(862.0, 885.0, 0.1), 10)


def _gauss(e, center, fwhm, area=1.0):
    sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
    return area * np.exp(-0.5 * ((e - center) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


def _tey_pair(rng, polarization=0.19, step=0.35, noise=0.0):
    """Raw TEY and I0 of an XLD pair: a sloping pre-edge, an edge step, white lines."""
    iso = (
        _gauss(ENERGY, 870.2, 0.9, 0.5)
        + _gauss(ENERGY, 871.2, 1.0, 0.5)
        + _gauss(ENERGY, 871.6, 1.5, 0.8)
    )
    _, r = hole_ratio_from_polarization(polarization)
    d = _gauss(ENERGY, 871.4, 1.3, 3 * 1.8 * (1 - r) / (r + 2))
    i_ab, i_c = iso + d / 3, iso - 2 * d / 3
    angles = [90.0, 30.0]
    absorption = np.stack([incidence_intensity(i_ab, i_c, a) for a in angles])
    absorption = absorption + edge_step_function(ENERGY, 870.6, 0.8)
    i0 = 2.0 + 0.001 * (ENERGY - 862.0)
    tey = i0 * (0.1 + 0.002 * (ENERGY - 862.0) + step * absorption)
    if noise:
        tey = tey + noise * step * rng.standard_normal(tey.shape)
    return xr.Dataset(
        {
            "beamline_tey": (
                ("incidence_angle", "energy"),
                tey,
                {"units": "pA", "quantity": "tey"},
            ),
            "beamline_i0": (
                ("incidence_angle", "energy"),
                np.broadcast_to(i0, tey.shape),
                {"units": "pA", "quantity": "i0"},
            ),
        },
        coords={
            "incidence_angle": ("incidence_angle", angles, {"units": "deg"}),
            "energy": ("energy", ENERGY, {"units": "eV", "quantity": "energy"}),
        },
    )


def test_normalize_xas_shares_one_e0_across_the_pair():
    ds = _tey_pair(np.random.default_rng(31))
    out = ds.sloxide.normalize_xas()
    assert out.e0.sel(incidence_angle=90.0).item() == out.e0.sel(incidence_angle=30.0).item()
    for name in ("pre1", "pre2", "norm1", "norm2"):
        assert np.unique(out[name].values).size == 1
    mu = ds.beamline_tey / ds.beamline_i0
    reference = normalize_xas(mu.assign_attrs(units="1"), e0=out.e0.isel(incidence_angle=0).item())
    np.testing.assert_allclose(out.norm.values, reference.norm.values, rtol=1e-12)


def test_xld_and_polarization_with_zero_arguments():
    ds = _tey_pair(np.random.default_rng(32))
    norm = ds.sloxide.normalize_xas(870.0, -8, -3, 9, 15).norm
    expected = xld(norm)
    np.testing.assert_allclose(
        ds.sloxide.xld().xld.values,
        xld(ds.sloxide.normalize_xas().norm).xld.values,
        rtol=1e-12,
    )
    with_norm = xr.Dataset({"norm": norm})
    xr.testing.assert_allclose(with_norm.sloxide.xld(), expected)
    p = with_norm.sloxide.orbital_polarization()
    assert p.P.item() == pytest.approx(orbital_polarization(norm).P.item(), rel=1e-12)
    # The edge step normalizes to 1, so P comes back near the 0.19 that built the data.
    assert p.P.item() == pytest.approx(0.19, abs=0.02)


def test_ni_valence_of_a_pair_fits_the_isotropic_spectrum():
    ds = _tey_pair(np.random.default_rng(33))
    norm = ds.sloxide.normalize_xas(870.0, -8, -3, 9, 15).norm
    out = xr.Dataset({"norm": norm}).sloxide.ni_valence()
    assert out.ratio.ndim == 0
    assert 0.0 < out.ratio.item() < 1.0
    assert out.ratio.attrs["units"] == "1"


def test_a_dataset_without_spectra_names_what_it_has():
    ds = xr.Dataset({"R_xx": ("time", np.ones(5), {"units": "ohm"})})
    with pytest.raises(MissingVariableError, match="R_xx"):
        ds.sloxide.xld()


@pytest.mark.parametrize(("noise", "quoted"), [(0.0005, 0.012), (0.002, 0.05)])
def test_check9_polarization_scatter_through_the_whole_pipeline(noise, quoted):
    # PHYSICS.md §8 check 9: TEY noise of 0.05 % / 0.2 % of the edge step makes P scatter by
    # about ±0.012 / ±0.05, mostly through the pre-edge line extrapolated under the edge.
    # 200 noisy pairs, normalized with the shared Ni L2 windows, in one call.
    rng = np.random.default_rng(34)
    base = _tey_pair(rng)
    n = 200
    shape = (n, *base.beamline_tey.shape)
    tey = base.beamline_tey.values + noise * 0.35 * base.beamline_i0.values * rng.standard_normal(
        shape
    )
    ds = xr.Dataset(
        {
            "tey": (("pair", "incidence_angle", "energy"), tey, {"units": "pA"}),
            "i0": (("incidence_angle", "energy"), base.beamline_i0.values, {"units": "pA"}),
        },
        coords=base.coords,
    )
    norm = ds.sloxide.normalize_xas(870.0, -8, -3, 9, 15).norm
    out = orbital_polarization(norm)
    scatter = out.P.std().item()
    assert abs(out.P.mean().item() - 0.19) < 4 * scatter / np.sqrt(n) + 0.002
    # Same order as quoted (the windows behind the quoted numbers are not stated).
    assert 0.5 < scatter / quoted < 1.5
    # P_stderr covers the integration noise only: the normalization dominates.
    assert out.P_stderr.mean().item() < scatter
