"""Ordinary and anomalous Hall effect of binned field loops, and the carriers from the Hall slope.

Everything follows PHYSICS.md section 1, on loops that
:func:`sloxide.analysis.loops.branches` has split and binned:

* ρ_xy is antisymmetrized, ρ^A,up(H) = [ρ^up(H) − ρ^down(−H)]/2, which
  removes the even pickup from misaligned leads;
* R0 and Δρ_AHE come from one joint fit ρ = R0·µ0H + Δρ·sgn(H) on
  |µ0H| ≥ H_fit, where the loop must be closed;
* the coercive field and exchange bias come from the zero crossings of the
  raw branches, the remanence from ρ_AHE at zero field, σ_AHE from Δρ_AHE
  and ρ_xx(0), and the carrier density and type from R0.

The kernel (``_ahe_kernel``, a sequence of named steps) works on numpy arrays
along the last axes and is mapped over any extra dims (sample, temperature,
...) with ``xarray.apply_ufunc``, lazily on dask. M(H) loops
(:mod:`sloxide.analysis.hysteresis`) run the same kernel.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError, FitError, SloxideError
from ..units import conversion_factors, declare_units, labelled_dataset, ureg, with_attrs
from .leastsq import LinearFit, local_polyfit, masked_lstsq, require_fittable
from .loops import antisymmetrize, field_grid_of, require_branches, symmetrize
from .resistivity import RHO_XX_UNITS, RHO_XY_UNITS

__all__ = [
    "anomalous_hall",
    "carrier_density",
    "sheet_carrier_density",
    "zero_crossing",
    "check_loop_windows",
]

FloatArray = NDArray[np.float64]


def zero_crossing(h: FloatArray, y: FloatArray, window: float) -> tuple[FloatArray, FloatArray]:
    """Field where each curve changes sign, and its standard error.

    Takes the steepest sign change (PHYSICS.md §1, step 6), then refines it
    with a line fitted within ±``window`` of it, so every reading near the
    crossing averages down the noise. NaN where a curve never changes sign.

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.analysis.hall import zero_crossing
    >>> h = np.linspace(-1, 1, 21)
    >>> root, _ = zero_crossing(h, np.tanh((h - 0.33) / 0.2), 0.1)
    >>> round(float(root), 3)
    0.33
    """
    y0, y1 = y[..., :-1], y[..., 1:]
    dy = y1 - y0
    dh = np.diff(h)
    with np.errstate(invalid="ignore", divide="ignore"):
        crosses = (y0 * y1 < 0) | ((y0 == 0) & (dy != 0))
        steep = np.where(crosses, np.abs(dy) / dh, -np.inf)
        k = np.argmax(steep, axis=-1)
        found = np.take_along_axis(steep, k[..., None], axis=-1)[..., 0] > -np.inf
        yk = np.take_along_axis(y0, k[..., None], axis=-1)[..., 0]
        slope = np.take_along_axis(dy, k[..., None], axis=-1)[..., 0] / dh[k]
        guess = np.where(found, h[k] - yk / slope, np.nan)
        fit = local_polyfit(h, y, guess, window, 1)
        c0, c1 = fit.coef[..., 0], fit.coef[..., 1]
        root = guess - c0 / c1
        root_stderr = np.sqrt(fit.cov[..., 0, 0]) / np.abs(c1)
    # A refinement that leaves the window means the line does not describe the crossing.
    keep = np.abs(root - guess) <= window
    return np.where(keep, root, guess), np.where(keep, root_stderr, np.nan)


def _window_mean(values: FloatArray, window: NDArray[np.bool_]) -> FloatArray:
    """Mean of the finite values inside ``window`` along the last axis (NaN if none)."""
    use = window & np.isfinite(values)
    return np.where(use, values, 0.0).sum(axis=-1) / use.sum(axis=-1)


# --------------------------------------------------------------------------- AHE kernel steps
# The steps of PHYSICS.md section 1 on loops of shape (..., 2 branches, G fields), in the
# order _ahe_kernel takes them.


def _require_fittable_loops(rho_xy: FloatArray, rho_xx: FloatArray, h: FloatArray) -> None:
    """Refuse ±inf, and magnitudes the fits would square out of float64."""
    if np.isinf(rho_xy).any():
        raise DataError("rho_xy contains ±inf; mark missing readings as NaN instead")
    # The fits square ρ and µ0H: refuse magnitudes that leave float64 (1e300
    # warned of overflow; 1e-300 gave zero errors, a NaN H_C and an infinite σ_AHE).
    require_fittable(rho_xy, "rho_xy", RHO_XY_UNITS)
    require_fittable(rho_xx, "rho_xx", RHO_XX_UNITS)
    require_fittable(h, "the field", "T")


def _saturated_window(
    a_up: FloatArray, h: FloatArray, fit_min_field: float
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """The R0 fit bound H_fit of each loop and its window |µ0H| ≥ H_fit (step 4)."""
    finite = np.isfinite(a_up)
    reach = np.max(np.where(finite, np.abs(h), 0.0), axis=-1)
    h_fit = np.full(reach.shape, fit_min_field) if np.isfinite(fit_min_field) else 0.5 * reach
    window = (np.abs(h) >= h_fit[..., None] * (1 - 1e-9)) & finite
    n_pos = (window & (h > 0)).sum(axis=-1)
    n_neg = (window & (h < 0)).sum(axis=-1)
    if ((n_pos < 2) | (n_neg < 2)).any():
        worst = float(np.max(h_fit))
        raise FitError(
            f"the R0 fit window |µ0H| ≥ {worst:.3g} T holds fewer than 2 readings on a side in "
            f"at least one loop (the loop reaches {float(np.min(reach)):.3g} T); sweep to a higher "
            "field, or lower fit_min_field"
        )
    return h_fit, window


def _line_and_step(a_up: FloatArray, h: FloatArray, window: NDArray[np.bool_]) -> LinearFit:
    """The joint fit ρ^A = R0·µ0H + Δρ·sgn(H) in the saturated window (step 4)."""
    # ρ^A,down is the mirror image of ρ^A,up, so fitting ρ^A,up over both field
    # signs is the joint fit of both branches, with independent residuals.
    design = np.stack([h, np.sign(h)], axis=-1)
    return masked_lstsq(design, a_up, window)


def _require_closed(
    anti: FloatArray, window: NDArray[np.bool_], h_fit: FloatArray, drho: FloatArray
) -> None:
    """Refuse a fit window in which the up and down branches still differ (step 5)."""
    # Saturation check: in the fit window the two branches must coincide, so their
    # difference is noise. Its scatter comes from successive differences (von Neumann),
    # which a smooth opening of an unsaturated window barely inflates. (The residuals of
    # the line fit absorb that opening as misfit: with fit_min_field inside the
    # hysteresis, the check passed and Δρ_AHE came out a third of its value.)
    # The opening is even in µ0H, so only half the window's readings are independent.
    opening = anti[..., 0, :] - anti[..., 1, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        jumps = np.diff(opening, axis=-1)
        pairs = window[..., 1:] & window[..., :-1] & np.isfinite(jumps)
        noise = np.sqrt(np.where(pairs, jumps**2, 0.0).sum(axis=-1) / (2 * pairs.sum(axis=-1)))
        mean_open = _window_mean(opening, window)
        open_err = noise * np.sqrt(2 / window.sum(axis=-1))
        unsaturated = (np.abs(mean_open) > 5 * open_err) & (
            np.abs(mean_open) > 0.05 * np.abs(drho)
        )
    if unsaturated.any():
        i = int(np.argmax(unsaturated.ravel()))
        raise FitError(
            f"the loop is not saturated in the R0 fit window |µ0H| ≥ "
            f"{float(h_fit.ravel()[i]):.3g} T: there the up and down branches still differ by "
            f"{float(np.abs(mean_open.ravel()[i])):.3g} µΩ·cm on average "
            f"({float(np.abs(mean_open.ravel()[i] / drho.ravel()[i])):.0%} of Δρ_AHE) in "
            f"{int(unsaturated.sum())} loop(s). Sweep to a higher field, or set fit_min_field= "
            "above the field where the branches merge"
        )


def _branch_crossings(
    rho_xy: FloatArray,
    rho_xx: FloatArray,
    h: FloatArray,
    r0: FloatArray,
    window: NDArray[np.bool_],
    crossing_window: float,
) -> tuple[FloatArray, FloatArray]:
    """Zero crossings H_up, H_down of the raw branches and their errors, (..., 2) (step 6)."""
    # From the raw branches: antisymmetrizing would force H_EB = 0. Remove the ordinary
    # Hall line and the even pickup measured in saturation (PHYSICS.md §1, step 6). Pickup
    # from misaligned leads is p·ρ_xx, so where ρ_xx is known it follows the butterfly MR
    # on each branch; a constant offset would shift H_EB by ~a_dom·p·ρ_xx/slope.
    with np.errstate(invalid="ignore", divide="ignore"):
        even = _window_mean(symmetrize(rho_xy)[..., 0, :], window)
        ratio = even / _window_mean(symmetrize(rho_xx)[..., 0, :], window)
    pickup = np.where(
        np.isfinite(ratio)[..., None, None] & np.isfinite(rho_xx),
        ratio[..., None, None] * rho_xx,
        even[..., None, None],
    )
    shifted = rho_xy - r0[..., None, None] * h - pickup
    return zero_crossing(h, shifted, crossing_window)


def _remanence(rho_ahe: FloatArray, h: FloatArray, crossing_window: float) -> LinearFit:
    """Line through ρ_AHE^down near zero field: its intercept is ρ_r (step 7)."""
    # ρ_r = [ρ_AHE^dn(0) − ρ_AHE^up(0)]/2 = ρ_AHE^dn(0), as ρ_AHE is antisymmetric.
    centre = np.zeros(rho_ahe.shape[:-2])
    return local_polyfit(h, rho_ahe[..., 1, :], centre, crossing_window, 1)


def _ahe_conductivity(
    drho: FloatArray,
    drho_err: FloatArray,
    rho_xx0: FloatArray,
    sigma_scale: tuple[float, float],
    convention: str,
) -> tuple[FloatArray, FloatArray]:
    """σ_AHE and its error in S/cm from Δρ_AHE and ρ_xx(0) (step 8)."""
    drho_scale, xx_scale = sigma_scale
    with np.errstate(invalid="ignore", divide="ignore"):
        if convention == "paper":
            # σ_AHE = Δρ/ρ_xx²(H = 0) [paper]; sign kept, ρ_xy² dropped.
            sigma = drho * drho_scale / (rho_xx0 * xx_scale) ** 2
            sigma_err = drho_err * drho_scale / (rho_xx0 * xx_scale) ** 2
        else:
            # Tensor inverse σ_xy = −ρ_xy/(ρ_xx² + ρ_xy²) for the AHE part.
            d, x = drho * drho_scale, rho_xx0 * xx_scale
            sigma = -d / (x**2 + d**2)
            sigma_err = drho_err * drho_scale * np.abs((d**2 - x**2) / (x**2 + d**2) ** 2)
    return sigma, sigma_err


def _ahe_kernel(
    rho_xy: FloatArray,
    rho_xx: FloatArray,
    h: FloatArray,
    fit_min_field: float,
    crossing_window: float,
    sigma_scale: tuple[float, float],
    convention: str,
) -> tuple[FloatArray, ...]:
    """PHYSICS.md section 1, steps 2–8, on binned loops; the outputs of ``_AHE_OUTPUTS``."""
    _require_fittable_loops(rho_xy, rho_xx, h)
    anti = antisymmetrize(rho_xy)
    h_fit, window = _saturated_window(anti[..., 0, :], h, fit_min_field)
    fit = _line_and_step(anti[..., 0, :], h, window)
    r0, drho = fit.coef[..., 0], fit.coef[..., 1]
    r0_err, drho_err = fit.stderr[..., 0], fit.stderr[..., 1]
    _require_closed(anti, window, h_fit, drho)
    rho_ahe = anti - r0[..., None, None] * h

    # Coercive field, exchange bias and squareness need a resolved AHE jump.
    resolved = np.abs(drho) > 3 * drho_err
    roots, root_err = _branch_crossings(rho_xy, rho_xx, h, r0, window, crossing_window)
    h_up, h_dn = roots[..., 0], roots[..., 1]
    coercive = np.where(resolved, 0.5 * (h_up - h_dn), np.nan)
    bias = np.where(resolved, 0.5 * (h_up + h_dn), np.nan)
    hc_err = np.where(resolved, 0.5 * np.hypot(root_err[..., 0], root_err[..., 1]), np.nan)

    rem_fit = _remanence(rho_ahe, h, crossing_window)
    remanence, remanence_err = rem_fit.coef[..., 0], rem_fit.stderr[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        squareness = np.where(resolved, remanence / drho, np.nan)

    zero = int(np.argmin(np.abs(h)))
    rho_xx0 = 0.5 * (rho_xx[..., 0, zero] + rho_xx[..., 1, zero])
    sigma, sigma_err = _ahe_conductivity(drho, drho_err, rho_xx0, sigma_scale, convention)
    return (
        rho_ahe,
        r0,
        r0_err,
        drho,
        drho_err,
        coercive,
        hc_err,
        bias,
        remanence,
        remanence_err,
        squareness,
        rho_xx0,
        sigma,
        sigma_err,
        h_fit,
    )


_AHE_OUTPUTS: tuple[tuple[str, str, str], ...] = (
    ("rho_ahe", RHO_XY_UNITS, "anomalous Hall resistivity ρ_AHE = ρ^A − R0·µ0H"),
    ("R0", "uohm * cm / T", "ordinary Hall coefficient R0"),
    ("R0_stderr", "uohm * cm / T", "standard error of R0"),
    ("delta_rho_ahe", RHO_XY_UNITS, "Δρ_AHE, half the saturated AHE jump"),
    ("delta_rho_ahe_stderr", RHO_XY_UNITS, "standard error of Δρ_AHE"),
    ("coercive_field", "T", "coercive field µ0H_C = (H_up − H_down)/2"),
    ("coercive_field_stderr", "T", "standard error of µ0H_C"),
    ("exchange_bias", "T", "exchange-bias field µ0H_EB = (H_up + H_down)/2"),
    ("remanence", RHO_XY_UNITS, "remanent AHE ρ_r = [ρ_AHE^down(0) − ρ_AHE^up(0)]/2"),
    ("remanence_stderr", RHO_XY_UNITS, "standard error of ρ_r"),
    ("squareness", "1", "loop squareness ρ_r/Δρ_AHE"),
    ("rho_xx", RHO_XX_UNITS, "ρ_xx at zero field, symmetrized and averaged over the branches"),
    ("sigma_ahe", "S/cm", "anomalous Hall conductivity σ_AHE"),
    ("sigma_ahe_stderr", "S/cm", "standard error of σ_AHE"),
    ("fit_min_field", "T", "lower |µ0H| bound of the R0 fit window"),
)


def _map_ahe_kernel(
    rho_xy: xr.DataArray,
    rho_xx: xr.DataArray,
    core: list[str],
    *,
    h: FloatArray,
    fit_min_field: float | None,
    crossing_window: float,
    sigma_scale: tuple[float, float],
    convention: str,
) -> tuple[xr.DataArray, ...]:
    """:func:`_ahe_kernel` mapped over every loop (dims ``core``): the arrays of _AHE_OUTPUTS."""
    results: tuple[xr.DataArray, ...] = xr.apply_ufunc(
        _ahe_kernel,
        rho_xy,
        rho_xx,
        input_core_dims=[core, core],
        output_core_dims=[core] + [[]] * (len(_AHE_OUTPUTS) - 1),
        kwargs={
            "h": h,
            "fit_min_field": np.nan if fit_min_field is None else fit_min_field,
            "crossing_window": crossing_window,
            "sigma_scale": sigma_scale,
            "convention": convention,
        },
        dask="parallelized",
        output_dtypes=[float] * len(_AHE_OUTPUTS),
    )
    return results


def check_loop_windows(crossing_window: float, fit_min_field: float | None) -> None:
    """Refuse a crossing window or a high-field bound that is not positive and finite.

    NaN passes "<= 0" and inf widens the line fits to whole branches: both gave silently
    wrong coercive fields, in the AHE and in M(H) loops alike.

    Examples
    --------
    >>> from sloxide.analysis.hall import check_loop_windows
    >>> check_loop_windows(0.1, None)
    >>> try:
    ...     check_loop_windows(float("nan"), None)
    ... except ValueError as err:
    ...     print(err)
    crossing_window must be positive and finite, got nan T; pass e.g. crossing_window=0.1 (T)
    """
    if not (np.isfinite(crossing_window) and crossing_window > 0):
        raise SloxideError(
            f"crossing_window must be positive and finite, got {crossing_window!r} T; pass "
            "e.g. crossing_window=0.1 (T)"
        )
    if fit_min_field is not None and not (np.isfinite(fit_min_field) and fit_min_field > 0):
        raise SloxideError(
            f"fit_min_field must be positive and finite, got {fit_min_field!r} T; pass a "
            "field where the loop is saturated, or leave it out for half the largest field"
        )


# --------------------------------------------------------------------------- carriers
_E = float(ureg.Quantity(1, "elementary_charge").to("C").magnitude)


def _carrier_type(slope: xr.DataArray) -> xr.DataArray:
    kind = xr.where(slope > 0, "holes", xr.where(slope < 0, "electrons", "undetermined"))
    return kind.pipe(
        with_attrs,
        long_name="majority carrier type",
        description="holes for a positive Hall coefficient (ρ_xy ≡ E_y/j_x, PHYSICS.md §0)",
    )


def _carriers(slope: xr.DataArray, dims: int, name: str, long_name: str) -> xr.Dataset:
    """Density 1/(|e|·|slope|) per cm^dims from a slope in SI units, and the carrier type."""
    units = f"1/cm**{dims}"
    scale = conversion_factors(f"1/m**{dims}", units)[0]
    n = scale / (_E * abs(slope))
    return xr.Dataset(
        {
            name: n.pipe(with_attrs, units=units, long_name=long_name),
            "carrier_type": _carrier_type(slope),
        }
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
    >>> from sloxide.analysis.hall import carrier_density
    >>> out = carrier_density(xr.DataArray(2e-10, attrs={"units": "m^3/C"}))
    >>> f"{float(out.carrier_density):.3g}", str(out.carrier_type.values)
    ('3.12e+22', 'holes')
    """
    return _carriers(hall_coefficient, 3, "carrier_density", "carrier density n = 1/(|e|·|R_H|)")


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
    >>> from sloxide.analysis.hall import sheet_carrier_density
    >>> out = sheet_carrier_density(xr.DataArray(-0.05, attrs={"units": "ohm/T"}))
    >>> f"{float(out.sheet_carrier_density):.4g}", str(out.carrier_type.values)
    ('1.248e+16', 'electrons')
    """
    long_name = "sheet carrier density n_2D = 1/(|e|·|dR_xy/dB|)"
    return _carriers(sheet_slope, 2, "sheet_carrier_density", long_name)


# --------------------------------------------------------------------------- anomalous Hall effect


@declare_units(rho_xy=RHO_XY_UNITS, rho_xx=RHO_XX_UNITS, fit_min_field="T", crossing_window="T")
def anomalous_hall(
    rho_xy: xr.DataArray,
    rho_xx: xr.DataArray | None = None,
    *,
    field_dim: str = "field",
    branch_dim: str = "branch",
    fit_min_field: float | None = None,
    crossing_window: float = 0.1,
    hall_sign: int = 1,
    convention: Literal["paper", "tensor"] = "paper",
) -> xr.Dataset:
    """Ordinary and anomalous Hall effect of binned field loops.

    Implements PHYSICS.md section 1, steps 2–8 and 10: antisymmetrize
    ρ_xy, fit ρ^A = R0·µ0H + Δρ·sgn(H) jointly to both branches on
    |µ0H| ≥ ``fit_min_field`` (the loop must be closed there), subtract
    R0·µ0H to get ρ_AHE, and read off the coercive field, exchange bias,
    remanence, squareness, σ_AHE and the carriers.

    Parameters
    ----------
    rho_xy : xarray.DataArray
        Hall resistivity on dims (..., ``branch_dim``, ``field_dim``), as
        :func:`~sloxide.analysis.loops.branches` returns it; any resistivity units.
    rho_xx : xarray.DataArray, optional
        Longitudinal resistivity on the same grid, for σ_AHE; any
        resistivity units. Without it ``rho_xx`` and ``sigma_ahe`` are NaN.
    field_dim, branch_dim : str, default "field", "branch"
        Names of the grid and branch dims. The field coordinate needs units.
    fit_min_field : float, optional
        Lower |µ0H| bound of the R0 fit in T. Default: half the largest field
        of each loop. It must lie where the loop is saturated (above
        H_C + 3w for a tanh loop).
    crossing_window : float, default 0.1
        Half-width in T of the line fits that refine the coercive field and
        the remanence.
    hall_sign : {1, -1}, default 1
        Lead polarity: ρ_xy is multiplied by it first (PHYSICS.md §0).
    convention : {"paper", "tensor"}, default "paper"
        σ_AHE = Δρ/ρ_xx(0)² as in the paper, or the tensor inverse
        σ_xy = −Δρ/(ρ_xx² + Δρ²).

    Returns
    -------
    xarray.Dataset
        ``rho_ahe`` (..., branch, field) in µΩ·cm; ``R0`` in µΩ·cm/T;
        ``delta_rho_ahe``, ``remanence`` in µΩ·cm; ``coercive_field``,
        ``exchange_bias``, ``fit_min_field`` in T; ``squareness``
        (dimensionless); ``rho_xx`` (zero field) in mΩ·cm; ``sigma_ahe``
        in S/cm; ``carrier_density`` in cm⁻³ and ``carrier_type``; fitted
        quantities with ``<name>_stderr``. Coercive field, exchange bias and
        squareness are NaN where Δρ_AHE is not resolved (< 3 standard errors).

    Raises
    ------
    FitError
        If the R0 window holds too few readings or the loop is not
        saturated in it.
    DataError
        If the data are not binned branches on a symmetric grid, hold ±inf, or
        reach magnitudes outside :data:`~sloxide.analysis.leastsq.FIT_RANGE`.
    SloxideError
        If ``fit_min_field`` or ``crossing_window`` is not positive and finite.
    UnitsError
        If an input lacks units or has incompatible ones.

    Examples
    --------
    A tanh loop with Δρ = 0.03 µΩ·cm, µ0H_C = 0.97 T and R0 = 0.02 µΩ·cm/T:

    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.hall import anomalous_hall
    >>> h = np.round(np.arange(-450, 451) * 0.02, 10)
    >>> loop = np.stack([np.tanh((h - 0.97) / 0.659), np.tanh((h + 0.97) / 0.659)])
    >>> rho = xr.DataArray(
    ...     0.02 * h + 0.03 * loop, dims=("branch", "field"),
    ...     coords={"branch": ["up", "down"], "field": ("field", h, {"units": "T"})},
    ...     attrs={"units": "uohm*cm"}, name="rho_xy",
    ... )
    >>> out = anomalous_hall(rho)
    >>> round(float(out.R0), 6), round(float(out.delta_rho_ahe), 6), round(float(out.coercive_field), 3)
    (0.02, 0.03, 0.97)
    """
    if hall_sign not in (1, -1):
        raise SloxideError(
            f"hall_sign must be +1 or -1, got {hall_sign!r}; pass hall_sign=1 or -1"
        )
    if convention not in ("paper", "tensor"):
        raise SloxideError(
            f"convention must be 'paper' or 'tensor', got {convention!r}; pass one of them"
        )
    check_loop_windows(crossing_window, fit_min_field)
    rho_xy = rho_xy.rename(rho_xy.name or "rho_xy")
    require_branches(rho_xy, branch_dim, field_dim)
    h = field_grid_of(rho_xy, field_dim)
    core = [branch_dim, field_dim]
    if rho_xx is None:
        xx = xr.full_like(rho_xy, np.nan)
    else:
        xx = rho_xx.rename(rho_xx.name or "rho_xx")
        require_branches(xx, branch_dim, field_dim)
    # Both conventions are evaluated in Ω·cm, so σ comes out in S/cm.
    scale = (
        conversion_factors(RHO_XY_UNITS, "ohm * cm")[0],
        conversion_factors(RHO_XX_UNITS, "ohm * cm")[0],
    )
    results = _map_ahe_kernel(
        hall_sign * rho_xy,
        xx,
        core,
        h=h,
        fit_min_field=fit_min_field,
        crossing_window=crossing_window,
        sigma_scale=scale,
        convention=convention,
    )
    out = labelled_dataset(
        _AHE_OUTPUTS, results, {"hall_sign": hall_sign, "sigma_convention": convention}
    )
    out["sigma_ahe"].attrs["description"] = (
        "Δρ_AHE/ρ_xx(0)² as in the paper (S/cm = µΩ·cm/(mΩ·cm)²)"
        if convention == "paper"
        else "tensor inverse −Δρ_AHE/(ρ_xx² + Δρ_AHE²)"
    )
    carriers = carrier_density(out["R0"])
    out["carrier_density"] = carriers["carrier_density"]
    out["carrier_type"] = carriers["carrier_type"]
    return out.transpose(..., branch_dim, field_dim)
