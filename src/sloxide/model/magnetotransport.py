"""Longitudinal and Hall resistivity of the superlattices (PHYSICS.md section 7).

ρ(T) = ρ_r + A·T²/(1 + T/100 K) + γ·½·ln(1 + (T_u/T)²), A fixed by ρ(300 K);
ρ_xx = ρ(T)·[1 + a_dom·m_s²·(1 − m_b²) − a_lin·f(T)·|µ0H| + a_orb·(µ0H)²];
ρ_xy = hall_sign·[R0·µ0H + Δρ(T)·m_b] + 2e-4·ρ_xx, Δρ(T) = σ_AH0·ρ_xx(T)²·m_s(T).
Noise (§7): ρ_xy 5e-4 µΩ·cm; ρ_xx 1e-5 relative, or the AMR noise 0.003 % during a rotation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import PchipInterpolator

from .magnetism import (
    LoopMemory,
    coercive_field,
    loop_width,
)
from .samples import HALL_BAR, HallBarGeometry, Sample

__all__ = [
    "zero_field_resistivity",
    "linear_mr_coefficient",
    "amr_percent",
    "domain_weight",
    "rotation_geometry",
    "rho_xx_noise",
    "resistivities",
    "hall_bar_resistances",
    "A_DOM",
    "A_ORB",
    "PICKUP",
    "NOISE_XX",
    "NOISE_XY",
    "NOISE_AMR",
]

A_DOM = 0.0025  # domain-wall MR amplitude [A]
A_ORB = 2.5e-6  # orbital MR per T², +0.02 % at 9 T [A]
PICKUP = 2e-4  # ρ_xx pickup in ρ_xy from lead misalignment [A]
NOISE_XX = 1e-5  # relative ρ_xx noise with H ∥ [001] (R(T), field loops) [A]
NOISE_XY = 5e-4  # ρ_xy noise in µΩ·cm [A]
NOISE_AMR = 0.003  # AMR noise in % of R: the ρ_xx scatter of a rotation [A]
# f(T): the negative linear MR fades with the magnetization [A].
_F_LIN = PchipInterpolator([20.0, 50.0, 75.0, 100.0], [1.0, 0.12, 0.01, 0.0])

FloatArray = NDArray[np.float64]


def _log_term(t: FloatArray, gamma: float, t_u: float) -> FloatArray:
    return gamma * 0.5 * np.log1p((t_u / t) ** 2) if gamma else np.zeros_like(t)


def zero_field_resistivity(sample: Sample, temperature: Any) -> FloatArray:
    """ρ(T) at zero field in mΩ·cm.

    Metallic samples: ρ_r + A·T²/(1 + T/100 K) + γ·½·ln(1 + (T_u/T)²), with A fixed by
    ρ(300 K). C2/L2 hops: ρ = 1.94·exp((257 K/T)^(1/3)) (PHYSICS.md §7).

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.magnetotransport import zero_field_resistivity
    >>> float(zero_field_resistivity(SAMPLES["C10/L6"], 300.0).round(6))
    0.6
    >>> zero_field_resistivity(SAMPLES["C2/L2"], [300.0, 2.0]).round(0)
    array([  5., 302.])
    """
    t = np.asarray(temperature, dtype=float)
    if sample.vrh:
        return np.asarray(1.94 * np.exp((257.0 / t) ** (1 / 3)))
    t300 = np.array(300.0)
    rest = sample.rho_residual_mohm_cm + _log_term(
        t300, sample.log_gamma_mohm_cm, sample.log_temperature_K
    )
    a = (sample.rho300_mohm_cm - rest) / (300.0**2 / 4.0)
    return np.asarray(
        sample.rho_residual_mohm_cm
        + a * t**2 / (1 + t / 100.0)
        + _log_term(t, sample.log_gamma_mohm_cm, sample.log_temperature_K)
    )


def linear_mr_coefficient(sample: Sample) -> float:
    """a_lin per T, scaled so that MR(9 T, 2 K) matches the sample table (0 without loops).

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.magnetotransport import linear_mr_coefficient
    >>> round(linear_mr_coefficient(SAMPLES["C10/L6"]) * 100, 4)  # %/T
    0.0692
    """
    if not sample.ferromagnetic:
        return 0.0
    hc = sample.coercive_field_2k_T
    at_zero = A_DOM * (1 - np.tanh(hc / float(loop_width(hc))) ** 2)
    return float((A_ORB * 81 - at_zero - sample.mr_9T_2K_percent / 100) / 9)


def domain_weight(sample: Sample, temperature: float) -> float:
    """Weight of the domain-wall MR: the squared loop remanence tanh²(H_C/w), 1 at 2 K [A].

    Domain walls need hysteresis: as H_C(T) → 0 the reversal becomes reversible
    rotation and the butterfly fades. Without this weight the §7 terms give
    MR(9 T) = −0.80 % at 20 K and −0.15 % at 50 K for C10/L6, against −0.65 % and
    −0.06 % in the paper [P]; with it, −0.64 % and −0.055 %.

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.magnetotransport import domain_weight
    >>> [round(domain_weight(SAMPLES["C10/L6"], t), 3) for t in (2.0, 20.0, 50.0)]
    [1.0, 0.185, 0.0]
    """

    def squareness(t: float) -> float:
        hc = float(coercive_field(t, sample.coercive_field_2k_T))
        return float(np.tanh(hc / float(loop_width(hc)))) if hc > 0 else 0.0

    reference = squareness(2.0)
    return squareness(temperature) ** 2 / reference**2 if reference > 0 else 0.0


def amr_percent(
    sample: Sample, temperature: float, angle_deg: Any, plane: str, field: float = 9.0
) -> FloatArray:
    """AMR ΔR/R in % of a field rotating in the ``plane`` "(001)" or "(010)" (PHYSICS.md §7).

    (001): −A2·cos 2θ (valleys at 0°/180° [P]) and, for C2/L6, −A4·m_s²·cos 4θ (valleys
    at n·90° [P]). (010): C10/L2 has (A_m − 0.05 %)·cos 2φ − 0.02 %·cos 4φ with
    A_m = 0.12 %·exp(−(T − 5 K)/5 K), whose cos 2φ term changes sign near 9.4 K [P];
    bare CRO adds the 4-fold −0.02 %·cos 4φ [P]; the others keep −A2·cos 2φ [A]. The
    amplitude grows as tanh²(|µ0H|/1 T) [A].

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.magnetotransport import amr_percent
    >>> amr_percent(SAMPLES["C10/L2"], 5.0, [0.0, 90.0], "(001)").round(3)
    array([-0.15,  0.15])
    >>> float(amr_percent(SAMPLES["C10/L2"], 5.0, 0.0, "(010)").round(3))
    0.05
    """
    if plane not in ("(001)", "(010)"):
        raise ValueError(f"plane must be '(001)' or '(010)', got {plane!r}")
    angle = np.deg2rad(np.asarray(angle_deg, dtype=float))
    m_s = float(sample.saturation_magnetization(temperature))
    scale = np.tanh(abs(field) / 1.0) ** 2
    if plane == "(001)":
        two = -sample.amr_2fold_percent * np.cos(2 * angle)
        four = -sample.amr_4fold_percent * m_s**2 * np.cos(4 * angle)
        return np.asarray(scale * (two + four))
    if sample.name == "C10/L2":
        a_m = 0.12 * np.exp(-(temperature - 5.0) / 5.0)
        return np.asarray(scale * ((a_m - 0.05) * np.cos(2 * angle) - 0.02 * np.cos(4 * angle)))
    four = -0.02 * np.cos(4 * angle) if sample.name == "CRO" else 0.0
    return np.asarray(scale * (-sample.amr_2fold_percent * np.cos(2 * angle) + four))


def rotation_geometry(angle_deg: float, plane: str) -> bool:
    """True when the field is off the film normal: an AMR rotation, not a loop or R(T).

    The field lies in the film in the "(001)" plane; in the "(010)" plane it is along
    ±[001] only at φ = 90° and 270°.

    Examples
    --------
    >>> from sloxide.model.magnetotransport import rotation_geometry
    >>> rotation_geometry(90.0, "(010)"), rotation_geometry(45.0, "(010)")
    (False, True)
    >>> rotation_geometry(90.0, "(001)")
    True
    """
    if plane == "(001)":
        return True
    return abs(abs(math.sin(math.radians(angle_deg))) - 1.0) > 1e-9


def rho_xx_noise(angle_deg: float, plane: str) -> float:
    """Relative standard deviation of ρ_xx at the rotator angle (PHYSICS.md §7 noise) [A].

    ``NOISE_XX`` (1e-5) with the field along [001], where R(T) and the field loops are
    measured, and the AMR noise ``NOISE_AMR`` (0.003 % of R) in every other geometry, so
    the readings of a rotation scatter as §7 states: AMR = ΔR/R_max in %, and
    R_max ≈ R to 0.2 %, so the AMR scatter is NOISE_AMR. It replaces NOISE_XX there
    rather than adding to it (in quadrature the two would give 0.0032 %).

    Examples
    --------
    >>> from sloxide.model.magnetotransport import rho_xx_noise
    >>> rho_xx_noise(90.0, "(010)"), rho_xx_noise(30.0, "(001)")
    (1e-05, 3e-05)
    """
    return NOISE_AMR / 100 if rotation_geometry(angle_deg, plane) else NOISE_XX


def resistivities(
    sample: Sample,
    temperature: float,
    field: Any,
    memory: LoopMemory,
    angle_deg: float = 90.0,
    plane: str = "(010)",
    rng: np.random.Generator | None = None,
    hall_sign: int = 1,
) -> tuple[FloatArray, FloatArray]:
    """ρ_xx (mΩ·cm) and ρ_xy (µΩ·cm) for a field along the rotator angle (PHYSICS.md §7).

    The field makes the angle φ with [100] in the ``plane``; in the (010) plane at
    φ = 90° it is along [001], the geometry of the Hall loops. The anomalous Hall
    effect and the loop follow the out-of-plane component µ0H·sin φ; ``memory`` selects
    the branch (it is not updated here). With ``rng``, the readings carry the noise of
    PHYSICS.md §7: ρ_xx relative :func:`rho_xx_noise` (1e-5 with H ∥ [001], the AMR
    noise 0.003 % during a rotation) and ρ_xy ``NOISE_XY``.

    Examples
    --------
    >>> from sloxide.model.magnetism import LoopMemory
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.magnetotransport import resistivities
    >>> xx, xy = resistivities(SAMPLES["C10/L6"], 2.0, 0.0, LoopMemory(+1))
    >>> round(float(xy), 4)  # remanent AHE + lead pickup
    0.1046
    """
    h = np.asarray(field, dtype=float)
    rho0 = float(zero_field_resistivity(sample, temperature))
    h_z = h * np.sin(np.deg2rad(angle_deg)) if plane == "(010)" else np.zeros_like(h)
    rho_xx = rho0 * (1 + A_ORB * h**2)
    rho_xy = hall_sign * sample.r0_uohm_cm_per_T * h_z
    if sample.ferromagnetic:
        m_s = float(sample.saturation_magnetization(temperature))
        hc = float(coercive_field(temperature, sample.coercive_field_2k_T))
        m_b = memory.magnetization(h_z, hc, float(loop_width(hc)))
        f_lin = float(_F_LIN(np.clip(temperature, 20.0, 100.0)))
        rho_xx = rho_xx + rho0 * (
            A_DOM * domain_weight(sample, temperature) * m_s**2 * (1 - m_b**2)
            - linear_mr_coefficient(sample) * f_lin * np.abs(h)
        )
        delta = sample.sigma_ah0_S_per_cm * rho0**2 * m_s  # S/cm·(mΩ·cm)² = µΩ·cm
        rho_xy = rho_xy + hall_sign * delta * m_b
    # The MR of the table is measured with H ∥ [001]; the anisotropy is taken relative
    # to that geometry so that the loops keep their calibration.
    h_max = float(np.max(np.abs(h)))
    anisotropy = amr_percent(sample, temperature, angle_deg, plane, h_max) - amr_percent(
        sample, temperature, 90.0, "(010)", h_max
    )
    rho_xx = rho_xx * (1 + anisotropy / 100)
    rho_xy = rho_xy + PICKUP * rho_xx * 1e3  # ρ_xx in µΩ·cm
    if rng is not None:
        noise = rho_xx_noise(angle_deg, plane)
        rho_xx = rho_xx * (1 + noise * rng.standard_normal(h.shape))
        rho_xy = rho_xy + NOISE_XY * rng.standard_normal(h.shape)
    return np.asarray(rho_xx), np.asarray(rho_xy)


def hall_bar_resistances(
    rho_xx: Any, rho_xy: Any, sample: Sample, bar: HallBarGeometry = HALL_BAR
) -> tuple[FloatArray, FloatArray]:
    """R_xx = ρ_xx·L/(w·t) and R_xy = ρ_xy/t in Ω, from mΩ·cm and µΩ·cm (PHYSICS.md §0).

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.magnetotransport import hall_bar_resistances
    >>> r_xx, r_xy = hall_bar_resistances(0.6, 0.03, SAMPLES["C10/L6"])
    >>> round(float(r_xx), 1), round(float(r_xy) * 1e3, 3)
    (585.0, 4.875)
    """
    t_cm = sample.thickness_nm * 1e-7
    r_xx = np.asarray(rho_xx) * 1e-3 * bar.length_um / (bar.width_um * t_cm)
    r_xy = np.asarray(rho_xy) * 1e-6 / t_cm
    return r_xx, r_xy
