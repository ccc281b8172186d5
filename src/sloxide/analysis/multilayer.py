"""Superlattice geometry and the parallel-resistor model (PHYSICS.md sections 0 and 6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pint

from ..constants import CRO_C_AXIS_ANGSTROM, LNO_C_AXIS_ANGSTROM
from ..errors import SloxideError, UnitsError
from ..units import Quantity, conversion_factors, parse_units

__all__ = [
    "superlattice_thickness",
    "parallel_resistivity",
    "layer_resistivity",
    "CRO_C_AXIS",
    "LNO_C_AXIS",
]

#: Pseudo-cubic c-axis spacings on LSAT (paper, Methods): 3.85 Å CaRuO3, 3.84 Å LaNiO3
#: (shared with the model: sloxide.constants).
CRO_C_AXIS = Quantity(CRO_C_AXIS_ANGSTROM, "angstrom")
LNO_C_AXIS = Quantity(LNO_C_AXIS_ANGSTROM, "angstrom")


def superlattice_thickness(
    n: Any,
    m: Any,
    repetitions: int = 10,
    c_cro: pint.Quantity = CRO_C_AXIS,
    c_lno: pint.Quantity = LNO_C_AXIS,
) -> pint.Quantity:
    """Total thickness of a [(CaRuO3)_n/(LaNiO3)_m]_repetitions superlattice.

    t_SL = repetitions·(n·c_CRO + m·c_LNO) (paper, Methods; PHYSICS.md §0).

    Parameters
    ----------
    n, m : int or array of int
        Unit cells of CaRuO3 and LaNiO3 per period.
    repetitions : int, default 10
        Number of periods.
    c_cro, c_lno : pint.Quantity, default 3.85 Å and 3.84 Å
        Out-of-plane lattice spacings.

    Returns
    -------
    pint.Quantity
        Thickness in nm.

    Examples
    --------
    >>> from sloxide.analysis.multilayer import superlattice_thickness
    >>> superlattice_thickness(10, 6)
    <Quantity(61.54, 'nanometer')>
    >>> float(superlattice_thickness(2, 2).magnitude)
    15.38
    """
    counts = {"n": np.asarray(n), "m": np.asarray(m), "repetitions": np.asarray(repetitions)}
    for label, value in counts.items():
        if value.dtype.kind not in "iuf" or np.any(value < 0):
            raise SloxideError(f"{label} must be a non-negative unit-cell count, got {value!r}")
    period = counts["n"] * c_cro + counts["m"] * c_lno
    return np.round((counts["repetitions"] * period).to("nm"), 10)


def _as_quantity(values: Any, units: str, label: str) -> np.ndarray:
    if isinstance(values, pint.Quantity):
        quantities = [values]
    elif isinstance(values, Sequence) and not isinstance(values, str):
        quantities = list(values)
    else:
        quantities = [values]
    out = []
    for q in quantities:
        if not isinstance(q, pint.Quantity):
            raise UnitsError(
                [f"{label}: {q!r} has no units; pass sloxide.ureg.Quantity(value, {units!r})"]
            )
        try:
            scale, _ = conversion_factors(parse_units(str(q.units)), units)
        except pint.errors.DimensionalityError:
            raise UnitsError(
                [f"{label}: units {q.units!s} are not compatible with {units!r}"]
            ) from None
        out.append(np.asarray(q.magnitude, dtype=float) * scale)
    return (
        np.concatenate([np.atleast_1d(v) for v in out]) if len(out) > 1 else np.atleast_1d(out[0])
    )


def parallel_resistivity(resistivities: Any, thicknesses: Any) -> pint.Quantity:
    """Resistivity of layers conducting in parallel.

    1/ρ = Σ(t_i/ρ_i)/Σt_i (PHYSICS.md section 6). An insulating layer (the
    paper treats 2-uc layers so) has ρ_i = inf: it adds thickness, not
    conductance.

    Parameters
    ----------
    resistivities : pint.Quantity or sequence of Quantity
        ρ_i of each layer (or each layer kind), any resistivity units.
    thicknesses : pint.Quantity or sequence of Quantity
        Total thickness t_i of each, any length units.

    Returns
    -------
    pint.Quantity
        ρ in mΩ·cm.

    Raises
    ------
    UnitsError
        If a value has no units.
    SloxideError
        If the lengths differ, or a thickness or resistivity is not positive.

    Examples
    --------
    C10/L6 from layer resistivities 1.72 (CRO) and 0.30 (LNO) mΩ·cm
    (PHYSICS.md section 8, check 2):

    >>> from sloxide import ureg
    >>> from sloxide.analysis.multilayer import parallel_resistivity
    >>> rho = parallel_resistivity(
    ...     ureg.Quantity([1.72, 0.30], "mohm*cm"), ureg.Quantity([38.5, 23.04], "nm")
    ... )
    >>> round(float(rho.magnitude), 4)
    0.6205
    """
    rho = _as_quantity(resistivities, "mohm*cm", "resistivities")
    t = _as_quantity(thicknesses, "nm", "thicknesses")
    if rho.shape != t.shape:
        raise SloxideError(
            f"resistivities ({rho.size}) and thicknesses ({t.size}) must list the same layers"
        )
    if np.any(t <= 0) or np.any(rho <= 0) or not np.all(np.isfinite(t)):
        raise SloxideError(
            "thicknesses must be positive and finite and resistivities positive "
            "(use inf for an insulating layer)"
        )
    conductance = np.sum(t / rho)
    if conductance == 0:
        raise SloxideError("every layer is insulating; the stack has no finite resistivity")
    return Quantity(float(np.sum(t) / conductance), "mohm*cm")


def layer_resistivity(
    superlattice_resistivity: Any, layer_thickness: Any, total_thickness: Any
) -> pint.Quantity:
    """Resistivity of the one conducting layer kind of a superlattice.

    The inverse of :func:`parallel_resistivity` when the other layers insulate:
    1/ρ_SL = (t_layer/ρ_layer)/t_SL gives ρ_layer = ρ_SL·t_layer/t_SL. The paper
    deduces the CaRuO3 and LaNiO3 layer resistivities (1.72 and 0.30 mΩ·cm)
    this way from C10/L2 and C2/L6, treating their 2-uc layers as insulating
    (PHYSICS.md section 6).

    Parameters
    ----------
    superlattice_resistivity : pint.Quantity
        Measured ρ of the whole superlattice, any resistivity units.
    layer_thickness : pint.Quantity
        Total thickness of the conducting layers, any length units.
    total_thickness : pint.Quantity
        Thickness of the superlattice, any length units.

    Returns
    -------
    pint.Quantity
        ρ of the conducting layers in mΩ·cm.

    Raises
    ------
    UnitsError
        If a value has no units or the wrong dimension.
    SloxideError
        If a value is not positive and finite, or the layers are thicker than
        the superlattice.

    Examples
    --------
    C10/L2 at 300 K, 2.06 mΩ·cm, with 10 × 3.85 Å of CaRuO3 in each of 10
    periods of 46.18 nm in all (PHYSICS.md section 6):

    >>> from sloxide import ureg
    >>> from sloxide.analysis.multilayer import layer_resistivity
    >>> rho = layer_resistivity(ureg.Quantity(2.06, "mohm*cm"), ureg.Quantity(38.5, "nm"),
    ...                         ureg.Quantity(46.18, "nm"))
    >>> round(float(rho.magnitude), 3)
    1.717
    """
    rho = _as_quantity(superlattice_resistivity, "mohm*cm", "superlattice_resistivity")
    t_layer = _as_quantity(layer_thickness, "nm", "layer_thickness")
    t_total = _as_quantity(total_thickness, "nm", "total_thickness")
    values = np.concatenate([rho, t_layer, t_total])
    if values.size != 3 or not np.all(np.isfinite(values) & (values > 0)):
        raise SloxideError(
            "superlattice_resistivity, layer_thickness and total_thickness must each be one "
            f"positive, finite value, got {rho}, {t_layer}, {t_total}"
        )
    if t_layer[0] > t_total[0]:
        raise SloxideError(
            f"the conducting layers ({t_layer[0]:g} nm) cannot be thicker than the "
            f"superlattice ({t_total[0]:g} nm); check the unit-cell counts"
        )
    return Quantity(float(rho[0] * t_layer[0] / t_total[0]), "mohm*cm")
