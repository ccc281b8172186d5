"""ds.sloxide.hysteresis(): M(H) loops from a VSM/SQUID, synthetic and real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sloxide  # noqa: F401
from sloxide.analysis.hysteresis import hysteresis
from sloxide.errors import FitError, UnitsError

DATA = Path(__file__).resolve().parent / "data"
STEP_OE = 200.0
MS, HC, HEB, SLOPE, WIDTH = 3e-5, 0.3, 0.02, -2e-6, 0.08  # emu, T, T, emu/T, T


def _loop(noise=0.0, seed=0, ms=MS, hc=HC, heb=HEB, slope=SLOPE):
    """0 → +5 → −5 → +5 T in 200 Oe, as a magnetometer sweeps it (field in Oe)."""
    k = int(5e4 / STEP_OE)
    h = np.r_[0 : k + 1, k - 1 : -k - 1 : -1, -k + 1 : k + 1] * STEP_OE
    up = np.r_[np.ones(k + 1), -np.ones(2 * k), np.ones(2 * k)]
    t = h * 1e-4
    m = ms * np.tanh((t - heb - up * hc) / WIDTH) + slope * t
    m = m + noise * np.random.default_rng(seed).standard_normal(m.size)
    return xr.Dataset(
        {
            "field": ("time", h, {"units": "Oe", "quantity": "field"}),
            "moment": ("time", m, {"units": "emu", "quantity": "moment"}),
        }
    )


@pytest.mark.parametrize("noise", [0.0, 1e-7])
def test_synthetic_loop_parameters_are_recovered(noise):
    out = _loop(noise).sloxide.hysteresis()
    # Tolerances from the noise: 1e-7 emu on a 3e-5 emu loop, 0.02 T grid steps and a
    # tanh width of 0.08 T put H_C within a few mT and M_s within 0.1 %.
    assert out.coercive_field.item() == pytest.approx(HC, abs=2e-3 + 30 * noise / MS * WIDTH)
    assert out.exchange_bias.item() == pytest.approx(HEB, abs=2e-3 + 30 * noise / MS * WIDTH)
    assert out.saturation_moment.item() == pytest.approx(MS, rel=1e-3)
    assert out.background_slope.item() == pytest.approx(SLOPE, rel=2e-2, abs=5e-8)
    expected_remanence = MS * np.tanh((HC - HEB) / WIDTH)  # the down branch at zero field
    assert out.remanence.item() == pytest.approx(expected_remanence, rel=5e-3)
    assert out.coercive_field.attrs["units"] == "T"
    assert out.saturation_moment.attrs["units"] == "emu"
    assert out.background_slope.attrs["units"] == "emu / T"
    assert set(out.moment_corrected.dims) == {"branch", "field"}


def test_vectorized_over_temperature_and_equal_to_the_function():
    loops = xr.concat([_loop(hc=0.3), _loop(hc=0.1)], dim="temperature")
    loops = loops.assign_coords(temperature=("temperature", [2.0, 50.0], {"units": "K"}))
    binned = loops.sloxide.branches()
    out = binned.sloxide.hysteresis()
    assert out.coercive_field.dims == ("temperature",)
    assert out.coercive_field.values == pytest.approx([0.3, 0.1], abs=2e-3)
    direct = hysteresis(binned["moment"])
    xr.testing.assert_allclose(direct.coercive_field, out.coercive_field)


def test_dask_input_stays_lazy():
    pytest.importorskip("dask")
    loops = xr.concat([_loop(), _loop(seed=1, noise=1e-8)], dim="sample")
    binned = loops.sloxide.branches().chunk({"sample": 1})
    out = binned.sloxide.hysteresis()
    assert out.coercive_field.chunks is not None
    assert out.coercive_field.compute().values == pytest.approx([HC, HC], abs=2e-3)


def test_a_paramagnet_has_no_coercive_field():
    out = _loop(noise=1e-8, ms=0.0, slope=1e-5).sloxide.hysteresis()
    assert np.isnan(out.coercive_field.item())
    assert out.background_slope.item() == pytest.approx(1e-5, rel=1e-3)


def test_errors_speak_of_moments():
    ds = _loop()
    ds["moment"].attrs["units"] = "ohm"
    with pytest.raises(UnitsError, match="moment"):
        ds.sloxide.hysteresis()
    with pytest.raises(FitError, match="background fit window") as info:
        _loop().sloxide.hysteresis(fit_min_field=0.1)  # inside the open loop
    assert "rho" not in str(info.value) and "µΩ" not in str(info.value)


def test_a_real_mpms3_loop():
    from sloxide.io import read_multivu
    from sloxide.multivu import split_segments

    # A molecular-magnet powder at 5 K (tests/data/README.md): the up branch crosses
    # zero between 0.8 and 2 T, the down branch between −0.9 and −3 T; M at ±60 Oe on
    # the down branch is 0.178 and 0.121 emu; the largest |M| is 0.385 emu at 7 T.
    (loop,) = split_segments(read_multivu(DATA / "mpms3_dc_mvsh_5K.dat"))
    out = loop.sloxide.hysteresis()
    assert 0.8 < out.coercive_field.item() < 2.5
    assert abs(out.exchange_bias.item()) < 0.3
    assert 0.10 < out.remanence.item() < 0.2
    assert 0.25 < out.saturation_moment.item() < 0.385
    assert out.background_slope.item() > 0  # the paramagnetic rise at high field
