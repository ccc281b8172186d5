"""The samples of the paper and their model parameters (PHYSICS.md section 7 table).

Labels follow PHYSICS.md: values marked [P] are stated in the paper, [D]
derived from its numbers, the rest [A] assumed placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.multilayer import superlattice_thickness

__all__ = ["Sample", "SAMPLES", "SUPERLATTICES"]


@dataclass(frozen=True)
class Sample:
    """Model parameters of one sample; units are in the field names.

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> s = SAMPLES["C10/L6"]
    >>> s.thickness_nm, s.rho300_mohm_cm, s.coercive_field_2k_T
    (61.54, 0.6, 0.97)
    """

    name: str
    n_cro: int
    m_lno: int
    thickness_nm: float
    rho300_mohm_cm: float
    rho_residual_mohm_cm: float
    log_gamma_mohm_cm: float
    log_temperature_K: float
    r0_uohm_cm_per_T: float
    sigma_ah0_S_per_cm: float
    coercive_field_2k_T: float
    mr_9T_2K_percent: float
    ms_exponent: float = 0.5
    repetitions: int = 10
    substrate: str = "LSAT"


def _sl(
    name: str,
    n: int,
    m: int,
    rho: tuple[float, float, float, float],
    hall: tuple[float, float],
    coercive: float,
    mr: float,
    exponent: float = 0.5,
) -> Sample:
    """A superlattice row: ρ300, ρ_r, γ, T_u; R0, σ_AH0; H_C(2 K); MR(9 T, 2 K)."""
    thickness = float(superlattice_thickness(n, m).magnitude)
    return Sample(name, n, m, thickness, *rho, *hall, coercive, mr, ms_exponent=exponent)


#: The ferromagnetic superlattices with transport loops (C2/L2 is variable-range hopping).
SUPERLATTICES: dict[str, Sample] = {
    s.name: s
    for s in (
        _sl("C10/L2", 10, 2, (2.06, 1.55, 0.03, 20.0), (0.02, 0.30), 1.2, -0.8, exponent=1.5),
        _sl("C10/L4", 10, 4, (0.95, 0.66, 0.008, 15.0), (0.02, 0.24), 1.0, -0.7),
        _sl("C10/L6", 10, 6, (0.60, 0.38, 0.004, 15.0), (0.02, 0.199), 0.97, -0.65),
        _sl("C10/L8", 10, 8, (0.48, 0.29, 0.003, 15.0), (0.02, 0.15), 0.8, -0.6),
        _sl("C2/L6", 2, 6, (0.400, 0.26, 0.004, 20.0), (-0.015, 0.05), 0.08, -0.3),
    )
}
SAMPLES = SUPERLATTICES
