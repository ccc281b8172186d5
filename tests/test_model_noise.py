"""The simulation is as noisy as PHYSICS.md §7 says, and the analysis recovers that noise.

Each test measures a noise figure on simulated readings (through the SimWorld, as the
devices read them) and compares it with §7 within a tolerance set by the number of
readings: the sample standard deviation of n Gaussian residuals with ν degrees of freedom
has a relative standard error 1/√(2ν), and the tests allow 4 of those.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.signal import savgol_filter

import sloxide  # noqa: F401  (the accessor)
from sloxide.devices.sim import SimWorld
from sloxide.model import magnetometry, magnetotransport, spectra
from sloxide.model.magnetism import LoopMemory
from sloxide.model.samples import SAMPLES


def _allowance(dof: int) -> float:
    """Four relative standard errors of a standard deviation estimated with ``dof``."""
    return 4.0 / np.sqrt(2.0 * dof)


# --------------------------------------------------------------------------- AMR


def _rotation(world: SimWorld, plane: str, step: float, temperature: float = 5.0) -> xr.Dataset:
    """One AMR rotation through the world, as amr_rotation reads it: R_xx over angle."""
    world.plane = plane
    world.command("temperature", temperature)
    world.command("field", 9.0)
    angles = np.arange(0.0, 360.0, step)
    r_xx = []
    for angle in angles:
        world.command("angle", float(angle))
        r_xx.append(world.hall_resistances()[0])
    return xr.Dataset(
        {"R_xx": ("angle", np.array(r_xx), {"units": "ohm"})},
        coords={"angle": ("angle", angles, {"units": "deg"})},
    )


@pytest.mark.parametrize(("sample", "plane"), [("C10/L2", "(001)"), ("C2/L6", "(001)")])
def test_amr_residual_rms_is_the_section7_noise(sample, plane):
    # 1° steps: 360 readings, 5 fitted parameters (c0, c2, ω2, c4, ω4).
    rotation = _rotation(SimWorld(sample=sample, seed=11), plane, 1.0)
    fit = rotation.sloxide.amr_harmonics()
    n, p = rotation.angle.size, 5
    # AMR = (R − R_max)/R_max in %, and R_max differs from every R by < 0.2 %.
    assert float(fit.residual_rms) == pytest.approx(
        magnetotransport.NOISE_AMR, rel=_allowance(n - p)
    )


def test_amr_noise_over_many_rotations_and_the_stated_errors():
    # 40 rotations at 10° (the demo's step): the pooled residual RMS pins the noise to ±2 %,
    # and the reported c2 error σ·√(2/N) matches the scatter of c2 between rotations.
    world = SimWorld(sample="C10/L2", seed=3)
    rotations = xr.concat([_rotation(world, "(001)", 10.0) for _ in range(40)], dim="repeat")
    fit = rotations.sloxide.amr_harmonics()
    n, p = rotations.angle.size, 5
    pooled = float(np.sqrt((fit.residual_rms**2).mean()))
    assert pooled == pytest.approx(magnetotransport.NOISE_AMR, rel=_allowance(40 * (n - p)))
    c2 = fit.c.sel(harmonic=2)
    expected = magnetotransport.NOISE_AMR * np.sqrt(2.0 / n)
    assert float(c2.std(ddof=1)) == pytest.approx(expected, rel=_allowance(39))
    assert float(fit.c_stderr.sel(harmonic=2).mean()) == pytest.approx(expected, rel=0.1)


def test_loops_and_rt_keep_the_rho_xx_noise():
    # With H ∥ [001] (the (010) plane at φ = 90°, where loops and R(T) are measured) ρ_xx
    # scatters by 1e-5, three times less than during a rotation.
    world = SimWorld(sample="C10/L6", seed=5)
    world.command("temperature", 150.0)
    world.command("field", 9.0)
    readings = np.array([world.hall_resistances()[0] for _ in range(2000)])
    relative = readings.std(ddof=1) / readings.mean()
    assert relative == pytest.approx(magnetotransport.NOISE_XX, rel=_allowance(1999))


def test_rotation_geometry_and_noise_level():
    assert not magnetotransport.rotation_geometry(90.0, "(010)")
    assert not magnetotransport.rotation_geometry(270.0, "(010)")
    assert magnetotransport.rotation_geometry(0.0, "(010)")
    assert all(magnetotransport.rotation_geometry(a, "(001)") for a in (0.0, 90.0, 270.0))
    assert magnetotransport.rho_xx_noise(45.0, "(010)") == magnetotransport.NOISE_AMR / 100


# --------------------------------------------------------------------------- magnetometry


def _fc_sweep(world: SimWorld, temperatures, field: float = 0.2) -> np.ndarray:
    world.command("temperature", float(temperatures[0]))
    world.command("field", field)
    out = []
    for t in temperatures:
        world.command("temperature", float(t))
        out.append(world.moment())
    return np.array(out)


@pytest.mark.parametrize("sample", ["C10/L6", "LNO"])
def test_moment_noise_is_half_a_percent_of_the_total(sample):
    # Repeated readings at 10 K and 0.2 T: film plus substrate (LNO has no film, so this is
    # the substrate background alone, which used to be noise-free).
    world = SimWorld(sample=sample, seed=7)
    world.command("temperature", 10.0)
    world.command("field", 0.2)
    readings = np.array([world.moment() for _ in range(3000)])
    relative = readings.std(ddof=1) / abs(readings.mean())
    assert relative == pytest.approx(magnetometry.NOISE_MOMENT, rel=_allowance(2999))


def test_moment_scatter_about_a_smooth_fit_above_tc():
    # Above T_c only the substrate is left, m = a + b/T (χ_d·H + C·H/T, PHYSICS.md §5). A
    # least-squares fit of that form leaves the 0.5 % noise of the readings.
    world = SimWorld(sample="C10/L6", seed=9)
    t = np.arange(300.0, 109.0, -1.0)
    m = _fc_sweep(world, t)
    design = np.stack([np.ones_like(t), 1.0 / t], axis=1)
    # Relative noise: weight each reading by 1/|m| so the fit is unbiased.
    weights = 1.0 / np.abs(m)
    coef, *_ = np.linalg.lstsq(design * weights[:, None], m * weights, rcond=None)
    residual = (m - design @ coef) / (design @ coef)
    rms = np.sqrt((residual**2).sum() / (t.size - 2))
    assert rms == pytest.approx(magnetometry.NOISE_MOMENT, rel=_allowance(t.size - 2))
    # The fit finds the substrate of the model.
    h_oe = 0.2e4
    volume = magnetometry.SUBSTRATE_VOLUME_CM3
    assert coef[1] / (volume * h_oe) == pytest.approx(magnetometry.CURIE_SUBSTRATE, rel=0.05)


def test_moment_scatter_about_a_smooth_fit_below_tc():
    # FC M(T) from 45 to 15 K: the film moment (rising as T falls) on the substrate's C·H/T.
    # Savitzky–Golay smoothing (window 15, cubic, 0.5 K grid) follows the noise-free curve
    # to 5e-5 r.m.s. here (it cannot follow 1/T below ~10 K), far below the noise, so the
    # scatter about it is the 0.5 % noise less the smoother's own share of each reading:
    # var(residual) = σ²·(1 − h), h the central SG weight (0.29).
    world = SimWorld(sample="C10/L6", seed=13)
    t = np.arange(45.0, 14.9, -0.5)
    m = _fc_sweep(world, np.concatenate([[110.0], t]))[1:]
    smooth = savgol_filter(m, 15, 3)
    leverage = savgol_filter(np.eye(15)[7], 15, 3)[7]
    inner = slice(7, -7)
    residual = (m - smooth)[inner] / smooth[inner]
    rms = np.sqrt(np.mean(residual**2) / (1.0 - leverage))
    assert rms == pytest.approx(magnetometry.NOISE_MOMENT, rel=_allowance(residual.size - 4))


def test_measured_moment_is_film_plus_substrate():
    sample = SAMPLES["C10/L6"]
    memory = LoopMemory(+1)
    film = magnetometry.film_moment(sample, 20.0, 0.2, memory)
    substrate = magnetometry.substrate_moment(20.0, 0.2)
    total = magnetometry.measured_moment(sample, 20.0, 0.2, memory)
    assert float(total) == pytest.approx(float(film + substrate), rel=1e-14)
    # M_s·V·m_s·m_b: 15 emu/cm³ × 0.25 cm² × 61.54 nm at saturation, 2 K.
    saturated = magnetometry.film_moment(sample, 2.0, 9.0, memory)
    assert float(saturated) == pytest.approx(15.0 * 0.25 * 61.54e-7, rel=1e-3)
    assert float(magnetometry.film_moment(SAMPLES["LNO"], 2.0, 9.0, memory)) == 0.0


def test_moment_noise_is_seeded():
    def readings(seed):
        world = SimWorld(sample="C10/L6", seed=seed)
        world.command("temperature", 10.0)
        world.command("field", 0.2)
        return [world.moment() for _ in range(5)]

    assert readings(1) == readings(1)
    assert readings(1) != readings(2)


# --------------------------------------------------------------------------- XAS and I0


def _scan(world: SimWorld, energies) -> tuple[np.ndarray, np.ndarray]:
    tey, i0 = [], []
    for e in energies:
        world.command("energy", float(e))
        a, b = world.beam_signals()
        tey.append(a)
        i0.append(b)
    return np.array(tey), np.array(i0)


def test_i0_fluctuates_and_drifts_and_tey_over_i0_removes_it():
    world = SimWorld(sample="C10/L6", seed=17)
    world.command("incidence_angle", 90.0)
    # 3000 readings at one energy above the edge: TEY and I0 move together.
    tey, i0 = _scan(world, np.full(3000, 884.0))
    nominal = world.beam.i0_per_mA * world.ring_current()
    relative_i0 = i0.std(ddof=1) / nominal
    # Fluctuation and drift in quadrature, 0.5 % and 2 %: 2.1 % r.m.s. (the drift, correlated
    # over 200 readings, leaves ~15 independent values in 3000, so allow a factor 2).
    assert (
        spectra.I0_FLUCTUATION
        < relative_i0
        < 2 * np.hypot(spectra.I0_FLUCTUATION, spectra.I0_DRIFT)
    )
    # Reading to reading, the difference is the fluctuation (the drift moves 0.2 % per step).
    jitter = np.diff(i0).std(ddof=1) / np.sqrt(2) / nominal
    assert jitter == pytest.approx(
        np.hypot(spectra.I0_FLUCTUATION, spectra.I0_DRIFT * np.sqrt(1 / 200)),
        rel=_allowance(2998),
    )
    # TEY/I0 keeps only the TEY noise: 0.1 % of the 0.35 step.
    ratio = tey / i0
    assert ratio.std(ddof=1) == pytest.approx(
        spectra.TEY_NOISE * spectra.TEY_STEP, rel=_allowance(2999)
    )
    assert tey.std(ddof=1) / tey.mean() > 10 * ratio.std(ddof=1) / ratio.mean()


def test_normalization_by_i0_removes_the_incident_flux_exactly():
    # Two worlds with the same seed, one with a quiet I0 (its own generator, so the TEY noise
    # draws are the same): TEY/I0 is identical, since TEY follows I0 exactly. Raw TEY is not:
    # the drift and jitter of I0 go into its edge step.
    ni = spectra.EDGES["Ni L2"]
    e = ni.energies()
    (pre1, pre2), (norm1, norm2) = ni.pre_eV, ni.norm_eV
    windows = dict(e0=ni.e0_eV, pre1=pre1, pre2=pre2, norm1=norm1, norm2=norm2)
    noisy, quiet = SimWorld(sample="C10/L6", seed=19), SimWorld(sample="C10/L6", seed=19)
    rng = np.random.default_rng(seed=20)
    noisy.flux = spectra.IncidentFlux(np.random.default_rng(1))
    quiet.flux = spectra.IncidentFlux(np.random.default_rng(1), fluctuation=0.0, drift=0.0)
    nominal = noisy.beam.i0_per_mA * noisy.ring_current()
    steps = {"ratio": [], "quiet": [], "raw": []}
    for _ in range(8):
        tey, i0 = _scan(noisy, e)
        tey_quiet, i0_quiet = _scan(quiet, e)
        assert i0.std() > spectra.I0_FLUCTUATION * nominal and i0_quiet.std() == 0.0
        np.testing.assert_allclose(tey / i0, tey_quiet / i0_quiet, rtol=1e-12)
        ds = xr.Dataset(
            {"tey": ("energy", tey, {"units": "pA"}), "i0": ("energy", i0, {"units": "pA"})},
            coords={"energy": ("energy", e, {"units": "eV"})},
        )
        quiet_ds = ds.assign(tey=("energy", tey_quiet, {"units": "pA"}))
        steps["ratio"].append(float(ds.sloxide.normalize_xas(**windows).edge_step))
        steps["quiet"].append(
            float(quiet_ds.drop_vars("i0").sloxide.normalize_xas(**windows).edge_step) / nominal
        )
        steps["raw"].append(
            float(ds.drop_vars("i0").sloxide.normalize_xas(**windows).edge_step) / nominal
        )
    ratio, raw = np.array(steps["ratio"]), np.array(steps["raw"])
    np.testing.assert_allclose(ratio, steps["quiet"], rtol=1e-9)
    # The step is the model's 0.35 per unit I0, within 4 standard errors of the mean of the
    # 8 scans; σ of one scan's step from 2000 spectra with the TEY noise alone.
    clean = spectra.tey("C10/L6", e, 90.0, "Ni L2")
    stack = spectra.add_noise(np.broadcast_to(clean, (2000, e.size)), spectra.TEY_STEP, rng)
    alone = xr.Dataset(
        {"tey": (("scan", "energy"), stack, {"units": "pA"})},
        coords={"energy": ("energy", e, {"units": "eV"})},
    )
    sigma = float(alone.sloxide.normalize_xas(**windows).edge_step.std())
    assert abs(ratio.mean() - spectra.TEY_STEP) < 4 * sigma / np.sqrt(ratio.size)
    # Without I0 the step wanders with the flux: its scatter is several times larger.
    assert np.abs(raw - spectra.TEY_STEP).max() > 3 * np.abs(ratio - spectra.TEY_STEP).max()


def test_incident_flux_is_seeded_and_can_be_switched_off():
    first = spectra.IncidentFlux(np.random.default_rng(4))
    second = spectra.IncidentFlux(np.random.default_rng(4))
    a = [first.reading(1.0) for _ in range(10)]
    assert a == [second.reading(1.0) for _ in range(10)]
    quiet = spectra.IncidentFlux(np.random.default_rng(4), fluctuation=0.0, drift=0.0)
    assert {quiet.reading(2.5) for _ in range(10)} == {2.5}
    with pytest.raises(sloxide.SloxideError, match="fluctuation"):
        spectra.IncidentFlux(np.random.default_rng(4), fluctuation=-0.1)
    with pytest.raises(sloxide.SloxideError, match="correlation"):
        spectra.IncidentFlux(np.random.default_rng(4), correlation=0.0)
