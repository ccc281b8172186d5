"""Resistivity of a Hall bar from its resistances and geometry, and the units it is reported in.

Conventions follow PHYSICS.md section 0: x̂ ∥ I ∥ [100], ẑ ∥ +H ∥ [001],
ρ_xy ≡ E_y/j_x. ρ_xx is reported in mΩ·cm (:data:`RHO_XX_UNITS`) and ρ_xy in
µΩ·cm (:data:`RHO_XY_UNITS`); every reduction of resistivities takes them in
these units.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import SloxideError
from ..units import conversion_factors, declare_units, with_attrs
from .chunks import refuse_inf

__all__ = ["resistivity", "RHO_XX_UNITS", "RHO_XY_UNITS"]

#: Units of ρ_xx throughout sloxide.
RHO_XX_UNITS = "mohm * cm"
#: Units of ρ_xy throughout sloxide.
RHO_XY_UNITS = "uohm * cm"


@declare_units(R_xx="ohm", R_xy="ohm", width="um", length="um", thickness="nm")
def resistivity(
    R_xx: xr.DataArray | None = None,
    R_xy: xr.DataArray | None = None,
    *,
    width: float | xr.DataArray,
    length: float | xr.DataArray,
    thickness: float | xr.DataArray,
) -> xr.Dataset:
    """Convert Hall-bar resistances to resistivities.

    ρ_xx = R_xx·w·t/L and ρ_xy = R_xy·t (PHYSICS.md section 0), where L is
    the spacing of the longitudinal voltage probes.

    Parameters
    ----------
    R_xx : xarray.DataArray, optional
        Longitudinal resistance V_xx/I, any resistance units (e.g. ``"ohm"``).
    R_xy : xarray.DataArray, optional
        Transverse resistance V_xy/I, any resistance units.
    width : float, Quantity or xarray.DataArray
        Bar width w; bare numbers are µm.
    length : float, Quantity or xarray.DataArray
        Voltage-probe spacing L; bare numbers are µm.
    thickness : float, Quantity or xarray.DataArray
        Film thickness t; bare numbers are nm. A DataArray (e.g. over
        ``sample``) broadcasts against the data.

    Returns
    -------
    xarray.Dataset
        ``rho_xx`` in mΩ·cm and ``rho_xy`` in µΩ·cm, for the inputs given.

    Raises
    ------
    UnitsError
        If a resistance or a length has missing or incompatible units.
    SloxideError
        If neither resistance is given, or a length is not positive and finite.
    DataError
        If a resistance holds ±inf.

    Examples
    --------
    The C10/L6 bar at 300 K (PHYSICS.md section 8, check 3):

    >>> import xarray as xr
    >>> from sloxide.analysis.resistivity import resistivity
    >>> R = xr.DataArray(584.99, attrs={"units": "ohm"})
    >>> float(resistivity(R, width=200, length=1200, thickness=61.54)["rho_xx"])
    0.6000...
    """
    if R_xx is None and R_xy is None:
        raise SloxideError("resistivity() needs R_xx, R_xy or both; neither was given")
    units = {"width": "µm", "length": "µm", "thickness": "nm"}
    for label, value in {"width": width, "length": length, "thickness": thickness}.items():
        # NaN and inf would pass a "> 0" test and silently turn every resistivity into
        # NaN or inf, so the geometry must be finite as well as positive.
        numbers = np.asarray(value, dtype=float)
        if bool(np.any(~np.isfinite(numbers) | (numbers <= 0))):
            raise SloxideError(
                f"{label} must be positive and finite, got {value!r}; pass {label}= "
                f"(bare numbers in {units[label]}) or correct it in ds.attrs['sloxide']"
            )
    # Resistivity is pointwise, so ±inf would come out as ±inf: refuse it as every
    # reduction does (DESIGN.md, "Missing and corrupt values"), lazily on dask.
    R_xx = None if R_xx is None else refuse_inf(R_xx, "R_xx")
    R_xy = None if R_xy is None else refuse_inf(R_xy, "R_xy")
    out = xr.Dataset()
    if R_xx is not None:
        # ohm * um * nm / um = ohm * nm -> mΩ·cm
        scale = conversion_factors("ohm * nm", RHO_XX_UNITS)[0]
        rho = R_xx * (scale * width * thickness / length)
        out["rho_xx"] = rho.pipe(
            with_attrs,
            units=RHO_XX_UNITS,
            long_name="longitudinal resistivity ρ_xx",
            quantity="rho_xx",
        )
    if R_xy is not None:
        scale = conversion_factors("ohm * nm", RHO_XY_UNITS)[0]
        rho = R_xy * (scale * thickness)
        out["rho_xy"] = rho.pipe(
            with_attrs, units=RHO_XY_UNITS, long_name="Hall resistivity ρ_xy", quantity="rho_xy"
        )
    return out
