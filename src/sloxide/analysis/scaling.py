"""Scaling of the anomalous Hall effect with the longitudinal resistivity (PHYSICS.md §1, item 9).

The paper fits Δρ_AHE = S_H·ρ_xx²·M, so the slope of Δρ_AHE against ρ_xx²
over 2–20 K is the anomalous Hall conductivity σ_AH. The conventional
decomposition ρ_AH = a·ρ_xx + b·ρ_xx² separates skew scattering (a) from the
intrinsic and side-jump parts (b); for a temperature sweep of one sample the
Tian–Ye–Jin form reduces to c + b·ρ_xx².
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError, SloxideError
from ..units import conversion_factors, declare_units, to_magnitude, with_attrs
from .chunks import require_single_chunk
from .leastsq import masked_lstsq, require_fittable
from .resistivity import RHO_XX_UNITS, RHO_XY_UNITS

__all__ = ["anomalous_hall_scaling", "SCALING_MODELS"]

SCALING_MODELS = ("paper", "intercept", "linear")
# Columns of the design matrix of each model, in the order of the outputs.
_TERMS = {
    "paper": ("sigma_ah",),
    "intercept": ("sigma_ah", "intercept"),
    "linear": ("sigma_ah", "linear_term"),
}
_ATTRS = {
    "sigma_ah": ("S/cm", "anomalous Hall conductivity σ_AH, slope of Δρ_AHE against ρ_xx²"),
    "intercept": (RHO_XY_UNITS, "intercept c of Δρ_AHE = c + σ_AH·ρ_xx²"),
    "linear_term": ("1", "skew-scattering coefficient a of Δρ_AHE = a·ρ_xx + σ_AH·ρ_xx²"),
}


def _scaling_kernel(
    drho: NDArray[np.float64],
    rho: NDArray[np.float64],
    use: NDArray[np.bool_],
    model: str,
) -> tuple[NDArray[np.float64], ...]:
    if np.isinf(drho).any() or np.isinf(rho).any():
        raise DataError("delta_rho_ahe or rho_xx contains ±inf; mark missing values as NaN")
    # The fit squares ρ_xx (and Δρ in its residuals): refuse what would leave float64.
    require_fittable(drho, "delta_rho_ahe", RHO_XY_UNITS)
    require_fittable(rho, "rho_xx", RHO_XX_UNITS)
    ok = use & np.isfinite(rho)
    columns = {"sigma_ah": rho**2, "intercept": np.ones_like(rho), "linear_term": rho}
    design = np.stack([np.where(ok, columns[t], 0.0) for t in _TERMS[model]], axis=-1)
    n_terms = design.shape[-1]
    enough = (ok & np.isfinite(drho)).sum(axis=-1)
    if (enough < n_terms + 1).any():
        raise DataError(
            f"the {model!r} scaling fit has {n_terms} parameters but at least one curve has only "
            f"{int(enough.min())} usable temperatures in the fit range; widen temperature_range "
            "or measure more temperatures"
        )
    fit = masked_lstsq(design, drho, ok)
    return tuple(fit.coef[..., i] for i in range(n_terms)) + tuple(
        fit.stderr[..., i] for i in range(n_terms)
    )


@declare_units(
    delta_rho_ahe=RHO_XY_UNITS,
    rho_xx=RHO_XX_UNITS,
    temperature_range="K",
    magnetization="any",
)
def anomalous_hall_scaling(
    delta_rho_ahe: xr.DataArray,
    rho_xx: xr.DataArray,
    *,
    dim: str = "temperature",
    model: Literal["paper", "intercept", "linear"] = "paper",
    temperature_range: tuple[float, float] | None = (2.0, 20.0),
    magnetization: xr.DataArray | None = None,
) -> xr.Dataset:
    """Fit Δρ_AHE against ρ_xx over a temperature series.

    Models (``model=``):

    * ``"paper"``: Δρ_AHE = σ_AH·ρ_xx², as the paper fits it;
    * ``"intercept"``: Δρ_AHE = c + σ_AH·ρ_xx² (Tian–Ye–Jin for one sample);
    * ``"linear"``: Δρ_AHE = a·ρ_xx + σ_AH·ρ_xx² (skew + intrinsic/side jump).

    Parameters
    ----------
    delta_rho_ahe : xarray.DataArray
        Δρ_AHE over ``dim``; any resistivity units.
    rho_xx : xarray.DataArray
        Zero-field ρ_xx over ``dim``; any resistivity units.
    dim : str, default "temperature"
        The series dim. Its coordinate needs temperature units when
        ``temperature_range`` is given.
    model : {"paper", "intercept", "linear"}, default "paper"
    temperature_range : (float, float) or None, default (2, 20)
        Inclusive fit range in K (or Quantities); None uses every point.
    magnetization : xarray.DataArray, optional
        M(T) over ``dim`` for samples whose magnetization still changes in
        the range (C10/L2 in the paper): Δρ_AHE is divided by M/M(T_min),
        M at the lowest temperature of the series.

    Returns
    -------
    xarray.Dataset
        ``sigma_ah`` (S/cm) and, where fitted, ``intercept`` (µΩ·cm) and
        ``linear_term`` (dimensionless), each with ``<name>_stderr``.

    Raises
    ------
    DataError
        If the range holds too few temperatures, the data or the temperatures
        hold ±inf, or the data reach magnitudes outside
        :data:`~sloxide.analysis.leastsq.FIT_RANGE`.
    UnitsError
        If an input, or the temperature coordinate, lacks units or has
        incompatible ones.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.scaling import anomalous_hall_scaling
    >>> t = xr.DataArray(np.arange(2.0, 22.0, 2.0), dims="temperature", attrs={"units": "K"})
    >>> rho = (0.38 + 1e-4 * t**2).pipe(with_attrs, units="mohm*cm")
    >>> drho = (0.19 * rho**2).pipe(with_attrs, units="uohm*cm")
    >>> out = anomalous_hall_scaling(drho.assign_coords(temperature=t), rho.assign_coords(temperature=t))
    >>> round(float(out.sigma_ah), 6)
    0.19
    """
    if model not in SCALING_MODELS:
        raise SloxideError(
            f"model must be one of {SCALING_MODELS}, got {model!r}; pass one of them"
        )
    for label, da in (("delta_rho_ahe", delta_rho_ahe), ("rho_xx", rho_xx)):
        if dim not in da.dims:
            raise DataError(f"{label} has dims {da.dims}, not the series dim {dim!r}; pass dim=")
        require_single_chunk(da, dim, label)
    use: xr.DataArray | xr.Variable = xr.ones_like(rho_xx[dim], dtype=bool)
    if temperature_range is not None:
        low, high = sorted(temperature_range)
        coord = rho_xx[dim]
        units = coord.attrs.get("units")
        if units is None:
            raise DataError(
                f"the {dim!r} coordinate has no units; set its attrs['units'] = 'K' or pass "
                "temperature_range=None"
            )
        # to_magnitude raises a UnitsError naming the coordinate; pint's own
        # DimensionalityError escaped for units such as "" or "furlong".
        kelvin = to_magnitude(
            coord.reset_coords(drop=True), "K", f"the {dim!r} coordinate"
        ).variable
        if bool(np.isinf(kelvin.values).any()):
            raise DataError(
                f"the {dim!r} coordinate holds ±inf; drop those temperatures or mark them NaN"
            )
        use = (kelvin >= low - 1e-9) & (kelvin <= high + 1e-9)
    if magnetization is not None:
        if dim not in magnetization.dims:
            raise DataError(
                f"magnetization has dims {magnetization.dims}, not {dim!r}; pass M(T) over "
                f"the {dim!r} dim"
            )
        reference = magnetization.isel({dim: int(np.argmin(rho_xx[dim].values))})
        delta_rho_ahe = delta_rho_ahe / (magnetization / reference)
    # Δρ in µΩ·cm over ρ_xx² in (mΩ·cm)² is S/cm; the linear term is µΩ·cm/mΩ·cm.
    outputs = xr.apply_ufunc(
        _scaling_kernel,
        delta_rho_ahe,
        rho_xx,
        use,
        input_core_dims=[[dim]] * 3,
        output_core_dims=[[]] * (2 * len(_TERMS[model])),
        kwargs={"model": model},
        dask="parallelized",
        output_dtypes=[float] * (2 * len(_TERMS[model])),
    )
    linear_scale = conversion_factors(f"{RHO_XY_UNITS} / ({RHO_XX_UNITS})", "1")[0]
    out = xr.Dataset(attrs={"model": model})
    terms = _TERMS[model]
    for i, term in enumerate(terms):
        units, long_name = _ATTRS[term]
        factor = linear_scale if term == "linear_term" else 1.0
        out[term] = (outputs[i] * factor).pipe(with_attrs, units=units, long_name=long_name)
        out[f"{term}_stderr"] = (outputs[i + len(terms)] * factor).pipe(
            with_attrs, units=units, long_name=f"standard error of {term}"
        )
    return out
