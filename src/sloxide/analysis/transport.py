"""Hall-bar geometry and carriers: resistance to resistivity, Hall slope to carrier density.

Conventions follow PHYSICS.md section 0: x̂ ∥ I ∥ [100], ẑ ∥ +H ∥ [001],
ρ_xy ≡ E_y/j_x, so holes give a positive Hall coefficient. ρ_xx is
reported in mΩ·cm and ρ_xy in µΩ·cm.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import SloxideError
from ..units import conversion_factors, declare_units, ureg, with_attrs
from .chunks import refuse_inf

__all__ = ["resistivity", "carrier_density", "sheet_carrier_density"]

RHO_XX_UNITS = "mohm * cm"
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
    >>> from sloxide.analysis.transport import resistivity
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


_E = float(ureg.Quantity(1, "elementary_charge").to("C").magnitude)


def _carrier_type(slope: xr.DataArray) -> xr.DataArray:
    kind = xr.where(slope > 0, "holes", xr.where(slope < 0, "electrons", "undetermined"))
    return kind.pipe(
        with_attrs,
        long_name="majority carrier type",
        description="holes for a positive Hall coefficient (ρ_xy ≡ E_y/j_x, PHYSICS.md §0)",
    )


@declare_units(hall_coefficient="m**3/C")
def carrier_density(hall_coefficient: xr.DataArray) -> xr.Dataset:
    """Carrier density and type from the Hall coefficient R_H = dρ_xy/d(µ0H).

    n = 1/(|e|·|R_H|); holes if R_H > 0 (PHYSICS.md section 1, item 10).

    Parameters
    ----------
    hall_coefficient : xarray.DataArray
        R_H, e.g. the ordinary Hall slope ``R0`` in µΩ·cm/T or in m³/C.

    Returns
    -------
    xarray.Dataset
        ``carrier_density`` in cm⁻³ and ``carrier_type`` ("holes",
        "electrons", or "undetermined" for R_H = 0 or NaN).

    Examples
    --------
    PHYSICS.md section 8, check 15:

    >>> import xarray as xr
    >>> from sloxide.analysis.transport import carrier_density
    >>> out = carrier_density(xr.DataArray(2e-10, attrs={"units": "m^3/C"}))
    >>> f"{float(out.carrier_density):.3g}", str(out.carrier_type.values)
    ('3.12e+22', 'holes')
    """
    scale = conversion_factors("1/m**3", "1/cm**3")[0]
    n = scale / (_E * abs(hall_coefficient))
    return xr.Dataset(
        {
            "carrier_density": n.pipe(
                with_attrs, units="1/cm**3", long_name="carrier density n = 1/(|e|·|R_H|)"
            ),
            "carrier_type": _carrier_type(hall_coefficient),
        }
    )


@declare_units(sheet_slope="ohm/T")
def sheet_carrier_density(sheet_slope: xr.DataArray) -> xr.Dataset:
    """Sheet carrier density from the slope of R_xy against µ0H.

    n_2D = 1/(|e|·|dR_xy/dB|); divide by the thickness for a volume density.
    ``n = 1/(e·R0·t)`` holds only for this sheet slope (PHYSICS.md §1, item 10).

    Parameters
    ----------
    sheet_slope : xarray.DataArray
        dR_xy/d(µ0H), e.g. in Ω/T.

    Returns
    -------
    xarray.Dataset
        ``sheet_carrier_density`` in cm⁻² and ``carrier_type``.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.analysis.transport import sheet_carrier_density
    >>> out = sheet_carrier_density(xr.DataArray(-0.05, attrs={"units": "ohm/T"}))
    >>> f"{float(out.sheet_carrier_density):.4g}", str(out.carrier_type.values)
    ('1.248e+16', 'electrons')
    """
    scale = conversion_factors("1/m**2", "1/cm**2")[0]
    n = scale / (_E * abs(sheet_slope))
    return xr.Dataset(
        {
            "sheet_carrier_density": n.pipe(
                with_attrs,
                units="1/cm**2",
                long_name="sheet carrier density n_2D = 1/(|e|·|dR_xy/dB|)",
            ),
            "carrier_type": _carrier_type(sheet_slope),
        }
    )
