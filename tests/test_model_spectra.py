"""The X-ray absorption model (sloxide.model.spectra) checked through the analysis code.

PHYSICS.md §4, §7 ("XAS") and §8 check 9. Noise-free unless a seed is stated.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import xarray as xr

import sloxide  # noqa: F401
from sloxide.analysis.valence import ni_valence
from sloxide.analysis.xas import normalize_xas
from sloxide.analysis.xld import (
    NI_L2_STEP_CENTER,
    NI_L2_STEP_WIDTH,
    NI_L2_WINDOW,
    O_K_BANDS,
    band_integrals,
    edge_step_function,
    incidence_intensity,
    orbital_polarization,
    xld,
)
from sloxide.demo import PAPER_NI_L2_RATIO  # the paper's numbers, as the demo compares them
from sloxide.errors import SloxideError
from sloxide.model import spectra
from sloxide.model.samples import SAMPLES
from sloxide.model.spectra import EDGES, absorption, add_noise, tey

NI_SAMPLES = [name for name, s in SAMPLES.items() if s.has_nickel]
SUPERLATTICES = [name for name, s in SAMPLES.items() if s.has_nickel and s.has_ruthenium]
# The magic angle: sin²θ = 2/3, so I(θ) = (2·I_ab + I_c)/3 = iso.
MAGIC_ANGLE = float(np.rad2deg(np.arcsin(np.sqrt(2.0 / 3.0))))


def _spectra(values, energy, angles=None, units="1"):
    dims = ("energy",) if angles is None else ("incidence_angle", "energy")
    coords = {"energy": ("energy", energy, {"units": "eV"})}
    if angles is not None:
        coords["incidence_angle"] = ("incidence_angle", list(angles), {"units": "deg"})
    return xr.DataArray(values, dims=dims, coords=coords, attrs={"units": units})


def _pair(sample, edge, energy=None, angles=(90.0, 30.0)):
    """The normalized XLD pair of a sample at an edge, on dims (incidence_angle, energy)."""
    e = EDGES[edge].energies() if energy is None else energy
    mu = absorption(sample, e, np.asarray(angles)[:, None], edge)
    return _spectra(mu, e, angles)


def _integral(y, e, window=NI_L2_WINDOW):
    inside = (e >= window[0]) & (e <= window[1])
    return np.trapezoid(y[..., inside], e[inside], axis=-1)


# --------------------------------------------------------------------------- §8 check 9


def test_check9_noise_free_model_spectra_through_the_analysis():
    out = orbital_polarization(_pair("C2/L2", "Ni L2"))
    assert out.r.item() == pytest.approx(1.0981, abs=0.001)
    assert out.P.item() == pytest.approx(0.190, abs=0.002)
    uncorrected = orbital_polarization(_pair("C2/L2", "Ni L2"), geometry_correction=False)
    assert uncorrected.P.item() == pytest.approx(0.144, abs=0.002)


def test_check9_through_raw_tey_and_the_shared_normalization():
    # A sloping I0 and the default linear TEY background; normalize with the §4 Ni L2 windows.
    e = EDGES["Ni L2"].energies()
    i0 = 2.0 + 0.001 * (e - 862.0)
    signal = tey("C2/L2", e, np.array([90.0, 30.0])[:, None], "Ni L2", i0=i0, step=0.35)
    mu = _spectra(signal / i0, e, (90.0, 30.0))
    ni = EDGES["Ni L2"]
    (pre1, pre2), (norm1, norm2) = ni.pre_eV, ni.norm_eV
    norm = normalize_xas(mu, e0=ni.e0_eV, pre1=pre1, pre2=pre2, norm1=norm1, norm2=norm2)
    np.testing.assert_allclose(norm.edge_step.values, 0.35, rtol=1e-4)
    assert orbital_polarization(norm.norm).P.item() == pytest.approx(0.19, abs=0.005)


@pytest.mark.parametrize("name", NI_SAMPLES)
def test_every_sample_gives_back_its_orbital_polarization(name):
    out = orbital_polarization(_pair(name, "Ni L2"))
    assert out.P.item() == pytest.approx(SAMPLES[name].orbital_polarization, abs=0.002)


# --------------------------------------------------------------------------- Ni L2


@pytest.mark.parametrize("name", SUPERLATTICES)
def test_ni_l2_xld_is_negative_for_every_superlattice(name):
    # P > 0: d(x²−y²) holes preferred, so ∫(I_ab − I_c) < 0 over the Ni L2 window.
    e = EDGES["Ni L2"].energies()
    pair = xld(_pair(name, "Ni L2"))
    assert _integral(pair.xld.values, e) < 0
    # Uncorrected I_90 − I_30 is 0.75·XLD (PHYSICS.md §4).
    raw = _pair(name, "Ni L2").values
    np.testing.assert_allclose(raw[0] - raw[1], 0.75 * pair.xld.values, atol=1e-12)


def test_c2l2_xld_over_iso_matches_the_derived_table():
    # PHYSICS.md §4 [D]: P = 0.19, n_eg = 1 gives ∫XLD/∫iso = −9.5 % (iso without its step).
    e = EDGES["Ni L2"].energies()
    pair = xld(_pair("C2/L2", "Ni L2"))
    white = pair.iso.values - edge_step_function(e, NI_L2_STEP_CENTER, NI_L2_STEP_WIDTH)
    assert _integral(pair.xld.values, e) / _integral(white, e) == pytest.approx(-0.095, abs=0.002)


@pytest.mark.parametrize(("grid", "tolerance"), [(0.1, 0.0005), (0.05, 0.005), (0.2, 0.01)])
def test_ni_valence_finds_the_papers_ratio_from_the_physical_ni2_fractions(grid, tolerance):
    # The model holds Ni²⁺ fractions, not ratios; they were chosen (rounded to 0.001) so the
    # fit gives the paper's ratios on the 0.1 eV grid, within 0.0005 (dratio/dx ≈ 0.5). The
    # fit itself depends on the sampling: ≈ −0.002 on a 0.05 eV grid, +0.004–0.005 on 0.2.
    e = EDGES["Ni L2"].energies(grid)
    iso = np.stack([absorption(name, e, MAGIC_ANGLE, "Ni L2") for name in NI_SAMPLES])
    out = ni_valence(
        xr.DataArray(
            iso,
            dims=("sample", "energy"),
            coords={"sample": NI_SAMPLES, "energy": ("energy", e, {"units": "eV"})},
            attrs={"units": "1"},
        )
    )
    assert bool(out.converged.all())
    expected = np.array([PAPER_NI_L2_RATIO[name] for name in NI_SAMPLES])
    np.testing.assert_allclose(out.ratio.values, expected, atol=tolerance)
    ratio = dict(zip(NI_SAMPLES, out.ratio.values, strict=True))
    # [P] I_a/(I_a + I_b) rises with n (CRO) and falls with m (LNO).
    assert ratio["C10/L2"] > ratio["C2/L2"] and ratio["C10/L6"] > ratio["C2/L6"]
    assert ratio["C10/L2"] > ratio["C10/L4"] > ratio["C10/L6"] > ratio["C10/L8"]
    assert ratio["C2/L2"] > ratio["C2/L6"]
    assert min(ratio, key=ratio.get) == "LNO"


def test_magic_angle_spectrum_is_the_isotropic_one():
    pair = xld(_pair("C2/L2", "Ni L2"))
    magic = absorption("C2/L2", EDGES["Ni L2"].energies(), MAGIC_ANGLE, "Ni L2")
    np.testing.assert_allclose(magic, pair.iso.values, atol=1e-12)


# --------------------------------------------------------------------------- O K


def test_o_k_xld_of_c2l2_is_positive_on_the_first_two_bands():
    pair = xld(_pair("C2/L2", "O K"))
    average = band_integrals(pair.xld).average
    names = list(O_K_BANDS)
    assert average.sel(band=names[0]).item() > 0
    assert average.sel(band=names[1]).item() > 0
    # Sizes as in PHYSICS.md §7 (band averages, units of the normalized step).
    assert average.sel(band=names[0]).item() == pytest.approx(0.06, abs=0.002)
    assert average.sel(band=names[1]).item() == pytest.approx(0.04, abs=0.002)


def test_o_k_has_no_xld_in_the_other_samples():
    for name in SAMPLES:
        if name in spectra.O_K_XLD:
            continue
        pair = _pair(name, "O K")
        np.testing.assert_allclose(pair.values[0], pair.values[1], atol=1e-15, err_msg=name)


def test_o_k_ru_eg_band_is_weaker_in_the_superlattices_than_in_cro():
    # [P] "the reduced intensity of the peak from 528.7 to 533.1 eV for the SLs".
    e = EDGES["O K"].energies()
    band = {"Ru eg": O_K_BANDS["Ru eg"]}
    cro = band_integrals(_spectra(absorption("CRO", e, MAGIC_ANGLE, "O K"), e), bands=band)
    for name in SUPERLATTICES:
        sl = band_integrals(_spectra(absorption(name, e, MAGIC_ANGLE, "O K"), e), bands=band)
        assert sl.average.item() < cro.average.item() - 0.05, name


# --------------------------------------------------------------------------- Ru M


def _shift_by_cross_correlation(a, b, step):
    """Shift of b against a (b(E) ≈ a(E − s)) from the peak of the cross-correlation of dμ/dE."""
    da, db = np.gradient(a, step), np.gradient(b, step)
    corr = np.correlate(db, da, mode="full")
    k = int(np.argmax(corr))
    # Three-point parabola through the maximum.
    y0, y1, y2 = corr[k - 1 : k + 2]
    frac = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    return (k - (a.size - 1) + frac) * step


@pytest.mark.parametrize("name", SUPERLATTICES)
def test_ru_m_of_superlattices_is_shifted_up_against_cro(name):
    step = 0.05
    e = EDGES["Ru M"].energies(step)
    cro = absorption("CRO", e, 90.0, "Ru M")
    sl = absorption(name, e, 90.0, "Ru M")
    assert _shift_by_cross_correlation(cro, sl, step) == pytest.approx(0.3, abs=0.05)
    # The M3 maximum moves by the same amount.
    window = (e > 455) & (e < 470)
    peak = e[window][np.argmax(sl[window])] - e[window][np.argmax(cro[window])]
    assert peak == pytest.approx(0.3, abs=step + 1e-9)


def test_ru_m_is_isotropic_and_cro_has_no_shift():
    e = EDGES["Ru M"].energies()
    pair = _pair("C10/L6", "Ru M")
    np.testing.assert_allclose(pair.values[0], pair.values[1], atol=1e-15)
    # Bare CRO M3 line sits at 463.0 eV: its derivative-free maximum is near the centre.
    cro = absorption("CRO", e, 90.0, "Ru M")
    window = (e > 455) & (e < 470)
    assert abs(e[window][np.argmax(cro[window])] - 463.0) < 1.0


# --------------------------------------------------------------------------- edges and samples


@pytest.mark.parametrize(
    ("name", "edge"), [("C10/L6", "Ni L2"), ("LNO", "Ni L2"), ("CRO", "O K"), ("CRO", "Ru M")]
)
def test_normalized_edge_step_is_one(name, edge):
    spec = EDGES[edge]
    mu = absorption(name, [spec.start_eV, spec.stop_eV], 90.0, edge)
    np.testing.assert_allclose(mu, [0.0, 1.0], atol=1e-3)


@pytest.mark.parametrize(("name", "edge"), [("CRO", "Ni L2"), ("LNO", "Ru M")])
def test_a_missing_element_gives_a_flat_background(name, edge):
    e = EDGES[edge].energies()
    assert np.all(absorption(name, e, [[90.0], [30.0]], edge) == 0.0)
    signal = tey(name, e, 90.0, edge, background=(0.1, 0.002))
    np.testing.assert_allclose(signal, 0.1 + 0.002 * (e - EDGES[edge].start_eV), atol=1e-15)


def test_unknown_edges_and_samples_name_the_valid_ones():
    with pytest.raises(SloxideError, match="Ni L2"):
        absorption("C10/L6", 870.0, 90.0, "Fe L3")
    with pytest.raises(ValueError, match="C10/L6"):
        absorption("C10/L7", 870.0, 90.0, "Ni L2")
    # Case and the spectroscopic spelling of the Ru edges are accepted.
    e = EDGES["Ru M"].energies()
    np.testing.assert_array_equal(
        absorption("CRO", e, 90.0, "ru m2,3"), absorption(SAMPLES["CRO"], e, 90.0, "Ru M")
    )


def test_edges_match_physics_table():
    assert {k: v.e0_eV for k, v in EDGES.items()} == {"Ni L2": 870.0, "O K": 543.1, "Ru M": 461.5}
    for edge in EDGES.values():
        e = edge.energies()
        assert e[0] == edge.start_eV and e[-1] == edge.stop_eV
        assert np.allclose(np.diff(e), edge.step_eV)


# --------------------------------------------------------------------------- geometry and shapes


@pytest.mark.parametrize("edge", list(EDGES))
def test_intensity_follows_the_incidence_geometry(edge):
    e = EDGES[edge].energies()
    i_ab = absorption("C2/L2", e, 90.0, edge)
    i_c = absorption("C2/L2", e, 0.0, edge)
    i_30 = absorption("C2/L2", e, 30.0, edge)
    np.testing.assert_allclose(i_30, 0.25 * i_ab + 0.75 * i_c, atol=1e-12)
    np.testing.assert_allclose(i_30, incidence_intensity(i_ab, i_c, 30.0), atol=1e-12)
    # The analysis inverts the pair into the same I_c.
    np.testing.assert_allclose(xld(_pair("C2/L2", edge)).I_c.values, i_c, atol=1e-12)


def test_vectorized_over_energy_and_broadcast_over_angles():
    e = EDGES["Ni L2"].energies()
    angles = np.array([90.0, 60.0, 30.0])
    stack = absorption("C10/L6", e, angles[:, None], "Ni L2")
    assert stack.shape == (3, e.size)
    assert absorption("C10/L6", 871.0, 30.0, "Ni L2").shape == ()
    assert absorption("C10/L6", e, 30.0, "Ni L2").shape == e.shape
    assert absorption("C10/L6", 871.0, angles, "Ni L2").shape == (3,)
    # Point by point equals the whole scan, as a simulated detector reads it.
    points = np.array([absorption("C10/L6", x, 60.0, "Ni L2") for x in e[::10]])
    np.testing.assert_allclose(points, stack[1, ::10], rtol=1e-14)
    i0 = 1.0 + 0.01 * np.arange(e.size)
    assert tey("C10/L6", e, angles[:, None], "Ni L2", i0=i0).shape == (3, e.size)


# --------------------------------------------------------------------------- noise


def test_noise_is_a_tenth_of_a_percent_of_the_step():
    rng = np.random.default_rng(2024)
    e = EDGES["Ni L2"].energies()
    clean = np.broadcast_to(tey("C10/L6", e, 90.0, "Ni L2", i0=2.0, step=0.35), (1000, e.size))
    noisy = add_noise(clean, 2.0 * 0.35, rng)
    residual = noisy - clean
    assert residual.std() == pytest.approx(0.001 * 0.7, rel=0.05)
    assert abs(residual.mean()) < 5 * 0.001 * 0.7 / np.sqrt(residual.size)


def test_noise_is_seeded_by_the_caller():
    signal = np.zeros(50)
    first = add_noise(signal, 0.35, np.random.default_rng(5))
    np.testing.assert_array_equal(first, add_noise(signal, 0.35, np.random.default_rng(5)))
    assert not np.array_equal(first, add_noise(signal, 0.35, np.random.default_rng(6)))
    assert add_noise(signal, 0.35, np.random.default_rng(5), level=0.0).std() == 0.0
    with pytest.raises(SloxideError, match="level"):
        add_noise(signal, 0.35, np.random.default_rng(5), level=-0.001)


def test_public_functions_have_doctested_examples():
    # tests/test_docstrings.py does not list sloxide.model.spectra yet.
    for name in spectra.__all__:
        obj = getattr(spectra, name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Examples\n--------" in doc and ">>> " in doc, name
