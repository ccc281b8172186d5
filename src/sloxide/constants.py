"""Physical constants that the model and the analysis share (PHYSICS.md §0, §4, §7).

The simulation (:mod:`sloxide.model`) and the analysis (:mod:`sloxide.analysis`) are
independent: the analysis must recover the model's inputs on its own, so neither may
import the other (``tests/test_layers.py``). What both may use are the facts below:
sample geometry the paper states, and the conventions by which the paper defines its
numbers (the edge step under the Ni L2 white line, the O K bands of Fig. 4). Each is
defined once, here, so the two sides cannot drift apart.

Plain Python numbers in the units their names carry; this module imports nothing,
so every layer can use it.

Examples
--------
>>> from sloxide import constants
>>> round(10 * (10 * constants.CRO_C_AXIS_ANGSTROM + 6 * constants.LNO_C_AXIS_ANGSTROM) / 10, 2)
61.54
>>> constants.O_K_BANDS["Ru eg"]
(528.7, 533.1)
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "CRO_C_AXIS_ANGSTROM",
    "LNO_C_AXIS_ANGSTROM",
    "SUPERLATTICE_REPETITIONS",
    "NI_L2_STEP_CENTER",
    "NI_L2_STEP_WIDTH",
    "O_K_BANDS",
]

#: Pseudo-cubic c-axis spacings on LSAT, Å: 3.85 CaRuO3, 3.84 LaNiO3 [P: paper, Methods],
#: so t_SL = 10·(n·3.85 + m·3.84) Å (PHYSICS.md §0).
CRO_C_AXIS_ANGSTROM = 3.85
LNO_C_AXIS_ANGSTROM = 3.84
#: Periods of every superlattice, [(CaRuO3)_n/(LaNiO3)_m]_10 [P].
SUPERLATTICE_REPETITIONS = 10

#: The isotropic erf edge step under the Ni L2 white line, eV (PHYSICS.md §4, §7) [A]:
#: the model draws its spectra on this step and the orbital-polarization analysis
#: subtracts it before taking white-line integrals.
NI_L2_STEP_CENTER = 870.6
NI_L2_STEP_WIDTH = 0.8

#: O K-edge bands of the paper (Fig. 4; PHYSICS.md §4), eV [P]. Read-only: both sides
#: hold the same object.
O_K_BANDS = MappingProxyType(
    {
        "Ru t2g": (526.9, 528.7),
        "Ru eg": (528.7, 533.1),
        "La 5d / Ca 4d": (533.2, 537.7),
        "Ru 5s5p / Ni 4s4p": (537.8, 544.3),
    }
)
