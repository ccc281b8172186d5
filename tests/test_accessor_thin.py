"""The accessor is thin: each method equals its pure function called on the same data.

STYLE.md §1: an accessor method resolves its variables, calls one typed function in
``sloxide.analysis`` and returns the result. Any physics left in the accessor (the
TEY/I0 ratio, a shared e0, the step height of normalized spectra) would make the pure
function, which pipelines import, give another answer on the same data.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from synthetic import hall_loop

import sloxide  # noqa: F401  (registers the accessor)
from sloxide.analysis import (
    amr,
    hall,
    loops,
    magnetization,
    mr,
    resistivity,
    scaling,
    valence,
    xas,
    xld,
)
from sloxide.model.magnetism import saturation_magnetization
from sloxide.units import Quantity

BAR = {"hall_bar": {"width_um": 200.0, "length_um": 1200.0}, "sample": {"thickness_nm": 61.54}}


def _same(accessor: xr.Dataset, function: xr.Dataset) -> None:
    xr.testing.assert_identical(accessor, function)


@pytest.fixture(scope="module")
def loop():
    return hall_loop(np.random.default_rng(5), rho_xx0=0.6, field_max=6.0, step=0.05)


@pytest.fixture(scope="module")
def resistances(loop):
    # The same loop as the raw resistances of the paper's Hall bar (PHYSICS.md §0).
    t = 61.54e-9 * 1e2  # cm
    r_xx = loop.rho_xx * 1e-3 / (200e-4 * t / 1200e-4)
    r_xy = loop.rho_xy * 1e-6 / t
    return xr.Dataset(
        {
            "R_xx": r_xx.assign_attrs(units="ohm", quantity="R_xx"),
            "R_xy": r_xy.assign_attrs(units="ohm", quantity="R_xy"),
            "field": loop.field,
        },
        attrs={"sloxide": BAR},
    )


def test_resistivity(resistances):
    function = resistivity.resistivity(
        resistances.R_xx,
        resistances.R_xy,
        width=Quantity(200.0, "um"),
        length=Quantity(1200.0, "um"),
        thickness=Quantity(61.54, "nm"),
    )
    _same(resistances.sloxide.resistivity(), function)


def test_branches_ahe_and_mr(loop):
    binned = loops.branches(loop[["rho_xy", "rho_xx"]], loop.field, dim="time")
    for name in ("rho_xy", "rho_xx"):
        xr.testing.assert_identical(loop.sloxide.branches()[name], binned[name])
    _same(loop.sloxide.ahe(), hall.anomalous_hall(binned.rho_xy, binned.rho_xx))
    _same(loop.sloxide.mr(), mr.magnetoresistance(binned.rho_xx))


def test_ahe_scaling():
    t = np.arange(2.0, 42.0, 2.0)
    rho = 0.38 + 1e-4 * t**2
    ds = xr.Dataset(
        {
            "delta_rho_ahe": ("temperature", 0.19 * rho**2, {"units": "uohm*cm"}),
            "rho_xx": ("temperature", rho, {"units": "mohm*cm"}),
        },
        coords={"temperature": ("temperature", t, {"units": "K"})},
    )
    _same(ds.sloxide.ahe_scaling(), scaling.anomalous_hall_scaling(ds.delta_rho_ahe, ds.rho_xx))


def test_curie_temperature():
    t = np.arange(150.0, 1.0, -2.0)
    moment = saturation_magnetization(t) - 0.01 + 0.5 / t  # film + substrate, raw
    ds = xr.Dataset(
        {
            "temperature": ("time", t, {"units": "K"}),
            "moment": ("time", moment, {"units": "emu"}),
        }
    )
    function = magnetization.curie_temperature(ds.moment, ds.temperature, dim="time")
    _same(ds.sloxide.curie_temperature(), function)


@pytest.fixture(scope="module")
def rotation():
    theta = np.arange(0.0, 360.0, 5.0)
    rng = np.random.default_rng(6)
    r = 585.0 * (1 - 1e-3 * np.cos(np.deg2rad(2 * theta))) + 0.006 * rng.standard_normal(72)
    return xr.Dataset(
        {"R_xx": ("angle", r, {"units": "ohm", "quantity": "R_xx"})},
        coords={"angle": ("angle", theta, {"units": "deg"})},
    )


def test_amr_and_its_harmonics(rotation):
    _same(rotation.sloxide.amr(), amr.amr(rotation.R_xx))
    _same(rotation.sloxide.amr_harmonics(), amr.amr_harmonics(rotation.R_xx))
    _same(
        rotation.sloxide.amr_harmonics(fit=True, reference="mean"),
        amr.amr_harmonics(rotation.R_xx, fit=True, reference="mean"),
    )


@pytest.fixture(scope="module")
def xld_pair():
    """Raw TEY and a drifting I0 of a Ni L2 pair, in percent of the flux (a unit that must
    not change P: the step height of the normalized spectra follows it)."""
    e = np.round(np.arange(862.0, 885.0, 0.1), 10)
    line = np.exp(-0.5 * ((e - 871.0) / 0.6) ** 2)
    norm = np.stack([line, 0.25 * line + 0.75 * 1.0981 * line]) + xld.edge_step_function(
        e, 870.6, 0.8
    )
    i0 = 2.0 + 0.01 * np.sin(np.arange(e.size))[None, :] + np.zeros((2, 1))
    tey = i0 * (0.1 + 0.002 * (e - 862.0) + 0.35 * norm)
    dims = ("incidence_angle", "energy")
    return xr.Dataset(
        {
            "tey": (dims, tey, {"units": "pA", "quantity": "tey"}),
            "i0": (dims, i0, {"units": "pA", "quantity": "i0"}),
        },
        coords={
            "incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"}),
            "energy": ("energy", e, {"units": "eV"}),
        },
    )


def test_x_ray_methods(xld_pair):
    mu = xas.absorption(xld_pair.tey, xld_pair.i0)
    normalized = xas.normalize_xas(mu)  # shares e0 along incidence_angle, as the accessor
    _same(xld_pair.sloxide.normalize_xas(), normalized)
    _same(xld_pair.sloxide.xld(), xld.xld(normalized.norm))
    _same(xld_pair.sloxide.orbital_polarization(), xld.orbital_polarization(normalized.norm))
    _same(xld_pair.sloxide.ni_valence(), valence.ni_valence(xld.xld(normalized.norm)["iso"]))
    # The same normalized spectra in percent: the default step height follows the units.
    percent = (100 * normalized.norm).assign_attrs(units="percent")
    in_percent = xld.orbital_polarization(percent)
    in_ones = xld.orbital_polarization(normalized.norm)
    assert float(in_percent.P) == pytest.approx(float(in_ones.P), rel=1e-12)
