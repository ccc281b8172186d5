"""The samples of the paper and their model parameters (PHYSICS.md sections 0, 6 and 7).

Labels follow PHYSICS.md: [P] stated in the paper, [D] derived from its
numbers, [A] assumed placeholders (every unlabelled value is [A]).
Units are in the field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..constants import CRO_C_AXIS_ANGSTROM, LNO_C_AXIS_ANGSTROM, SUPERLATTICE_REPETITIONS

__all__ = ["HallBarGeometry", "Sample", "SAMPLES", "SUPERLATTICES", "HALL_BAR"]


@dataclass(frozen=True)
class HallBarGeometry:
    """Hall-bar geometry and excitation [P]: 200 × 1200 µm, 100 µA along [100].

    Examples
    --------
    >>> from sloxide.model.samples import HALL_BAR
    >>> HALL_BAR.width_um, HALL_BAR.length_um, HALL_BAR.current_uA
    (200.0, 1200.0, 100.0)
    """

    width_um: float = 200.0
    length_um: float = 1200.0  # taken as the voltage-probe spacing [A]
    current_uA: float = 100.0
    current_axis: str = "[100]"


HALL_BAR = HallBarGeometry()


@dataclass(frozen=True)
class Sample:
    """Model parameters of one sample (PHYSICS.md §7 table).

    Examples
    --------
    >>> from sloxide.model.samples import SAMPLES
    >>> s = SAMPLES["C10/L6"]
    >>> s.thickness_nm, s.rho300_mohm_cm, s.coercive_field_2k_T
    (61.54, 0.6, 0.97)
    >>> SAMPLES["C2/L2"].vrh
    True
    """

    name: str
    n_cro: int
    m_lno: int
    thickness_nm: float
    rho300_mohm_cm: float
    rho_residual_mohm_cm: float = 0.0
    log_gamma_mohm_cm: float = 0.0
    log_temperature_K: float = 15.0
    r0_uohm_cm_per_T: float = 0.02
    sigma_ah0_S_per_cm: float = 0.0
    coercive_field_2k_T: float = 0.0
    mr_9T_2K_percent: float = 0.0
    ms_exponent: float = 0.5
    # Mean local Curie temperature T′ of m_s(T). 68 K gives the tangent T_c = 75.6 K;
    # C10/L2's exponent 1.5 rounds m_s(T), so its T′ is 80 K to keep T_c = 75 K [P].
    tc_mean_K: float = 68.0
    magnetization_emu_cm3: float = 0.0
    # Ni²⁺ fraction x of the Ni L2 white line (the rest is Ni³⁺; model/spectra.py) [A].
    ni2_fraction: float = 0.0
    orbital_polarization: float = 0.10
    amr_2fold_percent: float = 0.10  # A2 of −A2·cos 2θ in the (001) plane
    amr_4fold_percent: float = 0.0  # A4 of −A4·m_s²·cos 4θ in the (001) plane
    repetitions: int = 10
    substrate: str = "LSAT"
    vrh: bool = False  # variable-range hopping ρ(T) (C2/L2)

    def saturation_magnetization(self, temperature: Any) -> Any:
        """m_s(T) of this sample (PHYSICS.md §7).

        Examples
        --------
        >>> from sloxide.model.samples import SAMPLES
        >>> float(SAMPLES["C10/L6"].saturation_magnetization(20.0).round(3))
        0.952
        """
        from .magnetism import saturation_magnetization

        return saturation_magnetization(
            temperature, tc_mean=self.tc_mean_K, exponent=self.ms_exponent
        )

    @property
    def ferromagnetic(self) -> bool:
        """True for the samples with an anomalous Hall loop."""
        return self.sigma_ah0_S_per_cm > 0

    @property
    def has_nickel(self) -> bool:
        """True for the samples with LaNiO3 layers (a Ni L2 edge)."""
        return self.m_lno > 0

    @property
    def has_ruthenium(self) -> bool:
        """True for the samples with CaRuO3 layers (Ru M2,3 edges)."""
        return self.n_cro > 0


def _superlattice(name: str, n: int, m: int, **params: float) -> Sample:
    # t_SL = 10·(n·3.85 + m·3.84) Å (PHYSICS.md §0), in nm.
    period = n * CRO_C_AXIS_ANGSTROM + m * LNO_C_AXIS_ANGSTROM
    thickness = round(SUPERLATTICE_REPETITIONS * period / 10.0, 10)
    return Sample(name, n, m, thickness, **params)  # type: ignore[arg-type]


#: The superlattices [(CaRuO3)_n/(LaNiO3)_m]_10 on LSAT and the bare films.
#:
#: ``ni2_fraction`` is a physical input [A]: the Ni²⁺ share x of each Ni L2 white line,
#: chosen once, offline, so that the two-Gaussian fit of PHYSICS.md §4 on the noise-free
#: isotropic spectrum (0.1 eV grid) returns the paper's I_a/(I_a + I_b) of Fig. 3b, fitted
#: as in Fig. S5b (``sloxide.demo.PAPER_NI_L2_RATIO``): 0.42, 0.45, 0.40, 0.36, 0.33, 0.30
#: and ≈ 0.05 for the rows below, each within 0.0005.
#: x is large (0.77–0.97) because the fit's linear background cannot follow the erf step
#: under its window and moves area from peak a into peak b (model/spectra.py). The model
#: does not consult the analysis at run time: tests/test_model_spectra.py checks the fit.
SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in (
        # ρ = 1.94·exp((257 K/T)^(1/3)) mΩ·cm: 5 at 300 K, 300 at 2 K [P: 2–3 orders higher].
        _superlattice(
            "C2/L2", 2, 2, rho300_mohm_cm=5.0, vrh=True, r0_uohm_cm_per_T=0.0,
            ni2_fraction=0.929, orbital_polarization=0.19, amr_2fold_percent=0.10,
        ),
        _superlattice(
            "C10/L2", 10, 2, rho300_mohm_cm=2.06, rho_residual_mohm_cm=1.55,
            log_gamma_mohm_cm=0.03, log_temperature_K=20.0, sigma_ah0_S_per_cm=0.30,
            coercive_field_2k_T=1.2, mr_9T_2K_percent=-0.8, ms_exponent=1.5, tc_mean_K=80.0,
            magnetization_emu_cm3=20.0, ni2_fraction=0.965, amr_2fold_percent=0.15,
        ),
        _superlattice(
            "C10/L4", 10, 4, rho300_mohm_cm=0.95, rho_residual_mohm_cm=0.66,
            log_gamma_mohm_cm=0.008, sigma_ah0_S_per_cm=0.24, coercive_field_2k_T=1.0,
            mr_9T_2K_percent=-0.7, magnetization_emu_cm3=17.0, ni2_fraction=0.905,
            amr_2fold_percent=0.13,
        ),
        _superlattice(
            "C10/L6", 10, 6, rho300_mohm_cm=0.60, rho_residual_mohm_cm=0.38,
            log_gamma_mohm_cm=0.004, sigma_ah0_S_per_cm=0.199, coercive_field_2k_T=0.97,
            mr_9T_2K_percent=-0.65, magnetization_emu_cm3=15.0, ni2_fraction=0.854,
            amr_2fold_percent=0.12,
        ),
        _superlattice(
            "C10/L8", 10, 8, rho300_mohm_cm=0.48, rho_residual_mohm_cm=0.29,
            log_gamma_mohm_cm=0.003, sigma_ah0_S_per_cm=0.15, coercive_field_2k_T=0.8,
            mr_9T_2K_percent=-0.6, magnetization_emu_cm3=13.0, ni2_fraction=0.813,
            amr_2fold_percent=0.11,
        ),
        _superlattice(
            "C2/L6", 2, 6, rho300_mohm_cm=0.400, rho_residual_mohm_cm=0.26,
            log_gamma_mohm_cm=0.004, log_temperature_K=20.0, r0_uohm_cm_per_T=-0.015,
            sigma_ah0_S_per_cm=0.05, coercive_field_2k_T=0.08, mr_9T_2K_percent=-0.3,
            magnetization_emu_cm3=10.0, ni2_fraction=0.767, amr_2fold_percent=0.08,
            amr_4fold_percent=0.03,
        ),
        Sample(
            "LNO", 0, 25, 10.0, rho300_mohm_cm=0.25, rho_residual_mohm_cm=0.10,
            r0_uohm_cm_per_T=-0.015, ni2_fraction=0.181, amr_2fold_percent=0.05,
            repetitions=1,
        ),
        Sample(
            "CRO", 20, 0, 8.0, rho300_mohm_cm=0.90, rho_residual_mohm_cm=0.35,
            log_gamma_mohm_cm=0.005, log_temperature_K=10.0, amr_2fold_percent=0.10,
            repetitions=1,
        ),
    )
}  # fmt: skip

#: The ferromagnetic superlattices, which show anomalous Hall loops.
SUPERLATTICES: dict[str, Sample] = {k: s for k, s in SAMPLES.items() if s.ferromagnetic}
