"""Longitudinal and Hall resistivity of the superlattices (PHYSICS.md section 7).

ρ(T) = ρ_r + A·T²/(1 + T/100 K) + γ·½·ln(1 + (T_u/T)²), A fixed by ρ(300 K);
ρ_xx = ρ(T)·[1 + a_dom·m_s²·(1 − m_b²) − a_lin·f(T)·|µ0H| + a_orb·(µ0H)²];
ρ_xy = hall_sign·[R0·µ0H + Δρ(T)·m_b] + 2e-4·ρ_xx, Δρ(T) = σ_AH0·ρ_xx(T)²·m_s(T).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import PchipInterpolator

from .magnetism import branch_magnetization, coercive_field, loop_width, saturation_magnetization
from .samples import Sample

__all__ = [
    "zero_field_resistivity",
    "linear_mr_coefficient",
    "field_loop_resistivities",
    "A_DOM",
    "A_ORB",
    "PICKUP",
]

A_DOM = 0.0025  # domain-wall MR amplitude [A]
A_ORB = 2.5e-6  # orbital MR per T², +0.02 % at 9 T [A]
PICKUP = 2e-4  # ρ_xx pickup in ρ_xy from lead misalignment [A]
# f(T): the negative linear MR fades with the magnetization [A].
_F_LIN = PchipInterpolator([20.0, 50.0, 75.0, 100.0], [1.0, 0.12, 0.01, 0.0])

FloatArray = NDArray[np.float64]


def _log_term(t: FloatArray, gamma: float, t_u: float) -> FloatArray:
    return gamma * 0.5 * np.log1p((t_u / t) ** 2) if gamma else np.zeros_like(t)


def zero_field_resistivity(sample: Sample, temperature: Any) -> FloatArray:
    """ρ(T) at zero field in mΩ·cm.

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.transport import zero_field_resistivity
    >>> float(zero_field_resistivity(SAMPLES["C10/L6"], 300.0).round(6))
    0.6
    """
    t = np.asarray(temperature, dtype=float)
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
    """a_lin per T, scaled so that MR(9 T, 2 K) matches the sample table.

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.transport import linear_mr_coefficient
    >>> round(linear_mr_coefficient(SAMPLES["C10/L6"]) * 100, 4)  # %/T
    0.0692
    """
    hc = sample.coercive_field_2k_T
    at_zero = A_DOM * (1 - np.tanh(hc / float(loop_width(hc))) ** 2)
    return float((A_ORB * 81 - at_zero - sample.mr_9T_2K_percent / 100) / 9)


def field_loop_resistivities(
    sample: Sample,
    temperature: float,
    field: Any,
    direction: Any,
    rng: np.random.Generator | None = None,
    hall_sign: int = 1,
) -> tuple[FloatArray, FloatArray]:
    """ρ_xx (mΩ·cm) and ρ_xy (µΩ·cm) along a sweep, with the noise of PHYSICS.md §7.

    ``direction`` is +1 where the field rises and −1 where it falls; every
    branch is taken to start from saturation.

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.model.samples import SAMPLES
    >>> from sloxide.model.transport import field_loop_resistivities
    >>> xx, xy = field_loop_resistivities(SAMPLES["C10/L6"], 2.0, [9.0, -9.0], [1, -1])
    >>> xy.round(3)
    array([ 0.287, -0.133])
    """
    h = np.asarray(field, dtype=float)
    rho0 = float(zero_field_resistivity(sample, temperature))
    m_s = float(saturation_magnetization(temperature, exponent=sample.ms_exponent))
    hc = float(coercive_field(temperature, sample.coercive_field_2k_T))
    m_b = branch_magnetization(h, direction, hc, loop_width(hc))
    f_lin = float(_F_LIN(np.clip(temperature, 20.0, 100.0)))
    a_lin = linear_mr_coefficient(sample)
    rho_xx = rho0 * (1 + A_DOM * m_s**2 * (1 - m_b**2) - a_lin * f_lin * np.abs(h) + A_ORB * h**2)
    delta = sample.sigma_ah0_S_per_cm * rho0**2 * m_s
    rho_xy = hall_sign * (sample.r0_uohm_cm_per_T * h + delta * m_b)
    rho_xy = rho_xy + PICKUP * rho_xx * 1e3  # mΩ·cm -> µΩ·cm
    if rng is not None:
        rho_xx = rho_xx * (1 + 1e-5 * rng.standard_normal(h.shape))
        rho_xy = rho_xy + 5e-4 * rng.standard_normal(h.shape)
    return rho_xx, rho_xy
